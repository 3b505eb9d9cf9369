//! The signal board: every signal's recent samples, oldest first.
//!
//! Plain data with no I/O and no runtime: polling tasks report samples
//! (see [`crate::engine`]) and the one runtime folds them in; judging and
//! drawing read it without waiting on anything.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::layout::Layout;
use crate::signal::Sample;

/// Samples kept per signal for trends, beyond what windows need.
const TREND_SAMPLES: usize = 120;
const TRIM_BATCH: usize = 32;

#[derive(Debug, Clone)]
pub struct Board {
    history: Vec<Vec<Sample>>,
    keep_for: Vec<chrono::Duration>,
    /// Signal id → index: samples recorded by another process arrive by id.
    ids: Arc<HashMap<String, usize>>,
    /// Definition key → index: how recorded samples find their signal.
    keys: Arc<HashMap<String, usize>>,
}

/// How far back each signal's evidence must reach for every window on it:
/// its longest gate or trigger window, plus staleness and one period. One
/// pass over the gates, whatever the number of signals.
fn spans(layout: &Layout) -> Vec<Duration> {
    let mut longest = vec![Duration::ZERO; layout.signals.len()];
    let gates = layout.phases.iter().flat_map(|p| p.gates.iter());
    let triggers = layout.rollback.iter().flat_map(|r| r.triggers.iter());
    for g in gates.chain(triggers) {
        if let (Some(w), Some(l)) = (g.window, longest.get_mut(g.signal)) {
            *l = (*l).max(w);
        }
    }
    let mut spans: Vec<Duration> = layout
        .signals
        .iter()
        .zip(longest)
        .map(|(s, w)| w.saturating_add(s.stale_after).saturating_add(s.every))
        .collect();
    // A root's evidence must reach as far back as its dependents' does:
    // their windows ask whether it was up when each sample was taken.
    for (i, s) in layout.signals.iter().enumerate() {
        for &u in &s.upstream {
            spans[u] = spans[u].max(spans[i]);
        }
    }
    spans
}

/// How far back evidence must reach for every window in `layout`.
pub fn evidence_span(layout: &Layout) -> Duration {
    spans(layout).into_iter().max().unwrap_or_default()
}

impl Board {
    pub fn new(layout: &Layout) -> Board {
        let keep_for = spans(layout)
            .into_iter()
            .map(|keep| chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX))
            .collect();
        let ids = layout
            .signals
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        let keys = layout
            .signals
            .iter()
            .enumerate()
            .map(|(i, s)| (s.key.clone(), i))
            .collect();
        Board {
            // Sized up front: growing by doubling later leaves holes in the
            // heap that RSS never gives back (measured: 65 → 47 MiB peak
            // with 1,000 signals).
            history: (0..layout.signals.len())
                .map(|_| Vec::with_capacity(TREND_SAMPLES + TRIM_BATCH + 1))
                .collect(),
            keep_for,
            ids: Arc::new(ids),
            keys: Arc::new(keys),
        }
    }

    /// The index of signal `id`, in constant time.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.ids.get(id).copied()
    }

    /// The index of the signal whose definition key is `key` (what a
    /// recorded sample names): none when its definition changed.
    pub fn index_of_key(&self, key: &str) -> Option<usize> {
        self.keys.get(key).copied()
    }

    pub fn record(&mut self, signal: usize, sample: Sample) {
        let Some(h) = self.history.get_mut(signal) else {
            return;
        };
        // Keep order even if a slow poll lands after a newer one.
        let pos = h.partition_point(|s| s.at <= sample.at);
        h.insert(pos, sample);
        // Trim in batches so the copy is amortised; keep whichever is more:
        // the trend length, or the span the longest window needs.
        if h.len() > TREND_SAMPLES + TRIM_BATCH {
            let newest = h[h.len() - 1].at;
            let expired = h.partition_point(|s| newest - s.at > self.keep_for[signal]);
            let cut = expired.min(h.len() - TREND_SAMPLES);
            if cut > 0 {
                h.drain(..cut);
            }
        }
    }

    /// This board's samples moved to `new`'s signal indices, for the
    /// signals both layouts define alike (same definition key): a signal
    /// whose URL or query changed starts with no evidence.
    pub fn rekeyed(&self, new: &Layout) -> Board {
        let mut board = Board::new(new);
        for (i, s) in new.signals.iter().enumerate() {
            if let Some(o) = self.index_of_key(&s.key) {
                for sample in self.samples(o) {
                    board.record(i, sample.clone());
                }
            }
        }
        board
    }

    pub fn samples(&self, signal: usize) -> &[Sample] {
        self.history.get(signal).map_or(&[], Vec::as_slice)
    }

    pub fn latest(&self, signal: usize) -> Option<&Sample> {
        self.samples(signal).last()
    }

    /// How many signals it holds.
    pub fn len(&self) -> usize {
        self.history.len()
    }

    pub fn is_empty(&self) -> bool {
        self.history.is_empty()
    }
}
