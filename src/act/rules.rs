//! The rules: whether an act is allowed now and, if not, exactly why.
//!
//! [`decide`] is pure — state, evidence and `now` in; the event to record
//! or a one-line refusal out — so the CLI, the screen and the journal all
//! carry the same words. Every rule an act is judged by lives here (roles,
//! holds, rollbacks, gates, sign-offs, soak, checklist items, adoption),
//! apart from the recording ([`super::perform`]) and from how gates are
//! judged (`act/judging.rs`).

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Act;
use super::judging::Desk;
use crate::gate::State as GateState;
use crate::launch::{EventKind, RollbackStatus, State};
use crate::layout::{ChecklistSource, Probe};
use crate::signal::{Checklist, Outcome};
use crate::unit::{format_duration, format_seconds};

/// An allowed act: the event to record, and a claim when only one process
/// may ever record it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub kind: EventKind,
    pub claim: Option<String>,
}

fn short_time(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%SZ").to_string()
}

/// Decides whether `act` is allowed now; the refusal says exactly why.
///
/// # Errors
/// The refusal, one line, as every front end shows it.
pub fn decide(desk: &Desk<'_>, act: &Act) -> Result<Decision, String> {
    if let Some(why) = too_long(act) {
        return Err(why);
    }
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
            layout
                .may_act_as(desk.actor, role)
                .map_err(|why| format!("cannot sign as {role}: {why}"))?;
            // A STALE sign-off is renewed by signing again.
            if let Some(s) = state.signed(role).filter(|s| s.counts()) {
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
                layout
                    .may_act_as(desk.actor, role)
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
            if let Some(why) = layout.command_refusal(&crate::layout::CommandPlace::Rollback) {
                return Err(format!("cannot roll back: {why}"));
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
                    reason: cut_reason(reason),
                    triggers: Vec::new(),
                    command: rb.run.clone(),
                    offline: None,
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

/// The most characters a note or a reason may have. Every screen and
/// record shows them; a pasted megabyte would make each frame and each
/// read of the journal pay for it.
pub const MAX_TEXT: usize = 2000;

/// Why the note or reason of `act` is refused as too long, if it is. A
/// rollback's reason is never a reason to refuse a rollback: it is cut
/// instead ([`cut_reason`]).
fn too_long(act: &Act) -> Option<String> {
    let (what, text) = match act {
        Act::SignOff { note: Some(t), .. } | Act::Revoke { note: Some(t), .. } => ("note", t),
        Act::Note { text } => ("note", text),
        Act::Advance {
            override_reason: Some(t),
        } => ("reason", t),
        Act::Hold { reason }
        | Act::Arm { reason }
        | Act::Disarm { reason }
        | Act::Reopen { reason, .. } => ("reason", reason),
        _ => return None,
    };
    let n = text.chars().count();
    (n > MAX_TEXT).then(|| {
        format!(
            "cannot {}: the {what} is {n} characters; at most {MAX_TEXT}",
            act.name()
        )
    })
}

/// A rollback's reason, at most [`MAX_TEXT`] characters, saying so when cut.
pub fn cut_reason(reason: &str) -> String {
    if reason.chars().count() <= MAX_TEXT {
        return reason.to_string();
    }
    let kept: String = reason.chars().take(MAX_TEXT).collect();
    format!("{kept}… (cut at {MAX_TEXT} characters)")
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
        let owners =
            crate::layout::owners_words(layout.launch.owners.as_deref(), state.creator.as_deref());
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
                format_seconds(left)
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
    // A STALE sign-off never counts: renewed by signing again, or named
    // by the override that advances past it.
    let stale: Vec<&crate::launch::SignOff> = phase
        .signoff
        .iter()
        .filter_map(|r| state.signed(r).filter(|s| !s.counts()))
        .collect();
    let overridden = if override_reason.is_some() {
        stale.iter().map(|s| s.role.clone()).collect()
    } else {
        for s in &stale {
            if let Some(words) = crate::signoff::refusal(phase, s) {
                why.push(format!("STALE sign-off: {words}"));
            }
        }
        Vec::new()
    };
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
            overridden,
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
