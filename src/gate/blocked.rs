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
    pub trouble: Trouble,
}

/// What is wrong with a signal that others depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trouble {
    /// It answered no (`connection refused`, `status 503`).
    Down(String),
    /// It could not be read (timeout, not a number, …).
    Unknown(String),
    /// Its last sample is this old (past its `stale_after`).
    Stale(std::time::Duration),
    NoData,
}

impl std::fmt::Display for Trouble {
    /// `down: connection refused`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trouble::Down(d) => write!(f, "down: {d}"),
            Trouble::Unknown(d) => write!(f, "unknown: {d}"),
            Trouble::Stale(age) => write!(f, "stale: last sample {} ago", fmt_age(*age)),
            Trouble::NoData => f.write_str("no data yet"),
        }
    }
}

impl Blocker {
    /// `blocked by api (down: connection refused)`.
    pub fn reason(&self) -> String {
        format!("blocked by {} ({})", self.id, self.trouble)
    }

    /// The root cause as a headline: `api down (connection refused)`.
    pub fn headline(&self) -> String {
        let id = &self.id;
        match &self.trouble {
            Trouble::Down(d) => format!("{id} down ({d})"),
            Trouble::Unknown(d) => format!("{id} UNKNOWN ({d})"),
            Trouble::Stale(age) => format!("{id} STALE (no sample for {})", fmt_age(*age)),
            Trouble::NoData => format!("{id} has no data yet"),
        }
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
            let trouble = trouble(signal, until(samples, now), now, words)?;
            Some(Blocker {
                root,
                id: say(words, || signal.id.clone()),
                trouble,
            })
        })
    }

    /// What blocks a gate on `samples` (its signal's) at `now`: the
    /// deepest upstream signal in trouble now, else one that was when the
    /// latest of `samples` was taken — that reading is no evidence either
    /// way, so the gate stays BLOCKED until its signal is sampled again
    /// with the root back. (Without this, a root's return would turn its
    /// gates UNKNOWN for a poll, each one news, before they settle.)
    pub fn blocker_for(
        &self,
        samples: &[Sample],
        now: DateTime<Utc>,
        words: bool,
    ) -> Option<Blocker> {
        if let Some(b) = self.blocker(now, words) {
            return Some(b);
        }
        let latest = until(samples, now).last()?;
        self.signals.iter().find_map(|&(root, signal, up)| {
            let trouble = trouble(signal, until(up, now), latest.at, words)?;
            Some(Blocker {
                root,
                id: say(words, || signal.id.clone()),
                trouble,
            })
        })
    }

    /// When time alone could change what the upstream says: a root's
    /// latest sample going stale, or a sample stamped ahead coming due.
    fn recheck(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.signals.iter().fold(None, |due, &(_, signal, all)| {
            let seen = until(all, now);
            let ahead = all.get(seen.len()).map(|s| s.at);
            // A deadline already past would hide one still to come.
            let stale = seen
                .last()
                .and_then(|s| past(s.at, signal.stale_after))
                .filter(|at| *at > now);
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
                let why = trouble(signal, until(up, now), s.at, true)
                    .map(|t| t.to_string())
                    .unwrap_or_default();
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
/// `None`: up, or carrying a value. Details only when asked (else empty).
fn trouble(signal: &Signal, samples: &[Sample], t: DateTime<Utc>, words: bool) -> Option<Trouble> {
    let i = samples.partition_point(|s| s.at <= t);
    let before = i.checked_sub(1).map(|k| &samples[k]);
    let in_force = before
        .filter(|s| age(t, s.at) <= signal.stale_after)
        .or_else(|| {
            samples
                .get(i)
                .filter(|s| age(s.at, t) <= signal.stale_after)
        });
    let Some(sample) = in_force else {
        return Some(match before {
            Some(s) => Trouble::Stale(age(t, s.at)),
            None => Trouble::NoData,
        });
    };
    match &sample.outcome {
        Outcome::Unknown(r) => Some(Trouble::Unknown(say(words, || r.clone()))),
        Outcome::Health {
            up: false, detail, ..
        }
        | Outcome::Certificate {
            up: false, detail, ..
        } => Some(Trouble::Down(say(words, || detail.clone()))),
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
    if let Some(b) = up.blocker_for(samples, now, words) {
        // Its own deadlines still count: a sample of its own stamped
        // ahead, coming due, may be one taken with the root back.
        let (own, own_recheck) = judge_gate(gate, signal, samples, now, entered, words);
        let reason = say(words, || match own.state {
            State::NoGo => format!("{}; itself NO-GO: {}", b.reason(), own.reason),
            _ => b.reason(),
        });
        let blocked_by = words.then_some(b);
        let j = Judgement {
            state: State::Blocked,
            value: own.value,
            reason,
            remaining: None,
            age: own.age,
            blocked_by,
        };
        return (j, earliest(recheck, own_recheck));
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

#[cfg(test)]
mod tests {
    //! The judging rules as a table: the root's state × the dependent's
    //! own state → what the dependent's gate and trigger say.
    use super::*;
    use crate::gate::judge;
    use std::path::Path;
    use std::time::Duration;

    const LAYOUT: &str = r#"
[launch]
name = "t"
[signals.api]
kind = "http"
url = "http://127.0.0.1:9/"
every = "1s"
stale_after = "3s"
[signals.rate]
kind = "json"
url = "http://127.0.0.1:9/rate"
path = "$.v"
every = "1s"
stale_after = "3s"
depends_on = ["api"]
[signals.deep]
kind = "json"
url = "http://127.0.0.1:9/deep"
path = "$.v"
depends_on = ["rate"]
[[phases]]
id = "p"
gates = [
  { signal = "rate", below = 10 },
  { signal = "rate", below = 10, for = "5s" },
  { signal = "deep", below = 10 },
]
[rollback]
run = ["true"]
auto_from = "p"
triggers = [{ signal = "rate", above = 10, for = "2s" }]
"#;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::seconds(secs)
    }

    fn health(up: bool) -> Outcome {
        Outcome::Health {
            up,
            latency: up.then(|| Duration::from_millis(5)),
            detail: if up { "200 OK" } else { "connection refused" }.into(),
        }
    }

    fn at(secs: i64, outcome: Outcome) -> Sample {
        Sample {
            at: t(secs),
            outcome,
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum Root {
        Up,
        Down,
        Unknown,
        Stale,
        NoData,
    }

    fn root_samples(root: Root) -> Vec<Sample> {
        match root {
            Root::Up => vec![at(9, health(true))],
            Root::Down => vec![at(9, health(false))],
            Root::Unknown => vec![at(9, Outcome::Unknown("status 503".into()))],
            Root::Stale => vec![at(2, health(true))],
            Root::NoData => Vec::new(),
        }
    }

    #[test]
    fn a_gate_is_blocked_while_its_root_is_not_up_and_never_go() {
        use State::{Blocked, Go, NoGo};
        let layout = crate::layout::parse(Path::new("t.toml"), LAYOUT).unwrap();
        let gate = &layout.phases[0].gates[0];
        let (api, rate) = (&layout.signals[0], &layout.signals[1]);
        let now = t(10);
        let blocked = "blocked by api";
        // (root, the dependent's own value, state, reason starts with)
        let table = [
            (Root::Up, 5.0, Go, ""),
            (Root::Up, 50.0, NoGo, "50, needs < 10"),
            (
                Root::Down,
                5.0,
                Blocked,
                "blocked by api (down: connection refused)",
            ),
            (
                Root::Down,
                50.0,
                Blocked,
                "blocked by api (down: connection refused); itself NO-GO: 50, needs < 10",
            ),
            (
                Root::Unknown,
                5.0,
                Blocked,
                "blocked by api (unknown: status 503)",
            ),
            (Root::Unknown, 50.0, Blocked, blocked),
            (
                Root::Stale,
                5.0,
                Blocked,
                "blocked by api (stale: last sample 8s ago)",
            ),
            (Root::Stale, 50.0, Blocked, blocked),
            (Root::NoData, 5.0, Blocked, "blocked by api (no data yet)"),
            (Root::NoData, 50.0, Blocked, blocked),
        ];
        let mut failures = Vec::new();
        for (row, (root, v, state, reason)) in table.into_iter().enumerate() {
            let roots = root_samples(root);
            let up = Upstream::new(vec![(0, api, &roots)]);
            let own = [at(10, Outcome::Number(v))];
            let j = judge_with(&up, gate, rate, &own, now, None);
            let a = assess_with(&up, gate, rate, &own, now, None);
            let ok = j.state == state
                && a.state == state
                && j.reason.starts_with(reason)
                && (j.blocked_by.as_ref().map(|b| b.root) == Some(0)) == (state == Blocked)
                && j.value.as_deref() == Some(if v < 10.0 { "5" } else { "50" });
            if !ok {
                failures.push(format!("row {row} ({root:?}, {v}): got {j:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn the_deepest_root_is_named_and_dependents_without_trouble_are_judged_as_before() {
        let layout = crate::layout::parse(Path::new("t.toml"), LAYOUT).unwrap();
        let deep = &layout.signals[2];
        assert_eq!(deep.upstream, vec![0, 1], "roots first");
        let gate = &layout.phases[0].gates[2];
        let now = t(10);
        let api_down = [at(9, health(false))];
        let rate_unknown = [at(9, Outcome::Unknown("status 500".into()))];
        let own = [at(10, Outcome::Number(1.0))];
        let up = Upstream::new(vec![
            (0, &layout.signals[0], &api_down),
            (1, &layout.signals[1], &rate_unknown),
        ]);
        let j = judge_with(&up, gate, deep, &own, now, None);
        assert_eq!(j.state, State::Blocked);
        assert_eq!(
            j.blocked_by.as_ref().map(|b| b.root),
            Some(0),
            "{}",
            j.reason
        );
        assert!(j.reason.starts_with("blocked by api (down"), "{}", j.reason);
        // With the root up, the middle one is the root cause.
        let api_up = [at(9, health(true))];
        let up = Upstream::new(vec![
            (0, &layout.signals[0], &api_up),
            (1, &layout.signals[1], &rate_unknown),
        ]);
        let j = judge_with(&up, gate, deep, &own, now, None);
        assert_eq!(
            (j.state, j.blocked_by.as_ref().map(|b| b.root)),
            (State::Blocked, Some(1))
        );
        // No dependencies at all: the same as judging alone.
        let none = Upstream::default();
        assert_eq!(
            judge_with(&none, gate, deep, &own, now, None),
            judge(gate, deep, &own, now)
        );
    }

    #[test]
    fn a_window_starts_again_after_the_root_was_down() {
        let layout = crate::layout::parse(Path::new("t.toml"), LAYOUT).unwrap();
        let gate = &layout.phases[0].gates[1];
        let (api, rate) = (&layout.signals[0], &layout.signals[1]);
        // The dependent passes every second from 0 to 10; the root was
        // down from 3 to 5 and up again from 6.
        let own: Vec<Sample> = (0..=10).map(|s| at(s, Outcome::Number(1.0))).collect();
        let roots: Vec<Sample> = (0..=10)
            .map(|s| at(s, health(!(3..=5).contains(&s))))
            .collect();
        let up = Upstream::new(vec![(0, api, &roots)]);
        let j = judge_with(&up, gate, rate, &own, t(10), None);
        assert_eq!(j.state, State::Pending, "{}", j.reason);
        let j = judge_with(&up, gate, rate, &own, t(11), None);
        assert_eq!(j.state, State::Go, "5 s since the outage: {}", j.reason);
        // Without the outage it was GO long before.
        let healthy: Vec<Sample> = (0..=10).map(|s| at(s, health(true))).collect();
        let up = Upstream::new(vec![(0, api, &healthy)]);
        assert_eq!(
            judge_with(&up, gate, rate, &own, t(10), None).state,
            State::Go
        );
    }

    #[test]
    fn a_trigger_never_fires_while_blocked_and_its_window_pauses_over_the_outage() {
        let layout = crate::layout::parse(Path::new("t.toml"), LAYOUT).unwrap();
        let trigger = &layout.rollback.as_ref().unwrap().triggers[0];
        let (api, rate) = (&layout.signals[0], &layout.signals[1]);
        // Breaching on every sample, for far longer than the window.
        let own: Vec<Sample> = (0..=10).map(|s| at(s, Outcome::Number(50.0))).collect();
        let down: Vec<Sample> = (0..=10).map(|s| at(s, health(false))).collect();
        let up = Upstream::new(vec![(0, api, &down)]);
        let j = judge_trigger_with(&up, trigger, rate, &own, t(10), None);
        assert_eq!(j.state, TriggerState::Blind, "{}", j.reason);
        assert!(
            j.reason.starts_with("blind: blocked by api"),
            "{}",
            j.reason
        );
        let a = assess_trigger_with(&up, trigger, rate, &own, t(10), None);
        assert_eq!(a.state, TriggerState::Blind);
        // The root back at 10: the breach seen during the outage does not
        // count, so the trigger holds instead of firing at once.
        let mut back = down.clone();
        back.last_mut().unwrap().outcome = health(true);
        let up = Upstream::new(vec![(0, api, &back)]);
        let j = judge_trigger_with(&up, trigger, rate, &own, t(10), None);
        assert!(
            matches!(j.state, TriggerState::Holding { .. }),
            "{:?}: {}",
            j.state,
            j.reason
        );
        let healthy: Vec<Sample> = (0..=10).map(|s| at(s, health(true))).collect();
        let up = Upstream::new(vec![(0, api, &healthy)]);
        let j = judge_trigger_with(&up, trigger, rate, &own, t(10), None);
        assert_eq!(j.state, TriggerState::Fired, "{}", j.reason);
    }

    #[test]
    fn a_root_polled_a_moment_after_its_dependent_does_not_block_it() {
        // `check` polls every signal once, in any order.
        let layout = crate::layout::parse(Path::new("t.toml"), LAYOUT).unwrap();
        let gate = &layout.phases[0].gates[0];
        let (api, rate) = (&layout.signals[0], &layout.signals[1]);
        let own = [at(10, Outcome::Number(1.0))];
        let roots = [Sample {
            at: t(10) + chrono::Duration::milliseconds(40),
            outcome: health(true),
        }];
        let up = Upstream::new(vec![(0, api, &roots)]);
        let j = judge_with(&up, gate, rate, &own, t(11), None);
        assert_eq!(j.state, State::Go, "{}", j.reason);
    }
}
