//! Schedule adherence, judged from when the endpoint saw each request.
//!
//! A signal polled `every = P` is due on a grid of period P whose phase
//! the engine picks (signals are spread over their period). The bench does
//! not ask gonogo for it: the grid is the one that puts the most of the
//! signal's requests around the window within the tolerance of a grid line
//! (a request exactly on a line, the others at most that much after it).
//! Then each grid slot inside the window is matched to the request nearest
//! it (within ±P/2): a slot with no request is missed; a request within
//! the tolerance of its slot is on time.
//!
//! Only requests around the window place the grid: the polls at start
//! (`gonogo start` polls once, the guard once more at once, then the
//! spread ones) fall off any grid and would drag it. A schedule that drifts
//! or jitters by more than the tolerance cannot be covered by one grid and
//! shows as late slots.
//!
//! Included with `#[path = "support/schedule.rs"] mod schedule;`.

pub struct Adherence {
    /// Grid slots inside the window, over all signals.
    pub slots: u64,
    pub on_time: u64,
    /// Slots no request answered to.
    pub missed: u64,
    /// Requests inside the window that matched no slot (a second request
    /// for the same slot, or one off the grid).
    pub extra: u64,
    /// How far each matched request was from its slot, µs, sorted.
    pub deviation: Vec<u64>,
}

impl Adherence {
    pub fn on_time_pct(&self) -> f64 {
        100.0 * self.on_time as f64 / self.slots.max(1) as f64
    }

    /// The `q` quantile of the distance from schedule over every slot, a
    /// missed slot counting as infinitely late (`None`).
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let n = self.slots;
        if n == 0 {
            return Some(0);
        }
        let rank = ((n as f64 * q).ceil() as u64).clamp(1, n);
        self.deviation
            .get(usize::try_from(rank - 1).unwrap_or(usize::MAX))
            .copied()
    }
}

/// Judges `signals` (each one's request arrivals, sorted, µs) polled every
/// `period` µs over the window `[from, until)`.
pub fn adherence(
    signals: &[Vec<u64>],
    expected_signals: usize,
    period: u64,
    (from, until): (u64, u64),
    tolerance: u64,
) -> Adherence {
    let mut a = Adherence {
        slots: 0,
        on_time: 0,
        missed: 0,
        extra: 0,
        deviation: Vec::new(),
    };
    let period_i = i64::try_from(period).unwrap_or(i64::MAX);
    let half = period_i / 2;
    let (from_i, until_i) = (from as i64, until as i64);
    let empty = Vec::new();
    for i in 0..expected_signals {
        let arrivals = signals.get(i).unwrap_or(&empty);
        let around: Vec<u64> = arrivals
            .iter()
            .copied()
            .filter(|&t| t as i64 >= from_i - half && (t as i64) < until_i + half)
            .collect();
        let in_window = around.iter().filter(|&&t| t >= from && t < until).count() as u64;
        let Some(phase) = best_phase(&around, period, tolerance) else {
            // Not polled around the window: every slot is missed.
            let slots = (until - from) / period;
            a.slots += slots;
            a.missed += slots;
            continue;
        };
        let phase = phase as i64;
        // The first grid slot at or after `from`.
        let mut slot = from_i + (phase - from_i).rem_euclid(period_i);
        let mut matched = 0;
        while slot < until_i {
            a.slots += 1;
            let lo = arrivals.partition_point(|&t| (t as i64) < slot - half);
            let nearest = arrivals[lo..]
                .iter()
                .take_while(|&&t| (t as i64) < slot + half)
                .map(|&t| (t as i64 - slot).unsigned_abs())
                .min();
            match nearest {
                Some(d) => {
                    matched += 1;
                    a.deviation.push(d);
                    if d <= tolerance {
                        a.on_time += 1;
                    }
                }
                None => a.missed += 1,
            }
            slot += period_i;
        }
        a.extra += in_window.saturating_sub(matched);
    }
    a.deviation.sort_unstable();
    a
}

/// The grid phase (a time modulo `period`) that puts the most of `times`
/// at most `tolerance` after a grid line: the earliest time of the densest
/// cluster, on a circle of length `period`.
fn best_phase(times: &[u64], period: u64, tolerance: u64) -> Option<u64> {
    let mut r: Vec<u64> = times.iter().map(|t| t % period).collect();
    r.sort_unstable();
    let n = r.len();
    let mut best: Option<(usize, u64)> = None;
    let mut j = 0;
    for i in 0..n {
        // Residues wrap around: r[k] for k ≥ n is r[k - n] + period.
        let at = |k: usize| if k < n { r[k] } else { r[k - n] + period };
        j = j.max(i);
        while j + 1 < i + n && at(j + 1) <= r[i] + tolerance {
            j += 1;
        }
        let count = j - i + 1;
        if best.is_none_or(|(c, _)| count > c) {
            best = Some((count, r[i]));
        }
    }
    best.map(|(_, phase)| phase)
}
