//! The commands a guard or an act runs on the launch's behalf — the
//! rollback and a phase's `on_enter` — and their records: each ends in the
//! journal exactly once across every process (claims), and a runner that
//! dies mid-rollback is found out by the lease it stops renewing.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::act::{self, CommandContext};
use crate::journal::{Entry, Journal, JournalError, blocking};
use crate::launch::{Event, EventKind, GateSnapshot, State};
use crate::layout::{CommandPlace, Layout};

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
    // Not ours to run: leave the claim to a guard whose own copy holds it.
    if layout.command_refusal(&CommandPlace::Rollback).is_some() {
        return Ok(Vec::new());
    }
    let reason = &format!("auto-rollback: {}", triggers.join("; "));
    let entry = Entry {
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

/// The mark every process of rollback #`started_seq`'s command carries:
/// how a retry finds a command whose runner died and that still runs.
/// Its time tells apart two journals of one launch on this machine.
pub fn rollback_marker(launch: &str, started_seq: i64, at: DateTime<Utc>) -> String {
    format!("{launch}/rollback/{started_seq}/{}", at.timestamp_micros())
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
    let marker = rollback_marker(&layout.launch.id, started.seq, started.at);
    let ctx = CommandContext {
        launch: &layout.launch.id,
        phase: &state.phase,
        actor,
        reason,
        marker: Some(&marker),
    };
    let lease = runner_lease(started.seq);
    let runner = runner_id(actor);
    let outcome = if let Some(why) = layout.command_refusal(&CommandPlace::Rollback) {
        not_run(&rb.run, why)
    } else {
        // A lease we fail to take or renew only risks a premature "outcome
        // unknown" record, which our real end then corrects.
        let _ = blocking(|| journal.hold_named_lease(&lease, &runner, RUNNER_TTL));
        let command = act::run_command(&rb.run, command_dir(layout), &ctx, rb.timeout, progress);
        tokio::pin!(command);
        let mut renew = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                outcome = &mut command => break outcome,
                _ = renew.tick() => {
                    let _ = blocking(|| journal.hold_named_lease(&lease, &runner, RUNNER_TTL));
                }
            }
        }
    };
    let mut entry = Entry {
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
        marker: None,
    };
    let outcome = match layout.command_refusal(&CommandPlace::OnEnter(phase_id.clone())) {
        Some(why) => not_run(argv, why),
        None => act::run_command(argv, command_dir(layout), &ctx, ON_ENTER_TIMEOUT, progress).await,
    };
    let entry = Entry {
        kind: EventKind::OnEnterRan {
            phase: phase_id.clone(),
            outcome,
        },
        gates,
        claim: Some(format!("on_enter:{}", entered_by.seq)),
    };
    blocking(|| journal.append(&entry)).map(Some)
}

/// How a command that was not run ends on the record.
fn not_run(argv: &[String], why: String) -> crate::launch::CommandOutcome {
    crate::launch::CommandOutcome {
        command: argv.to_vec(),
        ending: why,
        success: false,
        took_ms: 0,
        output_tail: String::new(),
    }
}

/// `on_enter` commands get this long.
pub const ON_ENTER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

fn command_dir(layout: &Layout) -> &Path {
    &layout.dir
}

/// A rollback run while the journal cannot be reached: its start spooled
/// on this machine ([`crate::journal::spool`]) before its command runs.
pub struct OfflineRollback {
    spooled: crate::journal::spool::Spooled,
    mark: crate::launch::Offline,
    cause: String,
    /// Who runs it here (`GONOGO_ACTOR`), as the last journal said.
    actor: String,
    /// Where it is spooled.
    pub path: std::path::PathBuf,
}

/// Spools the start of a rollback the journal cannot record now (`why`):
/// the first step, before any command runs — a rollback nobody could
/// account for afterwards is not run.
///
/// # Errors
/// No `[rollback]`, or a spool that cannot be written (the words say
/// what to do instead).
pub fn spool_rollback(
    layout: &Layout,
    state: &State,
    actor: &str,
    reason: &str,
    triggers: Vec<String>,
    gates: Vec<GateSnapshot>,
    why: &str,
) -> Result<OfflineRollback, String> {
    use crate::journal::spool;
    let Some(rb) = &layout.rollback else {
        return Err("cannot roll back: the layout has no [rollback]".into());
    };
    let mark = spool::mark(why);
    let spooled = spool::Spooled {
        launch: layout.launch.id.clone(),
        pid: std::process::id(),
        started: Entry {
            kind: EventKind::RollbackStarted {
                reason: reason.to_string(),
                triggers,
                command: rb.run.clone(),
                offline: Some(Box::new(mark.clone())),
            },
            gates,
            claim: Some(act::rollback_claim(state)),
        },
        finished: None,
    };
    let path = spool::write(&spooled).map_err(|e| {
        format!(
            "cannot roll back while the journal is offline: the spool {} cannot be written ({e}); run the rollback command by hand: {}",
            spool::dir().display(),
            rb.run.join(" ")
        )
    })?;
    Ok(OfflineRollback {
        spooled,
        mark,
        cause: format!("{actor}: {reason}"),
        actor: actor.to_string(),
        path,
    })
}

impl OfflineRollback {
    /// Runs the command and spools its end. Returns whether it succeeded
    /// and the words for it.
    pub async fn run(
        mut self,
        layout: &Layout,
        state: &State,
        progress: Option<&act::ProgressSink>,
    ) -> (bool, String) {
        let Some(rb) = &layout.rollback else {
            return (false, "the layout has no [rollback]".into());
        };
        let started = &self.spooled.started;
        let reason = match &started.kind {
            EventKind::RollbackStarted { reason, .. } => reason.clone(),
            _ => String::new(),
        };
        let ctx = CommandContext {
            launch: &layout.launch.id,
            phase: &state.phase,
            actor: &self.actor,
            reason: &reason,
            marker: None,
        };
        let outcome = match layout.command_refusal(&CommandPlace::Rollback) {
            Some(why) => not_run(&rb.run, why),
            None => {
                act::run_command(&rb.run, command_dir(layout), &ctx, rb.timeout, progress).await
            }
        };
        let (ending, success) = (outcome.ending.clone(), outcome.success);
        self.spooled.finished = Some(Entry {
            kind: EventKind::RollbackFinished {
                outcome,
                started: None,
                cause: Some(self.cause),
                offline: Some(Box::new(self.mark)),
            },
            gates: started.gates.clone(),
            claim: None,
        });
        let spooled = self.spooled;
        let written = tokio::task::spawn_blocking(move || crate::journal::spool::write(&spooled))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r);
        let news = match written {
            Ok(_) => format!(
                "{} while the journal was OFFLINE: the command ended with {ending}; spooled, recorded when the journal is back",
                if success {
                    "ROLLED BACK"
                } else {
                    "ROLLBACK FAILED"
                }
            ),
            Err(e) => format!(
                "the rollback's end (the command ended with {ending}) could not be spooled: {e}; it is NOT recorded"
            ),
        };
        (success, news)
    }
}
