//! The one launch runtime: what a running gonogo does, whichever front end
//! shows it.
//!
//! It owns the journal, the live picture ([`Live`]: layout, launch state,
//! board, judgements), who polls ([`sampler`]), the guard's duties
//! (timebox, auto-rollback, hold triggers, a lost rollback's record), the acts a front end
//! orders, and notifications. It runs one loop on its own task — samples,
//! a one-second tick, the journal every 250 ms, orders — and tells the
//! front end what happened in typed [`Update`]s. `watch` prints them; the
//! screen draws from the same [`SharedLive`] the runtime updates and hears
//! the updates as messages. No front end keeps a copy of the state or the
//! board, and nothing is learnt by reading a string.

mod offline;
pub mod sampler;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::act::{self, Act, Desk, Performed};
use crate::engine::SampleTaken;
use crate::gate::{State as GateState, TriggerState};
use crate::guard;
use crate::journal::{Entry, Journal, JournalError};
use crate::launch::{CommandOutcome, Event, EventKind};
use crate::layout::{Layout, Notify};
use crate::live::{Change, Live};
use crate::notify::{Notification, Notifier};
use crate::session::Session;
use crate::signal::{Outcome, Prober};
use sampler::{LeaseNews, Sampler};

/// The live picture, shared: the runtime writes it, front ends read it.
/// Locks are held for microseconds (a sample folded) or one frame.
#[derive(Debug, Clone)]
pub struct SharedLive(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    live: RwLock<Live>,
    /// Bumped by every write: a front end redraws when it moved, without a
    /// message per sample.
    version: std::sync::atomic::AtomicU64,
}

impl SharedLive {
    pub fn new(live: Live) -> SharedLive {
        SharedLive(Arc::new(Shared {
            live: RwLock::new(live),
            version: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    /// How many times the picture was written to.
    pub fn version(&self) -> u64 {
        self.0.version.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The picture as it stands. A panic elsewhere while writing leaves
    /// the picture as it was written so far: still the best there is.
    pub fn read(&self) -> RwLockReadGuard<'_, Live> {
        self.0
            .live
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// For the runtime (and tests that stand in for it).
    pub fn write(&self) -> RwLockWriteGuard<'_, Live> {
        self.0
            .version
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.0
            .live
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What a front end asks of the runtime.
#[derive(Debug)]
pub enum Order {
    /// An act, decided and recorded through the same code as the CLI's.
    Perform(Act),
    /// Hand the lease over, let running commands finish, and end.
    Stop,
}

/// A command this process runs (an `on_enter`, a rollback), as it runs.
#[derive(Debug, Clone)]
pub enum CommandNews {
    Started(Vec<String>),
    Line(String),
    Finished(CommandOutcome),
}

/// What happened, for the front end to say or draw.
#[derive(Debug, Clone)]
pub enum Update {
    /// Signal `index` reported for the first time, or started failing,
    /// failed another way, or recovered: `failure` says how it fails now
    /// (`down: status 503`, a reason it has no value), `None` when it
    /// does not. Every sample is in the picture; only this is news.
    Signal {
        index: usize,
        failure: Option<String>,
    },
    /// Gates, triggers or the verdict changed, as judged `at`: judging
    /// again at `at` gives the words for what changed.
    Changed {
        at: DateTime<Utc>,
        changes: Vec<Change>,
    },
    /// Journal events folded in, from any process.
    Appended(Vec<Event>),
    /// The journal's newly pinned layout is in force.
    Relayout(Arc<Layout>),
    /// This process's part in polling changed.
    Lease(LeaseNews),
    /// A notification was sent.
    Alert(Notification),
    /// The layout file was edited: a proposal, or an edit refused.
    Proposal(String),
    /// A journal read or write failed (retried on the next turn).
    JournalError(String),
    /// Something the operator must see at once (a rollback run or spooled
    /// while the journal is offline, an auto-rollback that could not fire).
    Loud(String),
    /// The journal's database went away (`Some(why)`: JOURNAL OFFLINE;
    /// gates stay live, acts other than rollback are refused) or came
    /// back (`None`: everything missed has been read).
    Offline(Option<String>),
    /// An ordered act was recorded, or refused (why, in the words every
    /// front end shows).
    Acted(Result<Event, String>),
    /// A command this process runs.
    Command(CommandNews),
    /// Stopping waits for a running command: it would die with us.
    Waiting(String),
    /// The loop ended; the lease is handed over.
    Stopped,
}

/// Makes the notifier for a layout's `[notify]` (the screen's writes
/// terminal sequences between frames).
pub type MakeNotifier = Box<dyn Fn(&Notify) -> Notifier + Send>;

pub struct Options {
    /// Never write the journal: follow the poller, or poll for itself.
    pub read_only: bool,
    pub notifier: MakeNotifier,
    /// The layout file, watched for saved edits (each a proposal).
    pub watch_file: Option<PathBuf>,
}

pub struct Runtime {
    journal: Journal,
    live: SharedLive,
    /// The layout file, when it differs from the pinned layout.
    proposed: Option<Layout>,
    /// The layout file as last read and trusted: which of the pinned
    /// layout's commands run here. The very layout in force when it is
    /// the pinned text (one copy of a large layout, not two).
    file: Arc<Layout>,
    sampler: Sampler,
    samples: mpsc::UnboundedReceiver<SampleTaken>,
    updates: mpsc::UnboundedSender<Update>,
    notifier: Notifier,
    make_notifier: MakeNotifier,
    actor: String,
    /// Who the guard's own acts are recorded as.
    guard_actor: String,
    read_only: bool,
    /// Acts ordered here: their author needs no notification of them.
    done_here: Vec<i64>,
    /// Commands started by acts ordered here.
    follow_ups: Vec<JoinHandle<()>>,
    /// An auto-rollback this guard runs.
    rollback: Option<JoinHandle<()>>,
    /// Polls begun before this instant belong to the previous layout.
    retargeted: Option<tokio::time::Instant>,
    layout_file: Option<LayoutFile>,
    /// How each signal last failed: `None` until it reports, then
    /// `Some(None)` while it does not fail.
    failures: Vec<Option<Option<String>>>,
    /// Sign-offs whose staleness this process tried to record (once each:
    /// the claim decides who records it).
    stale_recorded: Vec<i64>,
    /// Why the journal cannot be written, while it cannot.
    offline: Option<String>,
    /// What opening the session appended from the rollback spool: said
    /// when the loop starts.
    drained: Vec<String>,
    /// A rollback ran here while the journal was offline and waits in the
    /// spool.
    spooled_here: bool,
    /// The operator was told that auto-rollback cannot fire offline (once
    /// per breach).
    offline_alerted: bool,
    /// The operator was told that the rollback command is not in their
    /// trusted copy and so does not run here (once per breach).
    distrust_alerted: bool,
    /// When the clock was last measured against the journal server's.
    clock_measured: Option<std::time::Instant>,
    /// The skew last said (whole seconds), while one is worth saying.
    clock_said: Option<i64>,
}

impl Runtime {
    /// Prepares the runtime on `session`: loads recorded evidence, judges
    /// everything once. Returns it with the picture it keeps and the
    /// stream of its updates.
    pub fn new(
        session: Session,
        prober: Prober,
        opts: Options,
    ) -> (Runtime, SharedLive, mpsc::UnboundedReceiver<Update>) {
        let Session {
            layout,
            journal,
            state,
            proposed,
            file,
            drained,
        } = session;
        let layout = Arc::new(layout);
        let file = if file.digest() == layout.digest() && layout.distrusted.places.is_empty() {
            Arc::clone(&layout)
        } else {
            Arc::new(file)
        };
        let (sample_tx, samples) = mpsc::unbounded_channel();
        let (updates, updates_rx) = mpsc::unbounded_channel();
        let journal_actor = journal.actor();
        let guard_actor = format!("{journal_actor}{}", guard::GUARD_ACTOR_SUFFIX);
        let mut board = crate::board::Board::new(&layout);
        let mut sampler = Sampler::new(
            Arc::clone(&layout),
            prober,
            sample_tx,
            &journal,
            &mut board,
            &guard_actor,
        );
        if opts.read_only {
            sampler.view_only();
        }
        let live = SharedLive::new(Live::new(
            Arc::clone(&layout),
            state,
            board,
            crate::clock::now(),
        ));
        let notifier = (opts.notifier)(&layout.notify);
        let runtime = Runtime {
            journal,
            live: live.clone(),
            proposed,
            file,
            sampler,
            samples,
            updates,
            notifier,
            make_notifier: opts.notifier,
            // Who orders acts here is who the journal stamps on them: the
            // rules judge the same name the record will carry.
            actor: journal_actor,
            guard_actor,
            read_only: opts.read_only,
            done_here: Vec::new(),
            follow_ups: Vec::new(),
            rollback: None,
            retargeted: None,
            layout_file: opts.watch_file.as_deref().map(LayoutFile::new),
            failures: Vec::new(),
            stale_recorded: Vec::new(),
            offline: None,
            drained,
            spooled_here: false,
            offline_alerted: false,
            distrust_alerted: false,
            clock_measured: None,
            clock_said: None,
        };
        (runtime, live, updates_rx)
    }

    /// The journal this runtime keeps.
    pub fn journal_path(&self) -> &crate::journal::Location {
        self.journal.location()
    }

    /// A note for the operator when the file given is not the layout in
    /// force.
    pub fn proposal_note(&self) -> Option<String> {
        crate::session::proposal_note(self.proposed.as_ref(), self.live.read().state())
    }

    /// Runs until [`Order::Stop`] or the front end is gone.
    pub async fn run(mut self, mut orders: mpsc::UnboundedReceiver<Order>) {
        let mut clock = tokio::time::interval(Duration::from_secs(1));
        // A journal that pushes news (PostgreSQL's NOTIFY) is read the
        // moment another process writes; the slow poll only covers a
        // notification lost with a connection. A file is polled: other
        // processes' acts (and a poller's samples) show within 250 ms.
        let mut wakeups = self.journal.wakeups();
        let mut journal_poll = tokio::time::interval(if wakeups.is_some() {
            Duration::from_secs(2)
        } else {
            Duration::from_millis(250)
        });
        // Sign-offs found stale on opening (their gate left GO while no
        // guard watched) go on the record at once.
        tokio::task::block_in_place(|| self.record_stale(crate::clock::now()));
        // Rollbacks spooled by a process of this launch that ended while
        // the journal was offline (opening the session appended some).
        for line in std::mem::take(&mut self.drained) {
            self.say(Update::Loud(line));
        }
        tokio::task::block_in_place(|| self.drain_spool());
        loop {
            let pushed = async {
                match wakeups.as_mut() {
                    Some(w) => w.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(r) = self.samples.recv() => self.sampled(r),
                _ = clock.tick() => tokio::task::block_in_place(|| self.tick()),
                _ = journal_poll.tick() => tokio::task::block_in_place(|| self.poll_journal()),
                alive = pushed => {
                    if alive {
                        tokio::task::block_in_place(|| self.poll_journal());
                    } else {
                        wakeups = None;
                    }
                }
                order = orders.recv() => match order {
                    Some(Order::Perform(a)) => tokio::task::block_in_place(|| self.perform(&a)),
                    Some(Order::Stop) | None => break,
                },
            }
        }
        self.journal.hurry();
        self.sampler.stop(&mut self.journal);
        if let Some(task) = self.rollback.take().filter(|t| !t.is_finished()) {
            self.say(Update::Waiting(
                "waiting for the running rollback command to finish".into(),
            ));
            let _ = task.await;
        }
        for task in std::mem::take(&mut self.follow_ups) {
            // A rollback or on_enter started here finishes and is recorded;
            // killing it with us would leave the record half-done.
            let _ = task.await;
        }
        // Whatever the commands recorded, said before the end.
        tokio::task::block_in_place(|| self.refresh());
        let notifier = std::mem::replace(&mut self.notifier, Notifier::disabled());
        tokio::task::block_in_place(|| notifier.flush(Duration::from_secs(1)));
        self.say(Update::Stopped);
    }

    fn say(&self, u: Update) {
        let _ = self.updates.send(u);
    }

    /// A journal call failed. A database gone away is said once, as
    /// JOURNAL OFFLINE, not on every turn that finds it still gone.
    fn journal_failed(&mut self, e: &JournalError) {
        if e.is_unreachable() {
            self.watch_offline();
        } else {
            self.say(Update::JournalError(e.to_string()));
        }
    }

    /// Samples polled here (this one and any already waiting, folded in
    /// one turn): evidence for the journal, folded into the picture; only
    /// the gates and triggers on their signals are judged.
    fn sampled(&mut self, first: SampleTaken) {
        let now = crate::clock::now();
        let mut changes = Vec::new();
        let mut signals = Vec::new();
        let mut next = Some(first);
        while let Some(r) = next {
            // A poll begun for the layout before an adoption: its index
            // may name another signal now.
            if self.retargeted.is_none_or(|t| r.started >= t) {
                self.sampler.sampled(r.signal, &r.sample);
                signals.push(r.signal);
                changes.extend(self.live.write().record(r.signal, r.sample, now));
            }
            next = self.samples.try_recv().ok();
        }
        self.signals_reported(&signals);
        self.changed(changes, now);
    }

    /// Says which of `signals` first reported, or started, changed or
    /// stopped failing. Nothing is allocated for a signal that is well.
    fn signals_reported(&mut self, signals: &[usize]) {
        let live = self.live.read();
        let n = live.layout().signals.len();
        if self.failures.len() != n {
            self.failures = vec![None; n];
        }
        let mut news = Vec::new();
        for &i in signals {
            let (Some(latest), Some(slot)) = (live.board().latest(i), self.failures.get_mut(i))
            else {
                continue;
            };
            let failing = match &latest.outcome {
                Outcome::Unknown(r) => Some(("", r.as_str())),
                Outcome::Health {
                    up: false, detail, ..
                }
                | Outcome::Certificate {
                    up: false, detail, ..
                } => Some(("down: ", detail.as_str())),
                _ => None,
            };
            let same = match (&*slot, failing) {
                (Some(None), None) => true,
                (Some(Some(was)), Some((prefix, why))) => {
                    was.strip_prefix(prefix).is_some_and(|rest| rest == why)
                }
                _ => false,
            };
            if same {
                continue;
            }
            let failure = failing.map(|(prefix, why)| format!("{prefix}{why}"));
            *slot = Some(failure.clone());
            news.push(Update::Signal { index: i, failure });
        }
        drop(live);
        for u in news {
            self.say(u);
        }
    }

    /// Reacts to changes (a gate gone red is worth a notification; a trigger
    /// that fired, a rollback) and passes them on.
    fn changed(&mut self, changes: Vec<Change>, now: DateTime<Utc>) {
        if changes.is_empty() {
            return;
        }
        let mut alerts = Vec::new();
        let mut newly_blocked = Vec::new();
        let mut fired = false;
        let mut stale = false;
        for c in &changes {
            match c {
                Change::SignoffStale { .. } => stale = true,
                Change::Gate {
                    index,
                    from: Some(GateState::Go),
                    state: GateState::NoGo,
                } => {
                    let live = self.live.read();
                    if let (Some(gate), Some(j)) =
                        (live.phase().gates.get(*index), live.judge(*index, now))
                    {
                        alerts.push(Notification::gate_no_go(
                            &live.layout().launch.name,
                            &gate.label(),
                            &j.reason,
                        ));
                    }
                }
                Change::Gate {
                    index,
                    from: Some(GateState::Go),
                    state: GateState::Blocked,
                } => newly_blocked.push(*index),
                Change::Trigger {
                    state: TriggerState::Fired,
                    ..
                } => fired = true,
                _ => {}
            }
        }
        if !newly_blocked.is_empty() {
            // One notification per root cause, not one per gate behind it.
            let live = self.live.read();
            for g in live.blocked(now) {
                if g.gates.iter().any(|i| newly_blocked.contains(i)) {
                    alerts.push(Notification::gates_blocked(
                        &live.layout().launch.name,
                        &g.blocker.headline(),
                        g.gates.len(),
                    ));
                }
            }
        }
        // The change first, then what it calls for.
        self.say(Update::Changed { at: now, changes });
        if stale {
            self.record_stale(now);
        }
        for n in alerts {
            self.alert(n);
        }
        if fired && let Err(e) = self.duties(now) {
            self.journal_failed(&e);
        }
    }

    /// Records every sign-off judged stale here and not yet in the
    /// journal: once per sign-off across every process (a claim); a
    /// process that loses the claim reads the winner's record.
    fn record_stale(&mut self, now: DateTime<Utc>) {
        if self.read_only {
            return;
        }
        let entries: Vec<Entry> = {
            let live = self.live.read();
            let state = live.state();
            let gates = act::snapshot(live.phase(), &live.judged(now));
            state
                .signoffs
                .iter()
                .filter(|s| !self.stale_recorded.contains(&s.seq))
                .filter_map(|s| {
                    let why = s.stale.as_ref().filter(|w| !w.recorded)?;
                    Some(stale_entry(&state.phase, s, why, gates.clone()))
                })
                .collect()
        };
        let appended = !entries.is_empty();
        for entry in entries {
            if let EventKind::SignoffStale { signed, .. } = &entry.kind {
                self.stale_recorded.push(*signed);
            }
            match self.journal.append(&entry) {
                Ok(_) | Err(JournalError::Claimed(_)) => {}
                Err(e) => self.journal_failed(&e),
            }
        }
        if appended {
            self.refresh();
        }
    }

    fn alert(&self, n: Notification) {
        self.notifier.send(&n);
        self.say(Update::Alert(n));
    }

    /// Once a second: a saved layout edit, what time alone changed, the
    /// lease and evidence, the guard's duties.
    fn tick(&mut self) {
        self.measure_clock();
        if let Some(file) = self.layout_file.as_mut()
            && file.changed()
        {
            let path = file.path.clone();
            match read_layout(&path) {
                Ok(new) => self.propose(new),
                Err(why) => self.say(Update::Proposal(why)),
            }
        }
        let now = crate::clock::now();
        let changes = self.live.write().tick(now);
        self.changed(changes, now);
        let ticked = {
            let live = self.live.read();
            self.sampler.tick(&mut self.journal, live.board())
        };
        match ticked {
            Ok(Some(news)) => self.say(Update::Lease(news)),
            Ok(None) => {}
            Err(e) => self.journal_failed(&e),
        }
        if let Err(e) = self.duties(now) {
            self.journal_failed(&e);
        }
    }

    /// Once a minute: this machine's clock against the journal server's.
    /// A skew worth showing, a changed one, or one gone is said once.
    fn measure_clock(&mut self) {
        if self
            .clock_measured
            .is_some_and(|t| t.elapsed() < Duration::from_secs(60))
        {
            return;
        }
        self.clock_measured = Some(std::time::Instant::now());
        if self.journal.measure_clock().is_err() {
            return;
        }
        let said = crate::clock::skew().map(|skew| {
            let secs = crate::clock::secs(skew);
            let words = crate::clock::badge().map(|b| match crate::clock::refusal() {
                Some(why) => format!("{b}: {why}"),
                None => format!(
                    "{b}: this machine's clock is {}s {} the journal server's; gonogo judges by the server's",
                    secs.abs(),
                    if secs > 0 { "ahead of" } else { "behind" }
                ),
            });
            (secs, words)
        });
        let (shown_secs, words) = match said {
            Some((secs, Some(w))) => (Some(secs), Some(w)),
            _ => (None, None),
        };
        let moved = match (shown_secs, self.clock_said) {
            (Some(a), Some(b)) => (a - b).abs() >= 2,
            (a, b) => a.is_some() != b.is_some(),
        };
        if moved {
            match (&words, self.clock_said) {
                (Some(w), _) => self.say(Update::Loud(w.clone())),
                (None, Some(_)) => self.say(Update::Loud(
                    "CLOCK: this machine's clock agrees with the journal server's again".into(),
                )),
                (None, None) => {}
            }
            self.clock_said = shown_secs;
        }
    }

    /// Samples another process polled, and new journal events.
    fn poll_journal(&mut self) {
        let followed = {
            let live = self.live.read();
            self.sampler.follow(&self.journal, live.board())
        };
        if !followed.is_empty() {
            let now = crate::clock::now();
            let signals: Vec<usize> = followed.iter().map(|(i, _)| *i).collect();
            // A batch judged once: its oldest samples may be stale by now,
            // its newest are not, and only the end of the batch is news.
            let changes = self.live.write().record_all(followed, now);
            self.signals_reported(&signals);
            self.changed(changes, now);
        }
        self.refresh();
        self.watch_offline();
    }

    /// Says when the journal goes OFFLINE or comes back. Back, it has been
    /// read again already (the poll that found it back read it).
    fn watch_offline(&mut self) {
        let now = self.journal.offline();
        // Said when it goes and when it comes back, not on every retry
        // whose error reads differently.
        if now.is_some() != self.offline.is_some() {
            if now.is_none() {
                // What was spooled and missed while offline, before saying
                // it is back.
                self.drain_spool();
            }
            self.offline.clone_from(&now);
            self.say(Update::Offline(now));
        }
    }

    /// Folds in events recorded since the last look (by any process),
    /// notifies of those not ordered here, and follows a newly pinned
    /// layout.
    fn refresh(&mut self) {
        let seq = self.live.read().state().seq;
        let events = match self.journal.since(seq) {
            Ok(events) if events.is_empty() => return,
            Ok(events) => events,
            Err(e) => return self.journal_failed(&e),
        };
        let now = crate::clock::now();
        let changes = self.live.write().apply(&events, now);
        let (name, launch) = {
            let live = self.live.read();
            (
                live.layout().launch.name.clone(),
                live.layout().launch.id.clone(),
            )
        };
        crate::session::cache::extend(self.journal.location(), &launch, &events);
        for e in &events {
            if !self.done_here.contains(&e.seq)
                && let Some(n) = guard::notification(&name, e)
            {
                self.alert(n);
            }
        }
        let pinned = events
            .iter()
            .any(|e| matches!(e.kind, EventKind::LayoutPinned { .. }));
        self.say(Update::Appended(events));
        self.changed(changes, now);
        if pinned {
            self.follow_pin(now);
        }
    }

    /// Switches to the layout the journal now pins: polling restarts on
    /// it, samples of the signals that stayed alike are kept.
    fn follow_pin(&mut self, now: DateTime<Utc>) {
        let found = {
            let live = self.live.read();
            crate::session::in_force(live.state(), live.layout(), &self.file)
        };
        let (layout, proposed) = match found {
            Ok(found) => found,
            Err(why) => return self.say(Update::JournalError(why)),
        };
        self.proposed = proposed;
        {
            let live = self.live.read();
            let now_in_force = live.layout();
            if layout.digest() == now_in_force.digest()
                && layout.distrusted.places == now_in_force.distrusted.places
            {
                return;
            }
        }
        let layout = Arc::new(layout);
        let changes = self.live.write().relayout(Arc::clone(&layout), now);
        self.retargeted = Some(tokio::time::Instant::now());
        // Indices name other signals now: each is news again.
        self.failures.clear();
        self.sampler.retarget(Arc::clone(&layout));
        self.notifier = (self.make_notifier)(&layout.notify);
        self.say(Update::Relayout(layout));
        self.changed(changes, now);
    }

    /// The guard's duties, recorded once across every process sharing the
    /// journal (claims): a lost rollback's end, a timebox overrun,
    /// auto-rollback when enough rollback triggers fired, and otherwise an
    /// automatic hold when a hold trigger fired on a breach nobody has
    /// resumed past (a rollback outranks it). The rollback runs on its
    /// own task with its own connection, so this loop stays live meanwhile.
    fn duties(&mut self, now: DateTime<Utc>) -> Result<(), JournalError> {
        if self.read_only {
            return Ok(());
        }
        if let Some(why) = self.journal.offline() {
            self.offline_duties(now, &why);
            return Ok(());
        }
        if self.spooled_here && self.rollback.as_ref().is_none_or(JoinHandle::is_finished) {
            // Its command ended after the journal came back.
            self.drain_spool();
        }
        let live = self.live.read();
        let (layout, state) = (live.layout(), live.state());
        guard::reap_lost_rollback(&mut self.journal, state, now)?;
        if let Some(kind) = guard::timebox_overrun(layout, state, now) {
            match self.journal.append(&Entry {
                kind,
                gates: act::snapshot(live.phase(), &live.judged(now)),
                claim: Some(guard::timebox_claim(state)),
            }) {
                Ok(_) | Err(JournalError::Claimed(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if self.rollback.as_ref().is_some_and(|t| !t.is_finished()) {
            return Ok(());
        }
        let holds = due_holds(&live, now);
        let Some(fired) = fired_triggers(&live, now) else {
            self.distrust_alerted = false;
            if holds.is_empty() {
                return Ok(());
            }
            let entry = Entry {
                kind: EventKind::AutoHeld {
                    reason: format!("auto-hold: {}", holds.join("; ")),
                    triggers: holds,
                },
                gates: act::snapshot(live.phase(), &live.judged(now)),
                claim: Some(guard::hold_claim(state)),
            };
            drop(live);
            return match self.journal.append(&entry) {
                Ok(_) | Err(JournalError::Claimed(_)) => Ok(()),
                Err(e) => Err(e),
            };
        };
        if let Some(why) = layout.command_refusal(&crate::layout::CommandPlace::Rollback) {
            // Said once per breach; a guard whose own copy holds the
            // command claims and runs it.
            if !std::mem::replace(&mut self.distrust_alerted, true) {
                let text = format!(
                    "AUTO-ROLLBACK NOT RUN HERE: {} breached, but {why}",
                    fired.join("; ")
                );
                let name = layout.launch.name.clone();
                drop(live);
                self.alert(Notification::new(
                    format!("{name} — AUTO-ROLLBACK NOT RUN HERE"),
                    text.clone(),
                    crate::notify::Urgency::Critical,
                ));
                self.say(Update::Loud(text));
            }
            return Ok(());
        }
        let gates = act::snapshot(live.phase(), &live.judged(now));
        if !holds.is_empty() {
            // The rollback outranks the hold (the stronger act): the hold
            // triggers' breach is recorded beside it, once, and holds no
            // more (the launch is rolling back).
            let entry = Entry {
                kind: EventKind::Noted {
                    text: format!(
                        "hold triggers fired together with auto-rollback, which outranks them: {}",
                        holds.join("; ")
                    ),
                },
                gates: gates.clone(),
                claim: Some(guard::hold_claim(state)),
            };
            match self.journal.append(&entry) {
                Ok(_) | Err(JournalError::Claimed(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let state = state.clone();
        let layout = Arc::clone(layout);
        drop(live);
        let path = self.journal.location().clone();
        let actor = self.guard_actor.clone();
        let progress = command_news(&self.updates);
        self.rollback = Some(tokio::spawn(async move {
            if let Ok(mut journal) =
                crate::journal::blocking(|| Journal::open(&path, &layout.launch.id))
            {
                // Failures here land in the journal or not at all; the
                // journal poll shows whatever was recorded.
                let _ = guard::fire_rollback(
                    &mut journal,
                    &layout,
                    &state,
                    &actor,
                    fired,
                    gates,
                    Some(&*progress),
                )
                .await;
            }
        }));
        Ok(())
    }

    /// Performs an act through the same code as the CLI, on every event
    /// recorded so far, then runs its follow-up (rollback command,
    /// `on_enter`) on a task with its own journal connection.
    fn perform(&mut self, a: &Act) {
        if self.read_only {
            return self.say(Update::Acted(Err(format!(
                "cannot {}: this process is read-only (--read-only)",
                a.name()
            ))));
        }
        self.refresh();
        if let Some(why) = self.journal.offline() {
            return self.perform_offline(a, &why);
        }
        // The adopt key means the file on disk, as last read and trusted.
        let filled;
        let a = match a {
            Act::Adopt { text, .. } if text.is_empty() => {
                let Some(file) = &self.proposed else {
                    return self.say(Update::Acted(Err(
                        "cannot adopt: no edit of the layout file to adopt (it matches the layout in force, or its last edit was rejected)"
                            .into(),
                    )));
                };
                filled = Act::Adopt {
                    path: file.path.display().to_string(),
                    text: file.source.to_string(),
                };
                &filled
            }
            a => a,
        };
        let live = self.live.read();
        let desk = Desk {
            layout: live.layout(),
            state: live.state(),
            board: live.board(),
            now: crate::clock::now(),
            actor: &self.actor,
        };
        let gates = desk.snapshot();
        let performed = act::perform(&mut self.journal, &desk, a);
        let (layout, state) = (Arc::clone(live.layout()), live.state().clone());
        drop(live);
        let event = match performed {
            Ok(Performed::Done(e)) => e,
            Ok(Performed::Refused(why)) => return self.say(Update::Acted(Err(why))),
            Err(e) => {
                // The database went away under the act: rollback still
                // runs (spooled); anything else is refused with the reason.
                if let Some(why) = e.unreachable_reason() {
                    self.watch_offline();
                    return self.perform_offline(a, why);
                }
                return self.say(Update::Acted(Err(format!("journal: {e}"))));
            }
        };
        self.done_here.push(event.seq);
        if self.done_here.len() > 64 {
            self.done_here.remove(0);
        }
        // Folded in before it is announced: whoever hears the act done
        // finds the picture showing it.
        self.refresh();
        self.say(Update::Acted(Ok(event.clone())));
        if !matches!(
            event.kind,
            EventKind::Advanced { .. }
                | EventKind::Started { .. }
                | EventKind::RollbackStarted { .. }
        ) {
            return;
        }
        let actor = self.actor.clone();
        let path = self.journal.location().clone();
        let progress = command_news(&self.updates);
        let updates = self.updates.clone();
        self.follow_ups.push(tokio::spawn(async move {
            let Ok(mut journal) =
                crate::journal::blocking(|| Journal::open(&path, &layout.launch.id))
            else {
                return;
            };
            let progress = Some(&*progress);
            let done = match &event.kind {
                EventKind::RollbackStarted { .. } => guard::run_rollback(
                    &mut journal,
                    &layout,
                    &state,
                    &event,
                    &actor,
                    gates,
                    progress,
                )
                .await
                .map(Some),
                _ => {
                    guard::run_on_enter(&mut journal, &layout, &event, &actor, gates, progress)
                        .await
                }
            };
            if let Ok(Some(e)) = done {
                let _ = updates.send(Update::Acted(Ok(e)));
            }
        }));
    }

    /// A saved edit of the layout file: only a proposal until an owner
    /// adopts it, which is a journaled act.
    fn propose(&mut self, new: Layout) {
        // The trusted copy changed: which pinned commands run here may too.
        self.file = Arc::new(new.clone());
        self.follow_pin(crate::clock::now());
        let live = self.live.read();
        let current = live.layout();
        if new.digest() == current.digest() {
            drop(live);
            self.proposed = None;
            return;
        }
        let changed = similar::TextDiff::from_lines(&*current.source, &*new.source)
            .iter_all_changes()
            .filter(|c| c.tag() != similar::ChangeTag::Equal)
            .count();
        let who = if current.may_adopt(&self.actor, live.state().creator.as_deref()) {
            "L adopts it (journaled, with the diff)"
        } else {
            "an owner of the launch must adopt it"
        };
        let note = format!(
            "the layout file changed ({changed} lines differ); still running the pinned layout — {who}"
        );
        drop(live);
        self.proposed = Some(new);
        self.say(Update::Proposal(note));
    }
}

/// The labels (with why) of the rollback triggers that fired (hold
/// triggers never count toward the quorum), when at least the quorum did and auto-rollback is armed: from the picture's judgements,
/// words only for the fired ones.
fn fired_triggers(live: &Live, now: DateTime<Utc>) -> Option<Vec<String>> {
    let rb = live.layout().rollback.as_ref()?;
    if !guard::armed(live.layout(), live.state()) {
        return None;
    }
    let fired: Vec<String> = rb
        .rollback_triggers()
        .filter(|(i, _)| live.trigger_state(*i) == Some(&TriggerState::Fired))
        .filter_map(|(i, t)| {
            let j = live.judge_trigger(i, now)?;
            Some(format!("{} ({})", t.label(), j.reason))
        })
        .collect();
    (fired.len() >= rb.quorum).then_some(fired)
}

/// The labels (with why) of the hold triggers that fired on a breach no
/// person has seen yet, when holds are armed: what puts the launch ON
/// HOLD (see [`guard::breach_seen`] for "once per breach").
fn due_holds(live: &Live, now: DateTime<Utc>) -> Vec<String> {
    let Some(rb) = live.layout().rollback.as_ref() else {
        return Vec::new();
    };
    if !guard::holds_armed(live.layout(), live.state()) {
        return Vec::new();
    }
    rb.hold_triggers()
        .filter(|(i, _)| live.trigger_state(*i) == Some(&TriggerState::Fired))
        .filter_map(|(i, t)| {
            let j = live.judge_trigger(i, now)?;
            (j.state == TriggerState::Fired && !guard::breach_seen(live.state(), &j))
                .then(|| format!("{} ({})", t.label(), j.reason))
        })
        .collect()
}

/// The record of sign-off `s` gone stale, claimed once per sign-off.
pub fn stale_entry(
    phase: &str,
    s: &crate::launch::SignOff,
    why: &crate::launch::Staleness,
    gates: Vec<crate::launch::GateSnapshot>,
) -> Entry {
    Entry {
        kind: EventKind::SignoffStale {
            phase: phase.to_string(),
            role: s.role.clone(),
            signer: s.user.clone(),
            signed: s.seq,
            gate: why.gate.clone(),
            state: why.state.clone(),
            seen: why.seen,
        },
        gates,
        claim: Some(format!("signoff-stale:{}", s.seq)),
    }
}

/// A command's output as updates, line by line as it is printed.
fn command_news(tx: &mpsc::UnboundedSender<Update>) -> Arc<act::ProgressSink> {
    let tx = tx.clone();
    Arc::new(move |p: act::Progress<'_>| {
        let news = match p {
            act::Progress::Started(argv) => CommandNews::Started(argv.to_vec()),
            act::Progress::Line(l) => CommandNews::Line(l.to_string()),
            act::Progress::Finished(o) => CommandNews::Finished(o.clone()),
        };
        let _ = tx.send(Update::Command(news));
    })
}

/// Notices a saved edit of the layout file (by size and mtime, once a
/// second: cheap, and works on every filesystem a bastion may have).
struct LayoutFile {
    path: PathBuf,
    seen: Option<(std::time::SystemTime, u64)>,
}

impl LayoutFile {
    fn new(path: &Path) -> LayoutFile {
        let mut f = LayoutFile {
            path: path.to_path_buf(),
            seen: None,
        };
        f.seen = f.stamp();
        f
    }

    fn stamp(&self) -> Option<(std::time::SystemTime, u64)> {
        let m = std::fs::metadata(&self.path).ok()?;
        Some((m.modified().ok()?, m.len()))
    }

    fn changed(&mut self) -> bool {
        let now = self.stamp();
        if now.is_some() && now != self.seen {
            self.seen = now;
            return true;
        }
        false
    }
}

/// Reads a saved edit of the layout, or why it was rejected (the pinned
/// layout keeps running).
fn read_layout(path: &Path) -> Result<Layout, String> {
    crate::layout::load(path).map_err(|e| {
        let text = e.to_string();
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default().to_string();
        let more = match lines.count() {
            0 => String::new(),
            n => format!(" (+{n} more)"),
        };
        format!("edit rejected, pinned layout runs: {first}{more}")
    })
}
