//! Signals: what one poll of a probe observed.
//!
//! A [`Sample`] is the whole truth about one poll: when it finished and what
//! came back. Failures are samples too ([`Outcome::Unknown`] with a one-line
//! reason), so the gate layer never has to guess what "no value" meant and
//! nothing is ever coerced to zero.

pub mod checklist;
pub mod command;
mod probe;

use std::time::Duration;

use chrono::{DateTime, Utc};

pub use checklist::{Checklist, ChecklistItem};
pub use probe::Prober;

/// Response bodies and command output beyond this are refused, not parsed.
pub const BODY_CAP: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// When the poll finished: the moment the value was true.
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A finite number in the signal's unit.
    Number(f64),
    /// A health answer: an HTTP check, or a command run for its exit status.
    Health {
        up: bool,
        /// Time to the answer; `None` when there was no answer.
        latency: Option<Duration>,
        /// `200 OK`, `status 503`, `connection refused`, `exit status 1`.
        detail: String,
    },
    Checklist(Checklist),
    /// No usable value, and why (one line).
    Unknown(String),
}

impl Outcome {
    /// A number from text, refusing NaN and infinities.
    pub fn number_from_text(text: &str) -> Outcome {
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Outcome::Number(v),
            Ok(v) => Outcome::Unknown(format!("value is {v}, not a usable number")),
            Err(_) => Outcome::Unknown(format!("not a number: {}", quote_short(text.trim()))),
        }
    }

    /// A finite number or the reason there is none.
    pub fn finite(v: f64) -> Outcome {
        if v.is_finite() {
            Outcome::Number(v)
        } else {
            Outcome::Unknown(format!("value is {v}, not a usable number"))
        }
    }
}

/// Quotes untrusted text for a one-line reason, cut to a readable length.
/// It is cleaned first ([`crate::text::clean`]): a secret is redacted
/// whole before the cut could leave half of it.
pub fn quote_short(s: &str) -> String {
    const MAX: usize = 60;
    let one_line = crate::text::clean(s);
    if one_line.chars().count() > MAX {
        let cut: String = one_line.chars().take(MAX).collect();
        format!("\"{cut}…\"")
    } else {
        format!("\"{one_line}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_text_refuse_nan_and_inf() {
        assert_eq!(Outcome::number_from_text(" 12.5\n"), Outcome::Number(12.5));
        assert!(
            matches!(Outcome::number_from_text("NaN"), Outcome::Unknown(r) if r.contains("NaN"))
        );
        assert!(
            matches!(Outcome::number_from_text("+Inf"), Outcome::Unknown(r) if r.contains("inf"))
        );
        assert!(
            matches!(Outcome::number_from_text("ok"), Outcome::Unknown(r) if r == "not a number: \"ok\"")
        );
    }

    #[test]
    fn reasons_stay_on_one_short_line() {
        let long = "x".repeat(500) + "\nsecond line";
        let q = quote_short(&long);
        assert!(q.chars().count() < 70);
        assert!(!q.contains('\n'));
    }
}
