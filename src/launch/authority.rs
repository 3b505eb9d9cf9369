//! Replay re-judges authority.
//!
//! The journal establishes who wrote each event, but not that they were
//! allowed to: on a team journal any operator can append any kind of event
//! under their own name. So the fold asks, of every event, whether its
//! actor could have done it under the layout in force at that point of the
//! record (its roles, its owners, its phases) and in the launch as it then
//! stood. An event that fails counts as nothing, and is kept in
//! [`super::State::void`] for `log --verify` to name.
//!
//! Only what does not depend on evidence is re-judged here: who, and in
//! what order. Whether the gates were GO is the evidence the event carries.

use std::sync::Arc;

use super::{EventKind, RollbackStatus, State};
use crate::launch::Event;
use crate::layout::Layout;

/// An event the fold ignored: its actor had no authority to do it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Void {
    pub seq: i64,
    pub actor: String,
    /// What it claimed, in the record's words.
    pub summary: String,
    pub why: String,
}

/// What authority is judged by, taken from the pinned layout when it is
/// pinned: who may sign what, who may adopt, and what each phase asks of
/// an advance. Only this is kept, not the whole layout: a launch of
/// thousands of signals would otherwise hold another copy of them all.
/// `None` when the pinned text does not validate with this gonogo (the
/// session says so and acts on nothing).
#[derive(Clone)]
pub struct Rules(pub Option<Arc<Authority>>);

#[derive(Debug)]
pub struct Authority {
    pub launch: String,
    pub owners: Option<Vec<String>>,
    pub roles: Option<Vec<(String, Vec<String>)>>,
    pub phases: Vec<PhaseRule>,
}

#[derive(Debug)]
pub struct PhaseRule {
    pub id: String,
    pub signoff: Vec<String>,
    pub soak: Option<std::time::Duration>,
    /// The labels of its blocking gates.
    pub blocking: Vec<String>,
}

impl Authority {
    fn of(layout: &Layout) -> Authority {
        Authority {
            launch: layout.launch.id.clone(),
            owners: layout.launch.owners.clone(),
            roles: layout.roles.clone(),
            phases: layout
                .phases
                .iter()
                .map(|p| PhaseRule {
                    id: p.id.clone(),
                    signoff: p.signoff.clone(),
                    soak: p.soak,
                    blocking: p
                        .gates
                        .iter()
                        .filter(|g| g.blocking)
                        .map(crate::layout::Gate::label)
                        .collect(),
                })
                .collect(),
        }
    }

    fn may_adopt(&self, user: &str, creator: Option<&str>) -> bool {
        crate::layout::owners_allow(self.owners.as_deref(), creator, user)
    }

    fn may_act_as(&self, actor: &str, role: &str) -> Result<(), String> {
        crate::layout::roles_allow(self.roles.as_deref(), actor, role)
    }

    fn phase_index(&self, id: &str) -> Option<usize> {
        self.phases.iter().position(|p| p.id == id)
    }
}

/// Authorities of layouts this process has validated already, by the
/// sha256 of their text: replaying a journal that pins the very file the
/// operator gave costs no second parse (of what may be thousands of
/// signals, whose freed memory a process rarely gives back).
static KNOWN: std::sync::Mutex<Vec<(String, Arc<Authority>)>> = std::sync::Mutex::new(Vec::new());

impl Rules {
    /// The authority of pinned `text`, validated as the layout at `path`.
    pub fn parse(path: &str, text: &str) -> Rules {
        use sha2::Digest;
        let digest: String = sha2::Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let known = KNOWN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|(d, _)| *d == digest)
            .map(|(_, a)| Arc::clone(a));
        if let Some(a) = known {
            return Rules(Some(a));
        }
        Rules(
            crate::layout::parse(std::path::Path::new(path), text)
                .ok()
                .map(|l| remember(&l)),
        )
    }
}

/// Keeps `layout`'s authority for a replay of a journal that pins it.
pub fn remember(layout: &Layout) -> Arc<Authority> {
    let a = Arc::new(Authority::of(layout));
    let mut known = KNOWN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    known.retain(|(d, _)| d != layout.digest());
    known.push((layout.digest().to_string(), Arc::clone(&a)));
    // A process sees a few layouts (a file, its edits, adoptions).
    if known.len() > 8 {
        known.remove(0);
    }
    a
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(a) => write!(f, "Rules({})", a.launch),
            None => f.write_str("Rules(invalid)"),
        }
    }
}

// The rules are a function of the pinned text, which `Pinned` compares.
impl PartialEq for Rules {
    fn eq(&self, _: &Rules) -> bool {
        true
    }
}
impl Eq for Rules {}

/// Whether `e`'s actor could do it in the launch folded to `state`.
///
/// # Errors
/// Why it counts as nothing, in words.
pub(super) fn judge(state: &State, e: &Event) -> Result<(), String> {
    let Some(pinned) = &state.pinned else {
        // A journal from before pinning: no rules to judge by (the first
        // pin is whoever created the journal, or appended it first).
        return Ok(());
    };
    let Some(layout) = pinned.rules.0.as_deref() else {
        return Ok(());
    };
    let layout: &Authority = layout;
    let actor = e.actor.as_str();
    match &e.kind {
        EventKind::LayoutPinned { text, path, .. } => {
            if !layout.may_adopt(actor, state.creator.as_deref()) {
                let owners =
                    crate::layout::owners_words(layout.owners.as_deref(), state.creator.as_deref());
                return Err(format!(
                    "{actor} may not change this launch's layout ({owners})"
                ));
            }
            if let Some(new) = Rules::parse(path, text).0
                && new.launch != layout.launch
            {
                return Err(format!(
                    "it pins launch `{}`, not `{}`",
                    new.launch, layout.launch
                ));
            }
            Ok(())
        }
        EventKind::SignedOff { phase, role, .. } => {
            if !state.started() {
                return Err("signed before the launch started".into());
            }
            if *phase == state.phase {
                let needs = layout
                    .phases
                    .iter()
                    .find(|p| p.id == *phase)
                    .is_some_and(|p| p.signoff.iter().any(|r| r == role));
                if !needs {
                    return Err(format!("phase {phase} does not need {role}"));
                }
                layout.may_act_as(actor, role)?;
            }
            Ok(())
        }
        EventKind::Revoked { phase, role, .. } => {
            let theirs = state
                .signed(role)
                .is_some_and(|s| s.user == actor && *phase == state.phase);
            if !theirs && *phase == state.phase {
                layout.may_act_as(actor, role)?;
            }
            Ok(())
        }
        EventKind::Advanced {
            from,
            to,
            waived,
            overridden,
            reason,
        } => advanced(state, layout, e, from, to, (waived, overridden, reason)),
        EventKind::Started { phase } => {
            if state.started() {
                return Err("the launch had started already".into());
            }
            if layout.phases.first().is_none_or(|p| p.id != *phase) {
                return Err(format!("{phase} is not the first phase"));
            }
            Ok(())
        }
        EventKind::Reopened { .. } if state.rolled_back.is_none() => {
            Err("the launch was not rolled back".into())
        }
        EventKind::RollbackFinished { started, .. } => match &state.rolled_back {
            // Only the process that ran the command knows how it ended:
            // an end recorded by anyone else is not evidence of it.
            Some(rb)
                if started.is_none_or(|s| s == rb.seq)
                    && rb.status() == RollbackStatus::Running
                    && rb.by != actor =>
            {
                Err(format!(
                    "the rollback it ends was started by {}, and only its runner records its end",
                    rb.by
                ))
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// How far an advance's recorded time may fall short of its soak: the
/// error of a clock measured against the server's.
const SOAK_SLACK: std::time::Duration = std::time::Duration::from_secs(2);

type Waivers<'a> = (&'a [String], &'a [String], &'a Option<String>);

/// An advance needs what `advance` asked for: the launch started, in the
/// phase it leaves, to the next one, not on hold, every sign-off given
/// (a STALE one overridden), and every blocking gate GO in the evidence
/// it carries or waived with a reason.
fn advanced(
    state: &State,
    layout: &Authority,
    e: &Event,
    from: &str,
    to: &str,
    (waived, overridden, reason): Waivers<'_>,
) -> Result<(), String> {
    if !state.started() {
        return Err("advanced before the launch started".into());
    }
    if from != state.phase {
        return Err(format!(
            "it advances from {from}, but the launch was in {}",
            state.phase
        ));
    }
    let Some(i) = layout.phase_index(from) else {
        return Err(format!("the layout has no phase {from}"));
    };
    match layout.phases.get(i + 1) {
        Some(n) if n.id == to => {}
        Some(n) => return Err(format!("the phase after {from} is {}, not {to}", n.id)),
        None => return Err(format!("{from} is the last phase")),
    }
    if let Some(h) = &state.hold {
        return Err(format!("the launch was on hold ({}: {})", h.by, h.reason));
    }
    let phase = &layout.phases[i];
    // Soak is judged on the journal's own timeline (the server's, on a
    // team journal); the slack covers the measured clock's error.
    if let (Some(soak), Some(entered)) = (phase.soak, state.phase_entered) {
        let stayed = (e.at - entered).to_std().unwrap_or_default();
        if stayed + SOAK_SLACK < soak {
            return Err(format!(
                "it left {from} after {}s of a {}s soak",
                stayed.as_secs(),
                soak.as_secs()
            ));
        }
    }
    let with_reason = reason.as_deref().is_some_and(|r| !r.trim().is_empty());
    for role in &phase.signoff {
        match state.signed(role) {
            None => return Err(format!("{role} had not signed {from}")),
            Some(s) if !(s.counts() || with_reason && overridden.contains(role)) => {
                return Err(format!("the {role} sign-off was STALE and not overridden"));
            }
            Some(_) => {}
        }
    }
    for label in &phase.blocking {
        let go = e
            .gates
            .iter()
            .any(|g| g.gate == *label && g.state == crate::gate::State::Go.word());
        if !(go || with_reason && waived.contains(label)) {
            return Err(format!(
                "its evidence does not show {label} GO, and it was not waived"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Authority as data: a pinned layout, then events by whoever wrote
    //! them; what counts and what is void, with why.
    use super::*;
    use crate::launch::GateSnapshot;
    use chrono::{DateTime, TimeZone, Utc};

    const LAYOUT: &str = r#"
[launch]
name = "Authority"
id = "auth"
owners = ["ana"]

[roles]
cto = ["ana"]

[signals.ready]
kind = "checklist"
items = ["go"]

[[phases]]
id = "canary"
signoff = ["cto"]
soak = "10m"
gates = [{ signal = "ready", complete = true }]

[[phases]]
id = "full"
"#;

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, 14, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
    }

    fn ev(seq: i64, minutes: i64, actor: &str, kind: EventKind) -> Event {
        let gates = match kind {
            EventKind::Advanced { .. } => vec![GateSnapshot {
                gate: "ready complete".into(),
                state: "GO".into(),
                value: None,
            }],
            _ => Vec::new(),
        };
        Event {
            seq,
            at: at(minutes),
            actor: actor.into(),
            kind,
            gates,
        }
    }

    fn pinned(text: &str) -> EventKind {
        EventKind::LayoutPinned {
            digest: "d".into(),
            path: "/srv/auth.toml".into(),
            text: text.into(),
            diff: String::new(),
        }
    }

    fn signed(role: &str) -> EventKind {
        EventKind::SignedOff {
            phase: "canary".into(),
            role: role.into(),
            note: None,
        }
    }

    fn advanced() -> EventKind {
        EventKind::Advanced {
            from: "canary".into(),
            to: "full".into(),
            waived: Vec::new(),
            overridden: Vec::new(),
            reason: None,
        }
    }

    fn start() -> EventKind {
        EventKind::Started {
            phase: "canary".into(),
        }
    }

    fn void(events: &[Event]) -> (State, Vec<(i64, String)>) {
        let s = State::replay("canary", events);
        let v = s.void.iter().map(|v| (v.seq, v.why.clone())).collect();
        (s, v)
    }

    #[test]
    fn the_layout_in_force_decides_who_may_do_what() {
        let (s, v) = void(&[
            ev(1, 0, "ana", pinned(LAYOUT)),
            ev(2, 1, "ben", signed("cto")),
            ev(3, 2, "ana", start()),
            ev(4, 3, "ben", signed("cto")),
            ev(
                5,
                4,
                "ben",
                pinned(&LAYOUT.replace(r#"cto = ["ana"]"#, r#"cto = ["ben"]"#)),
            ),
            ev(6, 5, "ana", signed("cto")),
            ev(7, 6, "ben", start()),
        ]);
        assert_eq!(
            v,
            [
                (2, "signed before the launch started".to_string()),
                (4, "ben is not in role cto (cto: ana)".to_string()),
                (
                    5,
                    "ben may not change this launch's layout (owners: ana)".to_string()
                ),
                (7, "the launch had started already".to_string()),
            ]
        );
        assert_eq!(s.signed("cto").map(|s| s.user.as_str()), Some("ana"));
        assert_eq!(s.pinned.as_ref().map(|p| p.by.as_str()), Some("ana"));
    }

    #[test]
    fn an_advance_needs_its_sign_offs_its_evidence_and_its_soak() {
        let base = [ev(1, 0, "ana", pinned(LAYOUT)), ev(2, 1, "ana", start())];
        // Unsigned.
        let (s, v) = void(&[
            base[0].clone(),
            base[1].clone(),
            ev(3, 20, "ben", advanced()),
        ]);
        assert_eq!(v, [(3, "cto had not signed canary".to_string())]);
        assert_eq!(s.phase, "canary");
        // Signed, but 5 minutes into a 10-minute soak.
        let (s, v) = void(&[
            base[0].clone(),
            base[1].clone(),
            ev(3, 2, "ana", signed("cto")),
            ev(4, 6, "ben", advanced()),
        ]);
        assert_eq!(
            v,
            [(4, "it left canary after 300s of a 600s soak".to_string())]
        );
        assert_eq!(s.phase, "canary");
        // Signed, soaked, but its own evidence says the gate was not GO.
        let mut no_evidence = ev(4, 12, "ben", advanced());
        no_evidence.gates[0].state = "NO-GO".into();
        let (_, v) = void(&[
            base[0].clone(),
            base[1].clone(),
            ev(3, 2, "ana", signed("cto")),
            no_evidence,
        ]);
        assert_eq!(
            v,
            [(
                4,
                "its evidence does not show ready complete GO, and it was not waived".to_string()
            )]
        );
        // All of it: the advance counts, whoever ordered it.
        let (s, v) = void(&[
            base[0].clone(),
            base[1].clone(),
            ev(3, 2, "ana", signed("cto")),
            ev(4, 12, "ben", advanced()),
        ]);
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(s.phase, "full");
    }
}
