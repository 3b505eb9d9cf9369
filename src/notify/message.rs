//! The messages: what a notification says ([`Notification`], one
//! constructor per launch event) and how its text is made fit for one line
//! ([`clean`]), whichever path later carries it.

use std::time::Duration;

use crate::unit::format_seconds;

/// Longest title or body, in characters, after sanitising; longer text is
/// cut and ends in `…`.
pub const MAX_FIELD_CHARS: usize = 200;
/// Title used when the given one sanitises to nothing.
pub(super) const FALLBACK_TITLE: &str = "gonogo";

/// How loudly to notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Urgency {
    #[default]
    Normal,
    /// Stays on screen until dismissed, where the desktop supports it.
    Critical,
}

/// One notification. Title and body are plain text; they are sanitised on
/// the way out, so they may come from anywhere (gate reasons, signal names,
/// command output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
    pub urgency: Urgency,
}

impl Notification {
    pub fn new(title: impl Into<String>, body: impl Into<String>, urgency: Urgency) -> Self {
        Notification {
            title: title.into(),
            body: body.into(),
            urgency,
        }
    }

    /// A gate went from GO to NO-GO (or UNKNOWN): `gate` names it (and its
    /// condition), `reason` says why.
    pub fn gate_no_go(launch: &str, gate: &str, reason: &str) -> Self {
        let body = if reason.is_empty() {
            gate.to_owned()
        } else {
            format!("{gate}: {reason}")
        };
        Self::new(format!("{launch} — NO-GO"), body, Urgency::Critical)
    }

    /// Gates went from GO to BLOCKED behind one root cause: said once for
    /// the root (`api down (connection refused); 17 gates blocked`), not
    /// once for each gate.
    pub fn gates_blocked(launch: &str, root: &str, gates: usize) -> Self {
        Self::new(
            format!("{launch} — BLOCKED"),
            format!("{root}; {}", blocked_count(gates)),
            Urgency::Critical,
        )
    }

    /// An automatic-rollback trigger fired.
    pub fn trigger_fired(launch: &str, trigger: &str) -> Self {
        Self::new(
            format!("{launch} — rollback triggered"),
            trigger,
            Urgency::Critical,
        )
    }

    /// A `then = "hold"` trigger put the launch on hold: a person decides.
    pub fn hold_fired(launch: &str, trigger: &str) -> Self {
        Self::new(
            format!("{launch} — ON HOLD, waiting for you"),
            trigger,
            Urgency::Critical,
        )
    }

    /// A rollback finished: `ok` when the command exited 0; `detail` carries
    /// exit status, duration and the like.
    pub fn rollback_finished(launch: &str, ok: bool, detail: &str) -> Self {
        let what = if ok {
            "rollback finished"
        } else {
            "rollback FAILED"
        };
        Self::new(format!("{launch} — {what}"), detail, Urgency::Critical)
    }

    /// A phase is past its timebox by `over`.
    pub fn timebox_overrun(launch: &str, phase: &str, over: Duration) -> Self {
        let over = format_seconds(over);
        Self::new(
            format!("{launch} — timebox exceeded"),
            format!("{phase} is {over} over its timebox"),
            Urgency::Normal,
        )
    }

    /// The launch advanced from one phase to the next, with the waiver
    /// reason if gates were overridden.
    pub fn advanced(launch: &str, from: &str, to: &str, waiver: Option<&str>) -> Self {
        let body = match waiver {
            Some(reason) => format!("{from} → {to} (override: {reason})"),
            None => format!("{from} → {to}"),
        };
        Self::new(format!("{launch} — advanced"), body, Urgency::Normal)
    }

    /// A role signed off a phase.
    pub fn signed_off(launch: &str, phase: &str, role: &str, user: &str) -> Self {
        Self::new(
            format!("{launch} — sign-off"),
            format!("{user} signed off {phase} as {role}"),
            Urgency::Normal,
        )
    }

    /// A sign-off went STALE: its signer must sign again (or an override
    /// must name it) before the phase can be left.
    pub fn signoff_stale(launch: &str, phase: &str, role: &str, signer: &str, why: &str) -> Self {
        Self::new(
            format!("{launch} — sign-off STALE"),
            format!("{signer}: your {role} sign-off of {phase} is STALE ({why}); sign again"),
            Urgency::Critical,
        )
    }
}

/// `17 gates blocked`, `1 gate blocked`: the count every front end says.
pub fn blocked_count(gates: usize) -> String {
    if gates == 1 {
        "1 gate blocked".into()
    } else {
        format!("{gates} gates blocked")
    }
}

/// Plain text fit for one line of a notification: cleaned as everything
/// gonogo prints is ([`crate::text::clean`]: no escape sequence, control,
/// bidi or zero-width character, no secret), whitespace runs made single
/// spaces, and at most `max` characters, ending in `…` when cut.
pub(super) fn clean(s: &str, max: usize) -> String {
    let text = crate::text::clean(s);
    let mut out = String::new();
    let mut chars = 0usize;
    let mut space = false;
    let mut cut = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        let need = usize::from(space && chars > 0) + 1;
        if chars + need > max {
            cut = true;
            break;
        }
        if space && chars > 0 {
            out.push(' ');
            chars += 1;
        }
        space = false;
        out.push(c);
        chars += 1;
    }
    if cut && max > 0 {
        // Make room for the ellipsis.
        while chars >= max {
            out.pop();
            chars -= 1;
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Notification, Urgency, clean};

    #[test]
    fn clean_collapses_whitespace_and_drops_controls() {
        assert_eq!(clean("  a\t\nb\r\n  c  ", 200), "a b c");
        // Escape sequences go whole, C1 forms included (U+009B is CSI).
        assert_eq!(clean("x\x1b[31my\x07z\x7f\u{9b}1mw", 200), "xyzw");
        assert_eq!(clean("a\u{202E}b\u{200B}c", 200), "abc");
        assert_eq!(clean("a\u{85}b", 200), "ab");
        assert_eq!(clean("\x1b\x07\n", 200), "");
    }

    #[test]
    fn clean_caps_length_in_chars() {
        let long = "é".repeat(500);
        let c = clean(&long, 200);
        assert_eq!(c.chars().count(), 200);
        assert!(c.ends_with('…'));
        assert_eq!(clean("abc", 3), "abc");
        assert_eq!(clean("abcd", 3), "ab…");
        assert_eq!(clean("ab cd", 4), "ab…");
        assert_eq!(clean("abc", 0), "");
    }

    #[test]
    fn event_notifications() {
        let n = Notification::gate_no_go("Checkout", "error_rate below 0.1%", "2.3%");
        assert_eq!(n.title, "Checkout — NO-GO");
        assert_eq!(n.body, "error_rate below 0.1%: 2.3%");
        assert_eq!(n.urgency, Urgency::Critical);
        let n =
            Notification::timebox_overrun("Checkout", "Preflight", Duration::from_millis(90_500));
        assert_eq!(n.body, "Preflight is 1m30s over its timebox");
        assert_eq!(n.urgency, Urgency::Normal);
        let n = Notification::rollback_finished("Checkout", false, "exit 1 after 12s");
        assert_eq!(n.title, "Checkout — rollback FAILED");
        let n = Notification::gates_blocked("Checkout", "api down (connection refused)", 17);
        assert_eq!(n.title, "Checkout — BLOCKED");
        assert_eq!(n.body, "api down (connection refused); 17 gates blocked");
        let n = Notification::advanced("Checkout", "canary-10", "full", Some("known flake"));
        assert_eq!(n.body, "canary-10 → full (override: known flake)");
    }
}
