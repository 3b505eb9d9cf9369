//! Launch state as a fold over journal events.
//!
//! [`State::apply`] is the only place launch state changes. Every process
//! that replays the same journal arrives at the same state, which is what
//! lets several operators (and a headless guard) share one launch.

mod authority;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use authority::{Rules, Void, remember as remember_authority};

/// The mark of an event that happened while the journal was unreachable:
/// spooled on this host, appended when the journal came back. The record
/// keeps both times: `at` here when it happened, the event's own time
/// when it was appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offline {
    /// The spool record it came from (finds it again on a retried append).
    pub id: String,
    pub at: DateTime<Utc>,
    pub host: String,
    /// The OS user who ran it there: what that machine claimed, never
    /// the event's actor (who appended it, as the journal established).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Why the journal could not be reached.
    pub why: String,
}

impl Offline {
    /// How the record says it: ` [recorded offline by OS user U on HOST at TIME: WHY]`
    /// (the user is what that machine claimed; the actor is who appended it).
    pub fn note(offline: Option<&Offline>) -> String {
        offline.map_or_else(String::new, |o| {
            let user = if o.user.is_empty() {
                String::new()
            } else {
                format!(" by OS user {}", o.user)
            };
            format!(
                " [recorded offline{user} on {} at {}, the journal being unreachable: {}]",
                o.host,
                o.at.format("%Y-%m-%d %H:%M:%SZ"),
                o.why
            )
        })
    }
}

/// What happened. Stored as JSON in the journal; names are the record's
/// vocabulary, so they are past tense.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    SignedOff {
        phase: String,
        role: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    Revoked {
        phase: String,
        role: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    Advanced {
        from: String,
        to: String,
        /// Gates advanced past while not GO (each a waiver), with `reason`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        waived: Vec<String>,
        /// Roles whose STALE sign-off was overridden, with `reason`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        overridden: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A sign-off went STALE: a blocking gate of its phase left GO after
    /// it. Recorded once per sign-off (a claim), by whichever process saw
    /// it first; it no longer counts until the role signs again.
    SignoffStale {
        phase: String,
        role: String,
        signer: String,
        /// `seq` of the `SignedOff` it makes stale.
        signed: i64,
        /// The gate that left GO, what it said, and when it was seen.
        gate: String,
        state: String,
        seen: DateTime<Utc>,
    },
    Held {
        reason: String,
    },
    Resumed,
    /// A `then = "hold"` trigger held for its window: the guard put the
    /// launch ON HOLD, for a person to resume or roll back.
    AutoHeld {
        reason: String,
        /// The hold triggers that fired, each with its evidence.
        triggers: Vec<String>,
    },
    ItemChecked {
        checklist: String,
        item: String,
    },
    ItemUnchecked {
        checklist: String,
        item: String,
    },
    Noted {
        text: String,
    },
    Armed {
        reason: String,
    },
    Disarmed {
        reason: String,
    },
    RollbackStarted {
        reason: String,
        /// Triggers that fired it; empty for a manual rollback.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        triggers: Vec<String>,
        command: Vec<String>,
        /// Set when the rollback ran while the journal was unreachable and
        /// was spooled, then appended on reconnect.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offline: Option<Box<Offline>>,
    },
    RollbackFinished {
        outcome: CommandOutcome,
        /// `seq` of the `RollbackStarted` this ends (absent in older
        /// journals: the latest).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        started: Option<i64>,
        /// Who started it and why (the operator's reason, or the triggers
        /// with their values): the end of a rollback names its cause, so
        /// no record or notification says a bare "rolled back". Absent in
        /// older journals.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<String>,
        /// As for `RollbackStarted`: recorded offline, appended later.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offline: Option<Box<Offline>>,
    },
    OnEnterRan {
        phase: String,
        outcome: CommandOutcome,
    },
    TimeboxOverrun {
        phase: String,
        timebox_s: u64,
    },
    Reopened {
        phase: String,
        reason: String,
    },
    /// The launch entered its first phase: soak, timebox and windows count
    /// from here, and its `on_enter` runs.
    Started {
        phase: String,
    },
    /// The layout the launch runs by, recorded in full: when the journal
    /// is created (`diff` empty) and whenever an owner adopts a changed
    /// file. Roles, gates and commands are taken from this copy, never
    /// from whichever file a caller passes.
    LayoutPinned {
        /// sha256 of `text`, hex.
        digest: String,
        /// The file it was read from.
        path: String,
        text: String,
        /// What changed against the layout pinned before (unified diff);
        /// empty for the first pin.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        diff: String,
    },
    /// A rollback whose runner stopped (killed, crashed, lost its host)
    /// without recording how the command ended.
    RollbackLost {
        /// `seq` of the `RollbackStarted` it closes.
        started: i64,
        runner: String,
    },
    /// The layout file was edited and the new version applied live (older
    /// journals; adoption is now [`EventKind::LayoutPinned`]).
    LayoutReloaded {
        /// What it now holds, in words (signals, phases, a digest).
        summary: String,
    },
    /// An act that was refused, and why, exactly as the operator was told.
    Refused {
        attempted: String,
        reason: String,
    },
}

/// How a command (rollback, `on_enter`) ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutcome {
    pub command: Vec<String>,
    /// `exit status 0`, `timed out after 10m; process group killed`, …
    pub ending: String,
    pub success: bool,
    pub took_ms: u64,
    /// The end of its output, bounded.
    pub output_tail: String,
}

/// One gate as it stood when an event was recorded: the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateSnapshot {
    pub gate: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A journal entry: the event with who, when, and what the gates said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    #[serde(flatten)]
    pub kind: EventKind,
    #[serde(default)]
    pub gates: Vec<GateSnapshot>,
}

impl Event {
    /// One line saying what happened, for `watch`, the screen and the record.
    pub fn summary(&self) -> String {
        let who = &self.actor;
        match &self.kind {
            EventKind::SignedOff { phase, role, note } => {
                format!(
                    "{who} signed {phase} as {role}{}",
                    note_suffix(note.as_deref())
                )
            }
            EventKind::Revoked { phase, role, note } => {
                format!(
                    "{who} revoked the {role} sign-off of {phase}{}",
                    note_suffix(note.as_deref())
                )
            }
            EventKind::Advanced {
                from,
                to,
                waived,
                overridden,
                reason,
            } => {
                let mut s = format!("{who} advanced {from} → {to}");
                if !waived.is_empty() {
                    s.push_str(&format!(" WAIVING {}", waived.join(", ")));
                }
                if !overridden.is_empty() {
                    s.push_str(&format!(
                        " OVERRIDING the STALE sign-off of {}",
                        overridden.join(", ")
                    ));
                }
                if !waived.is_empty() || !overridden.is_empty() {
                    s.push_str(&format!(" — reason: {}", reason.as_deref().unwrap_or("")));
                }
                s
            }
            EventKind::SignoffStale {
                phase,
                role,
                signer,
                gate,
                state,
                seen,
                ..
            } => format!(
                "the {role} sign-off of {phase} by {signer} went STALE: {gate} was {state} at {}",
                seen.format("%H:%M:%SZ")
            ),
            EventKind::Held { reason } => format!("{who} put the launch ON HOLD: {reason}"),
            EventKind::Resumed => format!("{who} resumed the launch"),
            EventKind::AutoHeld { triggers, .. } => format!(
                "AUTO-HOLD fired by {who}: {}; ON HOLD until a person resumes or rolls back",
                triggers.join("; ")
            ),
            EventKind::ItemChecked { checklist, item } => {
                format!("{who} checked \"{item}\" on {checklist}")
            }
            EventKind::ItemUnchecked { checklist, item } => {
                format!("{who} unchecked \"{item}\" on {checklist}")
            }
            EventKind::Noted { text } => format!("{who} noted: {text}"),
            EventKind::Armed { reason } => format!("{who} armed auto-rollback: {reason}"),
            EventKind::Disarmed { reason } => format!("{who} DISARMED auto-rollback: {reason}"),
            EventKind::RollbackStarted {
                reason,
                triggers,
                command,
                offline,
            } => {
                let mark = Offline::note(offline.as_deref());
                if triggers.is_empty() {
                    format!(
                        "{who} started ROLLBACK ({}): {reason}{mark}",
                        command.join(" ")
                    )
                } else {
                    format!(
                        "AUTO-ROLLBACK fired by {who} ({}): {}{mark}",
                        command.join(" "),
                        triggers.join("; ")
                    )
                }
            }
            EventKind::RollbackFinished {
                outcome,
                cause,
                offline,
                ..
            } if outcome.success => format!(
                "ROLLED BACK: the rollback command ended with {} after {}{}{}",
                outcome.ending,
                crate::unit::format_elapsed(std::time::Duration::from_millis(outcome.took_ms)),
                cause_note(cause.as_deref()),
                Offline::note(offline.as_deref())
            ),
            EventKind::RollbackFinished {
                outcome,
                cause,
                offline,
                ..
            } => format!(
                "ROLLBACK FAILED: {} after {}; the rollback may be retried{}{}",
                outcome.ending,
                crate::unit::format_elapsed(std::time::Duration::from_millis(outcome.took_ms)),
                cause_note(cause.as_deref()),
                Offline::note(offline.as_deref())
            ),
            EventKind::OnEnterRan { phase, outcome } => format!(
                "on_enter of {phase} ({}) ended: {} after {}",
                outcome.command.join(" "),
                outcome.ending,
                crate::unit::format_elapsed(std::time::Duration::from_millis(outcome.took_ms))
            ),
            EventKind::TimeboxOverrun { phase, timebox_s } => {
                format!(
                    "phase {phase} ran past its timebox of {}",
                    crate::unit::format_duration(std::time::Duration::from_secs(*timebox_s))
                )
            }
            EventKind::Reopened { phase, reason } => {
                format!("{who} reopened the launch at {phase}: {reason}")
            }
            EventKind::Refused { attempted, reason } => {
                format!("REFUSED {attempted} by {who}: {reason}")
            }
            EventKind::LayoutReloaded { summary } => {
                format!("{who} applied an edited layout: {summary}")
            }
            EventKind::Started { phase } => format!("{who} STARTED the launch: entered {phase}"),
            EventKind::LayoutPinned {
                digest, path, diff, ..
            } => {
                let short = &digest[..digest.len().min(12)];
                if diff.is_empty() {
                    format!("{who} pinned the layout {path} (sha256 {short}…)")
                } else {
                    let changed = diff
                        .lines()
                        .filter(|l| {
                            (l.starts_with('+') || l.starts_with('-'))
                                && !l.starts_with("+++")
                                && !l.starts_with("---")
                        })
                        .count();
                    format!(
                        "{who} ADOPTED a changed layout {path} (sha256 {short}…, {changed} lines changed)"
                    )
                }
            }
            EventKind::RollbackLost { started, runner } => format!(
                "ROLLBACK FAILED: the process running rollback #{started} ({runner}) stopped without recording its end; outcome unknown"
            ),
        }
    }
}

fn note_suffix(note: Option<&str>) -> String {
    note.map(|n| format!(" — {n}")).unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOff {
    pub role: String,
    pub user: String,
    pub at: DateTime<Utc>,
    /// The `SignedOff` event: what a stale record names.
    pub seq: i64,
    /// The gates as they stood when it was given: the evidence it is
    /// bound to.
    pub gates: Vec<GateSnapshot>,
    /// Set once a blocking gate left GO after it: it no longer counts.
    pub stale: Option<Staleness>,
}

impl SignOff {
    /// Whether it counts for advance: given, and not gone stale.
    pub fn counts(&self) -> bool {
        self.stale.is_none()
    }
}

/// Why a sign-off went stale: which gate left GO, what it said, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staleness {
    pub gate: String,
    /// The gate's state word (`NO-GO`, `UNKNOWN`, …).
    pub state: String,
    pub seen: DateTime<Utc>,
    /// Whether the journal holds it (else it was judged from evidence
    /// here and is yet to be recorded).
    pub recorded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub by: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    /// The `RollbackStarted` event.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
    pub auto: bool,
    /// Attempts in this epoch before this one (a failed rollback may be
    /// retried).
    pub retries: u32,
    /// `None` while the rollback command runs.
    pub finished: Option<CommandOutcome>,
}

/// Where a rollback stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackStatus {
    Running,
    /// The command exited 0 in time: ROLLED BACK.
    Done,
    /// It exited non-zero, timed out, could not start, or its runner died:
    /// ROLLBACK FAILED. Nothing is known to be rolled back.
    Failed,
}

impl RolledBack {
    pub fn status(&self) -> RollbackStatus {
        match &self.finished {
            None => RollbackStatus::Running,
            Some(o) if o.success => RollbackStatus::Done,
            Some(_) => RollbackStatus::Failed,
        }
    }

    /// The words the header, `check` and refusals use.
    pub fn word(&self) -> &'static str {
        match self.status() {
            RollbackStatus::Running => "ROLLING BACK",
            RollbackStatus::Done => "ROLLED BACK",
            RollbackStatus::Failed => "ROLLBACK FAILED",
        }
    }
}

/// The layout the journal pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    pub digest: String,
    pub path: String,
    pub text: std::sync::Arc<str>,
    pub by: String,
    pub at: DateTime<Utc>,
    /// `text` validated: the roles, owners and phases replay judges by.
    pub rules: Rules,
}

/// The launch as the journal says it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Current phase id.
    pub phase: String,
    /// When the current phase was entered (`None`: NOT STARTED — the
    /// first phase is only previewed until a `start`).
    pub phase_entered: Option<DateTime<Utc>>,
    /// Sign-offs for the current phase.
    pub signoffs: Vec<SignOff>,
    pub hold: Option<Hold>,
    /// The last resume (`seq`, when): a hold trigger's breach in progress
    /// then was seen by the person who resumed, and holds no more.
    pub resumed: Option<(i64, DateTime<Utc>)>,
    /// Phase id → gates waived when leaving it, with the reason.
    pub waivers: BTreeMap<String, (Vec<String>, String)>,
    /// Checklist id → items checked off in the journal.
    pub checked: BTreeMap<String, BTreeSet<String>>,
    /// `Some((by, reason))` when an operator disarmed auto-rollback.
    pub disarmed: Option<(String, String)>,
    pub rolled_back: Option<RolledBack>,
    /// Reopens so far: one rollback may happen per epoch.
    pub epoch: u32,
    /// Phases whose timebox overrun has been recorded (since last entry).
    pub timebox_noted: bool,
    /// The layout in force, and who created the journal (the default
    /// owner).
    pub pinned: Option<Pinned>,
    pub creator: Option<String>,
    /// Events that count as nothing: their actor was not allowed to do
    /// them by the layout in force (see [`authority`]).
    pub void: Vec<Void>,
    /// The last event folded in.
    pub seq: i64,
}

impl State {
    pub fn new(first_phase: &str) -> State {
        State {
            phase: first_phase.to_string(),
            phase_entered: None,
            signoffs: Vec::new(),
            hold: None,
            resumed: None,
            waivers: BTreeMap::new(),
            checked: BTreeMap::new(),
            disarmed: None,
            rolled_back: None,
            epoch: 0,
            timebox_noted: false,
            pinned: None,
            creator: None,
            void: Vec::new(),
            seq: 0,
        }
    }

    /// Whether a `start` entered the first phase.
    pub fn started(&self) -> bool {
        self.phase_entered.is_some()
    }

    /// The rollback status, if the launch has one in this epoch.
    pub fn rollback_status(&self) -> Option<RollbackStatus> {
        self.rolled_back.as_ref().map(RolledBack::status)
    }

    /// Folds one event in. An event its actor had no authority to record
    /// counts as nothing (and is kept in [`State::void`]); every other is a
    /// fact, its evidence checked when it was recorded.
    pub fn apply(&mut self, e: &Event) {
        self.seq = e.seq;
        if let Err(why) = authority::judge(self, e) {
            self.void.push(Void {
                seq: e.seq,
                actor: e.actor.clone(),
                summary: e.summary(),
                why,
            });
            return;
        }
        match &e.kind {
            EventKind::SignedOff { phase, role, .. } if *phase == self.phase => {
                self.signoffs.retain(|s| s.role != *role);
                self.signoffs.push(SignOff {
                    role: role.clone(),
                    user: e.actor.clone(),
                    at: e.at,
                    seq: e.seq,
                    gates: e.gates.clone(),
                    stale: None,
                });
            }
            EventKind::SignoffStale {
                phase,
                role,
                signed,
                gate,
                state,
                seen,
                ..
            } if *phase == self.phase => {
                if let Some(s) = self
                    .signoffs
                    .iter_mut()
                    .find(|s| s.role == *role && s.seq == *signed)
                {
                    s.stale = Some(Staleness {
                        gate: gate.clone(),
                        state: state.clone(),
                        seen: *seen,
                        recorded: true,
                    });
                }
            }
            EventKind::Revoked { phase, role, .. } if *phase == self.phase => {
                self.signoffs.retain(|s| s.role != *role);
            }
            EventKind::Advanced {
                from,
                to,
                waived,
                reason,
                ..
            } => {
                if !waived.is_empty() {
                    self.waivers.insert(
                        from.clone(),
                        (waived.clone(), reason.clone().unwrap_or_default()),
                    );
                }
                self.enter(to, e.at);
            }
            EventKind::Held { reason } | EventKind::AutoHeld { reason, .. } => {
                self.hold = Some(Hold {
                    by: e.actor.clone(),
                    reason: reason.clone(),
                    at: e.at,
                });
            }
            EventKind::Resumed => {
                self.hold = None;
                self.resumed = Some((e.seq, e.at));
            }
            EventKind::ItemChecked { checklist, item } => {
                self.checked
                    .entry(checklist.clone())
                    .or_default()
                    .insert(item.clone());
            }
            EventKind::ItemUnchecked { checklist, item } => {
                if let Some(items) = self.checked.get_mut(checklist) {
                    items.remove(item);
                }
            }
            EventKind::Armed { .. } => self.disarmed = None,
            EventKind::Disarmed { reason } => {
                self.disarmed = Some((e.actor.clone(), reason.clone()))
            }
            EventKind::RollbackStarted {
                reason, triggers, ..
            } => {
                let retries = self.rolled_back.as_ref().map_or(0, |rb| rb.retries + 1);
                self.rolled_back = Some(RolledBack {
                    seq: e.seq,
                    at: e.at,
                    by: e.actor.clone(),
                    reason: reason.clone(),
                    auto: !triggers.is_empty(),
                    retries,
                    finished: None,
                });
            }
            EventKind::RollbackFinished {
                outcome, started, ..
            } => {
                // A late end of an earlier attempt (its runner was thought
                // lost, and a retry began) does not close the retry.
                if let Some(rb) = &mut self.rolled_back
                    && started.is_none_or(|s| s == rb.seq)
                {
                    rb.finished = Some(outcome.clone());
                }
            }
            EventKind::RollbackLost { started, runner } => {
                if let Some(rb) = &mut self.rolled_back
                    && rb.seq == *started
                    && rb.finished.is_none()
                {
                    rb.finished = Some(CommandOutcome {
                        command: Vec::new(),
                        ending: format!(
                            "outcome unknown: {runner} stopped without recording how the command ended"
                        ),
                        success: false,
                        took_ms: u64::try_from((e.at - rb.at).num_milliseconds()).unwrap_or(0),
                        output_tail: String::new(),
                    });
                }
            }
            EventKind::Started { phase } => self.enter(phase, e.at),
            EventKind::LayoutPinned {
                digest, path, text, ..
            } => {
                if self.creator.is_none() {
                    self.creator = Some(e.actor.clone());
                }
                self.pinned = Some(Pinned {
                    digest: digest.clone(),
                    path: path.clone(),
                    text: std::sync::Arc::from(text.as_str()),
                    by: e.actor.clone(),
                    at: e.at,
                    rules: Rules::parse(path, text),
                });
            }
            EventKind::TimeboxOverrun { phase, .. } if *phase == self.phase => {
                self.timebox_noted = true;
            }
            EventKind::Reopened { phase, .. } => {
                self.rolled_back = None;
                self.epoch += 1;
                self.hold = None;
                self.enter(phase, e.at);
            }
            EventKind::SignedOff { .. }
            | EventKind::SignoffStale { .. }
            | EventKind::Revoked { .. }
            | EventKind::TimeboxOverrun { .. }
            | EventKind::Noted { .. }
            | EventKind::OnEnterRan { .. }
            | EventKind::LayoutReloaded { .. }
            | EventKind::Refused { .. } => {}
        }
    }

    fn enter(&mut self, phase: &str, at: DateTime<Utc>) {
        self.phase = phase.to_string();
        self.phase_entered = Some(at);
        self.signoffs.clear();
        self.timebox_noted = false;
    }

    pub fn replay<'a>(first_phase: &str, events: impl IntoIterator<Item = &'a Event>) -> State {
        let mut s = State::new(first_phase);
        for e in events {
            s.apply(e);
        }
        s
    }

    pub fn signed(&self, role: &str) -> Option<&SignOff> {
        self.signoffs.iter().find(|s| s.role == role)
    }

    /// Marks sign-off `seq` stale from evidence judged here, before (or
    /// without) a journal record of it. Only ever takes a sign-off out of
    /// the count, never puts one back: re-signing does that, in the fold.
    pub fn note_stale(&mut self, seq: i64, why: Staleness) {
        if let Some(s) = self
            .signoffs
            .iter_mut()
            .find(|s| s.seq == seq && s.stale.is_none())
        {
            s.stale = Some(why);
        }
    }

    pub fn is_checked(&self, checklist: &str, item: &str) -> bool {
        self.checked
            .get(checklist)
            .is_some_and(|items| items.contains(item))
    }
}

/// ` (cause: …)` for the end of a rollback that recorded its cause.
fn cause_note(cause: Option<&str>) -> String {
    cause.map_or_else(String::new, |c| format!(" (cause: {c})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ev(seq: i64, actor: &str, kind: EventKind) -> Event {
        Event {
            seq,
            at: Utc.with_ymd_and_hms(2026, 2, 5, 14, 0, 0).unwrap()
                + chrono::Duration::minutes(seq),
            actor: actor.into(),
            kind,
            gates: Vec::new(),
        }
    }

    #[test]
    fn signoffs_belong_to_the_phase_they_were_given_in() {
        let events = [
            ev(
                1,
                "alice",
                EventKind::SignedOff {
                    phase: "pre".into(),
                    role: "cto".into(),
                    note: None,
                },
            ),
            ev(
                2,
                "bob",
                EventKind::SignedOff {
                    phase: "pre".into(),
                    role: "devops".into(),
                    note: None,
                },
            ),
            ev(
                3,
                "bob",
                EventKind::Revoked {
                    phase: "pre".into(),
                    role: "devops".into(),
                    note: None,
                },
            ),
        ];
        let s = State::replay("pre", &events);
        assert_eq!(s.signoffs.len(), 1);
        assert_eq!(s.signed("cto").map(|x| x.user.as_str()), Some("alice"));
        let mut s = s;
        s.apply(&ev(
            4,
            "alice",
            EventKind::Advanced {
                from: "pre".into(),
                to: "canary".into(),
                waived: vec!["q ≤ 5".into()],
                overridden: Vec::new(),
                reason: Some("known flake".into()),
            },
        ));
        assert_eq!(s.phase, "canary");
        assert!(
            s.signoffs.is_empty(),
            "sign-offs do not carry into the next phase"
        );
        assert_eq!(
            s.waivers["pre"],
            (vec!["q ≤ 5".to_string()], "known flake".to_string())
        );
        // A late sign-off for a phase already left changes nothing.
        s.apply(&ev(
            5,
            "bob",
            EventKind::SignedOff {
                phase: "pre".into(),
                role: "devops".into(),
                note: None,
            },
        ));
        assert!(s.signoffs.is_empty());
        assert_eq!(s.seq, 5);
    }

    #[test]
    fn holds_items_arming_rollback_and_reopen() {
        let mut s = State::new("pre");
        s.apply(&ev(
            1,
            "carol",
            EventKind::Held {
                reason: "waiting for DBA".into(),
            },
        ));
        assert_eq!(s.hold.as_ref().map(|h| h.by.as_str()), Some("carol"));
        s.apply(&ev(2, "carol", EventKind::Resumed));
        assert!(s.hold.is_none());
        s.apply(&ev(
            3,
            "bob",
            EventKind::ItemChecked {
                checklist: "pf".into(),
                item: "Dashboards".into(),
            },
        ));
        assert!(s.is_checked("pf", "Dashboards"));
        s.apply(&ev(
            4,
            "bob",
            EventKind::ItemUnchecked {
                checklist: "pf".into(),
                item: "Dashboards".into(),
            },
        ));
        assert!(!s.is_checked("pf", "Dashboards"));
        s.apply(&ev(
            5,
            "bob",
            EventKind::Disarmed {
                reason: "noisy metric".into(),
            },
        ));
        assert_eq!(s.disarmed, Some(("bob".into(), "noisy metric".into())));
        s.apply(&ev(
            6,
            "bob",
            EventKind::Armed {
                reason: "fixed".into(),
            },
        ));
        assert!(s.disarmed.is_none());
        s.apply(&ev(
            7,
            "gonogo",
            EventKind::RollbackStarted {
                reason: "errors".into(),
                triggers: vec!["err > 1%".into()],
                command: vec!["undo".into()],
                offline: None,
            },
        ));
        assert!(
            s.rolled_back
                .as_ref()
                .is_some_and(|r| r.auto && r.finished.is_none())
        );
        let outcome = CommandOutcome {
            command: vec!["undo".into()],
            ending: "exit status 0".into(),
            success: true,
            took_ms: 10,
            output_tail: "ok".into(),
        };
        s.apply(&ev(
            8,
            "gonogo",
            EventKind::RollbackFinished {
                outcome: outcome.clone(),
                started: None,
                cause: None,
                offline: None,
            },
        ));
        assert_eq!(
            s.rolled_back.as_ref().and_then(|r| r.finished.clone()),
            Some(outcome)
        );
        s.apply(&ev(
            9,
            "alice",
            EventKind::Reopened {
                phase: "pre".into(),
                reason: "fixed forward".into(),
            },
        ));
        assert!(s.rolled_back.is_none());
        assert_eq!(s.epoch, 1);
    }

    #[test]
    fn records_from_before_stale_sign_offs_still_read() {
        let old = r#"{"seq":4,"at":"2026-02-05T14:04:00Z","actor":"alice","type":"advanced","from":"pre","to":"canary","waived":["q"],"reason":"r","gates":[]}"#;
        let e: Event = serde_json::from_str(old).unwrap();
        assert!(matches!(&e.kind, EventKind::Advanced { overridden, .. } if overridden.is_empty()));
        let stale = ev(
            5,
            "alice (guard)",
            EventKind::SignoffStale {
                phase: "canary".into(),
                role: "cto".into(),
                signer: "alice".into(),
                signed: 3,
                gate: "err < 1%".into(),
                state: "NO-GO".into(),
                seen: Utc.with_ymd_and_hms(2026, 2, 5, 14, 9, 0).unwrap(),
            },
        );
        let text = serde_json::to_string(&stale).unwrap();
        assert!(text.contains("\"type\":\"signoff_stale\""), "{text}");
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), stale);
    }

    #[test]
    fn events_round_trip_through_json() {
        let e = ev(
            1,
            "alice",
            EventKind::Refused {
                attempted: "advance".into(),
                reason: "held by carol".into(),
            },
        );
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.contains("\"type\":\"refused\""), "{text}");
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
    }
}
