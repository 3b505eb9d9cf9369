//! The commands a guard or an act runs on the launch's behalf — the
//! rollback and a phase's `on_enter` — and their records: each ends in the
//! journal exactly once across every process (claims), and a runner that
//! dies mid-rollback is found out by the lease it stops renewing.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::act::{self, CommandContext};
use crate::journal::{Entry, Journal, JournalError, blocking};
use crate::launch::{Event, EventKind, GateSnapshot, State};
use crate::layout::Layout;

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
    let entry = Entry {
        actor: actor.to_string(),
        kind: EventKind::RollbackStarted {
            reason: reason.to_string(),
            triggers,
            command: rb.run.clone(),
            offline: None,
        },
        gates: gates.clone(),
        claim: Some(act::rollback_claim(state)),
    };
    let started = match blocking(|| journal.append(&entry)) {
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
    let _ = blocking(|| journal.hold_named_lease(&lease, &runner, RUNNER_TTL));
    let command = act::run_command(&rb.run, command_dir(layout), &ctx, rb.timeout, progress);
    tokio::pin!(command);
    let mut renew = tokio::time::interval(std::time::Duration::from_secs(1));
    let outcome = loop {
        tokio::select! {
            outcome = &mut command => break outcome,
            _ = renew.tick() => {
                let _ = blocking(|| journal.hold_named_lease(&lease, &runner, RUNNER_TTL));
            }
        }
    };
    let mut entry = Entry {
        actor: actor.to_string(),
        kind: EventKind::RollbackFinished {
            outcome,
            started: Some(started.seq),
            cause: Some(format!("{}: {reason}", started.actor)),
            offline: None,
        },
        gates,
        claim: Some(end_claim(started.seq)),
    };
    blocking(|| {
        let recorded = match journal.append(&entry) {
            // Another process thought us gone and recorded "outcome
            // unknown": the real end still goes on the record, and
            // replaces it.
            Err(JournalError::Claimed(_)) => {
                entry.claim = None;
                journal.append(&entry)
            }
            other => other,
        };
        let _ = journal.release_named_lease(&lease, &runner);
        recorded
    })
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
    let entry = Entry {
        actor: actor.to_string(),
        kind: EventKind::OnEnterRan {
            phase: phase_id.clone(),
            outcome,
        },
        gates,
        claim: Some(format!("on_enter:{}", entered_by.seq)),
    };
    blocking(|| journal.append(&entry)).map(Some)
}

/// `on_enter` commands get this long.
pub const ON_ENTER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

fn command_dir(layout: &Layout) -> &Path {
    &layout.dir
}
