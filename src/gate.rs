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
use crate::signal::{Outcome, Sample, answer_set, quote_short};
use crate::unit::format_duration;

pub mod blocked;
pub use blocked::{
    Blocker, Trouble, Upstream, assess_trigger_with, assess_with, judge_trigger_with, judge_with,
};

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
    /// A signal this gate's signal `depends_on` is down, UNKNOWN or STALE:
    /// its own reading cannot be trusted either way (see [`blocked`]).
    Blocked,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Go => "GO",
            State::NoGo => "NO-GO",
            State::Pending => "PENDING",
            State::Unknown => "UNKNOWN",
            State::Stale => "STALE",
            State::Blocked => "BLOCKED",
        }
    }

    pub fn glyph(self) -> &'static str {
        match self {
            State::Go => "✔",
            State::NoGo => "✘",
            State::Pending => "…",
            State::Unknown | State::Stale => "?",
            State::Blocked => "⊘",
        }
    }
}

impl State {
    /// What one blocking gate in this state says of its phase.
    pub fn verdict(self) -> Verdict {
        match self {
            State::Go => Verdict::Go,
            State::NoGo => Verdict::NoGo,
            State::Pending => Verdict::Pending,
            State::Unknown | State::Stale | State::Blocked => Verdict::Unknown,
        }
    }
}

/// The overall answer for a set of gates (and the exit code of `check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Go,
    /// Nothing is wrong or unknown; a `for` window is still running. Not
    /// GO (advance is refused), but not a reason to look for trouble.
    Pending,
    Unknown,
    NoGo,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Go => "GO",
            Verdict::NoGo => "NO-GO",
            Verdict::Pending => "PENDING",
            Verdict::Unknown => "UNKNOWN",
        }
    }

    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Go => 0,
            Verdict::NoGo => 1,
            // SPEC §3: a running window is exit 2, as UNKNOWN is.
            Verdict::Pending | Verdict::Unknown => 2,
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
    /// BLOCKED: the root cause, the upstream signal in trouble (see
    /// [`blocked`]).
    pub blocked_by: Option<Blocker>,
}

/// GO unless some blocking gate is NO-GO (→ NO-GO), UNKNOWN, STALE or
/// BLOCKED (→ UNKNOWN), or waits on a running window (→ PENDING).
pub fn verdict<'a>(judged: impl IntoIterator<Item = (&'a Gate, &'a Judgement)>) -> Verdict {
    judged
        .into_iter()
        .filter(|(g, _)| g.blocking)
        .map(|(_, j)| j.state.verdict())
        .max()
        .unwrap_or(Verdict::Go)
}

/// One sample tested against one condition. The words (value shown,
/// why it fails) are built only when asked for: the runtime judges on
/// every sample but shows words only for what changed or is on screen.
#[derive(Debug, Clone, PartialEq)]
enum Test {
    Pass(String),
    /// The value passes, but the signal is down: a certificate with days
    /// to spare that was rejected (chain, name). A gate is NO-GO on it
    /// (a rejected certificate is never GO); a trigger counts the number
    /// as what it is.
    PassWhileDown(String, String),
    Fail(String, String),
    Unknown(String),
}

/// [`test`] as a gate reads it: passing while down is NO-GO.
fn gate_test(cond: &Condition, signal: &Signal, outcome: &Outcome, words: bool) -> Test {
    match test(cond, signal, outcome, words) {
        Test::PassWhileDown(v, why) => Test::Fail(v, why),
        t => t,
    }
}

/// [`test`] as a trigger reads it: the condition on the value is the
/// breach, whatever else is wrong with the signal.
fn trigger_test(cond: &Condition, signal: &Signal, outcome: &Outcome, words: bool) -> Test {
    match test(cond, signal, outcome, words) {
        Test::PassWhileDown(v, _) => Test::Pass(v),
        t => t,
    }
}

/// `f()` when words are wanted, else nothing (no allocation).
fn say(words: bool, f: impl FnOnce() -> String) -> String {
    if words { f() } else { String::new() }
}

fn test(cond: &Condition, signal: &Signal, outcome: &Outcome, words: bool) -> Test {
    match (cond, outcome) {
        (_, Outcome::Unknown(reason)) => Test::Unknown(say(words, || reason.clone())),
        (
            Condition::Up(want),
            Outcome::Health { up, detail, .. } | Outcome::Certificate { up, detail, .. },
        ) => {
            let word = if *up { "up" } else { "down" };
            let value = say(words, || format!("{word} ({detail})"));
            if up == want {
                Test::Pass(value)
            } else {
                Test::Fail(value, say(words, || format!("{word}: {detail}")))
            }
        }
        (Condition::Complete(want), Outcome::Checklist(c)) => {
            if c.total() == 0 {
                return Test::Unknown(say(words, || "checklist has no items".into()));
            }
            let value = say(words, || format!("{}/{} done", c.done(), c.total()));
            let complete = c.done() == c.total();
            if complete == *want {
                Test::Pass(value)
            } else {
                let why = say(words, || {
                    if *want {
                        format!("{} of {} items open", c.total() - c.done(), c.total())
                    } else {
                        "every item is checked".to_string()
                    }
                });
                Test::Fail(value, why)
            }
        }
        (Condition::EqualsText(want), Outcome::Text(got)) => text(cond, got, got == want, words),
        (Condition::OneOf(set), Outcome::Text(got)) => text(cond, got, set.contains(got), words),
        // Never coerced: a number is not the string "5", nor the reverse.
        (Condition::EqualsText(_) | Condition::OneOf(_), other) => {
            Test::Unknown(say(words, || {
                format!("{}, expected a string", found(other))
            }))
        }
        (_, Outcome::Text(s)) => Test::Unknown(say(words, || {
            format!("found the string {}, expected a number", quote_short(s))
        })),
        (Condition::ResolvesTo(want), Outcome::Answers { records, detail }) => {
            let shown = say(words, || answer_set(records, detail));
            if records == want {
                Test::Pass(shown)
            } else {
                let why = say(words, || format!("{shown}, needs {cond}"));
                Test::Fail(shown, why)
            }
        }
        (Condition::ResolvesTo(_), other) => Test::Unknown(say(words, || {
            format!("{}, expected a DNS answer set", found(other))
        })),
        (_, Outcome::Answers { .. }) => Test::Unknown(say(words, || {
            "a DNS answer set has no numeric value".into()
        })),
        (
            _,
            Outcome::Health {
                latency: None,
                detail,
                ..
            },
        ) => Test::Unknown(say(words, || format!("no answer: {detail}"))),
        (
            _,
            Outcome::Certificate {
                days: None, detail, ..
            },
        ) => Test::Unknown(say(words, || format!("no certificate: {detail}"))),
        (
            cond,
            Outcome::Certificate {
                up,
                days: Some(d),
                detail,
            },
        ) => match numeric(cond, signal, *d, words) {
            Test::Pass(v) if !up => {
                Test::PassWhileDown(v, say(words, || format!("down: {detail}")))
            }
            Test::Fail(v, _) if !up => Test::Fail(v, say(words, || format!("down: {detail}"))),
            t => t,
        },
        (
            cond,
            Outcome::Health {
                latency: Some(l), ..
            },
        ) => numeric(cond, signal, l.as_secs_f64() * 1000.0, words),
        (cond, Outcome::Number(v)) => numeric(cond, signal, *v, words),
        (_, Outcome::Checklist(_)) => {
            Test::Unknown(say(words, || "a checklist has no numeric value".into()))
        }
    }
}

/// A string value against a string condition.
fn text(cond: &Condition, got: &str, holds: bool, words: bool) -> Test {
    let shown = say(words, || quote_short(got));
    if holds {
        Test::Pass(shown)
    } else {
        let why = say(words, || format!("{shown}, needs {cond}"));
        Test::Fail(shown, why)
    }
}

/// What a value is, for a reason saying it is the wrong kind.
fn found(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Number(v) => format!("found the number {v}"),
        Outcome::Text(s) => format!("found the string {}", quote_short(s)),
        Outcome::Health { .. } => "found an up/down answer".into(),
        Outcome::Checklist(_) => "found a checklist".into(),
        Outcome::Certificate { .. } => "found a certificate".into(),
        Outcome::Answers { .. } => "found a DNS answer set".into(),
        Outcome::Unknown(r) => r.clone(),
    }
}

fn numeric(cond: &Condition, signal: &Signal, v: f64, words: bool) -> Test {
    if !v.is_finite() {
        return Test::Unknown(say(words, || format!("value is {v}")));
    }
    let shown = say(words, || signal.unit.format(v));
    match cond.holds_for(v) {
        Some(true) => Test::Pass(shown),
        Some(false) => {
            let why = say(words, || format!("{shown}, needs {cond}"));
            Test::Fail(shown, why)
        }
        None => Test::Unknown(say(words, || {
            format!("`{cond}` does not apply to a number")
        })),
    }
}

fn age(now: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    (now - at).to_std().unwrap_or_default()
}

fn fmt_age(d: Duration) -> String {
    crate::unit::format_seconds(d)
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
    judge_gate(gate, signal, samples, now, entered, true).0
}

/// A gate's state without its words, and when time alone could change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    pub state: State,
    /// The state holds until at least this instant unless a sample (or a
    /// journal event) arrives: staleness, a `for` window completing.
    /// `None`: only new evidence can change it.
    pub recheck: Option<DateTime<Utc>>,
}

/// What [`judge_in_phase`] decides, without building a word of its reason:
/// the runtime's per-sample path. The decision is the same code.
pub fn assess_in_phase(
    gate: &Gate,
    signal: &Signal,
    samples: &[Sample],
    now: DateTime<Utc>,
    entered: Option<DateTime<Utc>>,
) -> Assessment {
    let (j, recheck) = judge_gate(gate, signal, samples, now, entered, false);
    Assessment {
        state: j.state,
        recheck,
    }
}

/// The instant just past `at + limit`: states that turn on `age > limit`
/// change then.
fn past(at: DateTime<Utc>, limit: Duration) -> Option<DateTime<Utc>> {
    let limit = chrono::Duration::from_std(limit).ok()?;
    at.checked_add_signed(limit)?
        .checked_add_signed(chrono::Duration::microseconds(1))
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn judge_gate(
    gate: &Gate,
    signal: &Signal,
    all: &[Sample],
    now: DateTime<Utc>,
    entered: Option<DateTime<Utc>>,
    words: bool,
) -> (Judgement, Option<DateTime<Utc>>) {
    let samples = until(all, now);
    // A sample stamped ahead of `now` (another host's clock) counts once
    // `now` reaches it.
    let ahead = all.get(samples.len()).map(|s| s.at);
    let Some(latest) = samples.last() else {
        let j = Judgement {
            state: State::Unknown,
            value: None,
            reason: say(words, || "no data yet".into()),
            remaining: None,
            age: None,
            blocked_by: None,
        };
        return (j, ahead);
    };
    let latest_age = age(now, latest.at);
    let current = gate_test(&gate.condition, signal, &latest.outcome, words);
    let value = match &current {
        Test::Pass(v) | Test::Fail(v, _) | Test::PassWhileDown(v, _) if words => Some(v.clone()),
        _ => None,
    };
    let mut j = Judgement {
        state: State::Unknown,
        value,
        reason: String::new(),
        remaining: None,
        age: Some(latest_age),
        blocked_by: None,
    };
    if latest_age > signal.stale_after {
        j.state = State::Stale;
        j.reason = say(words, || {
            format!(
                "stale: last sample {} ago (limit {})",
                fmt_age(latest_age),
                format_duration(signal.stale_after)
            )
        });
        return (j, ahead);
    }
    let stale_at = earliest(past(latest.at, signal.stale_after), ahead);
    match current {
        Test::Unknown(reason) => {
            j.reason = reason;
            (j, stale_at)
        }
        Test::Fail(_, why) | Test::PassWhileDown(_, why) => {
            j.state = State::NoGo;
            j.reason = why;
            (j, stale_at)
        }
        Test::Pass(_) => {
            let Some(window) = gate.window else {
                j.state = State::Go;
                return (j, stale_at);
            };
            let enough = chrono::Duration::from_std(window)
                .ok()
                .and_then(|w| now.checked_sub_signed(w));
            let mut start = passing_since(gate, signal, samples, enough);
            if let Some(entered) = entered {
                if latest.at < entered {
                    let held = age(now, entered);
                    j.state = State::Pending;
                    j.remaining = Some(window.saturating_sub(held));
                    j.reason = say(words, || {
                        format!(
                            "window of {} starts with the first sample since the phase was entered",
                            format_duration(window)
                        )
                    });
                    return (j, stale_at);
                }
                start = start.max(entered);
            }
            let held = age(now, start);
            if held >= window {
                j.state = State::Go;
                j.reason = say(words, || format!("held for {}", format_duration(window)));
                (j, stale_at)
            } else {
                let left = window - held;
                j.state = State::Pending;
                j.remaining = Some(left);
                j.reason = say(words, || {
                    format!(
                        "passing for {} of {}; {} left",
                        fmt_age(held),
                        format_duration(window),
                        fmt_age(left)
                    )
                });
                let done_at = chrono::Duration::from_std(window)
                    .ok()
                    .and_then(|w| start.checked_add_signed(w));
                (j, earliest(stale_at, done_at))
            }
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
/// The scan stops once the run reaches back to `enough` (a whole window
/// before `now`): the gate is GO then, however much further it reaches,
/// and a long healthy history is not walked on every sample.
fn passing_since(
    gate: &Gate,
    signal: &Signal,
    samples: &[Sample],
    enough: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    let mut start = samples[samples.len() - 1].at;
    for pair in samples.windows(2).rev() {
        if enough.is_some_and(|e| start <= e) {
            break;
        }
        let (before, after) = (&pair[0], &pair[1]);
        let gap = age(after.at, before.at);
        if gap > signal.stale_after {
            break;
        }
        if !matches!(
            gate_test(&gate.condition, signal, &before.outcome, false),
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

impl TriggerState {
    /// The word for the state, without the time left.
    pub fn word(&self) -> &'static str {
        match self {
            TriggerState::Clear => "clear",
            TriggerState::Holding { .. } => "HOLDING",
            TriggerState::Fired => "FIRED",
            TriggerState::Blind => "BLIND",
        }
    }

    /// Same state, whatever the time left: what is news.
    pub fn same_as(&self, other: &TriggerState) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TriggerJudgement {
    pub state: TriggerState,
    pub value: Option<String>,
    pub reason: String,
    /// Breach time accumulated in the current window.
    pub held: Duration,
    /// The latest sample in evidence that clearly did not breach (it
    /// restarted the window): a hold trigger's breach that began after a
    /// resume is a new one.
    pub cleared: Option<DateTime<Utc>>,
}

/// A trigger's state without its words, and when time alone could change
/// it (its window completing, its evidence going stale).
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerAssessment {
    pub state: TriggerState,
    pub recheck: Option<DateTime<Utc>>,
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
    trigger_core(trigger, signal, samples, now, entered, true).0
}

/// What [`judge_trigger_in_phase`] decides, without its words.
pub fn assess_trigger_in_phase(
    trigger: &Gate,
    signal: &Signal,
    samples: &[Sample],
    now: DateTime<Utc>,
    entered: Option<DateTime<Utc>>,
) -> TriggerAssessment {
    let (j, recheck) = trigger_core(trigger, signal, samples, now, entered, false);
    TriggerAssessment {
        state: j.state,
        recheck,
    }
}

fn trigger_core(
    trigger: &Gate,
    signal: &Signal,
    all: &[Sample],
    now: DateTime<Utc>,
    entered: Option<DateTime<Utc>>,
    words: bool,
) -> (TriggerJudgement, Option<DateTime<Utc>>) {
    let samples = until(all, now);
    let ahead = all.get(samples.len()).map(|s| s.at);
    let mut held = Duration::ZERO;
    let mut last_breach: Option<DateTime<Utc>> = None;
    let mut last: Option<Test> = None;
    let mut cleared: Option<DateTime<Utc>> = None;
    for (k, s) in samples.iter().enumerate() {
        // Only the latest sample's words are ever shown.
        let t = trigger_test(
            &trigger.condition,
            signal,
            &s.outcome,
            words && k + 1 == samples.len(),
        );
        if entered.is_some_and(|e| s.at < e) {
            // Seen, so the value shows; not counted toward the window.
            held = Duration::ZERO;
            last_breach = None;
            last = Some(t);
            continue;
        }
        match &t {
            // The trigger's condition *is* the breach: passing it means breaching.
            Test::Pass(_) | Test::PassWhileDown(..) => {
                if let Some(prev) = last_breach {
                    held += age(s.at, prev).min(signal.stale_after);
                }
                last_breach = Some(s.at);
            }
            Test::Fail(..) => {
                held = Duration::ZERO;
                last_breach = None;
                cleared = Some(s.at);
            }
            Test::Unknown(_) => last_breach = None,
        }
        last = Some(t);
    }
    let latest = samples.last();
    let fresh = latest.is_some_and(|s| age(now, s.at) <= signal.stale_after);
    let (value, why) = match &last {
        Some(Test::Pass(v) | Test::PassWhileDown(v, _)) => {
            let why = say(words, || match &trigger.condition {
                // "down (status 503 …)" already says what breached.
                Condition::Up(_) | Condition::Complete(_) => format!("breaching: {v}"),
                c => format!("breaching: {v} ({c})"),
            });
            (words.then(|| v.clone()), why)
        }
        Some(Test::Fail(v, _)) => (
            words.then(|| v.clone()),
            say(words, || format!("clear: {v}")),
        ),
        Some(Test::Unknown(r)) => (None, r.clone()),
        None => (None, say(words, || "no data yet".to_string())),
    };
    if !fresh {
        let reason = say(words, || match latest {
            Some(s) => format!("blind: last sample {} ago", fmt_age(age(now, s.at))),
            None => "blind: no data yet".to_string(),
        });
        let j = TriggerJudgement {
            state: TriggerState::Blind,
            value,
            reason,
            held,
            cleared,
        };
        return (j, ahead);
    }
    let stale_at = earliest(latest.and_then(|s| past(s.at, signal.stale_after)), ahead);
    let window = trigger.window.unwrap_or_default();
    let state = match &last {
        // Breaching, but only on samples from before the phase entry: the
        // window opens with the next sample.
        Some(Test::Pass(_) | Test::PassWhileDown(..)) if last_breach.is_none() => {
            TriggerState::Holding { remaining: window }
        }
        Some(Test::Pass(_) | Test::PassWhileDown(..)) => {
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
    let recheck = match &state {
        // Held time grows with the clock until the window is full.
        TriggerState::Holding { remaining } if last_breach.is_some() => earliest(
            stale_at,
            chrono::Duration::from_std(*remaining)
                .ok()
                .and_then(|r| now.checked_add_signed(r)),
        ),
        _ => stale_at,
    };
    let reason = match &state {
        TriggerState::Blind => say(words, || format!("blind: {why}")),
        TriggerState::Holding { remaining } => {
            say(words, || format!("{why}; fires in {}", fmt_age(*remaining)))
        }
        _ => why,
    };
    let j = TriggerJudgement {
        state,
        value,
        reason,
        held,
        cleared,
    };
    (j, recheck)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Stopping the scan of a passing run once it covers the window must
    /// decide exactly what walking the whole run decides.
    #[test]
    fn a_run_scanned_one_window_back_is_judged_as_a_run_scanned_whole() {
        let src = "[launch]\nname = \"t\"\n[signals.v]\nkind = \"json\"\nurl = \"http://127.0.0.1:9/\"\npath = \"$.v\"\nevery = \"1s\"\nstale_after = \"3s\"\n[[phases]]\nid = \"p\"\ngates = [{ signal = \"v\", below = 50, for = \"20s\" }]\n";
        let layout = crate::layout::parse(Path::new("t.toml"), src).unwrap();
        let (gate, signal) = (&layout.phases[0].gates[0], &layout.signals[0]);
        let t0 = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for seed in 0..200 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut at = t0;
            let samples: Vec<Sample> = (0..rng.usize(1..150))
                .map(|_| {
                    at += chrono::Duration::milliseconds(i64::from(rng.u16(500..4000)));
                    let v = if rng.u8(..30) == 0 { 90.0 } else { 10.0 };
                    Sample {
                        at,
                        outcome: Outcome::Number(v),
                    }
                })
                .collect();
            let now = at + chrono::Duration::milliseconds(i64::from(rng.u16(..2500)));
            let whole = passing_since(gate, signal, &samples, None);
            let window = chrono::Duration::from_std(gate.window.unwrap()).unwrap();
            let held = |start: DateTime<Utc>| now - start >= window;
            let cut = passing_since(gate, signal, &samples, Some(now - window));
            assert_eq!(held(whole), held(cut), "seed {seed}");
            if !held(whole) {
                assert_eq!(whole, cut, "seed {seed}: a short run's start is exact");
            }
        }
    }
}

#[cfg(test)]
mod comparisons {
    //! The comparisons beyond numbers, as data: one outcome, one gate,
    //! the state and words it must give, and what a trigger on the same
    //! condition says.
    use super::*;
    use std::path::Path;

    const LAYOUT: &str = r#"
[launch]
name = "t"
[signals.status]
kind = "json"
url = "http://127.0.0.1:9/"
path = "$.status"
[signals.cert]
kind = "tls"
address = "checkout.example.com:443"
[signals.dns]
kind = "dns"
name = "checkout.example.com"
[signals.alias]
kind = "dns"
name = "www.example.com"
type = "CNAME"
[signals.port]
kind = "tcp"
address = "db.internal:5432"
[[phases]]
id = "p"
gates = [
  { signal = "status", equals = "UP" },
  { signal = "status", one_of = ["UP", "DEGRADED"] },
  { signal = "status", below = 10 },
  { signal = "cert", at_least = "14d" },
  { signal = "cert", up = true },
  { signal = "dns", resolves_to = ["203.0.113.8", "203.0.113.7"] },
  { signal = "alias", resolves_to = ["Edge.Example.NET."] },
  { signal = "port", up = true },
  { signal = "port", below = "50ms" },
  { signal = "cert", below = "3d" },
  { signal = "status", equals = "DOWN" },
]
"#;

    fn text(s: &str) -> Outcome {
        Outcome::Text(s.into())
    }

    fn cert(up: bool, days: Option<f64>, detail: &str) -> Outcome {
        Outcome::Certificate {
            up,
            days,
            detail: detail.into(),
        }
    }

    fn answers(records: &[&str], detail: &str) -> Outcome {
        Outcome::Answers {
            records: records.iter().map(ToString::to_string).collect(),
            detail: detail.into(),
        }
    }

    #[test]
    fn each_comparison_judges_its_own_kind_of_value_and_no_other() {
        use State::{Go, NoGo, Unknown};
        let layout = crate::layout::parse(Path::new("t.toml"), LAYOUT).unwrap();
        let at = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let port_up = Outcome::Health {
            up: true,
            latency: Some(Duration::from_millis(12)),
            detail: "connected".into(),
        };
        let port_down = Outcome::Health {
            up: false,
            latency: None,
            detail: "connection refused".into(),
        };
        // (gate, outcome, gate state, value shown, reason)
        let table: Vec<(usize, Outcome, State, Option<&str>, &str)> = vec![
            (0, text("UP"), Go, Some("\"UP\""), ""),
            (
                0,
                text("DOWN"),
                NoGo,
                Some("\"DOWN\""),
                "\"DOWN\", needs = \"UP\"",
            ),
            (
                0,
                text("up"),
                NoGo,
                Some("\"up\""),
                "\"up\", needs = \"UP\"",
            ),
            (
                0,
                Outcome::Number(1.0),
                Unknown,
                None,
                "found the number 1, expected a string",
            ),
            (1, text("DEGRADED"), Go, Some("\"DEGRADED\""), ""),
            (
                1,
                text("OUT_OF_SERVICE"),
                NoGo,
                Some("\"OUT_OF_SERVICE\""),
                "\"OUT_OF_SERVICE\", needs one of \"UP\", \"DEGRADED\"",
            ),
            (
                2,
                text("5"),
                Unknown,
                None,
                "found the string \"5\", expected a number",
            ),
            (
                3,
                cert(true, Some(41.5), "valid until …"),
                Go,
                Some("41 days"),
                "",
            ),
            (
                3,
                cert(true, Some(3.2), "valid until …"),
                NoGo,
                Some("3 days"),
                "3 days, needs ≥ 14d",
            ),
            (
                3,
                cert(false, Some(-2.1), "expired 2 days ago"),
                NoGo,
                Some("-2 days"),
                "down: expired 2 days ago",
            ),
            // A rejected certificate is never GO, however long it has.
            (
                3,
                cert(false, Some(60.0), "name mismatch: got *.old.example.com"),
                NoGo,
                Some("60 days"),
                "down: name mismatch: got *.old.example.com",
            ),
            (
                3,
                cert(false, None, "connection refused"),
                Unknown,
                None,
                "no certificate: connection refused",
            ),
            (
                4,
                cert(true, Some(41.0), "valid until 2027-01-12 00:00 UTC"),
                Go,
                Some("up (valid until 2027-01-12 00:00 UTC)"),
                "",
            ),
            (
                4,
                cert(false, None, "connection refused"),
                NoGo,
                Some("down (connection refused)"),
                "down: connection refused",
            ),
            (
                5,
                answers(&["203.0.113.7", "203.0.113.8"], ""),
                Go,
                Some("203.0.113.7, 203.0.113.8"),
                "",
            ),
            (
                5,
                answers(&["203.0.113.7"], ""),
                NoGo,
                Some("203.0.113.7"),
                "203.0.113.7, needs resolves to 203.0.113.7, 203.0.113.8",
            ),
            (
                5,
                answers(&[], "NXDOMAIN"),
                NoGo,
                Some("NXDOMAIN"),
                "NXDOMAIN, needs resolves to 203.0.113.7, 203.0.113.8",
            ),
            (
                5,
                answers(&[], "no A records"),
                NoGo,
                Some("no A records"),
                "no A records, needs resolves to 203.0.113.7, 203.0.113.8",
            ),
            (
                5,
                Outcome::Unknown("DNS server answered SERVFAIL".into()),
                Unknown,
                None,
                "DNS server answered SERVFAIL",
            ),
            (
                6,
                answers(&["edge.example.net"], ""),
                Go,
                Some("edge.example.net"),
                "",
            ),
            (7, port_up.clone(), Go, Some("up (connected)"), ""),
            (
                7,
                port_down.clone(),
                NoGo,
                Some("down (connection refused)"),
                "down: connection refused",
            ),
            (8, port_up, Go, Some("12 ms"), ""),
            (8, port_down, Unknown, None, "no answer: connection refused"),
        ];
        let mut failures = Vec::new();
        for (i, (g, outcome, state, value, reason)) in table.into_iter().enumerate() {
            let gate = &layout.phases[0].gates[g];
            let sample = Sample { at, outcome };
            let j = judge(gate, &layout.signals[gate.signal], &[sample], at);
            if (j.state, j.value.as_deref(), j.reason.as_str()) != (state, value, reason) {
                failures.push(format!(
                    "row {i} ({}): got {:?} {:?} {:?}, want {state:?} {value:?} {reason:?}",
                    gate.label(),
                    j.state,
                    j.value,
                    j.reason
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn triggers_fire_on_strings_and_rejected_certificates_but_never_on_unknown() {
        let layout = crate::layout::parse(Path::new("t.toml"), LAYOUT).unwrap();
        let at = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let fire = |g: usize, outcome: Outcome| {
            let trigger = &layout.phases[0].gates[g];
            let sample = Sample { at, outcome };
            judge_trigger(trigger, &layout.signals[trigger.signal], &[sample], at).state
        };
        // `equals = "DOWN"` as a trigger.
        assert_eq!(fire(10, text("DOWN")), TriggerState::Fired);
        assert_eq!(fire(10, text("UP")), TriggerState::Clear);
        assert_eq!(fire(10, Outcome::Number(0.0)), TriggerState::Blind);
        // `below = "3d"`: a certificate about to expire breaches even when
        // it is also rejected for its name.
        assert_eq!(
            fire(9, cert(false, Some(2.0), "name mismatch: got x")),
            TriggerState::Fired
        );
        assert_eq!(
            fire(9, cert(true, Some(30.0), "valid until …")),
            TriggerState::Clear
        );
        assert_eq!(
            fire(9, cert(false, None, "connection refused")),
            TriggerState::Blind
        );
    }
}
