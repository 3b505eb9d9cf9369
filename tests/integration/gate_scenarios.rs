//! Gate and trigger judgement as data: timed samples in, expected verdicts
//! out. Judgement is a pure function of the samples and `now`, so nothing
//! here sleeps.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use gonogo::gate::{self, State, TriggerState};
use gonogo::layout::{self, Layout};
use gonogo::signal::{Checklist, ChecklistItem, Outcome, Sample};

/// A sample value in a scenario.
#[derive(Clone, Copy)]
enum V {
    N(f64),
    /// HTTP answered: up?, latency ms.
    Up(bool, f64),
    /// HTTP gave no answer.
    NoAnswer,
    Err,
    /// A checklist with (done, total).
    List(usize, usize),
}
use V::{Err, List, N, NoAnswer, Up};

struct Case {
    name: &'static str,
    /// The body of `[signals.x]` after `kind`.
    signal: &'static str,
    /// The gate (or trigger) inline table, without `signal`.
    rule: &'static str,
    samples: &'static [(i64, V)],
    /// (now in seconds, expected state, a fragment of the reason).
    expect: &'static [(i64, Expect, &'static str)],
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    G(State),
    T(Trig),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Trig {
    Clear,
    Holding,
    Fired,
    Blind,
}

use Expect::{G, T};
use State::{Go, NoGo, Pending, Stale, Unknown};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 5, 14, 0, 0).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

fn outcome(v: V) -> Outcome {
    match v {
        N(x) => Outcome::Number(x),
        Up(up, ms) => Outcome::Health {
            up,
            latency: Some(Duration::from_secs_f64(ms / 1000.0)),
            detail: if up {
                "status 200 OK".into()
            } else {
                "status 503 Service Unavailable".into()
            },
        },
        NoAnswer => Outcome::Health {
            up: false,
            latency: None,
            detail: "connection refused".into(),
        },
        Err => Outcome::Unknown("status 503 Service Unavailable".into()),
        List(done, total) => Outcome::Checklist(Checklist {
            items: (0..total)
                .map(|i| ChecklistItem {
                    section: None,
                    text: format!("item {i}"),
                    done: i < done,
                })
                .collect(),
        }),
    }
}

fn layout_for(case: &Case, trigger: bool) -> Layout {
    let rule = format!("{{ signal = \"x\", {} }}", case.rule);
    let (gates, rollback) = if trigger {
        (
            String::new(),
            format!("[rollback]\nrun = [\"true\"]\nauto_from = \"p\"\ntriggers = [{rule}]\n"),
        )
    } else {
        (format!("gates = [{rule}]"), String::new())
    };
    let text = format!(
        "[launch]\nname = \"t\"\n[signals.x]\n{}\n[[phases]]\nid = \"p\"\n{gates}\n{rollback}",
        case.signal
    );
    layout::parse(Path::new("scenario.toml"), &text)
        .unwrap_or_else(|e| panic!("{}: layout does not load:\n{e}", case.name))
}

fn run(case: &Case) -> Vec<String> {
    run_in(case, None)
}

/// Judges `case` as the gates and triggers of a phase entered at
/// `entered` seconds.
fn run_in(case: &Case, entered: Option<i64>) -> Vec<String> {
    let entered = entered.map(at);
    let trigger = case.expect.iter().any(|(_, e, _)| matches!(e, T(_)));
    let layout = layout_for(case, trigger);
    let signal = &layout.signals[0];
    let samples: Vec<Sample> = case
        .samples
        .iter()
        .map(|(s, v)| Sample {
            at: at(*s),
            outcome: outcome(*v),
        })
        .collect();
    let mut failures = Vec::new();
    for (now, want, fragment) in case.expect {
        let (got, reason) = if trigger {
            let t = &layout.rollback.as_ref().unwrap().triggers[0];
            let j = gate::judge_trigger_in_phase(t, signal, &samples, at(*now), entered);
            let state = match j.state {
                TriggerState::Clear => Trig::Clear,
                TriggerState::Holding { .. } => Trig::Holding,
                TriggerState::Fired => Trig::Fired,
                TriggerState::Blind => Trig::Blind,
            };
            (T(state), j.reason)
        } else {
            let g = &layout.phases[0].gates[0];
            let j = gate::judge_in_phase(g, signal, &samples, at(*now), entered);
            (G(j.state), j.reason)
        };
        if got != *want || !reason.contains(fragment) {
            failures.push(format!(
                "{} @ t={now}s: expected {want:?} with reason containing {fragment:?}, got {got:?}: {reason:?}",
                case.name
            ));
        }
    }
    failures
}

const JSON_MS: &str = "kind = \"json\"\nurl = \"http://127.0.0.1:1/x\"\npath = \"$.v\"\nunit = \"ms\"\nevery = \"5s\"";
const JSON_RATIO: &str = "kind = \"json\"\nurl = \"http://127.0.0.1:1/x\"\npath = \"$.v\"\nunit = \"ratio\"\nevery = \"5s\"";
const JSON_COUNT: &str = "kind = \"json\"\nurl = \"http://127.0.0.1:1/x\"\npath = \"$.v\"\nunit = \"count\"\nevery = \"5s\"";
const HTTP: &str = "kind = \"http\"\nurl = \"http://127.0.0.1:1/healthz\"\nevery = \"5s\"";
const LIST: &str = "kind = \"checklist\"\nitems = [\"a\", \"b\"]\nevery = \"5s\"";

const CASES: &[Case] = &[
    Case {
        name: "no data is never GO",
        signal: JSON_MS,
        rule: "below = \"500ms\"",
        samples: &[],
        expect: &[(0, G(Unknown), "no data yet")],
    },
    Case {
        name: "thresholds in every direction",
        signal: JSON_COUNT,
        rule: "at_most = 100",
        samples: &[(0, N(100.0)), (5, N(101.0))],
        expect: &[(0, G(Go), ""), (5, G(NoGo), "101, needs ≤ 100")],
    },
    Case {
        name: "below is strict",
        signal: JSON_MS,
        rule: "below = \"500ms\"",
        samples: &[(0, N(499.9)), (5, N(500.0))],
        expect: &[(0, G(Go), ""), (5, G(NoGo), "500 ms, needs < 500ms")],
    },
    Case {
        name: "at_least 99.8% passes exactly 0.998",
        signal: JSON_RATIO,
        rule: "at_least = \"99.8%\"",
        samples: &[(0, N(0.998)), (5, N(0.997_999_9))],
        expect: &[(0, G(Go), ""), (5, G(NoGo), "needs ≥ 99.8%")],
    },
    Case {
        name: "1.1% boundary where naive float division is off by one ulp",
        signal: JSON_RATIO,
        rule: "at_most = \"1.1%\"",
        samples: &[(0, N(0.011))],
        expect: &[(0, G(Go), "")],
    },
    Case {
        name: "equals and above",
        signal: JSON_COUNT,
        rule: "equals = 0",
        samples: &[(0, N(0.0)), (5, N(1.0))],
        expect: &[(0, G(Go), ""), (5, G(NoGo), "1, needs = 0")],
    },
    Case {
        name: "an error is UNKNOWN, never coerced",
        signal: JSON_COUNT,
        rule: "at_most = 100",
        samples: &[(0, N(5.0)), (5, Err)],
        expect: &[(5, G(Unknown), "status 503")],
    },
    Case {
        name: "stale after 3 × every by default",
        signal: JSON_COUNT,
        rule: "at_most = 100",
        samples: &[(0, N(5.0))],
        expect: &[
            (15, G(Go), ""),
            (16, G(Stale), "stale: last sample 16s ago (limit 15s)"),
        ],
    },
    Case {
        name: "stale_after can be set",
        signal: "kind = \"json\"\nurl = \"http://127.0.0.1:1/x\"\npath = \"$.v\"\nevery = \"5s\"\nstale_after = \"1m\"",
        rule: "at_most = 100",
        samples: &[(0, N(5.0))],
        expect: &[(59, G(Go), ""), (61, G(Stale), "limit 1m")],
    },
    Case {
        name: "a for window needs an unbroken run",
        signal: JSON_MS,
        rule: "below = \"500ms\", for = \"30s\"",
        samples: &[
            (0, N(100.0)),
            (5, N(100.0)),
            (10, N(700.0)),
            (15, N(100.0)),
            (20, N(100.0)),
            (25, N(100.0)),
            (30, N(100.0)),
            (35, N(100.0)),
            (40, N(100.0)),
            (45, N(100.0)),
        ],
        expect: &[
            (5, G(Pending), "25s left"),
            (10, G(NoGo), "700 ms"),
            (20, G(Pending), "passing for 5s of 30s; 25s left"),
            (44, G(Pending), "1s left"),
            (45, G(Go), "held for 30s"),
        ],
    },
    Case {
        name: "an error inside the window restarts it",
        signal: JSON_MS,
        rule: "below = \"500ms\", for = \"10s\"",
        samples: &[
            (0, N(1.0)),
            (5, Err),
            (10, N(1.0)),
            (15, N(1.0)),
            (20, N(1.0)),
        ],
        expect: &[(15, G(Pending), "5s left"), (20, G(Go), "")],
    },
    Case {
        name: "a gap in the data restarts the window",
        signal: JSON_MS,
        rule: "below = \"500ms\", for = \"30s\"",
        samples: &[(0, N(1.0)), (5, N(1.0)), (40, N(1.0)), (45, N(1.0))],
        expect: &[(45, G(Pending), "25s left")],
    },
    Case {
        name: "flapping never reaches GO",
        signal: JSON_MS,
        rule: "below = \"500ms\", for = \"10s\"",
        samples: &[
            (0, N(1.0)),
            (5, N(900.0)),
            (10, N(1.0)),
            (15, N(900.0)),
            (20, N(1.0)),
            (25, N(900.0)),
            (30, N(1.0)),
        ],
        expect: &[
            (25, G(NoGo), ""),
            (30, G(Pending), "10s left"),
            (34, G(Pending), "6s left"),
        ],
    },
    Case {
        name: "http up and latency",
        signal: HTTP,
        rule: "up = true",
        samples: &[(0, Up(true, 12.0)), (5, Up(false, 3.0)), (10, NoAnswer)],
        expect: &[
            (0, G(Go), ""),
            (5, G(NoGo), "down: status 503"),
            (10, G(NoGo), "down: connection refused"),
        ],
    },
    Case {
        name: "latency of an http check with no answer is UNKNOWN",
        signal: HTTP,
        rule: "below = \"500ms\"",
        samples: &[(0, Up(true, 120.0)), (5, NoAnswer)],
        expect: &[
            (0, G(Go), ""),
            (5, G(Unknown), "no answer: connection refused"),
        ],
    },
    Case {
        name: "checklist complete",
        signal: LIST,
        rule: "complete = true",
        samples: &[(0, List(1, 2)), (5, List(2, 2)), (10, List(0, 0))],
        expect: &[
            (0, G(NoGo), "1 of 2 items open"),
            (5, G(Go), ""),
            (10, G(Unknown), "checklist has no items"),
        ],
    },
    Case {
        name: "samples after now are ignored (replay)",
        signal: JSON_COUNT,
        rule: "at_most = 100",
        samples: &[(0, N(5.0)), (10, N(500.0))],
        expect: &[(5, G(Go), ""), (10, G(NoGo), "")],
    },
    // Triggers: a breach sustained for the window fires; a clear sample
    // restarts the window; UNKNOWN pauses it and makes the trigger blind.
    Case {
        name: "trigger fires after its window",
        signal: JSON_RATIO,
        rule: "above = \"1%\", for = \"20s\"",
        samples: &[
            (0, N(0.001)),
            (5, N(0.05)),
            (10, N(0.05)),
            (15, N(0.05)),
            (20, N(0.05)),
            (25, N(0.05)),
        ],
        expect: &[
            (0, T(Trig::Clear), "clear: 0.1%"),
            (5, T(Trig::Holding), "fires in 20s"),
            (20, T(Trig::Holding), "fires in 5s"),
            (25, T(Trig::Fired), "breaching: 5%"),
        ],
    },
    Case {
        name: "a clear sample restarts the trigger window",
        signal: JSON_RATIO,
        rule: "above = \"1%\", for = \"10s\"",
        samples: &[
            (0, N(0.05)),
            (5, N(0.05)),
            (10, N(0.001)),
            (15, N(0.05)),
            (20, N(0.05)),
        ],
        expect: &[
            (10, T(Trig::Clear), ""),
            (20, T(Trig::Holding), "fires in 5s"),
        ],
    },
    Case {
        name: "unknown pauses the trigger window (neither counts nor resets)",
        signal: JSON_RATIO,
        rule: "above = \"1%\", for = \"10s\"",
        samples: &[
            (0, N(0.05)),
            (5, N(0.05)),
            (10, Err),
            (15, Err),
            (20, N(0.05)),
            (25, N(0.05)),
        ],
        expect: &[
            (10, T(Trig::Blind), "blind: status 503"),
            (20, T(Trig::Holding), "fires in 5s"),
            (25, T(Trig::Fired), ""),
        ],
    },
    Case {
        name: "a trigger never fires on missing or stale data",
        signal: JSON_RATIO,
        rule: "above = \"1%\"",
        samples: &[(0, N(0.05))],
        expect: &[
            (0, T(Trig::Fired), ""),
            (16, T(Trig::Blind), "blind: last sample 16s ago"),
        ],
    },
    Case {
        name: "a down trigger counts a missing answer as down",
        signal: HTTP,
        rule: "up = false, for = \"10s\"",
        samples: &[(0, NoAnswer), (5, NoAnswer), (10, NoAnswer)],
        expect: &[
            (5, T(Trig::Holding), "fires in 5s"),
            (10, T(Trig::Fired), ""),
        ],
    },
];

#[test]
fn scenarios() {
    let failures: Vec<String> = CASES.iter().flat_map(run).collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const JSON_RATIO_1S: &str = "kind = \"json\"\nurl = \"http://127.0.0.1:1/x\"\npath = \"$.v\"\nunit = \"ratio\"\nevery = \"1s\"";

/// A passing or breaching sample every second from t=0 to t=`until`.
const fn every_second<const N: usize>(v: V) -> [(i64, V); N] {
    let mut out = [(0, v); N];
    let mut i = 0;
    while i < N {
        out[i].0 = i as i64;
        i += 1;
    }
    out
}

const CALM_60: [(i64, V); 61] = every_second(N(0.001));
const BREACH_60: [(i64, V); 61] = every_second(N(0.05));
const CALM_29: [(i64, V); 30] = every_second(N(0.001));

/// Windows count from the phase's entry (start, advance or reopen):
/// whatever a guard saw before never counts. (entered at, case)
const IN_PHASE: &[(i64, Case)] = &[
    (
        30,
        Case {
            name: "a gate's window starts at the phase entry, not with the samples before it",
            signal: JSON_RATIO_1S,
            rule: "below = \"1%\", for = \"20s\"",
            samples: &CALM_60,
            expect: &[
                (30, G(Pending), "20s left"),
                (40, G(Pending), "10s left"),
                (49, G(Pending), "1s left"),
                (50, G(Go), "held for 20s"),
            ],
        },
    ),
    (
        30,
        Case {
            name: "no sample since the entry: the window has not begun",
            signal: JSON_RATIO_1S,
            rule: "below = \"1%\", for = \"20s\"",
            samples: &CALM_29,
            expect: &[(
                31,
                G(Pending),
                "starts with the first sample since the phase was entered",
            )],
        },
    ),
    (
        30,
        Case {
            name: "a gate without a window takes a fresh sample from before the entry",
            signal: JSON_RATIO_1S,
            rule: "below = \"1%\"",
            samples: &CALM_29,
            expect: &[(30, G(Go), "")],
        },
    ),
    (
        30,
        Case {
            name: "after a reopen a trigger's window starts again",
            signal: JSON_RATIO_1S,
            rule: "above = \"1%\", for = \"10s\"",
            samples: &BREACH_60,
            expect: &[
                (30, T(Trig::Holding), "fires in 10s"),
                (32, T(Trig::Holding), "fires in 8s"),
                (39, T(Trig::Holding), "fires in 1s"),
                (40, T(Trig::Fired), ""),
            ],
        },
    ),
    (
        30,
        Case {
            name: "a trigger with no window does not fire on a breach seen before the entry",
            signal: JSON_RATIO_1S,
            rule: "above = \"1%\"",
            samples: &[(29, N(0.05))],
            expect: &[(30, T(Trig::Holding), "breaching")],
        },
    ),
];

#[test]
fn windows_count_from_the_phase_entry() {
    // Without an entry (a preview), the same samples would have been GO
    // and FIRED long before: the entry is what holds them back.
    assert!(
        run_in(&IN_PHASE[0].1, None).len() == 3,
        "the preview differs"
    );
    let failures: Vec<String> = IN_PHASE
        .iter()
        .flat_map(|(entered, case)| run_in(case, Some(*entered)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
