//! The guard's rules: what a running gonogo (screen or `watch`) does on
//! its own — auto-rollback when enough triggers hold, the timebox overrun
//! record — and which events deserve a notification.
//!
//! Deciding is pure ([`auto_rollback_due`], [`timebox_overrun`]); firing
//! goes through the journal with a claim (the `commands` module), so when several
//! processes share a journal exactly one of them runs the rollback for a
//! breach. The runtime ([`crate::runtime`]) applies these rules.

mod commands;

pub use commands::{
    ON_ENTER_TIMEOUT, RUNNER_TTL, fire_rollback, reap_lost_rollback, run_on_enter, run_rollback,
    runner_id,
};

use chrono::{DateTime, Utc};

use crate::act;
use crate::board::Board;
use crate::gate::{TriggerJudgement, TriggerState};
use crate::launch::{Event, EventKind, State};
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
            let up = crate::live::upstream(layout, board, t.signal);
            crate::gate::judge_trigger_with(&up, t, signal, &samples, now, state.phase_entered)
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
