//! Judgement glue: the gates of a phase judged as acts see them, with the
//! journal's checked-off items counted as done. [`Desk`] is everything a
//! decision looks at; [`judge_phase`] and [`snapshot`] are shared by the
//! screen, `check`, `watch` and the guard, so all judge alike.

use chrono::{DateTime, Utc};

use crate::board::Board;
use crate::gate::{self, Judgement};
use crate::launch::{GateSnapshot, State};
use crate::layout::{Layout, Phase};
use crate::live::with_checked_items;

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
            let up = crate::live::upstream(layout, board, g.signal);
            gate::judge_with(&up, g, signal, &samples, now, entered)
        })
        .collect()
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
