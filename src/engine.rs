//! Polling: one tokio task per signal.
//!
//! Each signal polls on its own tokio task and interval
//! (`MissedTickBehavior::Skip`), bounded by its timeout, so a slow or
//! hanging endpoint never delays another. Tasks only *report*
//! ([`SampleTaken`]) into one channel; whoever owns the [`Board`] folds the
//! reports in (see [`crate::board`]).

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

pub use crate::board::{Board, evidence_span};
use crate::layout::Layout;
use crate::signal::{Prober, Sample};

/// How many distinct instants a period's polls are spread over.
const SLOTS_PER_PERIOD: usize = 50;

/// A signal task's report: one poll done.
#[derive(Debug, Clone)]
pub struct SampleTaken {
    pub signal: usize,
    /// When the poll was due.
    pub scheduled: Instant,
    /// When it actually started.
    pub started: Instant,
    pub sample: Sample,
}

/// Starts one polling task per signal. Dropping the returned [`Polling`]
/// stops them all.
pub fn start(
    layout: Arc<Layout>,
    prober: Prober,
    tx: mpsc::UnboundedSender<SampleTaken>,
) -> Polling {
    let n = layout.signals.len();
    let tasks = (0..n)
        .map(|i| {
            let layout = Arc::clone(&layout);
            let prober = prober.clone();
            let tx = tx.clone();
            tokio::spawn(async move { poll_forever(&layout, i, n, &prober, &tx).await })
        })
        .collect();
    Polling { tasks }
}

async fn poll_forever(
    layout: &Layout,
    i: usize,
    n: usize,
    prober: &Prober,
    tx: &mpsc::UnboundedSender<SampleTaken>,
) {
    let signal = &layout.signals[i];
    // Poll at once, then spread signals over their period: if all polls fell
    // in the same millisecond, every second would need a connection per
    // signal and start late (measured with 1,000 signals: p99 start delay
    // 40 ms → 2 ms, pooled connections ~750 → ~25).
    //
    // Spread over a few dozen slots, not one per signal: each slot is one
    // wake-up of the runtime for all its polls, and a thousand wake-ups a
    // second cost more CPU in context switches than the polls themselves.
    let start = Instant::now();
    let slots = n.clamp(1, SLOTS_PER_PERIOD);
    let offset = signal
        .every
        .mul_f64(((i % slots) + 1) as f64 / slots as f64);
    let mut ticks = tokio::time::interval_at(start + offset, signal.every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut first = true;
    loop {
        let scheduled = if first {
            first = false;
            start
        } else {
            ticks.tick().await
        };
        let started = Instant::now();
        let sample = prober.poll(signal).await;
        let report = SampleTaken {
            signal: i,
            scheduled,
            started,
            sample,
        };
        if tx.send(report).is_err() {
            return;
        }
    }
}

/// The running signal tasks.
pub struct Polling {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Polling {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A board from recorded evidence (samples a running guard wrote to the
/// journal), topped up by polling every signal that has no fresh sample.
/// So CLI acts judge `for` windows from a guard's history, and poll for
/// themselves only when there is none.
pub async fn board_from_evidence(
    layout: &Layout,
    recorded: Vec<(String, Sample)>,
    prober: &Prober,
) -> Board {
    let mut board = Board::new(layout);
    let now = crate::clock::now();
    for (id, sample) in recorded {
        // Stamped ahead of now (within the journal's slack): not yet.
        if sample.at > now {
            continue;
        }
        if let Some(i) = board.index_of_key(&id) {
            board.record(i, sample);
        }
    }
    let stale: Vec<usize> = (0..layout.signals.len())
        .filter(|&i| {
            board.latest(i).is_none_or(|s| {
                (now - s.at).to_std().unwrap_or_default() > layout.signals[i].stale_after
            })
        })
        .collect();
    let polled =
        futures_util::future::join_all(stale.iter().map(|&i| prober.poll(&layout.signals[i])))
            .await;
    for (i, sample) in stale.into_iter().zip(polled) {
        board.record(i, sample);
    }
    board
}

/// Polls every signal once, concurrently, and returns a board with the
/// results: what `check` uses.
pub async fn poll_once(layout: &Layout, prober: &Prober) -> Board {
    let mut board = Board::new(layout);
    let samples =
        futures_util::future::join_all(layout.signals.iter().map(|s| prober.poll(s))).await;
    for (i, s) in samples.into_iter().enumerate() {
        board.record(i, s);
    }
    board
}
