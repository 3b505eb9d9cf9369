//! The guard's rules: what a running gonogo (screen or `watch`) does on
//! its own — auto-rollback when enough triggers hold, an automatic hold
//! when a `then = "hold"` trigger does, the timebox overrun record — and
//! which events deserve a notification.
//!
//! Deciding is pure ([`auto_rollback_due`], [`holds_armed`],
//! [`breach_seen`], [`timebox_overrun`]); firing goes through the journal
//! with a claim (the `commands` module, [`hold_claim`]), so when several
//! processes share a journal exactly one of them runs the rollback, or
//! records the hold, for a breach. The runtime ([`crate::runtime`])
//! applies these rules.

mod commands;

pub use commands::{
    ON_ENTER_TIMEOUT, OfflineRollback, RUNNER_TTL, fire_rollback, reap_lost_rollback,
    rollback_marker, run_on_enter, run_rollback, runner_id, spool_rollback,
};

use chrono::{DateTime, Utc};

use crate::act;
use crate::board::Board;
use crate::gate::{TriggerJudgement, TriggerState};
use crate::launch::{Event, EventKind, State};
use crate::layout::{Layout, Then};

/// Who the guard records its own acts as.
pub const GUARD_ACTOR_SUFFIX: &str = " (guard)";

/// Whether auto-rollback is armed: rollback triggers exist, the launch
/// has started and reached `auto_from`, nobody disarmed it, and it is not
/// already rolled back.
pub fn armed(layout: &Layout, state: &State) -> bool {
    let Some(rb) = &layout.rollback else {
        return false;
    };
    rb.rollback_triggers().next().is_some()
        && from_auto_from(layout, state)
        && state.disarmed.is_none()
        && state.rolled_back.is_none()
}

/// Whether hold triggers may put the launch on hold now: it has some, has
/// started and reached `auto_from`, is not on hold already and has no
/// rollback in this epoch. Disarming auto-rollback leaves them armed:
/// disarm is about the rollback command, and a hold only stops the launch
/// to ask a person, which is never less safe.
pub fn holds_armed(layout: &Layout, state: &State) -> bool {
    let Some(rb) = &layout.rollback else {
        return false;
    };
    rb.hold_triggers().next().is_some()
        && from_auto_from(layout, state)
        && state.hold.is_none()
        && state.rolled_back.is_none()
}

/// The launch has started and reached `[rollback] auto_from`.
fn from_auto_from(layout: &Layout, state: &State) -> bool {
    let from = layout.rollback.as_ref().and_then(|rb| rb.auto_from);
    let (Some(from), Some(now)) = (from, layout.phase_index(&state.phase)) else {
        return false;
    };
    state.started() && now >= from
}

/// Whether a hold trigger's breach, judged `j`, is one a person already
/// saw: it was in progress when the launch was last resumed (in this
/// phase) and no sample has cleared it since. Such a breach holds no
/// more: "once per breach" means the trigger must clear (a sample that
/// clearly does not breach) and breach again for its whole window before
/// it can hold again, so a resume is never undone by the breach it saw.
/// A clear sample that has left the evidence counts as not seen: the
/// doubt falls on the side of no repeated hold.
pub fn breach_seen(state: &State, j: &TriggerJudgement) -> bool {
    let Some((_, resumed)) = state.resumed else {
        return false;
    };
    // Windows never reach back before the phase entry: a breach in a
    // later phase is a new one.
    if state.phase_entered.is_some_and(|e| e > resumed) {
        return false;
    }
    j.cleared.is_none_or(|c| c <= resumed)
}

/// Claim for the one automatic hold between two resumes: while the launch
/// is on hold nothing holds it again, so a hold trigger's breach is
/// recorded once across every process, whichever of them sees it first.
pub fn hold_claim(state: &State) -> String {
    format!(
        "hold:{}:{}",
        state.epoch,
        state.resumed.map_or(0, |(seq, _)| seq)
    )
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
            let up = crate::live::upstream(layout, board, t.signal);
            crate::gate::judge_trigger_with(&up, t, signal, &samples, now, state.phase_entered)
        })
        .collect()
}

/// The labels of the rollback triggers that fired, when at least
/// `quorum` did and auto-rollback is armed (hold triggers never count).
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
        .filter(|(t, j)| t.then == Then::Rollback && j.state == TriggerState::Fired)
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
            overridden,
        } => Some(Notification::advanced(
            launch,
            from,
            to,
            (!waived.is_empty() || !overridden.is_empty())
                .then_some(reason.as_deref().unwrap_or("")),
        )),
        EventKind::SignoffStale {
            phase,
            role,
            signer,
            gate,
            state,
            seen,
            ..
        } => Some(Notification::signoff_stale(
            launch,
            phase,
            role,
            signer,
            &format!("{gate} was {state} at {}", seen.format("%H:%M:%SZ")),
        )),
        EventKind::RollbackStarted { triggers, .. } if !triggers.is_empty() => {
            Some(Notification::trigger_fired(launch, &triggers.join("; ")))
        }
        EventKind::AutoHeld { triggers, .. } => {
            Some(Notification::hold_fired(launch, &triggers.join("; ")))
        }
        EventKind::RollbackFinished { outcome, cause, .. } => {
            let detail = match cause {
                Some(c) => format!("{} — cause: {c}", outcome.ending),
                None => outcome.ending.clone(),
            };
            Some(Notification::rollback_finished(
                launch,
                outcome.success,
                &detail,
            ))
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 5, 14, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    }

    fn fired(cleared: Option<i64>) -> TriggerJudgement {
        TriggerJudgement {
            state: TriggerState::Fired,
            value: Some("612".into()),
            reason: "breaching: 612 (> 500)".into(),
            held: std::time::Duration::from_secs(600),
            cleared: cleared.map(at),
        }
    }

    fn state(entered: i64, resumed: Option<(i64, i64)>) -> State {
        let mut s = State::new("canary");
        s.phase_entered = Some(at(entered));
        s.resumed = resumed.map(|(seq, t)| (seq, at(t)));
        s
    }

    #[test]
    fn a_resume_acknowledges_the_breach_until_it_clears() {
        // Never resumed: every breach is new.
        assert!(!breach_seen(&state(0, None), &fired(None)));
        // Resumed at 100 while breaching since before: seen.
        assert!(breach_seen(&state(0, Some((7, 100))), &fired(Some(50))));
        // Its clearing sample left the evidence: still seen (no re-hold).
        assert!(breach_seen(&state(0, Some((7, 100))), &fired(None)));
        // A sample cleared it after the resume: a new breach.
        assert!(!breach_seen(&state(0, Some((7, 100))), &fired(Some(101))));
        // A phase entered after the resume: windows start afresh.
        assert!(!breach_seen(&state(200, Some((7, 100))), &fired(None)));
    }

    #[test]
    fn an_automatic_hold_notifies_with_its_cause() {
        let e = Event {
            seq: 5,
            at: at(0),
            actor: "alice (guard)".into(),
            kind: EventKind::AutoHeld {
                reason: "auto-hold: q > 500 for 10m (breaching: 612 (> 500))".into(),
                triggers: vec!["q > 500 for 10m (breaching: 612 (> 500))".into()],
            },
            gates: Vec::new(),
        };
        let n = notification("Checkout", &e).expect("a hold is news");
        assert!(n.title.contains("ON HOLD"), "{n:?}");
        assert!(n.body.contains("breaching: 612 (> 500)"), "{n:?}");
    }

    #[test]
    fn the_end_of_a_rollback_notifies_with_its_cause() {
        let e = Event {
            seq: 9,
            at: at(0),
            actor: "alice (guard)".into(),
            kind: EventKind::RollbackFinished {
                outcome: crate::launch::CommandOutcome {
                    command: vec!["undo".into()],
                    ending: "exit status 0".into(),
                    success: true,
                    took_ms: 5,
                    output_tail: String::new(),
                },
                started: Some(8),
                cause: Some(
                    "alice (guard): auto-rollback: e > 2% for 10s (breaching: 3% (> 2%))".into(),
                ),
                offline: None,
            },
            gates: Vec::new(),
        };
        let n = notification("Checkout", &e).expect("a rollback's end is news");
        assert!(n.body.contains("exit status 0"), "{n:?}");
        assert!(n.body.contains("breaching: 3% (> 2%)"), "{n:?}");
    }

    #[test]
    fn one_hold_claim_per_stretch_between_resumes() {
        let first = hold_claim(&state(0, None));
        let after = hold_claim(&state(0, Some((7, 100))));
        assert_ne!(first, after);
        let mut reopened = state(0, Some((7, 100)));
        reopened.epoch = 1;
        assert_ne!(hold_claim(&reopened), after);
    }

    #[test]
    fn a_held_or_rolled_back_launch_takes_no_hold() {
        let text = crate::demo::LAYOUT.replace(
            "  { signal = \"api\", up = false, for = \"10s\" },\n]",
            "  { signal = \"api\", up = false, for = \"10s\" },\n  { signal = \"webhook_queue\", above = 500, for = \"1m\", then = \"hold\" },\n]",
        );
        let layout = crate::layout::parse(std::path::Path::new("demo.toml"), &text).unwrap();
        let mut s = State::new("canary-10");
        assert!(!holds_armed(&layout, &s), "not started");
        s.phase_entered = Some(at(0));
        assert!(holds_armed(&layout, &s));
        s.disarmed = Some(("alice".into(), "noisy".into()));
        assert!(holds_armed(&layout, &s), "disarm is about the rollback");
        assert!(!armed(&layout, &s));
        s.hold = Some(crate::launch::Hold {
            by: "bob".into(),
            reason: "coffee".into(),
            at: at(1),
        });
        assert!(!holds_armed(&layout, &s), "already on hold");
        s.hold = None;
        s.rolled_back = Some(crate::launch::RolledBack {
            seq: 3,
            at: at(2),
            by: "bob".into(),
            reason: "bad".into(),
            auto: false,
            retries: 0,
            finished: None,
        });
        assert!(!holds_armed(&layout, &s), "rolling back");
        let mut preflight = State::new("preflight");
        preflight.phase_entered = Some(at(0));
        assert!(!holds_armed(&layout, &preflight), "before auto_from");
    }
}
