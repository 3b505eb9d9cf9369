//! Signals: what one poll of a probe observed.
//!
//! A [`Sample`] is the whole truth about one poll: when it finished and what
//! came back. Failures are samples too ([`Outcome::Unknown`] with a one-line
//! reason), so the gate layer never has to guess what "no value" meant and
//! nothing is ever coerced to zero.

pub mod checklist;
pub mod command;
mod dns;
mod probe;
mod tcp;
pub(crate) mod tls;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::unit::Unit;

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
    /// A string value (a JSON string such as Spring Boot's `"UP"`),
    /// exactly as sent: never read as a number.
    Text(String),
    /// A TLS handshake: whether the certificate was accepted (chain, name,
    /// dates) and how long its leaf has left.
    Certificate {
        up: bool,
        /// Days until the leaf expires (negative once expired); `None`
        /// when no certificate was seen (no connection, no handshake).
        days: Option<f64>,
        /// `valid until 2027-01-12`, `expired 2 days ago`,
        /// `name mismatch: got *.old.example.com`, `connection refused`.
        detail: String,
    },
    /// A DNS answer set, sorted and canonical (addresses as parsed and
    /// printed back, names lower-case without the trailing dot). Empty for
    /// NXDOMAIN or no records of the type: that is an answer too.
    Answers {
        records: Vec<String>,
        /// Why the set is empty (`NXDOMAIN`, `no A records`); empty otherwise.
        detail: String,
    },
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

    /// The value as people read it, in the signals pane and wherever a
    /// sample is shown whole: `412 ms`, `"UP"`, `41 days`,
    /// `203.0.113.7, 203.0.113.8`, `down (connection refused)`.
    pub fn display(&self, unit: Unit) -> String {
        let word = |up: bool| if up { "up" } else { "down" };
        match self {
            Outcome::Number(v) => unit.format(*v),
            Outcome::Health { up, detail, .. } => format!("{} ({detail})", word(*up)),
            Outcome::Checklist(c) => format!("{}/{} done", c.done(), c.total()),
            Outcome::Text(s) => quote_short(s),
            Outcome::Certificate {
                up: true,
                days: Some(d),
                ..
            } => Unit::Days.format(*d),
            Outcome::Certificate { up, detail, .. } => format!("{} ({detail})", word(*up)),
            Outcome::Answers { records, detail } => answer_set(records, detail),
            Outcome::Unknown(r) => format!("? {r}"),
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

/// An answer set for people: `203.0.113.7, 203.0.113.8`, or why it is
/// empty (`NXDOMAIN`).
pub fn answer_set(records: &[String], detail: &str) -> String {
    match (records.is_empty(), detail.is_empty()) {
        (false, _) => records.join(", "),
        (true, false) => detail.to_string(),
        (true, true) => "no records".to_string(),
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
    fn values_read_as_an_operator_says_them() {
        let cert = |up, days, detail: &str| Outcome::Certificate {
            up,
            days,
            detail: detail.into(),
        };
        let cases = [
            (Outcome::Text("UP".into()), Unit::None, "\"UP\""),
            (
                cert(true, Some(41.7), "valid until 2027-01-12 00:00 UTC"),
                Unit::Days,
                "41 days",
            ),
            (
                cert(false, Some(-2.2), "expired 2 days ago"),
                Unit::Days,
                "down (expired 2 days ago)",
            ),
            (
                Outcome::Answers {
                    records: vec!["203.0.113.7".into(), "203.0.113.8".into()],
                    detail: String::new(),
                },
                Unit::None,
                "203.0.113.7, 203.0.113.8",
            ),
            (
                Outcome::Answers {
                    records: vec![],
                    detail: "NXDOMAIN".into(),
                },
                Unit::None,
                "NXDOMAIN",
            ),
            (Outcome::Number(412.0), Unit::Ms, "412 ms"),
        ];
        for (outcome, unit, want) in cases {
            assert_eq!(outcome.display(unit), want, "{outcome:?}");
        }
    }

    #[test]
    fn reasons_stay_on_one_short_line() {
        let long = "x".repeat(500) + "\nsecond line";
        let q = quote_short(&long);
        assert!(q.chars().count() < 70);
        assert!(!q.contains('\n'));
    }
}
