//! The live picture of one launch: the layout in force, the launch state
//! folded from the journal, the board of samples, and every gate and
//! trigger of the current phase judged — kept current incrementally.
//!
//! Pure data, no I/O and no runtime: the runtime feeds it samples, journal
//! events and ticks, each with the time as a value, and hears back what
//! [`Change`]d. A sample re-judges only the gates and triggers on its
//! signal; what time alone can change (staleness, a `for` window filling,
//! a trigger's window running out) is found from a queue of deadlines, so a
//! second of work costs in proportion to the samples taken, not to the
//! gates times the samples. Judging here builds no words: the words (value,
//! reason) are made by [`Live::judge`] only for what is shown.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::board::Board;
use crate::gate::{
    self, Assessment, Judgement, State as GateState, TriggerAssessment, TriggerJudgement,
    TriggerState, Verdict,
};
use crate::launch::{Event, State};
use crate::layout::{Layout, Phase};
use crate::signal::{Checklist, Outcome, Sample};
use crate::signoff::Bindings;

/// Checklist samples with the journal's checked items applied: an item
/// checked off on the screen counts as done wherever it is judged.
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

/// The evidence on what `signal` depends on (`depends_on`, transitively),
/// deepest first: what judging it needs besides its own samples.
pub fn upstream<'a>(layout: &'a Layout, board: &'a Board, signal: usize) -> gate::Upstream<'a> {
    let up = layout.signals.get(signal).map_or(&[][..], |s| &s.upstream);
    gate::Upstream::new(
        up.iter()
            .map(|&u| (u, &layout.signals[u], board.samples(u)))
            .collect(),
    )
}

/// What changed in the picture; front ends say or draw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The current phase's gates are another set (started, advanced,
    /// reopened elsewhere, a new layout): what was said of them is moot.
    Phase,
    /// Gate `index` of the current phase went `from` (None: a new phase)
    /// to `state`.
    Gate {
        index: usize,
        from: Option<GateState>,
        state: GateState,
    },
    /// Rollback trigger `index` is now `state`.
    Trigger { index: usize, state: TriggerState },
    /// The phase's verdict is now this.
    Verdict(Verdict),
    /// Sign-off `seq` went STALE (a blocking gate left GO after it): the
    /// state says why; it is yet to be recorded.
    SignoffStale { seq: i64 },
}

/// The current phase's BLOCKED gates behind one root cause.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockedGroup {
    pub blocker: gate::Blocker,
    /// Gate indexes, in layout order.
    pub gates: Vec<usize>,
}

/// A gate or trigger, by index: what a signal or a deadline re-judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ref {
    Gate(usize),
    Trigger(usize),
}

/// Blocking gates counted by what they say: the verdict without a scan.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    no_go: usize,
    not_go: usize,
    /// Waiting on a running `for` window only.
    pending: usize,
}

impl Counts {
    fn add(&mut self, s: GateState, by: isize) {
        let slot = match s {
            GateState::Go => return,
            GateState::NoGo => &mut self.no_go,
            GateState::Pending => &mut self.pending,
            GateState::Unknown | GateState::Stale | GateState::Blocked => &mut self.not_go,
        };
        *slot = slot.saturating_add_signed(by);
    }

    fn verdict(self) -> Verdict {
        if self.no_go > 0 {
            Verdict::NoGo
        } else if self.not_go > 0 {
            Verdict::Unknown
        } else if self.pending > 0 {
            Verdict::Pending
        } else {
            Verdict::Go
        }
    }
}

#[derive(Debug, Clone)]
pub struct Live {
    layout: Arc<Layout>,
    state: State,
    board: Board,
    /// Index of the phase judged: the current one, else the first (a
    /// journal may name a phase an adopted layout no longer has).
    phase: usize,
    gates: Vec<Assessment>,
    triggers: Vec<TriggerAssessment>,
    /// Signal → the gates and triggers that read it, or read a signal
    /// that depends on it (`depends_on`, transitively): a sample on a
    /// root re-judges what it can block.
    readers: Vec<Vec<Ref>>,
    /// When each gate or trigger must be judged again if no sample comes.
    due: BTreeSet<(DateTime<Utc>, Ref)>,
    counts: Counts,
    verdict: Verdict,
    /// The sign-offs of the phase and the gates each is bound to.
    bindings: Bindings,
}

impl Live {
    pub fn new(layout: Arc<Layout>, state: State, board: Board, now: DateTime<Utc>) -> Live {
        Live::build(layout, state, board, now, None)
    }

    /// A picture for replaying recorded evidence from `now` on: gates
    /// leaving GO before `trusted` are the replay warming up, and make no
    /// sign-off stale (see [`crate::signoff::derive`]).
    pub fn replaying(
        layout: Arc<Layout>,
        state: State,
        board: Board,
        now: DateTime<Utc>,
        trusted: DateTime<Utc>,
    ) -> Live {
        Live::build(layout, state, board, now, Some(trusted))
    }

    fn build(
        layout: Arc<Layout>,
        state: State,
        board: Board,
        now: DateTime<Utc>,
        trusted: Option<DateTime<Utc>>,
    ) -> Live {
        let mut bindings = Bindings::default();
        if let Some(t) = trusted {
            bindings.warm_up_until(t);
        }
        let mut live = Live {
            layout,
            state,
            board,
            phase: 0,
            gates: Vec::new(),
            triggers: Vec::new(),
            readers: Vec::new(),
            due: BTreeSet::new(),
            counts: Counts::default(),
            verdict: Verdict::Unknown,
            bindings,
        };
        live.rebuild(now);
        // A sign-off whose gate left GO while no one watched is stale now.
        live.recheck_signoffs(now);
        live
    }

    /// A picture with no journal yet: the first phase, not started.
    pub fn fresh(layout: Arc<Layout>, now: DateTime<Utc>) -> Live {
        let state = State::new(&layout.phases[0].id);
        let board = Board::new(&layout);
        Live::new(layout, state, board, now)
    }

    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn board(&self) -> &Board {
        &self.board
    }

    /// The phase being judged: the current one, else the first.
    pub fn phase(&self) -> &Phase {
        &self.layout.phases[self.phase]
    }

    pub fn phase_index(&self) -> usize {
        self.phase
    }

    /// When the judged phase was entered (None before the start, or when
    /// the journal's phase is not in this layout).
    pub fn entered(&self) -> Option<DateTime<Utc>> {
        self.state
            .phase_entered
            .filter(|_| self.phase().id == self.state.phase)
    }

    /// What gate `index` of the current phase says, without words.
    pub fn gate_state(&self, index: usize) -> Option<GateState> {
        self.gates.get(index).map(|a| a.state)
    }

    pub fn trigger_state(&self, index: usize) -> Option<&TriggerState> {
        self.triggers.get(index).map(|a| &a.state)
    }

    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// The current phase's BLOCKED gates grouped under their root cause,
    /// in the order of each group's first gate: what front ends report
    /// once instead of gate by gate. One pass over the gates' states, and
    /// words for each blocked signal's root only.
    pub fn blocked(&self, now: DateTime<Utc>) -> Vec<BlockedGroup> {
        let mut groups: Vec<BlockedGroup> = Vec::new();
        // Signal → its group, once asked.
        let mut asked: Vec<(usize, Option<usize>)> = Vec::new();
        for (i, a) in self.gates.iter().enumerate() {
            if a.state != GateState::Blocked {
                continue;
            }
            let signal = self.phase().gates[i].signal;
            let group = if let Some(&(_, g)) = asked.iter().find(|(s, _)| *s == signal) {
                g
            } else {
                let g = upstream(&self.layout, &self.board, signal)
                    .blocker_for(self.board.samples(signal), now, true)
                    .map(|b| {
                        groups
                            .iter()
                            .position(|g| g.blocker.root == b.root)
                            .unwrap_or_else(|| {
                                groups.push(BlockedGroup {
                                    blocker: b,
                                    gates: Vec::new(),
                                });
                                groups.len() - 1
                            })
                    });
                asked.push((signal, g));
                g
            };
            if let Some(g) = group.and_then(|g| groups.get_mut(g)) {
                g.gates.push(i);
            }
        }
        groups
    }

    /// Gate `index` judged in full, words and all, at `now`.
    pub fn judge(&self, index: usize, now: DateTime<Utc>) -> Option<Judgement> {
        let g = self.phase().gates.get(index)?;
        let signal = &self.layout.signals[g.signal];
        let samples = with_checked_items(&signal.id, &self.state, self.board.samples(g.signal));
        let up = upstream(&self.layout, &self.board, g.signal);
        Some(gate::judge_with(
            &up,
            g,
            signal,
            &samples,
            now,
            self.entered(),
        ))
    }

    /// Every gate of the current phase judged in full.
    pub fn judged(&self, now: DateTime<Utc>) -> Vec<Judgement> {
        (0..self.gates.len())
            .filter_map(|i| self.judge(i, now))
            .collect()
    }

    /// Trigger `index` judged in full at `now`.
    pub fn judge_trigger(&self, index: usize, now: DateTime<Utc>) -> Option<TriggerJudgement> {
        let t = self.layout.rollback.as_ref()?.triggers.get(index)?;
        let signal = &self.layout.signals[t.signal];
        let samples = with_checked_items(&signal.id, &self.state, self.board.samples(t.signal));
        let up = upstream(&self.layout, &self.board, t.signal);
        Some(gate::judge_trigger_with(
            &up,
            t,
            signal,
            &samples,
            now,
            self.state.phase_entered,
        ))
    }

    /// Every trigger judged in full.
    pub fn judged_triggers(&self, now: DateTime<Utc>) -> Vec<TriggerJudgement> {
        (0..self.triggers.len())
            .filter_map(|i| self.judge_trigger(i, now))
            .collect()
    }

    /// Folds in a sample and re-judges what reads its signal.
    pub fn record(&mut self, signal: usize, sample: Sample, now: DateTime<Utc>) -> Vec<Change> {
        self.board.record(signal, sample);
        let mut changes = Vec::new();
        let readers = self.readers.get(signal).cloned().unwrap_or_default();
        for r in readers {
            self.reassess(r, now, &mut changes);
        }
        self.settle(&mut changes);
        changes
    }

    /// Folds in a batch of samples (followed from another process's
    /// record) and judges what reads them once, after the last.
    pub fn record_all(&mut self, samples: Vec<(usize, Sample)>, now: DateTime<Utc>) -> Vec<Change> {
        let mut touched = Vec::new();
        for (signal, sample) in samples {
            self.board.record(signal, sample);
            if let Some(r) = self.readers.get(signal) {
                touched.extend(r.iter().copied());
            }
        }
        touched.sort_unstable();
        touched.dedup();
        let mut changes = Vec::new();
        for r in touched {
            self.reassess(r, now, &mut changes);
        }
        self.settle(&mut changes);
        changes
    }

    /// Folds in journal events. Rare, and any of them may move the phase,
    /// its entry or a checklist: everything is judged again.
    pub fn apply(&mut self, events: &[Event], now: DateTime<Utc>) -> Vec<Change> {
        if events.is_empty() {
            return Vec::new();
        }
        for e in events {
            self.state.apply(e);
        }
        let current = self.layout.phase_index(&self.state.phase).unwrap_or(0);
        if current != self.phase {
            self.rebuild(now);
            let mut changes = vec![Change::Phase];
            changes.extend(self.all_changes());
            changes.extend(self.recheck_signoffs(now));
            return changes;
        }
        let mut changes = Vec::new();
        for i in 0..self.gates.len() {
            self.reassess(Ref::Gate(i), now, &mut changes);
        }
        for i in 0..self.triggers.len() {
            self.reassess(Ref::Trigger(i), now, &mut changes);
        }
        self.settle(&mut changes);
        // A new sign-off is bound to the gates as they stand now too.
        changes.extend(self.recheck_signoffs(now));
        changes
    }

    /// What time alone changed by `now`: only the gates and triggers whose
    /// deadline has passed are judged again.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Change> {
        let mut changes = Vec::new();
        while let Some(&(at, r)) = self.due.first() {
            if at > now {
                break;
            }
            self.due.pop_first();
            self.reassess(r, now, &mut changes);
        }
        self.settle(&mut changes);
        changes
    }

    /// When time alone next changes something, if it may.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.due.first().map(|(at, _)| *at)
    }

    /// Runs `layout` from now on; samples of signals that stayed alike are
    /// kept.
    pub fn relayout(&mut self, layout: Arc<Layout>, now: DateTime<Utc>) -> Vec<Change> {
        self.board = self.board.rekeyed(&layout);
        self.layout = layout;
        // Before the start, the launch stands at the new layout's first
        // phase.
        if !self.state.started() {
            self.state.phase.clone_from(&self.layout.phases[0].id);
        }
        self.rebuild(now);
        let mut changes = vec![Change::Phase];
        changes.extend(self.all_changes());
        changes.extend(self.recheck_signoffs(now));
        changes
    }

    /// Follows the state's sign-offs and holds each to every gate as it
    /// stands `now`: what a new sign-off, a restart or the end of a replay
    /// calls for. Only a state change re-checks a gate otherwise.
    pub fn recheck_signoffs(&mut self, now: DateTime<Utc>) -> Vec<Change> {
        let phase = &self.layout.phases[self.phase];
        self.bindings.sync(phase, &self.state);
        let mut changes = Vec::new();
        for i in 0..self.gates.len() {
            self.signoffs_see(i, now, &mut changes);
        }
        changes
    }

    /// Gate `index` as judged now, shown to the sign-offs bound to it.
    fn signoffs_see(&mut self, index: usize, now: DateTime<Utc>, changes: &mut Vec<Change>) {
        let state = self.gates[index].state;
        let phase = &self.layout.phases[self.phase];
        // No sample here yet (a process just started, a follower before
        // the poller's first record): this picture's ignorance, not the
        // gate's word.
        let Some(latest) = self.board.latest(phase.gates[index].signal) else {
            return;
        };
        // What a sample said, as of when it was taken: evidence older than
        // a sign-off (a slow poll, another process's record arriving late)
        // is what its signer saw or could have, not the gate leaving GO
        // after. A signal gone stale is time alone: now.
        let at = match state {
            GateState::Stale => now,
            _ => latest.at.min(now),
        };
        for (seq, why) in self.bindings.observe(phase, index, state, at) {
            self.state.note_stale(seq, why);
            changes.push(Change::SignoffStale { seq });
        }
    }

    /// Judges everything from scratch for the current phase.
    fn rebuild(&mut self, now: DateTime<Utc>) {
        self.phase = self.layout.phase_index(&self.state.phase).unwrap_or(0);
        self.bindings.clear();
        let layout = Arc::clone(&self.layout);
        let mut readers = vec![Vec::new(); layout.signals.len()];
        let mut read = |signal: usize, r: Ref| {
            let up = layout.signals.get(signal).map_or(&[][..], |s| &s.upstream);
            for &s in std::iter::once(&signal).chain(up) {
                if let Some(list) = readers.get_mut(s) {
                    list.push(r);
                }
            }
        };
        for (i, g) in layout.phases[self.phase].gates.iter().enumerate() {
            read(g.signal, Ref::Gate(i));
        }
        let rollback = layout.rollback.iter().flat_map(|r| r.triggers.iter());
        let mut triggers = 0;
        for (i, t) in rollback.enumerate() {
            read(t.signal, Ref::Trigger(i));
            triggers += 1;
        }
        self.readers = readers;
        self.due.clear();
        self.counts = Counts::default();
        self.gates = (0..self.phase().gates.len())
            .map(|i| self.assess_gate(i, now))
            .collect();
        for (i, a) in self.gates.iter().enumerate() {
            if self.phase().gates[i].blocking {
                self.counts.add(a.state, 1);
            }
            if let Some(at) = a.recheck {
                self.due.insert((at, Ref::Gate(i)));
            }
        }
        self.triggers = (0..triggers).map(|i| self.assess_trigger(i, now)).collect();
        for (i, a) in self.triggers.iter().enumerate() {
            if let Some(at) = a.recheck {
                self.due.insert((at, Ref::Trigger(i)));
            }
        }
        self.verdict = self.counts.verdict();
    }

    /// Every gate, trigger and the verdict as they stand: after a rebuild,
    /// all of it is news.
    fn all_changes(&self) -> Vec<Change> {
        let gates = self
            .gates
            .iter()
            .enumerate()
            .map(|(index, a)| Change::Gate {
                index,
                from: None,
                state: a.state,
            });
        let triggers = self
            .triggers
            .iter()
            .enumerate()
            .map(|(index, a)| Change::Trigger {
                index,
                state: a.state.clone(),
            });
        gates
            .chain(triggers)
            .chain(std::iter::once(Change::Verdict(self.verdict)))
            .collect()
    }

    fn assess_gate(&self, index: usize, now: DateTime<Utc>) -> Assessment {
        let g = &self.phase().gates[index];
        let signal = &self.layout.signals[g.signal];
        let samples = with_checked_items(&signal.id, &self.state, self.board.samples(g.signal));
        let up = upstream(&self.layout, &self.board, g.signal);
        gate::assess_with(&up, g, signal, &samples, now, self.entered())
    }

    fn assess_trigger(&self, index: usize, now: DateTime<Utc>) -> TriggerAssessment {
        let Some(t) = self
            .layout
            .rollback
            .as_ref()
            .and_then(|r| r.triggers.get(index))
        else {
            return TriggerAssessment {
                state: TriggerState::Blind,
                recheck: None,
            };
        };
        let signal = &self.layout.signals[t.signal];
        let samples = with_checked_items(&signal.id, &self.state, self.board.samples(t.signal));
        let up = upstream(&self.layout, &self.board, t.signal);
        gate::assess_trigger_with(&up, t, signal, &samples, now, self.state.phase_entered)
    }

    /// Judges one gate or trigger again; notes a change of state and its
    /// next deadline.
    fn reassess(&mut self, r: Ref, now: DateTime<Utc>, changes: &mut Vec<Change>) {
        match r {
            Ref::Gate(i) => {
                let new = self.assess_gate(i, now);
                let old = std::mem::replace(&mut self.gates[i], new);
                self.requeue(r, old.recheck, new.recheck, now);
                if old.state != new.state {
                    if self.phase().gates[i].blocking {
                        self.counts.add(old.state, -1);
                        self.counts.add(new.state, 1);
                    }
                    changes.push(Change::Gate {
                        index: i,
                        from: Some(old.state),
                        state: new.state,
                    });
                    self.signoffs_see(i, now, changes);
                } else if new.state != GateState::Go && !self.bindings.is_empty() {
                    // Still not GO, on a newer sample: what was said before
                    // a sign-off is now said after it.
                    self.signoffs_see(i, now, changes);
                }
            }
            Ref::Trigger(i) => {
                let new = self.assess_trigger(i, now);
                let recheck = new.recheck;
                let old = std::mem::replace(&mut self.triggers[i], new);
                self.requeue(r, old.recheck, recheck, now);
                if !old.state.same_as(&self.triggers[i].state) {
                    changes.push(Change::Trigger {
                        index: i,
                        state: self.triggers[i].state.clone(),
                    });
                }
            }
        }
    }

    fn requeue(
        &mut self,
        r: Ref,
        old: Option<DateTime<Utc>>,
        new: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) {
        if let Some(at) = old {
            self.due.remove(&(at, r));
        }
        // A deadline not in the future would be judged again at once, for
        // ever; the next sample judges it instead.
        if let Some(at) = new.filter(|at| *at > now) {
            self.due.insert((at, r));
        }
    }

    fn settle(&mut self, changes: &mut Vec<Change>) {
        let v = self.counts.verdict();
        if v != self.verdict {
            self.verdict = v;
            changes.push(Change::Verdict(v));
        }
    }
}

#[cfg(test)]
mod tests {
    //! The incremental picture must say exactly what judging everything
    //! from scratch says, at every moment: the property that makes the
    //! shortcut safe. Random sample streams, gaps, clock steps and phase
    //! moves; after each, every gate, trigger and the verdict are compared.

    use super::*;
    use crate::launch::EventKind;
    use crate::signal::Outcome;
    use std::path::Path;

    const LAYOUT: &str = r#"
[launch]
name = "incremental"

[signals.a]
kind = "json"
url = "http://127.0.0.1:9/a"
path = "$.v"
every = "1s"
stale_after = "3s"

[signals.b]
kind = "json"
url = "http://127.0.0.1:9/b"
path = "$.v"
every = "1s"
stale_after = "2s"

[signals.c]
kind = "http"
url = "http://127.0.0.1:9/c"
every = "1s"
stale_after = "4s"

[signals.d]
kind = "json"
url = "http://127.0.0.1:9/d"
path = "$.v"
every = "1s"
stale_after = "3s"
depends_on = ["c"]

[signals.e]
kind = "json"
url = "http://127.0.0.1:9/e"
path = "$.v"
every = "1s"
stale_after = "2s"
depends_on = ["d", "b"]

[[phases]]
id = "one"
gates = [
  { signal = "a", below = 50 },
  { signal = "a", below = 80, for = "5s" },
  { signal = "b", above = 10, for = "3s" },
  { signal = "c", up = true },
  { signal = "c", up = true, for = "4s", blocking = false },
  { signal = "d", below = 60, for = "3s" },
  { signal = "e", below = 70 },
]

[[phases]]
id = "two"
gates = [
  { signal = "b", below = 90, for = "2s" },
  { signal = "a", above = 5 },
]

[rollback]
run = ["true"]
auto_from = "one"
triggers = [
  { signal = "a", above = 70, for = "4s" },
  { signal = "b", below = 20, for = "2s" },
  { signal = "e", above = 30, for = "2s" },
]
"#;

    fn event(seq: i64, at: DateTime<Utc>, kind: EventKind) -> Event {
        Event {
            seq,
            at,
            actor: "t".into(),
            kind,
            gates: Vec::new(),
        }
    }

    fn outcome(rng: &mut fastrand::Rng, signal: usize) -> Outcome {
        match (signal, rng.u8(..10)) {
            (_, 0) => Outcome::Unknown("boom".into()),
            (2, n) => Outcome::Health {
                up: n > 3,
                latency: Some(std::time::Duration::from_millis(5)),
                detail: "200 OK".into(),
            },
            _ => Outcome::Number(f64::from(rng.u8(..100))),
        }
    }

    fn assert_same(live: &Live, now: DateTime<Utc>, step: usize) {
        let full =
            crate::act::judge_phase(live.layout(), live.state(), live.board(), live.phase(), now);
        for (i, j) in full.iter().enumerate() {
            assert_eq!(
                live.gate_state(i),
                Some(j.state),
                "step {step}: gate {i} of {} at {now}: {}",
                live.phase().id,
                j.reason
            );
        }
        let verdict = gate::verdict(live.phase().gates.iter().zip(&full));
        assert_eq!(live.verdict(), verdict, "step {step}: verdict");
        let triggers = crate::guard::judge_triggers(live.layout(), live.state(), live.board(), now);
        for (i, t) in triggers.iter().enumerate() {
            let mine = live.trigger_state(i).cloned();
            assert!(
                mine.as_ref().is_some_and(|m| m.same_as(&t.state)),
                "step {step}: trigger {i} at {now}: {mine:?} vs {:?} ({})",
                t.state,
                t.reason
            );
        }
    }

    #[test]
    fn incremental_judgement_matches_judging_everything() {
        let layout = Arc::new(crate::layout::parse(Path::new("inc.toml"), LAYOUT).unwrap());
        for seed in 0..40 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut now = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc);
            let mut live = Live::fresh(Arc::clone(&layout), now);
            let mut seq = 0;
            for step in 0..400 {
                now += chrono::Duration::milliseconds(i64::from(rng.u16(..1500)));
                match rng.u8(..20) {
                    0 if seq < 6 => {
                        seq += 1;
                        let kind = match seq {
                            1 => EventKind::Started {
                                phase: "one".into(),
                            },
                            3 => EventKind::Advanced {
                                from: "one".into(),
                                to: "two".into(),
                                waived: Vec::new(),
                                overridden: Vec::new(),
                                reason: None,
                            },
                            _ => EventKind::Noted { text: "n".into() },
                        };
                        live.apply(&[event(seq, now, kind)], now);
                    }
                    1..=4 => {
                        live.tick(now);
                    }
                    5 => {
                        // A batch followed from another process's record.
                        let batch = (0..rng.usize(1..5))
                            .map(|k| {
                                let signal = rng.usize(..5);
                                let back = chrono::Duration::milliseconds(300 * k as i64);
                                let o = outcome(&mut rng, signal);
                                (
                                    signal,
                                    Sample {
                                        at: now - back,
                                        outcome: o,
                                    },
                                )
                            })
                            .collect();
                        live.record_all(batch, now);
                    }
                    _ => {
                        let signal = rng.usize(..5);
                        // Now and then a sample from the past (a slow
                        // poll) or from a clock slightly ahead.
                        let skew = match rng.u8(..10) {
                            0 => -i64::from(rng.u16(..2000)),
                            1 => i64::from(rng.u16(..300)),
                            _ => 0,
                        };
                        let at = now + chrono::Duration::milliseconds(skew);
                        let o = outcome(&mut rng, signal);
                        live.record(signal, Sample { at, outcome: o }, now);
                    }
                }
                // What a front end sees is the picture after a tick.
                live.tick(now);
                assert_same(&live, now, step);
            }
        }
    }
}
