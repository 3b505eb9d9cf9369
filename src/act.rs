//! Acts: the explicit, recorded things operators do to a launch.
//!
//! [`decide`] is the one place that says whether an act is allowed and, if
//! not, exactly why — in the words every front end shows (the CLI prints
//! them, the screen puts them in its status line, the journal records
//! them). It is pure: state, evidence and `now` in; an event or a refusal
//! out. Front ends then append the event to the journal ([`perform`]).
//!
//! - `act/rules.rs`: [`decide`] and every rule behind it;
//! - `act/judging.rs`: [`Desk`], the gates as acts see them
//!   ([`judge_phase`], [`with_checked_items`], [`snapshot`]);
//! - `act/command.rs`: running `on_enter` and rollback commands
//!   ([`run_command`]);
//! - here: what an act is ([`Act`]), who acts ([`os_user`]) and recording
//!   the outcome ([`perform`]).

mod command;
mod judging;
mod rules;

pub use crate::live::with_checked_items;
pub use crate::session::os_user;
pub use command::{CommandContext, OUTPUT_TAIL, Progress, ProgressSink, run_command};
pub use judging::{Desk, judge_phase, snapshot};
pub use rules::{Decision, MAX_TEXT, decide, rollback_claim};

use crate::journal::{Entry, Journal, JournalError};
use crate::launch::{Event, EventKind, GateSnapshot};

/// What an operator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    SignOff {
        role: String,
        phase: Option<String>,
        note: Option<String>,
    },
    Revoke {
        role: String,
        note: Option<String>,
    },
    Advance {
        override_reason: Option<String>,
    },
    Hold {
        reason: String,
    },
    Resume,
    CheckItem {
        checklist: String,
        item: String,
        undo: bool,
    },
    Note {
        text: String,
    },
    Arm {
        reason: String,
    },
    Disarm {
        reason: String,
    },
    Rollback {
        reason: String,
    },
    Reopen {
        phase: String,
        reason: String,
    },
    /// Enter the first phase: the launch starts.
    Start,
    /// Make this layout text (read from `path`) the launch's layout.
    Adopt {
        path: String,
        text: String,
    },
}

impl Act {
    /// The act's name in the record ("advance", "sign", …).
    pub fn name(&self) -> &'static str {
        match self {
            Act::SignOff { .. } => "sign",
            Act::Revoke { .. } => "revoke",
            Act::Advance { .. } => "advance",
            Act::Hold { .. } => "hold",
            Act::Resume => "resume",
            Act::CheckItem { undo: false, .. } => "check-item",
            Act::CheckItem { undo: true, .. } => "uncheck-item",
            Act::Note { .. } => "note",
            Act::Arm { .. } => "arm",
            Act::Disarm { .. } => "disarm",
            Act::Rollback { .. } => "rollback",
            Act::Reopen { .. } => "reopen",
            Act::Start => "start",
            Act::Adopt { .. } => "adopt",
        }
    }
}

/// What happened to an act.
#[derive(Debug)]
pub enum Performed {
    Done(Event),
    /// Refused: the reason, recorded in the journal as well.
    Refused(String),
}

/// Decides and records: the event when allowed, a `Refused` event (with
/// the same words) when not.
///
/// # Errors
/// Journal failures. A lost claim race is reported as a refusal.
pub fn perform(
    journal: &mut Journal,
    desk: &Desk<'_>,
    act: &Act,
) -> Result<Performed, JournalError> {
    let gates = desk.snapshot();
    // A clock too far off the journal server's misjudges every window and
    // soak. A rollback judges none, and is never held back.
    if !matches!(act, Act::Rollback { .. })
        && let Some(why) = crate::clock::refusal()
    {
        return refuse(journal, act, format!("cannot {}: {why}", act.name()), gates);
    }
    if matches!(act, Act::Rollback { .. })
        && let Some(why) = still_running(desk)
    {
        return refuse(journal, act, format!("cannot roll back: {why}"), gates);
    }
    match decide(desk, act) {
        Ok(d) => {
            let entry = Entry {
                kind: d.kind,
                gates: gates.clone(),
                claim: d.claim,
            };
            match journal.append(&entry) {
                Ok(e) => Ok(Performed::Done(e)),
                Err(JournalError::Claimed(_)) => {
                    let reason = format!(
                        "cannot {}: another operator or guard already did it",
                        act.name()
                    );
                    refuse(journal, act, reason, gates)
                }
                Err(e) => Err(e),
            }
        }
        Err(reason) => refuse(journal, act, reason, gates),
    }
}

/// A failed attempt whose command still runs on this machine (its runner
/// died; the command did not): one rollback at a time, so a retry waits.
/// A command on another machine cannot be seen from here.
fn still_running(desk: &Desk<'_>) -> Option<String> {
    let rb = desk.state.rolled_back.as_ref()?;
    if rb.status() != crate::launch::RollbackStatus::Failed {
        return None;
    }
    let marker = crate::guard::rollback_marker(&desk.layout.launch.id, rb.seq, rb.at);
    let alive = crate::signal::command::marked(&marker);
    (!alive.is_empty()).then(|| {
        let pids: Vec<String> = alive.iter().map(i32::to_string).collect();
        format!(
            "the command of rollback #{} is still running here (pid {}; its runner stopped): wait for it to end, or stop it (`kill {}`), then retry",
            rb.seq,
            pids.join(", "),
            pids.join(" ")
        )
    })
}

fn refuse(
    journal: &mut Journal,
    act: &Act,
    reason: String,
    gates: Vec<GateSnapshot>,
) -> Result<Performed, JournalError> {
    journal.append(&Entry {
        kind: EventKind::Refused {
            attempted: act.name().to_string(),
            reason: reason.clone(),
        },
        gates,
        claim: None,
    })?;
    Ok(Performed::Refused(reason))
}
