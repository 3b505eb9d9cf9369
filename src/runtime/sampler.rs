//! Who polls: one process per journal holds the polling lease and polls
//! the endpoints; the others follow the samples it records. Ten operators
//! never put ten times the load on production, and a follower takes over
//! within seconds when the poller dies. The poller's samples are the
//! launch's evidence: recorded, so windows survive a restart and CLI acts
//! judge on what the guard saw.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use crate::board::{self, Board};
use crate::engine::{self, Polling, SampleTaken};
use crate::journal::{Journal, JournalError};
use crate::layout::Layout;
use crate::signal::{Prober, Sample};

/// The lease of the process that polls (see [`Journal::hold_lease`]).
const POLL_LEASE_NAME: &str = "poll";

/// How long a polling lease lasts without renewal (renewed every second):
/// a follower takes over this long after the poller dies.
pub const LEASE_TTL: Duration = Duration::from_secs(4);

/// What happened to this process's part in polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseNews {
    /// This process took the lease and polls.
    Polling,
    /// Another process took the lease; this one follows its samples.
    LostToAnother,
    /// Another process held the lease when this one started.
    Following,
    /// A viewer: a guard polls, so it follows.
    ViewerFollows,
    /// A viewer: no guard polls, so it polls for itself, recording nothing.
    ViewerPolls,
    /// The journal is offline: nobody can be followed, so this process
    /// polls for itself and the gates stay live.
    PollingOffline,
}

impl LeaseNews {
    pub fn line(self) -> &'static str {
        match self {
            LeaseNews::Polling => "polling the signals (this guard holds the polling lease)",
            LeaseNews::LostToAnother => "another guard polls now; following its samples",
            LeaseNews::Following => "another guard holds the polling lease; following its samples",
            LeaseNews::ViewerFollows => "a guard polls now; following its samples",
            LeaseNews::ViewerPolls => {
                "no guard polls: this viewer polls for itself and records nothing"
            }
            LeaseNews::PollingOffline => {
                "the journal is offline: polling here so the gates stay live (evidence is not recorded meanwhile)"
            }
        }
    }
}

pub struct Sampler {
    layout: Arc<Layout>,
    prober: Prober,
    tx: mpsc::UnboundedSender<SampleTaken>,
    holder: String,
    polling: Option<Polling>,
    lease_known: bool,
    seen_samples: i64,
    /// Samples polled here since the last record, by signal and time: the
    /// samples themselves are on the board, not copied.
    evidence: Vec<(usize, chrono::DateTime<Utc>)>,
    keep: Duration,
    /// A read-only viewer: never writes the journal; follows the poller,
    /// or polls for itself when none is live.
    view_only: bool,
}

impl Sampler {
    /// Loads recorded evidence into `board` (so windows survive a restart)
    /// and prepares to poll or follow.
    pub fn new(
        layout: Arc<Layout>,
        prober: Prober,
        tx: mpsc::UnboundedSender<SampleTaken>,
        journal: &Journal,
        board: &mut Board,
        actor: &str,
    ) -> Sampler {
        let keep = board::evidence_span(&layout);
        let since =
            crate::clock::now() - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
        for (id, sample) in journal.samples_since(since).unwrap_or_default() {
            if let Some(i) = board.index_of_key(&id) {
                board.record(i, sample);
            }
        }
        // One holder per sampler, not per process: two runtimes in one
        // process (tests, a future multi-launch screen) must not both poll.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Sampler {
            holder: format!("{actor}:{}:{n}", std::process::id()),
            seen_samples: journal.last_sample_id().unwrap_or(0),
            layout,
            prober,
            tx,
            polling: None,
            lease_known: false,
            evidence: Vec::new(),
            keep,
            view_only: false,
        }
    }

    /// Makes this a read-only viewer: it never writes the journal.
    pub fn view_only(&mut self) {
        self.view_only = true;
    }

    /// Switches to an adopted layout: polling restarts on it at once.
    pub fn retarget(&mut self, layout: Arc<Layout>) {
        self.keep = board::evidence_span(&layout);
        self.layout = layout;
        self.evidence.clear();
        if self.polling.is_some() {
            self.polling = Some(self.start());
        }
    }

    fn start(&self) -> Polling {
        engine::start(
            Arc::clone(&self.layout),
            self.prober.clone(),
            self.tx.clone(),
        )
    }

    /// Whether this process polls.
    pub fn polls(&self) -> bool {
        self.polling.is_some()
    }

    /// A sample this process polled: evidence for the journal, recorded
    /// from the board at the next tick.
    pub fn sampled(&mut self, signal: usize, sample: &Sample) {
        if !self.view_only && signal < self.layout.signals.len() {
            self.evidence.push((signal, sample.at));
        }
    }

    /// Once a second: take, renew or lose the lease; record the evidence.
    ///
    /// # Errors
    /// Journal failures (the lease is retried at the next tick).
    pub fn tick(
        &mut self,
        journal: &mut Journal,
        board: &Board,
    ) -> Result<Option<LeaseNews>, JournalError> {
        if self.view_only {
            return Ok(self.view(journal));
        }
        let held = match journal.hold_lease(&self.holder, LEASE_TTL) {
            Ok(held) => held,
            Err(e) if e.is_unreachable() => {
                // Evidence is a courtesy to other processes' windows; the
                // board here keeps its own.
                self.evidence.clear();
                if self.polling.is_none() {
                    self.polling = Some(self.start());
                    return Ok(Some(LeaseNews::PollingOffline));
                }
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let known = std::mem::replace(&mut self.lease_known, true);
        let news = match held {
            true if self.polling.is_none() => {
                self.polling = Some(self.start());
                Some(LeaseNews::Polling)
            }
            false if self.polling.is_some() => {
                self.polling = None;
                self.evidence.clear();
                self.seen_samples = journal.last_sample_id().unwrap_or(self.seen_samples);
                Some(LeaseNews::LostToAnother)
            }
            false if !known => Some(LeaseNews::Following),
            _ => None,
        };
        let evidence = std::mem::take(&mut self.evidence);
        let layout = &self.layout;
        // A sample trimmed from the board since (a tiny history) is simply
        // not recorded: evidence is a courtesy to windows, never a claim.
        let samples = evidence.iter().filter_map(|&(i, at)| {
            let on_board = board.samples(i);
            let k = on_board.partition_point(|s| s.at < at);
            let sample = on_board.get(k).filter(|s| s.at == at)?;
            Some((layout.signals[i].key.as_str(), sample))
        });
        journal.record_samples(samples, self.keep)?;
        Ok(news)
    }

    /// A viewer's tick: follow the poller while its lease is live, else
    /// poll for itself, recording nothing.
    fn view(&mut self, journal: &Journal) -> Option<LeaseNews> {
        let now = crate::clock::now();
        let live = matches!(journal.lease(POLL_LEASE_NAME), Ok(Some((_, until))) if until > now);
        self.lease_known = true;
        match (live, self.polling.is_some()) {
            (true, true) => {
                self.polling = None;
                self.seen_samples = journal.last_sample_id().unwrap_or(self.seen_samples);
                Some(LeaseNews::ViewerFollows)
            }
            (false, false) => {
                self.polling = Some(self.start());
                Some(LeaseNews::ViewerPolls)
            }
            _ => None,
        }
    }

    /// Samples the lease holder recorded since last asked (only when this
    /// process does not poll), by signal index on `board`.
    pub fn follow(&mut self, journal: &Journal, board: &Board) -> Vec<(usize, Sample)> {
        if self.polling.is_some() {
            return Vec::new();
        }
        let Ok((last, samples)) = journal.samples_after(self.seen_samples) else {
            return Vec::new();
        };
        self.seen_samples = last;
        samples
            .into_iter()
            .filter_map(|(key, s)| board.index_of_key(&key).map(|i| (i, s)))
            .collect()
    }

    /// Stops polling and hands the lease over at once.
    pub fn stop(&mut self, journal: &mut Journal) {
        if self.polling.take().is_some() && !self.view_only {
            let _ = journal.release_lease(&self.holder);
        }
    }
}
