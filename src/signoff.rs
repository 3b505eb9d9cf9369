//! Sign-offs bound to their evidence.
//!
//! A sign-off is a role's GO for a phase *as the gates stood then*. If a
//! blocking gate of the phase leaves GO after it, the sign-off is STALE: it
//! no longer counts for advance until the role signs again (or a waiver
//! names it).
//!
//! The rule, per blocking gate: a sign-off goes stale the first moment the
//! gate is judged anything but GO — NO-GO, UNKNOWN, STALE or PENDING — once
//! it had been GO at the sign-off (its recorded snapshot) or at any moment
//! since. PENDING counts: a `for` window that restarts means the condition
//! broke, and the signer vouched for a gate that held, so fail-safe says
//! ask again. A gate that was not yet GO when the role signed (a window
//! still filling) binds the sign-off from the moment it turns GO.
//!
//! [`Bindings`] applies the rule incrementally, fed only gate state
//! changes by [`crate::live::Live`]; [`derive`] replays the evidence
//! recorded in the journal through the same picture, so a CLI act judges
//! alike when no guard ran to record the staleness.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::gate::State as GateState;
use crate::launch::{SignOff, Staleness, State};
use crate::layout::{Layout, Phase};
use crate::signal::Sample;

/// One sign-off being watched: which gates it is bound to so far.
#[derive(Debug, Clone)]
struct Binding {
    seq: i64,
    at: DateTime<Utc>,
    /// Per gate of the phase: GO at the sign-off or since.
    armed: Vec<bool>,
}

/// The current phase's counting sign-offs, each with the gates it is bound
/// to. A handful at most (one per role).
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    list: Vec<Binding>,
    /// Replaying evidence: until this, the picture is warming up (no
    /// data yet, windows filling from the first recorded sample), so only
    /// what a sample itself says (GO, NO-GO) is taken as the gate's word.
    warming_until: Option<DateTime<Utc>>,
}

impl Bindings {
    /// Follows the sign-offs that count in `state`: new ones are bound to
    /// the gates their snapshot saw GO; those still watched keep what was
    /// seen since; stale, revoked or replaced ones are dropped.
    pub fn sync(&mut self, phase: &Phase, state: &State) {
        let counting: Vec<&SignOff> = state.signoffs.iter().filter(|s| s.counts()).collect();
        self.list
            .retain(|b| counting.iter().any(|s| s.seq == b.seq));
        for s in counting {
            if self.list.iter().any(|b| b.seq == s.seq) {
                continue;
            }
            let armed = phase
                .gates
                .iter()
                .map(|g| {
                    let label = g.label();
                    s.gates
                        .iter()
                        .any(|snap| snap.gate == label && snap.state == GateState::Go.word())
                })
                .collect();
            self.list.push(Binding {
                seq: s.seq,
                at: s.at,
                armed,
            });
        }
    }

    /// Ignores what is judged before `t` (see `warming_until`).
    pub fn warm_up_until(&mut self, t: DateTime<Utc>) {
        self.warming_until = Some(t);
    }

    /// Whether no sign-off is watched (nothing to tell).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Forgets every sign-off (a new phase: they belonged to the last).
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// Gate `index` is judged `now` to be `state`: the sign-offs this makes
    /// stale, with why. Sign-offs given after `at` (a replay) are not
    /// concerned yet.
    pub fn observe(
        &mut self,
        phase: &Phase,
        index: usize,
        state: GateState,
        at: DateTime<Utc>,
    ) -> Vec<(i64, Staleness)> {
        let Some(gate) = phase.gates.get(index).filter(|g| g.blocking) else {
            return Vec::new();
        };
        let warming = self.warming_until.is_some_and(|t| at < t);
        if warming && !matches!(state, GateState::Go | GateState::NoGo) {
            return Vec::new();
        }
        let mut found = Vec::new();
        self.list.retain_mut(|b| {
            if b.at > at {
                return true;
            }
            let Some(armed) = b.armed.get_mut(index) else {
                return true;
            };
            if state == GateState::Go {
                *armed = true;
                return true;
            }
            if !*armed {
                return true;
            }
            found.push((
                b.seq,
                Staleness {
                    gate: gate.label(),
                    state: state.word().to_string(),
                    seen: at,
                    recorded: false,
                },
            ));
            false
        });
        found
    }
}

/// `state` with every counting sign-off that the recorded evidence shows
/// went stale marked so: the journal's samples since the earliest such
/// sign-off replayed, in time order, through the same incremental picture
/// a guard keeps, then the gates as judged at `now` from `latest` (what
/// the caller polled itself). Costs one pass over the evidence.
pub fn derive(
    layout: &Arc<Layout>,
    state: &State,
    recorded: Vec<(String, Sample)>,
    latest: Vec<(usize, Sample)>,
    now: DateTime<Utc>,
) -> State {
    let Some(from) = state
        .signoffs
        .iter()
        .filter(|s| s.counts())
        .map(|s| s.at)
        .min()
    else {
        return state.clone();
    };
    let first = recorded.iter().map(|(_, s)| s.at).min().unwrap_or(now);
    let mut board = crate::board::Board::new(layout);
    let mut later = Vec::new();
    for (id, sample) in recorded {
        let Some(i) = board.index_of_key(&id) else {
            continue;
        };
        if sample.at <= from {
            board.record(i, sample);
        } else {
            later.push((i, sample));
        }
    }
    // What the caller polled for itself comes after everything recorded.
    for (i, sample) in latest {
        if sample.at > from && !later.iter().any(|(j, s)| *j == i && s.at == sample.at) {
            later.push((i, sample));
        }
    }
    later.sort_by_key(|(_, s)| s.at);
    // Evidence older than the journal keeps is gone: until a full span of
    // it has been replayed, UNKNOWN or PENDING may be the picture warming
    // up; a NO-GO sample is a breach all the same.
    let span = chrono::Duration::from_std(crate::board::evidence_span(layout))
        .unwrap_or(chrono::Duration::MAX);
    let trusted = from.max(first.checked_add_signed(span).unwrap_or(now));
    let mut live =
        crate::live::Live::replaying(Arc::clone(layout), state.clone(), board, from, trusted);
    let mut warm = trusted <= from;
    // Time moves from deadline to deadline, as a guard's clock would, so
    // a gate is seen leaving GO when it did, not at the next sample.
    let mut until = |live: &mut crate::live::Live, at: DateTime<Utc>| {
        while let Some(due) = live.next_due().filter(|d| *d <= at) {
            if !warm && due >= trusted {
                live.tick(trusted);
                live.recheck_signoffs(trusted);
                warm = true;
            }
            live.tick(due);
        }
        if !warm && at >= trusted {
            live.tick(trusted);
            live.recheck_signoffs(trusted);
            warm = true;
        }
        live.tick(at);
    };
    for (i, sample) in later {
        let at = sample.at.min(now);
        until(&mut live, at);
        live.record(i, sample, at);
    }
    until(&mut live, now);
    live.recheck_signoffs(now);
    live.state().clone()
}

/// Why a stale sign-off does not count, in the words of a refusal:
/// `release signed at 14:02:05Z while all gates were GO; error_rate < 1%
/// was NO-GO at 14:09:11Z`.
pub fn refusal(phase: &Phase, s: &SignOff) -> Option<String> {
    let why = s.stale.as_ref()?;
    let all_go = phase.gates.iter().filter(|g| g.blocking).all(|g| {
        let label = g.label();
        s.gates
            .iter()
            .any(|snap| snap.gate == label && snap.state == GateState::Go.word())
    });
    let when = if all_go {
        "while all gates were GO"
    } else {
        "before all gates were GO"
    };
    Some(format!(
        "{} signed at {} {when}; {} was {} at {}",
        s.role,
        s.at.format("%H:%M:%SZ"),
        why.gate,
        why.state,
        why.seen.format("%H:%M:%SZ")
    ))
}

#[cfg(test)]
mod tests {
    //! The staleness rule as data: what each gate says after a sign-off,
    //! and whether (and by what) the sign-off went stale.

    use super::*;
    use crate::launch::{Event, EventKind, GateSnapshot};
    use crate::signal::Outcome;
    use GateState::{Blocked, Go, NoGo, Pending, Stale, Unknown};

    const LAYOUT: &str = r#"
[launch]
name = "bound"

[roles]
cto = ["*"]

[signals.err]
kind = "json"
url = "http://127.0.0.1:9/err"
path = "$.v"
every = "1s"
stale_after = "3s"

[[phases]]
id = "canary"
signoff = ["cto"]
gates = [
  { signal = "err", below = 10 },
  { signal = "err", below = 50, blocking = false, name = "advisory" },
]

[[phases]]
id = "full"
"#;

    /// What `err`'s samples are recorded under.
    fn err_key() -> String {
        let layout = layout();
        layout.signal("err").unwrap().key.clone()
    }

    fn layout() -> Arc<Layout> {
        Arc::new(crate::layout::parse(std::path::Path::new("bound.toml"), LAYOUT).unwrap())
    }

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-02T14:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::seconds(s)
    }

    fn event(seq: i64, at: DateTime<Utc>, kind: EventKind, gates: Vec<GateSnapshot>) -> Event {
        Event {
            seq,
            at,
            actor: "alice".into(),
            kind,
            gates,
        }
    }

    /// A launch in `canary`, signed by cto at `t(10)` while the blocking
    /// gate said `signed_while`.
    fn signed(layout: &Layout, signed_while: GateState) -> State {
        let label = layout.phases[0].gates[0].label();
        let snap = vec![GateSnapshot {
            gate: label,
            state: signed_while.word().into(),
            value: None,
        }];
        let started = EventKind::Started {
            phase: "canary".into(),
        };
        let sign = EventKind::SignedOff {
            phase: "canary".into(),
            role: "cto".into(),
            note: None,
        };
        State::replay(
            "canary",
            &[
                event(1, t(0), started, Vec::new()),
                event(2, t(10), sign, snap),
            ],
        )
    }

    #[test]
    fn the_staleness_rule() {
        // (case, state at signing, (gate, state, second) seen after, the
        // (gate, state, second) that made it stale).
        type Seen = (usize, GateState, i64);
        type Case = (&'static str, GateState, &'static [Seen], Option<Seen>);
        let cases: &[Case] = &[
            ("stays GO", Go, &[(0, Go, 20), (0, Go, 30)], None),
            ("NO-GO after", Go, &[(0, NoGo, 20)], Some((0, NoGo, 20))),
            (
                "UNKNOWN after",
                Go,
                &[(0, Unknown, 21)],
                Some((0, Unknown, 21)),
            ),
            (
                "signal STALE after",
                Go,
                &[(0, Stale, 22)],
                Some((0, Stale, 22)),
            ),
            (
                "BLOCKED by a root signal after",
                Go,
                &[(0, Blocked, 24)],
                Some((0, Blocked, 24)),
            ),
            (
                "a `for` window restarting (PENDING) counts",
                Go,
                &[(0, Pending, 23)],
                Some((0, Pending, 23)),
            ),
            (
                "the first to leave GO is named",
                Go,
                &[(0, NoGo, 20), (0, Go, 25), (0, Unknown, 30)],
                Some((0, NoGo, 20)),
            ),
            (
                "signed while PENDING: bound once GO",
                Pending,
                &[(0, Pending, 12), (0, Go, 20), (0, NoGo, 30)],
                Some((0, NoGo, 30)),
            ),
            (
                "signed while NO-GO and never GO since: the gate blocks, not the sign-off",
                NoGo,
                &[(0, NoGo, 20), (0, Unknown, 30)],
                None,
            ),
            (
                "an advisory gate never stales it",
                Go,
                &[(1, NoGo, 20)],
                None,
            ),
            (
                "what was seen before the sign-off does not count",
                Go,
                &[(0, NoGo, 5)],
                None,
            ),
        ];
        let layout = layout();
        let phase = &layout.phases[0];
        for (case, signed_while, seen, want) in cases {
            let state = signed(&layout, *signed_while);
            let mut b = Bindings::default();
            b.sync(phase, &state);
            let mut got = None;
            for &(gate, s, at) in *seen {
                for (seq, why) in b.observe(phase, gate, s, t(at)) {
                    assert_eq!(seq, 2, "{case}");
                    assert!(got.is_none(), "{case}: stale twice");
                    got = Some((why.gate, why.state, why.seen));
                }
            }
            let want = want.map(|(g, s, at)| (phase.gates[g].label(), s.word().to_string(), t(at)));
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn warming_up_a_replay_only_a_breach_counts() {
        let layout = layout();
        let phase = &layout.phases[0];
        let state = signed(&layout, Go);
        let mut b = Bindings::default();
        b.warm_up_until(t(30));
        b.sync(phase, &state);
        assert!(b.observe(phase, 0, Unknown, t(20)).is_empty());
        assert!(b.observe(phase, 0, Pending, t(21)).is_empty());
        assert_eq!(b.observe(phase, 0, Unknown, t(30)).len(), 1);
        let mut b = Bindings::default();
        b.warm_up_until(t(30));
        b.sync(phase, &state);
        assert_eq!(b.observe(phase, 0, NoGo, t(20)).len(), 1);
    }

    fn number(at: i64, v: f64) -> (String, Sample) {
        (
            err_key(),
            Sample {
                at: t(at),
                outcome: Outcome::Number(v),
            },
        )
    }

    #[test]
    fn the_recorded_evidence_shows_a_sign_off_stale_even_when_the_gate_is_go_again() {
        let layout = layout();
        let state = signed(&layout, Go);
        let good: Vec<_> = (0..=40).map(|s| number(s, 1.0)).collect();
        let judged = derive(&layout, &state, good.clone(), Vec::new(), t(40));
        assert!(judged.signed("cto").is_some_and(SignOff::counts), "all GO");

        let mut breach = good;
        breach[25] = number(25, 99.0);
        let judged = derive(&layout, &state, breach, Vec::new(), t(40));
        let s = judged.signed("cto").unwrap();
        assert!(!s.counts());
        let why = s.stale.as_ref().unwrap();
        assert_eq!(
            (
                why.gate.as_str(),
                why.state.as_str(),
                why.seen,
                why.recorded
            ),
            ("err < 10", "NO-GO", t(25), false)
        );
        assert_eq!(
            refusal(&layout.phases[0], s).as_deref(),
            Some(
                "cto signed at 14:00:10Z while all gates were GO; err < 10 was NO-GO at 14:00:25Z"
            )
        );

        // A hole in the evidence longer than stale_after is not GO either.
        let holed: Vec<_> = (0..=40)
            .filter(|s| !(20..28).contains(s))
            .map(|s| number(s, 1.0))
            .collect();
        let judged = derive(&layout, &state, holed, Vec::new(), t(40));
        let why = judged.signed("cto").unwrap().stale.clone().unwrap();
        // (stale the moment the last sample is more than 3s old)
        let seen = why.seen - t(22);
        assert_eq!(why.state, "STALE");
        assert!(seen > chrono::Duration::zero() && seen < chrono::Duration::milliseconds(10));
    }

    #[test]
    fn a_sample_taken_before_the_sign_off_does_not_make_it_stale() {
        let layout = layout();
        let state = signed(&layout, Go);
        // Taken at 9.5 s (before the sign-off at 10 s), recorded late.
        let mut evidence: Vec<_> = (0..=9).map(|s| number(s, 1.0)).collect();
        evidence.push((
            err_key(),
            Sample {
                at: t(9) + chrono::Duration::milliseconds(500),
                outcome: Outcome::Number(99.0),
            },
        ));
        evidence.extend((11..=20).map(|s| number(s, 1.0)));
        let judged = derive(&layout, &state, evidence.clone(), Vec::new(), t(20));
        assert!(judged.signed("cto").is_some_and(SignOff::counts));
        // The same value taken after it does.
        let mut after = evidence.clone();
        after.push(number(15, 99.0));
        let judged = derive(&layout, &state, after, Vec::new(), t(20));
        assert!(!judged.signed("cto").unwrap().counts());
        // So does the gate staying NO-GO on samples after it (no change of
        // state to hear of).
        let mut still: Vec<_> = evidence.into_iter().filter(|(_, s)| s.at < t(10)).collect();
        still.extend((11..=20).map(|s| number(s, 99.0)));
        let judged = derive(&layout, &state, still, Vec::new(), t(20));
        let why = judged.signed("cto").unwrap().stale.clone().unwrap();
        assert_eq!((why.state.as_str(), why.seen), ("NO-GO", t(11)));
    }

    #[test]
    fn evidence_trimmed_before_the_sign_off_is_not_taken_for_a_gate_leaving_go() {
        let layout = layout();
        let state = signed(&layout, Go);
        // The journal keeps only the last few seconds: nothing from the
        // sign-off's time.
        let kept: Vec<_> = (50..=60).map(|s| number(s, 1.0)).collect();
        let judged = derive(&layout, &state, kept, Vec::new(), t(60));
        assert!(judged.signed("cto").is_some_and(SignOff::counts));
        // … but the gates as they stand now still speak.
        let kept: Vec<_> = (50..=60).map(|s| number(s, 1.0)).collect();
        let polled = vec![(0, number(61, 99.0).1)];
        let judged = derive(&layout, &state, kept, polled, t(61));
        assert!(!judged.signed("cto").unwrap().counts());
    }

    #[test]
    fn signing_again_renews_a_stale_sign_off_and_a_record_marks_it_for_good() {
        let layout = layout();
        let mut state = signed(&layout, Go);
        let stale = EventKind::SignoffStale {
            phase: "canary".into(),
            role: "cto".into(),
            signer: "alice".into(),
            signed: 2,
            gate: "err < 10".into(),
            state: "NO-GO".into(),
            seen: t(20),
        };
        state.apply(&event(3, t(21), stale, Vec::new()));
        let s = state.signed("cto").unwrap();
        assert!(!s.counts() && s.stale.as_ref().unwrap().recorded);
        let sign = EventKind::SignedOff {
            phase: "canary".into(),
            role: "cto".into(),
            note: None,
        };
        state.apply(&event(4, t(30), sign, Vec::new()));
        assert!(state.signed("cto").is_some_and(SignOff::counts));
        // A late record naming the old sign-off does not touch the new one.
        let late = EventKind::SignoffStale {
            phase: "canary".into(),
            role: "cto".into(),
            signer: "alice".into(),
            signed: 2,
            gate: "err < 10".into(),
            state: "NO-GO".into(),
            seen: t(20),
        };
        state.apply(&event(5, t(31), late, Vec::new()));
        assert!(state.signed("cto").is_some_and(SignOff::counts));
    }
}
