//! Gate and trigger judgement: a pure function of a signal's samples and
//! a given `now`.
//!
//! Fail-safe throughout: a gate is GO only on a fresh sample that passes
//! (and, with a `for` window, on an unbroken run of passing samples as long
//! as the window). Errors, missing data and stale data are never GO.
//! Triggers are the mirror image for auto-rollback: they fire only on clear
//! evidence of a breach; UNKNOWN pauses their window instead of resetting
//! it, so a metrics outage during an incident does not restart the clock.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::layout::{Condition, Gate, Signal};
use crate::signal::{Outcome, Sample};
use crate::unit::format_duration;

/// What a gate says right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Go,
    NoGo,
    /// Passing, but its `for` window has not yet run its length.
    Pending,
    /// No usable value: error, no data, NaN, …
    Unknown,
    /// The last sample is older than the signal's `stale_after`.
    Stale,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Go => "GO",
            State::NoGo => "NO-GO",
            State::Pending => "PENDING",
            State::Unknown => "UNKNOWN",
            State::Stale => "STALE",
        }
    }

    pub fn glyph(self) -> &'static str {
        match self {
            State::Go => "✔",
            State::NoGo => "✘",
            State::Pending => "…",
            State::Unknown | State::Stale => "?",
        }
    }
}

/// The overall answer for a set of gates (and the exit code of `check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Go,
    Unknown,
    NoGo,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Go => "GO",
            Verdict::NoGo => "NO-GO",
            Verdict::Unknown => "UNKNOWN",
        }
    }

    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Go => 0,
            Verdict::NoGo => 1,
            Verdict::Unknown => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub state: State,
    /// The live value as people read it (`412 ms`, `0.12%`, `3/5 done`).
    pub value: Option<String>,
    /// One line: why this state.
    pub reason: String,
    /// Time left in a running `for` window.
    pub remaining: Option<Duration>,
    /// Age of the latest sample.
    pub age: Option<Duration>,
}

/// GO unless some blocking gate is NO-GO (→ NO-GO) or not GO (→ UNKNOWN).
pub fn verdict<'a>(judged: impl IntoIterator<Item = (&'a Gate, &'a Judgement)>) -> Verdict {
    judged
        .into_iter()
        .filter(|(g, _)| g.blocking)
        .map(|(_, j)| match j.state {
            State::Go => Verdict::Go,
            State::NoGo => Verdict::NoGo,
            State::Pending | State::Unknown | State::Stale => Verdict::Unknown,
        })
        .max()
        .unwrap_or(Verdict::Go)
}

/// One sample tested against one condition.
#[derive(Debug, Clone, PartialEq)]
enum Test {
    Pass(String),
    Fail(String, String),
    Unknown(String),
}

fn test(cond: &Condition, signal: &Signal, outcome: &Outcome) -> Test {
    match (cond, outcome) {
        (_, Outcome::Unknown(reason)) => Test::Unknown(reason.clone()),
        (Condition::Up(want), Outcome::Health { up, detail, .. }) => {
            let word = if *up { "up" } else { "down" };
            let value = format!("{word} ({detail})");
            if up == want {
                Test::Pass(value)
            } else {
                let why = format!("{word}: {detail}");
                Test::Fail(value, why)
            }
        }
        (Condition::Complete(want), Outcome::Checklist(c)) => {
            let value = format!("{}/{} done", c.done(), c.total());
            if c.total() == 0 {
                return Test::Unknown("checklist has no items".into());
            }
            let complete = c.done() == c.total();
            if complete == *want {
                Test::Pass(value)
            } else {
                let open = c.total() - c.done();
                let why = if *want {
                    format!("{open} of {} items open", c.total())
                } else {
                    "every item is checked".to_string()
                };
                Test::Fail(value, why)
            }
        }
        (
            _,
            Outcome::Health {
                latency: None,
                detail,
                ..
            },
        ) => Test::Unknown(format!("no answer: {detail}")),
        (
            cond,
            Outcome::Health {
                latency: Some(l), ..
            },
        ) => numeric(cond, signal, l.as_secs_f64() * 1000.0),
        (cond, Outcome::Number(v)) => numeric(cond, signal, *v),
        (_, Outcome::Checklist(_)) => Test::Unknown("a checklist has no numeric value".into()),
    }
}

fn numeric(cond: &Condition, signal: &Signal, v: f64) -> Test {
    if !v.is_finite() {
        return Test::Unknown(format!("value is {v}"));
    }
    let shown = signal.unit.format(v);
    match cond.holds_for(v) {
        Some(true) => Test::Pass(shown),
        Some(false) => {
            let why = format!("{shown}, needs {cond}");
            Test::Fail(shown, why)
        }
        None => Test::Unknown(format!("`{cond}` does not apply to a number")),
    }
}

fn age(now: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    (now - at).to_std().unwrap_or_default()
}

fn fmt_age(d: Duration) -> String {
    format_duration(Duration::from_secs(d.as_secs()))
}

/// Judges a gate from the signal's samples (oldest first) at `now`, with
/// no phase entry to count from (a preview, or a phase not yet entered).
pub fn judge(gate: &Gate, signal: &Signal, samples: &[Sample], now: DateTime<Utc>) -> Judgement {
    judge_in_phase(gate, signal, samples, now, None)
}

/// Judges a gate of a phase entered at `entered`: its `for` window counts
/// only samples taken since then, so nothing a guard saw before the phase
/// began (or before a reopen) can make it GO.
pub fn judge_in_phase(
    gate: &Gate,
    signal: &Signal,
    samples: &[Sample],
    now: DateTime<Utc>,
    entered: Option<DateTime<Utc>>,
) -> Judgement {
    let samples = until(samples, now);
    let Some(latest) = samples.last() else {
        return Judgement {
            state: State::Unknown,
            value: None,
            reason: "no data yet".into(),
            remaining: None,
            age: None,
        };
    };
    let latest_age = age(now, latest.at);
    let current = test(&gate.condition, signal, &latest.outcome);
    let value = match &current {
        Test::Pass(v) | Test::Fail(v, _) => Some(v.clone()),
        Test::Unknown(_) => None,
    };
    let mut j = Judgement {
        state: State::Unknown,
        value,
        reason: String::new(),
        remaining: None,
        age: Some(latest_age),
    };
    if latest_age > signal.stale_after {
        j.state = State::Stale;
        j.reason = format!(
            "stale: last sample {} ago (limit {})",
            fmt_age(latest_age),
            format_duration(signal.stale_after)
        );
        return j;
    }
    match current {
        Test::Unknown(reason) => {
            j.reason = reason;
            j
        }
        Test::Fail(_, why) => {
            j.state = State::NoGo;
            j.reason = why;
            j
        }
        Test::Pass(_) => {
            let Some(window) = gate.window else {
                j.state = State::Go;
                return j;
            };
            let mut start = passing_since(gate, signal, samples);
            if let Some(entered) = entered {
                if latest.at < entered {
                    let held = age(now, entered);
                    j.state = State::Pending;
                    j.remaining = Some(window.saturating_sub(held));
                    j.reason = format!(
                        "window of {} starts with the first sample since the phase was entered",
                        format_duration(window)
                    );
                    return j;
                }
                start = start.max(entered);
            }
            let held = age(now, start);
            if held >= window {
                j.state = State::Go;
                j.reason = format!("held for {}", format_duration(window));
            } else {
                let left = window - held;
                j.state = State::Pending;
                j.remaining = Some(left);
                j.reason = format!(
                    "passing for {} of {}; {} left",
                    fmt_age(held),
                    format_duration(window),
                    fmt_age(left)
                );
            }
            j
        }
    }
}

/// Samples at or before `now` (history may run ahead of a replayed `now`).
fn until(samples: &[Sample], now: DateTime<Utc>) -> &[Sample] {
    let end = samples.partition_point(|s| s.at <= now);
    &samples[..end]
}

/// Start of the unbroken run of passing samples that ends with the latest.
/// A gap longer than `stale_after` is missing data and breaks the run.
fn passing_since(gate: &Gate, signal: &Signal, samples: &[Sample]) -> DateTime<Utc> {
    let mut start = samples[samples.len() - 1].at;
    for pair in samples.windows(2).rev() {
        let (before, after) = (&pair[0], &pair[1]);
        let gap = age(after.at, before.at);
        if gap > signal.stale_after {
            break;
        }
        if !matches!(
            test(&gate.condition, signal, &before.outcome),
            Test::Pass(_)
        ) {
            break;
        }
        start = before.at;
    }
    start
}

/// What a rollback trigger says right now.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerState {
    /// The latest evidence does not breach.
    Clear,
    /// Breaching; the window has `remaining` to run before it fires.
    Holding { remaining: Duration },
    /// Breached for its whole window: fire.
    Fired,
    /// No usable evidence: the trigger cannot see (auto-rollback is blind).
    Blind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TriggerJudgement {
    pub state: TriggerState,
    pub value: Option<String>,
    pub reason: String,
    /// Breach time accumulated in the current window.
    pub held: Duration,
}

/// Judges a rollback trigger: a breach sustained for its window fires.
/// A clear sample restarts the window; an unknown or stale one pauses it.
pub fn judge_trigger(
    trigger: &Gate,
    signal: &Signal,
    samples: &[Sample],
    now: DateTime<Utc>,
) -> TriggerJudgement {
    judge_trigger_in_phase(trigger, signal, samples, now, None)
}

/// Judges a trigger in a phase entered at `entered`: only breaches sampled
/// since then count, so a reopen (or an advance) starts every window
/// afresh and a trigger never fires on what it saw before.
pub fn judge_trigger_in_phase(
    trigger: &Gate,
    signal: &Signal,
    samples: &[Sample],
    now: DateTime<Utc>,
    entered: Option<DateTime<Utc>>,
) -> TriggerJudgement {
    let samples = until(samples, now);
    let mut held = Duration::ZERO;
    let mut last_breach: Option<DateTime<Utc>> = None;
    let mut last: Option<Test> = None;
    for s in samples {
        let t = test(&trigger.condition, signal, &s.outcome);
        if entered.is_some_and(|e| s.at < e) {
            // Seen, so the value shows; not counted toward the window.
            held = Duration::ZERO;
            last_breach = None;
            last = Some(t);
            continue;
        }
        match &t {
            // The trigger's condition *is* the breach: passing it means breaching.
            Test::Pass(_) => {
                if let Some(prev) = last_breach {
                    held += age(s.at, prev).min(signal.stale_after);
                }
                last_breach = Some(s.at);
            }
            Test::Fail(..) => {
                held = Duration::ZERO;
                last_breach = None;
            }
            Test::Unknown(_) => last_breach = None,
        }
        last = Some(t);
    }
    let latest = samples.last();
    let fresh = latest.is_some_and(|s| age(now, s.at) <= signal.stale_after);
    let (value, why) = match &last {
        Some(Test::Pass(v)) => {
            let why = match &trigger.condition {
                // "down (status 503 …)" already says what breached.
                Condition::Up(_) | Condition::Complete(_) => format!("breaching: {v}"),
                c => format!("breaching: {v} ({c})"),
            };
            (Some(v.clone()), why)
        }
        Some(Test::Fail(v, _)) => (Some(v.clone()), format!("clear: {v}")),
        Some(Test::Unknown(r)) => (None, r.clone()),
        None => (None, "no data yet".to_string()),
    };
    if !fresh {
        let reason = match latest {
            Some(s) => format!("blind: last sample {} ago", fmt_age(age(now, s.at))),
            None => "blind: no data yet".to_string(),
        };
        return TriggerJudgement {
            state: TriggerState::Blind,
            value,
            reason,
            held,
        };
    }
    let window = trigger.window.unwrap_or_default();
    let state = match &last {
        // Breaching, but only on samples from before the phase entry: the
        // window opens with the next sample.
        Some(Test::Pass(_)) if last_breach.is_none() => TriggerState::Holding { remaining: window },
        Some(Test::Pass(_)) => {
            if let Some(at) = last_breach {
                held += age(now, at).min(signal.stale_after);
            }
            if held >= window {
                TriggerState::Fired
            } else {
                TriggerState::Holding {
                    remaining: window - held,
                }
            }
        }
        Some(Test::Fail(..)) => TriggerState::Clear,
        _ => TriggerState::Blind,
    };
    let reason = match &state {
        TriggerState::Blind => format!("blind: {why}"),
        TriggerState::Holding { remaining } => format!("{why}; fires in {}", fmt_age(*remaining)),
        _ => why,
    };
    TriggerJudgement {
        state,
        value,
        reason,
        held,
    }
}
