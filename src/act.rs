//! Acts: the explicit, recorded things operators do to a launch.
//!
//! [`decide`] is the one place that says whether an act is allowed and, if
//! not, exactly why — in the words every front end shows (the CLI prints
//! them, the screen puts them in its status line, the journal records
//! them). It is pure: state, evidence and `now` in; an event or a refusal
//! out. Front ends then append the event to the journal ([`perform`]).

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::engine::Board;
use crate::gate::{self, Judgement, State as GateState};
use crate::journal::{Entry, Journal, JournalError};
use crate::launch::{CommandOutcome, Event, EventKind, GateSnapshot, RollbackStatus, State};
use crate::layout::{ChecklistSource, Layout, Phase, Probe};
use crate::signal::command::{self, Limits};
use crate::signal::{Checklist, Outcome, Sample};
use crate::unit::format_duration;

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

/// An allowed act: the event to record, and a claim when only one process
/// may ever record it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub kind: EventKind,
    pub claim: Option<String>,
}

/// The name of the user this process runs as (the effective uid's).
pub fn os_user() -> String {
    let uid = nix::unistd::geteuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => format!("uid{}", uid.as_raw()),
    }
}

/// Everything a decision looks at.
pub struct Desk<'a> {
    pub layout: &'a Layout,
    pub state: &'a State,
    pub board: &'a Board,
    pub now: DateTime<Utc>,
    pub actor: &'a str,
}

impl Desk<'_> {
    pub fn phase_index(&self) -> usize {
        self.layout.phase_index(&self.state.phase).unwrap_or(0)
    }

    pub fn phase(&self) -> &Phase {
        &self.layout.phases[self.phase_index()]
    }

    /// The current phase's gates, judged with checked-off items applied.
    pub fn judge(&self) -> Vec<Judgement> {
        judge_phase(self.layout, self.state, self.board, self.phase(), self.now)
    }

    /// The gates as they stand: evidence recorded with every event.
    pub fn snapshot(&self) -> Vec<GateSnapshot> {
        snapshot(self.phase(), &self.judge())
    }
}

/// Gate judgements for `phase`, with checklist items checked off in the
/// journal counted as done.
pub fn judge_phase(
    layout: &Layout,
    state: &State,
    board: &Board,
    phase: &Phase,
    now: DateTime<Utc>,
) -> Vec<Judgement> {
    // Windows of the current phase count from its entry; any other phase
    // is a preview.
    let entered = state.phase_entered.filter(|_| phase.id == state.phase);
    phase
        .gates
        .iter()
        .map(|g| {
            let signal = &layout.signals[g.signal];
            let samples = with_checked_items(signal.id.as_str(), state, board.samples(g.signal));
            gate::judge_in_phase(g, signal, &samples, now, entered)
        })
        .collect()
}

/// Checklist samples with the journal's checked items applied.
pub fn with_checked_items<'s>(
    checklist: &str,
    state: &State,
    samples: &'s [Sample],
) -> Cow<'s, [Sample]> {
    let Some(checked) = state.checked.get(checklist).filter(|c| !c.is_empty()) else {
        return Cow::Borrowed(samples);
    };
    if !samples
        .iter()
        .any(|s| matches!(s.outcome, Outcome::Checklist(_)))
    {
        return Cow::Borrowed(samples);
    }
    Cow::Owned(
        samples
            .iter()
            .map(|s| match &s.outcome {
                Outcome::Checklist(c) => {
                    let mut c: Checklist = c.clone();
                    for item in &mut c.items {
                        item.done |= checked.contains(&item.text);
                    }
                    Sample {
                        at: s.at,
                        outcome: Outcome::Checklist(c),
                    }
                }
                _ => s.clone(),
            })
            .collect(),
    )
}

pub fn snapshot(phase: &Phase, judged: &[Judgement]) -> Vec<GateSnapshot> {
    phase
        .gates
        .iter()
        .zip(judged)
        .map(|(g, j)| GateSnapshot {
            gate: g.label(),
            state: j.state.word().to_string(),
            value: j.value.clone(),
        })
        .collect()
}

fn short_time(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%SZ").to_string()
}

/// Decides whether `act` is allowed now; the refusal says exactly why.
///
/// # Errors
/// The refusal, one line, as every front end shows it.
pub fn decide(desk: &Desk<'_>, act: &Act) -> Result<Decision, String> {
    let state = desk.state;
    let layout = desk.layout;
    let plain = |kind| Ok(Decision { kind, claim: None });
    let rolled_back = || rolled_back_refusal(state);
    let not_started = |verb: &str| {
        (!state.started()).then(|| {
            format!(
                "cannot {verb}: the launch is NOT STARTED; start it first (`gonogo start`, or `a` on the screen)"
            )
        })
    };
    match act {
        Act::SignOff { role, phase, note } => {
            let current = desk.phase();
            if let Some(p) = phase
                && *p != current.id
            {
                return Err(format!(
                    "cannot sign {p}: the current phase is {}",
                    current.id
                ));
            }
            if let Some(why) = not_started("sign") {
                return Err(why);
            }
            if let Some(why) = rolled_back() {
                return Err(format!("cannot sign: {why}"));
            }
            if !current.signoff.contains(role) {
                let needs = if current.signoff.is_empty() {
                    "it needs no sign-off".to_string()
                } else {
                    format!("it needs {}", current.signoff.join(", "))
                };
                return Err(format!(
                    "cannot sign as {role}: phase {} does not need {role} ({needs})",
                    current.id
                ));
            }
            may_act_as(layout, desk.actor, role)
                .map_err(|why| format!("cannot sign as {role}: {why}"))?;
            if let Some(s) = state.signed(role) {
                return Err(format!(
                    "cannot sign as {role}: already signed by {} at {}",
                    s.user,
                    short_time(s.at)
                ));
            }
            plain(EventKind::SignedOff {
                phase: current.id.clone(),
                role: role.clone(),
                note: note.clone(),
            })
        }
        Act::Revoke { role, note } => {
            let current = desk.phase();
            let Some(s) = state.signed(role) else {
                return Err(format!(
                    "cannot revoke {role}: {role} has not signed {}",
                    current.id
                ));
            };
            if s.user != desk.actor {
                may_act_as(layout, desk.actor, role)
                    .map_err(|why| format!("cannot revoke {role}: {why}"))?;
            }
            plain(EventKind::Revoked {
                phase: current.id.clone(),
                role: role.clone(),
                note: note.clone(),
            })
        }
        Act::Advance { override_reason } => advance(desk, override_reason.as_deref()),
        Act::Hold { reason } => {
            if reason.trim().is_empty() {
                return Err("cannot hold: give a reason".into());
            }
            if let Some(h) = &state.hold {
                return Err(format!(
                    "cannot hold: already held by {} since {}: {}",
                    h.by,
                    short_time(h.at),
                    h.reason
                ));
            }
            plain(EventKind::Held {
                reason: reason.clone(),
            })
        }
        Act::Resume => match &state.hold {
            None => Err("cannot resume: the launch is not on hold".into()),
            Some(_) => plain(EventKind::Resumed),
        },
        Act::CheckItem {
            checklist,
            item,
            undo,
        } => check_item(desk, checklist, item, *undo),
        Act::Note { text } => {
            if text.trim().is_empty() {
                return Err("cannot note: the note is empty".into());
            }
            plain(EventKind::Noted { text: text.clone() })
        }
        Act::Arm { reason } | Act::Disarm { reason } => {
            let arm = matches!(act, Act::Arm { .. });
            let verb = if arm { "arm" } else { "disarm" };
            if layout
                .rollback
                .as_ref()
                .is_none_or(|r| r.triggers.is_empty())
            {
                return Err(format!(
                    "cannot {verb}: the layout has no rollback triggers"
                ));
            }
            if reason.trim().is_empty() {
                return Err(format!("cannot {verb}: give a reason"));
            }
            match (arm, &state.disarmed) {
                (true, None) => Err("cannot arm: auto-rollback is not disarmed".into()),
                (false, Some((by, why))) => {
                    Err(format!("cannot disarm: already disarmed by {by}: {why}"))
                }
                (true, Some(_)) => plain(EventKind::Armed {
                    reason: reason.clone(),
                }),
                (false, None) => plain(EventKind::Disarmed {
                    reason: reason.clone(),
                }),
            }
        }
        Act::Rollback { reason } => {
            let Some(rb) = &layout.rollback else {
                return Err("cannot roll back: the layout has no [rollback]".into());
            };
            if reason.trim().is_empty() {
                return Err("cannot roll back: give a reason".into());
            }
            // A failed rollback may be retried at once; a running or a
            // finished one may not.
            if let Some(rb) = &state.rolled_back
                && rb.status() != RollbackStatus::Failed
            {
                let why = rolled_back().unwrap_or_default();
                return Err(format!("cannot roll back: {why}"));
            }
            Ok(Decision {
                kind: EventKind::RollbackStarted {
                    reason: reason.clone(),
                    triggers: Vec::new(),
                    command: rb.run.clone(),
                },
                claim: Some(rollback_claim(state)),
            })
        }
        Act::Reopen { phase, reason } => {
            let Some(rb) = &state.rolled_back else {
                return Err("cannot reopen: the launch is not rolled back".into());
            };
            if rb.status() == RollbackStatus::Running {
                return Err("cannot reopen: the rollback command is still running".into());
            }
            if layout.phase(phase).is_none() {
                let known: Vec<&str> = layout.phases.iter().map(|p| p.id.as_str()).collect();
                return Err(format!(
                    "cannot reopen: no phase `{phase}` (phases: {})",
                    known.join(", ")
                ));
            }
            if reason.trim().is_empty() {
                return Err("cannot reopen: give a reason".into());
            }
            plain(EventKind::Reopened {
                phase: phase.clone(),
                reason: reason.clone(),
            })
        }
        Act::Adopt { path, text } => adopt(desk, path, text),
        Act::Start => {
            let first = &layout.phases[0];
            if let Some(entered) = state.phase_entered {
                return Err(format!(
                    "cannot start: the launch started already (in {} since {})",
                    state.phase,
                    short_time(entered)
                ));
            }
            if let Some(why) = rolled_back() {
                return Err(format!("cannot start: {why}"));
            }
            if let Some(h) = &state.hold {
                return Err(format!(
                    "cannot start: held by {} since {}: {}",
                    h.by,
                    short_time(h.at),
                    h.reason
                ));
            }
            Ok(Decision {
                kind: EventKind::Started {
                    phase: first.id.clone(),
                },
                // Two operators pressing start at once enter it once.
                claim: Some("start".into()),
            })
        }
    }
}

/// Adopting a changed layout: an owner of the pinned one only, the same
/// launch, and a layout that still has the phase the launch is in.
fn adopt(desk: &Desk<'_>, path: &str, text: &str) -> Result<Decision, String> {
    let state = desk.state;
    let layout = desk.layout;
    let new = crate::layout::parse(Path::new(path), text).map_err(|e| {
        let e = e.to_string();
        format!(
            "cannot adopt {path}: it does not validate: {}",
            e.lines().next().unwrap_or_default()
        )
    })?;
    let pinned = state.pinned.as_ref();
    if let Some(p) = pinned
        && p.digest == new.digest()
    {
        return Err(format!(
            "cannot adopt {path}: it is the layout in force already (sha256 {}…)",
            &p.digest[..12.min(p.digest.len())]
        ));
    }
    if !layout.may_adopt(desk.actor, state.creator.as_deref()) {
        let owners = match &layout.launch.owners {
            Some(o) => format!("owners: {}", o.join(", ")),
            None => format!(
                "the owner is the journal's creator, {}",
                state.creator.as_deref().unwrap_or("unknown")
            ),
        };
        return Err(format!(
            "cannot adopt {path}: {} may not change this launch's layout ({owners})",
            desk.actor
        ));
    }
    if new.launch.id != layout.launch.id {
        return Err(format!(
            "cannot adopt {path}: it is launch `{}`, not `{}`",
            new.launch.id, layout.launch.id
        ));
    }
    if state.started() && new.phase(&state.phase).is_none() {
        return Err(format!(
            "cannot adopt {path}: it has no phase `{}`, the phase the launch is in",
            state.phase
        ));
    }
    Ok(Decision {
        kind: crate::session::pin_event(&new, pinned.map(|p| &*p.text)),
        claim: None,
    })
}

/// Why nothing moves while a rollback runs, failed or is done, or `None`.
fn rolled_back_refusal(state: &State) -> Option<String> {
    let rb = state.rolled_back.as_ref()?;
    let since = format!("since {} by {}: {}", short_time(rb.at), rb.by, rb.reason);
    Some(match rb.status() {
        RollbackStatus::Running => format!("a rollback is running ({since})"),
        RollbackStatus::Done => format!("the launch is ROLLED BACK ({since}); reopen it first"),
        RollbackStatus::Failed => format!(
            "the launch is in ROLLBACK FAILED ({since}; {}); retry the rollback or reopen",
            rb.finished.as_ref().map_or("", |o| o.ending.as_str())
        ),
    })
}

/// One rollback attempt at a time, across every process sharing the
/// journal: one per epoch (an epoch ends with a reopen), plus one per
/// retry after a failure.
pub fn rollback_claim(state: &State) -> String {
    match &state.rolled_back {
        None => format!("rollback:{}", state.epoch),
        Some(rb) => format!("rollback:{}:retry{}", state.epoch, rb.retries + 1),
    }
}

fn may_act_as(layout: &Layout, actor: &str, role: &str) -> Result<(), String> {
    let Some(roles) = &layout.roles else {
        return Ok(());
    };
    match roles.iter().find(|(r, _)| r == role) {
        None => Err(format!("the layout defines no role {role}")),
        Some((_, users)) if users.iter().any(|u| u == actor || u == "*") => Ok(()),
        Some((_, users)) => Err(format!(
            "{actor} is not in role {role} ({role}: {})",
            users.join(", ")
        )),
    }
}

fn advance(desk: &Desk<'_>, override_reason: Option<&str>) -> Result<Decision, String> {
    let state = desk.state;
    let idx = desk.phase_index();
    let phase = desk.phase();
    let prefix = format!("cannot advance from {}", phase.id);
    if !state.started() {
        return Err(format!(
            "{prefix}: the launch is NOT STARTED; start it first (`gonogo start`, or `a` on the screen)"
        ));
    }
    if let Some(why) = rolled_back_refusal(state) {
        return Err(format!("{prefix}: {why}"));
    }
    let Some(next) = desk.layout.phases.get(idx + 1) else {
        return Err(format!("{prefix}: it is the last phase"));
    };
    if let Some(reason) = override_reason
        && reason.trim().is_empty()
    {
        return Err(format!("{prefix}: an override needs a reason"));
    }
    let mut why = Vec::new();
    if let Some(h) = &state.hold {
        why.push(format!(
            "held by {} since {}: {}",
            h.by,
            short_time(h.at),
            h.reason
        ));
    }
    let judged = desk.judge();
    let not_go: Vec<String> = phase
        .gates
        .iter()
        .zip(&judged)
        .filter(|(g, j)| g.blocking && j.state != GateState::Go)
        .map(|(g, j)| match j.remaining {
            Some(left) => format!(
                "{} {} ({} left)",
                g.label(),
                j.state.word(),
                format_duration(Duration::from_secs(left.as_secs()))
            ),
            None if j.reason.is_empty() => format!("{} {}", g.label(), j.state.word()),
            None => format!("{} {} ({})", g.label(), j.state.word(), j.reason),
        })
        .collect();
    let waived = if override_reason.is_some() {
        phase
            .gates
            .iter()
            .zip(&judged)
            .filter(|(g, j)| g.blocking && j.state != GateState::Go)
            .map(|(g, _)| g.label())
            .collect()
    } else {
        if !not_go.is_empty() {
            why.push(format!("gates not GO: {}", not_go.join(", ")));
        }
        Vec::new()
    };
    let unsigned: Vec<&str> = phase
        .signoff
        .iter()
        .filter(|r| state.signed(r).is_none())
        .map(String::as_str)
        .collect();
    if !unsigned.is_empty() {
        why.push(format!("not signed: {}", unsigned.join(", ")));
    }
    if let (Some(soak), Some(entered)) = (phase.soak, state.phase_entered) {
        let stayed = (desk.now - entered).to_std().unwrap_or_default();
        if stayed < soak {
            let left = Duration::from_secs((soak - stayed).as_secs().max(1));
            why.push(format!(
                "soak: {} of {} left",
                format_duration(left),
                format_duration(soak)
            ));
        }
    }
    if !why.is_empty() {
        return Err(format!("{prefix}: {}", why.join("; ")));
    }
    Ok(Decision {
        kind: EventKind::Advanced {
            from: phase.id.clone(),
            to: next.id.clone(),
            waived,
            reason: override_reason.map(str::to_string),
        },
        claim: None,
    })
}

fn check_item(
    desk: &Desk<'_>,
    checklist: &str,
    item: &str,
    undo: bool,
) -> Result<Decision, String> {
    let verb = if undo { "uncheck" } else { "check" };
    let Some(signal) = desk.layout.signal(checklist) else {
        return Err(format!("cannot {verb} item: no checklist `{checklist}`"));
    };
    let Probe::Checklist(source) = &signal.probe else {
        return Err(format!(
            "cannot {verb} item: `{checklist}` is a {} signal, not a checklist",
            signal.kind()
        ));
    };
    let known: Option<Vec<String>> = match source {
        ChecklistSource::Items(items) => Some(items.clone()),
        ChecklistSource::Path(path) => read_items(path),
        ChecklistSource::Url(_) => desk
            .layout
            .signal_index(checklist)
            .and_then(|i| desk.board.latest(i))
            .and_then(|s| match &s.outcome {
                Outcome::Checklist(c) => Some(c.items.iter().map(|i| i.text.clone()).collect()),
                _ => None,
            }),
    };
    if let Some(known) = &known
        && !known.iter().any(|k| k == item)
    {
        return Err(format!(
            "cannot {verb} item: `{checklist}` has no item \"{item}\" (items: {})",
            known.join(", ")
        ));
    }
    let checked = desk.state.is_checked(checklist, item);
    match (undo, checked) {
        (false, true) => Err(format!("cannot check item: \"{item}\" is already checked")),
        (true, false) => Err(format!(
            "cannot uncheck item: \"{item}\" was not checked in the journal"
        )),
        (false, false) => Ok(Decision {
            kind: EventKind::ItemChecked {
                checklist: checklist.into(),
                item: item.into(),
            },
            claim: None,
        }),
        (true, true) => Ok(Decision {
            kind: EventKind::ItemUnchecked {
                checklist: checklist.into(),
                item: item.into(),
            },
            claim: None,
        }),
    }
}

fn read_items(path: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        Checklist::from_markdown(&text)
            .items
            .into_iter()
            .map(|i| i.text)
            .collect(),
    )
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
    match decide(desk, act) {
        Ok(d) => {
            let entry = Entry {
                actor: desk.actor.to_string(),
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
                    refuse(journal, desk, act, reason, gates)
                }
                Err(e) => Err(e),
            }
        }
        Err(reason) => refuse(journal, desk, act, reason, gates),
    }
}

fn refuse(
    journal: &mut Journal,
    desk: &Desk<'_>,
    act: &Act,
    reason: String,
    gates: Vec<GateSnapshot>,
) -> Result<Performed, JournalError> {
    journal.append(&Entry {
        actor: desk.actor.to_string(),
        kind: EventKind::Refused {
            attempted: act.name().to_string(),
            reason: reason.clone(),
        },
        gates,
        claim: None,
    })?;
    Ok(Performed::Refused(reason))
}

/// Context handed to commands in their environment, never on a command line.
pub struct CommandContext<'a> {
    pub launch: &'a str,
    pub phase: &'a str,
    pub actor: &'a str,
    pub reason: &'a str,
}

/// Bytes of command output kept for the journal.
pub const OUTPUT_TAIL: usize = 4096;

/// What a running `on_enter` or rollback command reports as it goes, so a
/// screen can show its output live instead of after the fact.
pub enum Progress<'a> {
    Started(&'a [String]),
    Line(&'a str),
    Finished(&'a CommandOutcome),
}

/// Receives [`Progress`]; called from the task running the command.
pub type ProgressSink = dyn Fn(Progress<'_>) + Send + Sync;

/// Runs an `on_enter` or rollback command: argv, no shell, own process
/// group killed on timeout, output tail kept, each line handed to
/// `progress` as it is printed.
pub async fn run_command(
    argv: &[String],
    dir: &Path,
    ctx: &CommandContext<'_>,
    timeout: Duration,
    progress: Option<&ProgressSink>,
) -> CommandOutcome {
    let env = [
        ("GONOGO_LAUNCH".to_string(), ctx.launch.to_string()),
        ("GONOGO_PHASE".to_string(), ctx.phase.to_string()),
        ("GONOGO_ACTOR".to_string(), ctx.actor.to_string()),
        ("GONOGO_REASON".to_string(), ctx.reason.to_string()),
    ];
    let limits = Limits {
        timeout,
        keep: OUTPUT_TAIL,
        max_stdout: None,
    };
    if let Some(p) = progress {
        p(Progress::Started(argv));
    }
    let line = |l: &str| {
        if let Some(p) = progress {
            p(Progress::Line(l));
        }
    };
    let sink: Option<&command::LineSink<'_>> = progress.map(|_| &line as &command::LineSink<'_>);
    let outcome = match command::run_streamed(argv, dir, &env, &limits, sink).await {
        Ok(f) => {
            // Cleaned and redacted before it is cut: a command that prints
            // its environment must not leave half a token in the record.
            let mut tail = command::tail_text(&f.stdout, f.stdout_bytes);
            let err = command::tail_text(&f.stderr, f.stderr_bytes);
            if !err.trim().is_empty() {
                if !tail.is_empty() && !tail.ends_with('\n') {
                    tail.push('\n');
                }
                tail.push_str(&err);
            }
            let tail = last_chars(&tail, OUTPUT_TAIL);
            CommandOutcome {
                command: argv.to_vec(),
                ending: f.describe(&limits),
                success: f.success(),
                took_ms: u64::try_from(f.took.as_millis()).unwrap_or(u64::MAX),
                output_tail: tail,
            }
        }
        Err(reason) => CommandOutcome {
            command: argv.to_vec(),
            ending: crate::text::clean(&reason).into_owned(),
            success: false,
            took_ms: 0,
            output_tail: String::new(),
        },
    };
    if let Some(p) = progress {
        p(Progress::Finished(&outcome));
    }
    outcome
}

fn last_chars(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].to_string()
}
