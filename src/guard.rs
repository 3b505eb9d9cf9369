//! The guard: what a running gonogo (screen or `watch`) does on its own —
//! auto-rollback when enough triggers hold, the timebox overrun record.
//!
//! Deciding is pure ([`auto_rollback_due`], [`timebox_overrun`]); firing
//! goes through the journal with a claim, so when several processes share
//! a journal exactly one of them runs the rollback for a breach.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::act::{self, CommandContext};
use crate::engine::Board;
use crate::gate::{TriggerJudgement, TriggerState};
use crate::journal::{Entry, Journal, JournalError};
use crate::launch::{Event, EventKind, GateSnapshot, State};
use crate::layout::Layout;

/// Who the guard records its own acts as.
pub const GUARD_ACTOR_SUFFIX: &str = " (guard)";

/// Whether auto-rollback is armed: triggers exist, the launch has started
/// and reached `auto_from`, nobody disarmed it, and it is not already
/// rolled back.
pub fn armed(layout: &Layout, state: &State) -> bool {
    let Some(rb) = &layout.rollback else {
        return false;
    };
    let (Some(from), Some(now)) = (rb.auto_from, layout.phase_index(&state.phase)) else {
        return false;
    };
    !rb.triggers.is_empty()
        && state.started()
        && now >= from
        && state.disarmed.is_none()
        && state.rolled_back.is_none()
}

/// Trigger judgements, with checklist items from the journal applied.
pub fn judge_triggers(
    layout: &Layout,
    state: &State,
    board: &Board,
    now: DateTime<Utc>,
) -> Vec<TriggerJudgement> {
    layout
        .rollback
        .iter()
        .flat_map(|r| r.triggers.iter())
        .map(|t| {
            let signal = &layout.signals[t.signal];
            let samples = act::with_checked_items(&signal.id, state, board.samples(t.signal));
            crate::gate::judge_trigger_in_phase(t, signal, &samples, now, state.phase_entered)
        })
        .collect()
}

/// The labels of the triggers that fired, when at least `quorum` did and
/// auto-rollback is armed.
pub fn auto_rollback_due(
    layout: &Layout,
    state: &State,
    board: &Board,
    now: DateTime<Utc>,
) -> Option<Vec<String>> {
    let rb = layout.rollback.as_ref()?;
    if !armed(layout, state) {
        return None;
    }
    let judged = judge_triggers(layout, state, board, now);
    let fired: Vec<String> = rb
        .triggers
        .iter()
        .zip(&judged)
        .filter(|(_, j)| j.state == TriggerState::Fired)
        .map(|(t, j)| format!("{} ({})", t.label(), j.reason))
        .collect();
    (fired.len() >= rb.quorum).then_some(fired)
}

/// The overrun event, when the current phase has passed its timebox and
/// that has not been recorded yet.
pub fn timebox_overrun(layout: &Layout, state: &State, now: DateTime<Utc>) -> Option<EventKind> {
    let phase = layout.phase(&state.phase)?;
    let timebox = phase.timebox?;
    let entered = state.phase_entered?;
    let stayed = (now - entered).to_std().ok()?;
    (stayed > timebox && !state.timebox_noted && state.rolled_back.is_none()).then(|| {
        EventKind::TimeboxOverrun {
            phase: phase.id.clone(),
            timebox_s: timebox.as_secs(),
        }
    })
}

/// Claim for one timebox overrun record per phase entry.
pub fn timebox_claim(state: &State) -> String {
    format!(
        "timebox:{}:{}",
        state.phase,
        state
            .phase_entered
            .map(|t| t.timestamp_micros())
            .unwrap_or_default()
    )
}

/// Starts and runs the auto-rollback the `triggers` fired, if this process
/// wins the claim. Returns the events recorded (none when another process
/// won).
///
/// # Errors
/// Journal failures.
pub async fn fire_rollback(
    journal: &mut Journal,
    layout: &Layout,
    state: &State,
    actor: &str,
    triggers: Vec<String>,
    gates: Vec<GateSnapshot>,
    progress: Option<&act::ProgressSink>,
) -> Result<Vec<Event>, JournalError> {
    let Some(rb) = &layout.rollback else {
        return Ok(Vec::new());
    };
    let reason = &format!("auto-rollback: {}", triggers.join("; "));
    let started = match journal.append(&Entry {
        actor: actor.to_string(),
        kind: EventKind::RollbackStarted {
            reason: reason.to_string(),
            triggers,
            command: rb.run.clone(),
        },
        gates: gates.clone(),
        claim: Some(act::rollback_claim(state)),
    }) {
        Ok(e) => e,
        Err(JournalError::Claimed(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let finished = run_rollback(journal, layout, state, &started, actor, gates, progress).await?;
    Ok(vec![started, finished])
}

/// How long a rollback's runner may go without renewing its lease before
/// another process records the rollback's outcome as unknown.
pub const RUNNER_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Names this process in the record: who runs a rollback, who polls.
pub fn runner_id(actor: &str) -> String {
    format!("{actor} pid {}", std::process::id())
}

/// The lease a rollback's runner renews while its command runs.
fn runner_lease(started_seq: i64) -> String {
    format!("run:{started_seq}")
}

/// The claim both ends of a rollback compete for: its runner's real end,
/// or another process's "runner lost" record.
fn end_claim(started_seq: i64) -> String {
    format!("rollback-end:{started_seq}")
}

/// Runs the rollback command after its start (`started`) was recorded;
/// records the end. While it runs, this process renews a lease in the
/// journal, so if it dies (kill -9) another process records the outcome as
/// unknown instead of the launch showing a rollback running forever.
///
/// # Errors
/// Journal failures.
pub async fn run_rollback(
    journal: &mut Journal,
    layout: &Layout,
    state: &State,
    started: &Event,
    actor: &str,
    gates: Vec<GateSnapshot>,
    progress: Option<&act::ProgressSink>,
) -> Result<Event, JournalError> {
    let Some(rb) = &layout.rollback else {
        return Err(JournalError::Sql("no [rollback] in the layout".into()));
    };
    let reason = match &started.kind {
        EventKind::RollbackStarted { reason, .. } => reason.as_str(),
        _ => "",
    };
    let ctx = CommandContext {
        launch: &layout.launch.id,
        phase: &state.phase,
        actor,
        reason,
    };
    let lease = runner_lease(started.seq);
    let runner = runner_id(actor);
    // A lease we fail to take or renew only risks a premature "outcome
    // unknown" record, which our real end then corrects.
    let _ = journal.hold_named_lease(&lease, &runner, RUNNER_TTL);
    let command = act::run_command(&rb.run, command_dir(layout), &ctx, rb.timeout, progress);
    tokio::pin!(command);
    let mut renew = tokio::time::interval(std::time::Duration::from_secs(1));
    let outcome = loop {
        tokio::select! {
            outcome = &mut command => break outcome,
            _ = renew.tick() => {
                let _ = journal.hold_named_lease(&lease, &runner, RUNNER_TTL);
            }
        }
    };
    let mut entry = Entry {
        actor: actor.to_string(),
        kind: EventKind::RollbackFinished {
            outcome,
            started: Some(started.seq),
        },
        gates,
        claim: Some(end_claim(started.seq)),
    };
    let recorded = match journal.append(&entry) {
        // Another process thought us gone and recorded "outcome unknown":
        // the real end still goes on the record, and replaces it.
        Err(JournalError::Claimed(_)) => {
            entry.claim = None;
            journal.append(&entry)
        }
        other => other,
    };
    let _ = journal.release_named_lease(&lease, &runner);
    recorded
}

/// Records a running rollback whose runner stopped renewing its lease
/// (killed, crashed) as ended with an unknown outcome: ROLLBACK FAILED,
/// so it can be retried. Once across every process (a claim).
///
/// # Errors
/// Journal failures.
pub fn reap_lost_rollback(
    journal: &mut Journal,
    state: &State,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Option<Event>, JournalError> {
    let Some(rb) = &state.rolled_back else {
        return Ok(None);
    };
    if rb.finished.is_some() {
        return Ok(None);
    }
    let runner = match journal.lease(&runner_lease(rb.seq))? {
        Some((_, until)) if until > now => return Ok(None),
        Some((holder, _)) => holder,
        // Its runner may not have taken the lease yet.
        None if (now - rb.at).to_std().unwrap_or_default() < RUNNER_TTL => return Ok(None),
        None => format!("{} (never seen running it)", rb.by),
    };
    match journal.append(&Entry {
        actor: actor.to_string(),
        kind: EventKind::RollbackLost {
            started: rb.seq,
            runner,
        },
        gates: Vec::new(),
        claim: Some(end_claim(rb.seq)),
    }) {
        Ok(e) => Ok(Some(e)),
        Err(JournalError::Claimed(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Runs the new phase's `on_enter` after an advance or reopen, once.
///
/// # Errors
/// Journal failures.
pub async fn run_on_enter(
    journal: &mut Journal,
    layout: &Layout,
    entered_by: &Event,
    actor: &str,
    gates: Vec<GateSnapshot>,
    progress: Option<&act::ProgressSink>,
) -> Result<Option<Event>, JournalError> {
    let phase_id = match &entered_by.kind {
        EventKind::Advanced { to, .. } => to,
        EventKind::Reopened { phase, .. } | EventKind::Started { phase } => phase,
        _ => return Ok(None),
    };
    let Some(phase) = layout.phase(phase_id) else {
        return Ok(None);
    };
    let Some(argv) = &phase.on_enter else {
        return Ok(None);
    };
    let reason = match &entered_by.kind {
        EventKind::Advanced {
            reason: Some(r), ..
        }
        | EventKind::Reopened { reason: r, .. } => r.clone(),
        _ => String::new(),
    };
    let ctx = CommandContext {
        launch: &layout.launch.id,
        phase: phase_id,
        actor,
        reason: &reason,
    };
    let outcome =
        act::run_command(argv, command_dir(layout), &ctx, ON_ENTER_TIMEOUT, progress).await;
    journal
        .append(&Entry {
            actor: actor.to_string(),
            kind: EventKind::OnEnterRan {
                phase: phase_id.clone(),
                outcome,
            },
            gates,
            claim: Some(format!("on_enter:{}", entered_by.seq)),
        })
        .map(Some)
}

/// `on_enter` commands get this long.
pub const ON_ENTER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

fn command_dir(layout: &Layout) -> &Path {
    &layout.dir
}

/// The notification an event deserves, if any: sign-offs, advances,
/// auto-rollback firing, rollback finished, timebox overruns.
pub fn notification(launch: &str, e: &Event) -> Option<crate::notify::Notification> {
    use crate::notify::Notification;
    match &e.kind {
        EventKind::SignedOff { phase, role, .. } => {
            Some(Notification::signed_off(launch, phase, role, &e.actor))
        }
        EventKind::Advanced {
            from,
            to,
            reason,
            waived,
        } => Some(Notification::advanced(
            launch,
            from,
            to,
            (!waived.is_empty()).then_some(reason.as_deref().unwrap_or("")),
        )),
        EventKind::RollbackStarted { triggers, .. } if !triggers.is_empty() => {
            Some(Notification::trigger_fired(launch, &triggers.join("; ")))
        }
        EventKind::RollbackFinished { outcome, .. } => Some(Notification::rollback_finished(
            launch,
            outcome.success,
            &outcome.ending,
        )),
        EventKind::RollbackLost { runner, .. } => Some(Notification::rollback_finished(
            launch,
            false,
            &format!("outcome unknown: {runner} stopped without recording it"),
        )),
        EventKind::TimeboxOverrun { phase, timebox_s } => Some(Notification::timebox_overrun(
            launch,
            phase,
            std::time::Duration::from_secs(*timebox_s),
        )),
        _ => None,
    }
}

/// Tells which gates of the current phase just went from GO to NO-GO: the
/// one gate change worth interrupting someone for.
#[derive(Debug, Default)]
pub struct NoGoAlerts {
    phase: Option<String>,
    last: Vec<Option<crate::gate::State>>,
}

impl NoGoAlerts {
    /// Compares `judged` (the gates of `phase`, in order) with the last
    /// call's; a new phase starts afresh.
    pub fn check(
        &mut self,
        launch: &str,
        phase: &crate::layout::Phase,
        judged: &[crate::gate::Judgement],
    ) -> Vec<crate::notify::Notification> {
        use crate::gate::State as Gate;
        if self.phase.as_deref() != Some(phase.id.as_str()) {
            self.phase = Some(phase.id.clone());
            self.last = vec![None; phase.gates.len()];
        }
        let mut alerts = Vec::new();
        for ((gate, j), last) in phase.gates.iter().zip(judged).zip(&mut self.last) {
            if *last == Some(Gate::Go) && j.state == Gate::NoGo {
                alerts.push(crate::notify::Notification::gate_no_go(
                    launch,
                    &gate.label(),
                    &j.reason,
                ));
            }
            *last = Some(j.state);
        }
        alerts
    }
}

/// The lease of the process that polls (see [`Journal::hold_lease`]).
const POLL_LEASE_NAME: &str = "poll";

/// How long a polling lease lasts without renewal (renewed every second):
/// a follower takes over this long after the poller dies.
pub const LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(4);

/// The running guard shared by `watch` and the screen: holds or follows
/// the polling lease, records evidence, records timebox overruns and fires
/// auto-rollback. Its owner feeds it the loop's ticks and samples; it
/// answers with lines worth saying.
pub struct Guard {
    layout: std::sync::Arc<Layout>,
    prober: crate::signal::Prober,
    tx: tokio::sync::mpsc::UnboundedSender<crate::engine::SampleTaken>,
    actor: String,
    holder: String,
    polling: Option<crate::engine::Polling>,
    lease_known: bool,
    seen_samples: i64,
    evidence: Vec<(String, crate::signal::Sample)>,
    keep: std::time::Duration,
    rollback: Option<tokio::task::JoinHandle<()>>,
    progress: Option<std::sync::Arc<act::ProgressSink>>,
    /// A read-only viewer: never writes the journal (no lease, evidence or
    /// duties); follows the poller, or polls for itself when none is live.
    view_only: bool,
}

impl Guard {
    /// Loads recorded evidence into `board` (so windows survive a restart)
    /// and prepares to poll or follow.
    pub fn new(
        layout: std::sync::Arc<Layout>,
        prober: crate::signal::Prober,
        tx: tokio::sync::mpsc::UnboundedSender<crate::engine::SampleTaken>,
        journal: &Journal,
        board: &mut Board,
    ) -> Guard {
        let keep = crate::engine::evidence_span(&layout);
        let since = Utc::now() - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
        for (id, sample) in journal.samples_since(since).unwrap_or_default() {
            if let Some(i) = layout.signal_index(&id) {
                board.record(i, sample);
            }
        }
        let actor = format!("{}{GUARD_ACTOR_SUFFIX}", act::os_user());
        Guard {
            holder: format!("{actor}:{}", std::process::id()),
            actor,
            seen_samples: journal.last_sample_id().unwrap_or(0),
            layout,
            prober,
            tx,
            polling: None,
            lease_known: false,
            evidence: Vec::new(),
            keep,
            rollback: None,
            progress: None,
            view_only: false,
        }
    }

    /// Makes this guard a read-only viewer: it never writes the journal.
    pub fn view_only(&mut self) {
        self.view_only = true;
    }

    /// Streams the output of an auto-rollback this guard runs to `sink`.
    pub fn show_output(&mut self, sink: std::sync::Arc<act::ProgressSink>) {
        self.progress = Some(sink);
    }

    /// Switches to an edited layout: polling restarts on it at once.
    pub fn retarget(&mut self, layout: std::sync::Arc<Layout>) {
        self.keep = crate::engine::evidence_span(&layout);
        self.layout = layout;
        self.evidence.clear();
        if self.polling.is_some() {
            self.polling = Some(crate::engine::start(
                std::sync::Arc::clone(&self.layout),
                self.prober.clone(),
                self.tx.clone(),
            ));
        }
    }

    /// Whether this process polls (holds the lease).
    pub fn polls(&self) -> bool {
        self.polling.is_some()
    }

    /// A sample this process polled: kept as evidence for the journal.
    pub fn sampled(&mut self, signal: usize, sample: &crate::signal::Sample) {
        if let Some(s) = self.layout.signals.get(signal) {
            self.evidence.push((s.id.clone(), sample.clone()));
        }
    }

    /// Once a second: take, renew or lose the lease; flush evidence.
    pub fn tick(&mut self, journal: &mut Journal) -> Vec<String> {
        if self.view_only {
            return self.view(journal);
        }
        let mut said = Vec::new();
        match journal.hold_lease(&self.holder, LEASE_TTL) {
            Ok(true) if self.polling.is_none() => {
                self.polling = Some(crate::engine::start(
                    std::sync::Arc::clone(&self.layout),
                    self.prober.clone(),
                    self.tx.clone(),
                ));
                said.push("polling the signals (this guard holds the polling lease)".to_string());
            }
            Ok(false) if self.polling.is_some() => {
                self.polling = None;
                self.evidence.clear();
                self.seen_samples = journal.last_sample_id().unwrap_or(self.seen_samples);
                said.push("another guard polls now; following its samples".to_string());
            }
            Ok(false) if !self.lease_known => {
                said.push(
                    "another guard holds the polling lease; following its samples".to_string(),
                );
            }
            Ok(_) => {}
            Err(e) => said.push(format!("journal error: {e}")),
        }
        self.lease_known = true;
        if let Err(e) = journal.record_samples(&self.evidence, self.keep) {
            said.push(format!("journal error: {e}"));
        }
        self.evidence.clear();
        said
    }

    /// A viewer's tick: follow the poller while its lease is live, else
    /// poll for itself, recording nothing.
    fn view(&mut self, journal: &Journal) -> Vec<String> {
        let now = Utc::now();
        let live = matches!(journal.lease(POLL_LEASE_NAME), Ok(Some((_, until))) if until > now);
        self.evidence.clear();
        self.lease_known = true;
        match (live, self.polling.is_some()) {
            (true, true) => {
                self.polling = None;
                self.seen_samples = journal.last_sample_id().unwrap_or(self.seen_samples);
                vec!["a guard polls now; following its samples".to_string()]
            }
            (false, false) => {
                self.polling = Some(crate::engine::start(
                    std::sync::Arc::clone(&self.layout),
                    self.prober.clone(),
                    self.tx.clone(),
                ));
                vec!["no guard polls: this viewer polls for itself and records nothing".to_string()]
            }
            _ => Vec::new(),
        }
    }

    /// Samples the lease holder recorded since last asked (only when this
    /// process does not poll).
    pub fn follow(&mut self, journal: &Journal) -> Vec<(usize, crate::signal::Sample)> {
        if self.polling.is_some() {
            return Vec::new();
        }
        let Ok((last, samples)) = journal.samples_after(self.seen_samples) else {
            return Vec::new();
        };
        self.seen_samples = last;
        samples
            .into_iter()
            .filter_map(|(id, s)| self.layout.signal_index(&id).map(|i| (i, s)))
            .collect()
    }

    /// Timebox overruns and auto-rollback: recorded once across every
    /// process sharing the journal (claims), so any number of guards may
    /// run. The rollback runs on its own task with its own connection, so
    /// the owner's loop stays live meanwhile.
    ///
    /// # Errors
    /// Journal failures.
    pub fn duties(
        &mut self,
        journal: &mut Journal,
        state: &State,
        board: &Board,
        now: DateTime<Utc>,
    ) -> Result<(), JournalError> {
        let layout = &self.layout;
        let snapshot = || {
            let phase = layout.phase(&state.phase).unwrap_or(&layout.phases[0]);
            act::snapshot(phase, &act::judge_phase(layout, state, board, phase, now))
        };
        if self.view_only {
            return Ok(());
        }
        reap_lost_rollback(journal, state, &self.actor, now)?;
        if let Some(kind) = timebox_overrun(layout, state, now) {
            match journal.append(&Entry {
                actor: self.actor.clone(),
                kind,
                gates: snapshot(),
                claim: Some(timebox_claim(state)),
            }) {
                Ok(_) | Err(JournalError::Claimed(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if self.rollback.as_ref().is_some_and(|t| !t.is_finished()) {
            return Ok(());
        }
        if let Some(fired) = auto_rollback_due(layout, state, board, now) {
            let gates = snapshot();
            let state = state.clone();
            let layout = std::sync::Arc::clone(layout);
            let path = journal.path().to_path_buf();
            let actor = self.actor.clone();
            let progress = self.progress.clone();
            self.rollback = Some(tokio::spawn(async move {
                if let Ok(mut journal) = Journal::open(&path, &layout.launch.id) {
                    // Failures here land in the journal or not at all; the
                    // owner's journal poll shows whatever was recorded.
                    let _ = fire_rollback(
                        &mut journal,
                        &layout,
                        &state,
                        &actor,
                        fired,
                        gates,
                        progress.as_deref(),
                    )
                    .await;
                }
            }));
        }
        Ok(())
    }

    /// Stops polling, hands the lease over at once, and waits for a running
    /// rollback: its command would die with us. Returns lines to say.
    pub async fn stop(mut self, journal: &mut Journal) -> Vec<String> {
        let mut said = Vec::new();
        if self.polling.take().is_some() && !self.view_only {
            let _ = journal.release_lease(&self.holder);
        }
        if let Some(task) = self.rollback.take().filter(|t| !t.is_finished()) {
            said.push("waiting for the running rollback command to finish".to_string());
            let _ = task.await;
        }
        said
    }
}
