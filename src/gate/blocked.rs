//! `depends_on`: a gate is only as trustworthy as the signals its signal
//! depends on. While one of them is down, UNKNOWN or STALE, every gate on
//! the dependent is BLOCKED by it — never GO, blocking like UNKNOWN — and
//! the front ends report the root once instead of each gate behind it.
//!
//! The rules, as a table in the tests below:
//! - A dependency is trusted only on a fresh sample that says it is up (or
//!   carries a value). Down, UNKNOWN, no data and STALE all block: with no
//!   fresh word from the root we cannot know that the dependent's reading
//!   means anything.
//! - The root named is the deepest troubled one: with C → B → A and A
//!   down, C is blocked by A, whatever B says.
//! - BLOCKED wins over the dependent's own state, NO-GO included: both
//!   refuse advance, and the dependent's NO-GO is most likely the root's
//!   outage seen from behind. The record stays honest: the gate keeps its
//!   own value, and its reason says when it is itself NO-GO as well.
//! - A dependent sample taken while its root could not be trusted counts
//!   as UNKNOWN afterwards too: a `for` window starts again once the root
//!   is back, and a rollback trigger's window pauses over the outage
//!   instead of firing on it when the root returns.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::{
    Assessment, Judgement, State, TriggerAssessment, TriggerJudgement, TriggerState, age, earliest,
    fmt_age, judge_gate, past, say, trigger_core, until,
};
use crate::layout::{Gate, Signal};
use crate::signal::{Outcome, Sample};

/// The evidence on everything a signal depends on: each upstream signal
/// (its index in the layout, the signal, its samples oldest first),
/// deepest first as [`Signal::upstream`] lists them.
#[derive(Debug, Clone, Default)]
pub struct Upstream<'a> {
    signals: Vec<(usize, &'a Signal, &'a [Sample])>,
}

/// Why a dependent's gates are blocked right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    /// The root cause: the troubled signal's index in the layout.
    pub root: usize,
    /// Its id, for the words.
    pub id: String,
    /// What is wrong with it, in a few words (`down: connection refused`).
    pub why: String,
}

impl Blocker {
    /// `blocked by api (down: connection refused)`.
    pub fn reason(&self) -> String {
        format!("blocked by {} ({})", self.id, self.why)
    }
}

impl<'a> Upstream<'a> {
    pub fn new(signals: Vec<(usize, &'a Signal, &'a [Sample])>) -> Upstream<'a> {
        Upstream { signals }
    }

    pub fn is_empty(&self) -> bool {
        self.signals.is_empty()
    }

    /// The deepest upstream signal that cannot be trusted at `now`.
    pub fn blocker(&self, now: DateTime<Utc>, words: bool) -> Option<Blocker> {
        self.signals.iter().find_map(|&(root, signal, samples)| {
            let why = trouble(signal, until(samples, now), now, words)?;
            Some(Blocker {
                root,
                id: signal.id.clone(),
                why,
            })
        })
    }

    /// When time alone could change what the upstream says: a root's
    /// latest sample going stale, or a sample stamped ahead coming due.
    fn recheck(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.signals.iter().fold(None, |due, &(_, signal, all)| {
            let seen = until(all, now);
            let ahead = all.get(seen.len()).map(|s| s.at);
            let stale = seen.last().and_then(|s| past(s.at, signal.stale_after));
            earliest(due, earliest(stale, ahead))
        })
    }

    /// `samples` with those taken from `from` on while some upstream
    /// signal could not be trusted turned UNKNOWN. Borrowed when none was.
    fn mask<'s>(
        &self,
        samples: &'s [Sample],
        from: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Cow<'s, [Sample]> {
        let start = from.map_or(0, |f| samples.partition_point(|s| s.at < f));
        let troubled = |t: DateTime<Utc>| {
            self.signals
                .iter()
                .find(|(_, signal, up)| trouble(signal, until(up, now), t, false).is_some())
        };
        let Some(first) = (start..samples.len()).find(|&k| troubled(samples[k].at).is_some())
        else {
            return Cow::Borrowed(samples);
        };
        let mut out = samples.to_vec();
        for s in &mut out[first..] {
            if let Some((_, signal, up)) = troubled(s.at) {
                let why = trouble(signal, until(up, now), s.at, true).unwrap_or_default();
                s.outcome =
                    Outcome::Unknown(format!("sampled while blocked by {} ({why})", signal.id));
            }
        }
        Cow::Owned(out)
    }
}

/// Why `signal` cannot be trusted at `t`, judged on its sample in force
/// then: the latest at or before `t` if fresh, else one taken just after
/// (within `stale_after`: polled alongside the dependent, a hair later).
/// `None`: up, or carrying a value. Words only when asked (else empty).
fn trouble(signal: &Signal, samples: &[Sample], t: DateTime<Utc>, words: bool) -> Option<String> {
    let i = samples.partition_point(|s| s.at <= t);
    let before = i.checked_sub(1).map(|k| &samples[k]);
    let in_force = before
        .filter(|s| age(t, s.at) <= signal.stale_after)
        .or_else(|| samples.get(i).filter(|s| age(s.at, t) <= signal.stale_after));
    let Some(sample) = in_force else {
        return Some(say(words, || match before {
            Some(s) => format!("stale: last sample {} ago", fmt_age(age(t, s.at))),
            None => "no data yet".into(),
        }));
    };
    match &sample.outcome {
        Outcome::Unknown(r) => Some(say(words, || format!("unknown: {r}"))),
        Outcome::Health {
            up: false, detail, ..
        }
        | Outcome::Certificate {
            up: false, detail, ..
        } => Some(say(words, || format!("down: {detail}"))),
        _ => None,
    }
}

/// A gate judged with its signal's dependencies: BLOCKED while one is in
/// trouble, else judged on its own samples with those taken during an
/// outage counted UNKNOWN. Words only when asked.
pub(super) fn gate_with(
    up: &Upstream<'_>,
    gate: &Gate,
    signal: &Signal,
    samples: &[Sample],
    now: DateTime<Utc>,
    entered: Option<DateTime<Utc>>,
    words: bool,
) -> (Judgement, Option<DateTime<Utc>>) {
    if up.is_empty() {
        return judge_gate(gate, signal, samples, now, entered, words);
    }
    let recheck = up.recheck(now);
    if let Some(b) = up.blocker(now, words) {
        let (own, _) = judge_gate(gate, signal, samples, now, entered, words);
        let reason = say(words, || match own.state {
            State::NoGo => format!("{}; itself NO-GO: {}", b.reason(), own.reason),
            _ => b.reason(),
        });
        let j = Judgement {
            state: State::Blocked,
            value: own.value,
            reason,
            remaining: None,
            age: own.age,
            blocked_by: Some(b.root),
        };
        return (j, recheck);
    }
    // Only samples a judgement can read need the check: the latest, and
    // a `for` window's run (which a gap over `stale_after` breaks).
    let reach = gate.window.unwrap_or_default() + signal.stale_after;
    let from = chrono::Duration::from_std(reach)
        .ok()
        .and_then(|r| now.checked_sub_signed(r));
    let masked = up.mask(samples, from, now);
    let (j, r) = judge_gate(gate, signal, &masked, now, entered, words);
    (j, earliest(r, recheck))
}

/// A trigger judged with its signal's dependencies: BLIND while one is in
/// trouble (never fires), its window paused over the outage.
pub(super) fn trigger_with(
    up: &Upstream<'_>,
    trigger: &Gate,
    signal: &Signal,
    samples: &[Sample],
    now: DateTime<Utc>,
    entered: Option<DateTime<Utc>>,
    words: bool,
) -> (TriggerJudgement, Option<DateTime<Utc>>) {
    if up.is_empty() {
        return trigger_core(trigger, signal, samples, now, entered, words);
    }
    let recheck = up.recheck(now);
    let masked = up.mask(samples, None, now);
    let (j, r) = trigger_core(trigger, signal, &masked, now, entered, words);
    if let Some(b) = up.blocker(now, words) {
        let j = TriggerJudgement {
            state: TriggerState::Blind,
            reason: say(words, || format!("blind: {}", b.reason())),
            ..j
        };
        return (j, recheck);
    }
    (j, earliest(r, recheck))
}

/// [`super::judge_in_phase`] for a signal with dependencies.
pub fn judge_with(
    up: &Upstream<'_>,
    gate: &Gate,
    signal: &Signal,
    samples: &[Sample],
    now: DateTime<Utc>,
    entered: Option<DateTime<Utc>>,
) -> Judgement {
    gate_with(up, gate, signal, samples, now, entered, true).0
}

/// [`super::assess_in_phase`] for a signal with dependencies.
pub fn assess_with(
    up: &Upstream<'_>,
    gate: &Gate,
    signal: &Signal,
    samples: &[Sample],
    now: DateTime<Utc>,
    entered: Option<DateTime<Utc>>,
) -> Assessment {
    let (j, recheck) = gate_with(up, gate, signal, samples, now, entered, false);
    Assessment {
        state: j.state,
        recheck,
    }
}

/// [`super::judge_trigger_in_phase`] for a signal with dependencies.
pub fn judge_trigger_with(
    up: &Upstream<'_>,
    trigger: &Gate,
    signal: &Signal,
    samples: &[Sample],
    now: DateTime<Utc>,
    entered: Option<DateTime<Utc>>,
) -> TriggerJudgement {
    trigger_with(up, trigger, signal, samples, now, entered, true).0
}

/// [`super::assess_trigger_in_phase`] for a signal with dependencies.
pub fn assess_trigger_with(
    up: &Upstream<'_>,
    trigger: &Gate,
    signal: &Signal,
    samples: &[Sample],
    now: DateTime<Utc>,
    entered: Option<DateTime<Utc>>,
) -> TriggerAssessment {
    let (j, recheck) = trigger_with(up, trigger, signal, samples, now, entered, false);
    TriggerAssessment {
        state: j.state,
        recheck,
    }
}
