//! Units of signal values, thresholds as written, and how values read.
//!
//! Thresholds compare exactly as the operator wrote them: `"99.8%"` on a
//! ratio signal must pass a value of 0.998. The written decimal is scaled
//! exactly (`rust_decimal`) and only then rounded once to the nearest `f64`,
//! which is the same `f64` a JSON or Prometheus value of `0.998` parses to.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::text::cut;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unit {
    /// 0..1, shown as a percentage.
    Ratio,
    /// 0..100.
    Percent,
    Ms,
    S,
    Count,
    Bytes,
    /// Days, as a certificate's time left: duration thresholds (`"14d"`)
    /// convert to it.
    Days,
    #[default]
    None,
}

impl Unit {
    pub const NAMES: [&'static str; 7] = ["ratio", "percent", "ms", "s", "count", "bytes", "days"];

    pub fn parse(s: &str) -> Option<Unit> {
        Some(match s {
            "ratio" => Unit::Ratio,
            "percent" => Unit::Percent,
            "ms" => Unit::Ms,
            "s" => Unit::S,
            "count" => Unit::Count,
            "bytes" => Unit::Bytes,
            "days" => Unit::Days,
            "" | "none" => Unit::None,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Unit::Ratio => "ratio",
            Unit::Percent => "percent",
            Unit::Ms => "ms",
            Unit::S => "s",
            Unit::Count => "count",
            Unit::Bytes => "bytes",
            Unit::Days => "days",
            Unit::None => "none",
        }
    }

    /// Formats a value of this unit for people.
    pub fn format(self, v: f64) -> String {
        if !v.is_finite() {
            return v.to_string();
        }
        match self {
            Unit::Ratio => format!("{}%", trim(v * 100.0, 3)),
            Unit::Percent => format!("{}%", trim(v, 3)),
            Unit::Ms => {
                if v.abs() >= 10_000.0 {
                    format!("{} s", trim(v / 1000.0, 1))
                } else {
                    format!("{} ms", trim(v, 1))
                }
            }
            Unit::S => format!("{} s", trim(v, 3)),
            Unit::Bytes => format_bytes(v),
            Unit::Days => format_days(v),
            Unit::Count | Unit::None => trim(v, 4),
        }
    }
}

/// A number with at most `places` decimals and no trailing zeros.
fn trim(v: f64, places: usize) -> String {
    let s = format!("{v:.places$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn format_bytes(v: f64) -> String {
    const STEPS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = v;
    let mut i = 0;
    while x.abs() >= 1024.0 && i < STEPS.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    format!("{} {}", trim(x, 1), STEPS[i])
}

/// Whole days toward zero (`41 days`, `-2 days`), so the figure shown
/// never claims more time than is left; under a day, hours (`5h`).
fn format_days(v: f64) -> String {
    if v.abs() < 1.0 {
        // `+ 0.0` turns -0 into 0: a minute short of expiry reads `0h`.
        return format!("{}h", trim((v * 24.0).trunc() + 0.0, 0));
    }
    let days = v.trunc();
    if days.abs() == 1.0 {
        format!("{} day", trim(days, 0))
    } else {
        format!("{} days", trim(days, 0))
    }
}

/// A threshold: the text the operator wrote and its value in the signal's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub text: String,
    pub value: f64,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a threshold did not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdError(pub String);

impl Threshold {
    /// A bare number: already in the signal's unit.
    pub fn from_number(text: &str) -> Result<Threshold, ThresholdError> {
        let value = exact_f64(
            Decimal::from_str(text)
                .or_else(|_| Decimal::from_scientific(text))
                .map_err(|_| ThresholdError(format!("`{}` is not a number", cut(text))))?,
        )?;
        Ok(Threshold {
            text: text.to_string(),
            value,
        })
    }

    /// A string with a unit (`"0.1%"`, `"500ms"`), converted to `unit`.
    pub fn from_text(text: &str, unit: Unit) -> Result<Threshold, ThresholdError> {
        let t = text.trim();
        if let Some(num) = t.strip_suffix('%') {
            let pct = Decimal::from_str(num.trim())
                .map_err(|_| ThresholdError(format!("`{}` is not a percentage", cut(text))))?;
            let value = match unit {
                Unit::Ratio => pct / Decimal::ONE_HUNDRED,
                Unit::Percent => pct,
                other => {
                    return Err(ThresholdError(format!(
                        "`{}` is a percentage, but the signal's unit is {}; percentages fit `ratio` or `percent` signals",
                        cut(text),
                        describe(other)
                    )));
                }
            };
            return Ok(Threshold {
                text: t.to_string(),
                value: exact_f64(value)?,
            });
        }
        if let Ok(d) = humantime::parse_duration(t) {
            // Exact for any duration humantime gives (up to 2^64 s): seconds
            // and nanoseconds apart, never a nanosecond count cut to 64 bits.
            let secs = Decimal::from(d.as_secs());
            let nanos = Decimal::from(d.subsec_nanos());
            let value = match unit {
                Unit::Ms => secs * Decimal::from(1_000u64) + nanos / Decimal::from(1_000_000u64),
                Unit::S => secs + nanos / Decimal::from(1_000_000_000u64),
                Unit::Days => {
                    (secs + nanos / Decimal::from(1_000_000_000u64)) / Decimal::from(86_400u64)
                }
                other => {
                    return Err(ThresholdError(format!(
                        "`{}` is a duration, but the signal's unit is {}; durations fit `ms`, `s` or `days` signals",
                        cut(text),
                        describe(other)
                    )));
                }
            };
            return Ok(Threshold {
                text: t.to_string(),
                value: exact_f64(value)?,
            });
        }
        if Decimal::from_str(t).is_ok() {
            return Threshold::from_number(t);
        }
        Err(ThresholdError(format!(
            "`{}` is neither a number, a percentage (\"0.1%\") nor a duration (\"500ms\")",
            cut(text)
        )))
    }
}

fn describe(unit: Unit) -> String {
    match unit {
        Unit::None => "not set".to_string(),
        u => format!("`{}`", u.name()),
    }
}

/// Rounds an exact decimal once, to the nearest f64 (via its decimal text,
/// which Rust parses with correct rounding).
fn exact_f64(d: Decimal) -> Result<f64, ThresholdError> {
    d.normalize()
        .to_string()
        .parse::<f64>()
        .map_err(|_| ThresholdError(format!("`{d}` is out of range")))
}

/// A duration for people, the one wording on screen, in the CLI and in the
/// record: `450ms` under a second, then whole units (`12s`, `4m32s`, `3h`,
/// `1h05m`).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if d.is_zero() {
        return "0s".to_string();
    }
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// [`format_duration`] to the whole second, for ages, windows and time
/// left, where milliseconds are noise: `0s`, not `450ms`.
pub fn format_seconds(d: Duration) -> String {
    format_duration(Duration::from_secs(d.as_secs()))
}

/// How long a run took, to the tenth of a second while that matters:
/// `450ms`, `2.5s`, then as [`format_duration`] (`12s`, `1m05s`).
pub fn format_elapsed(d: Duration) -> String {
    if d >= Duration::from_secs(1) && d < Duration::from_secs(10) {
        return format!("{:.1}s", d.as_secs_f64());
    }
    format_duration(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_boundaries_are_exact() {
        let t = Threshold::from_text("99.8%", Unit::Ratio).unwrap();
        assert_eq!(t.value, "0.998".parse::<f64>().unwrap());
        let t = Threshold::from_text("0.1%", Unit::Ratio).unwrap();
        assert_eq!(t.value, 0.001);
        let t = Threshold::from_text("1.1%", Unit::Ratio).unwrap();
        assert_eq!(t.value, 0.011);
        assert_ne!(1.1 / 100.0, 0.011, "naive division would miss the boundary");
    }

    #[test]
    fn durations_convert_to_the_signal_unit() {
        assert_eq!(
            Threshold::from_text("500ms", Unit::Ms).unwrap().value,
            500.0
        );
        assert_eq!(Threshold::from_text("2s", Unit::Ms).unwrap().value, 2000.0);
        assert_eq!(Threshold::from_text("500ms", Unit::S).unwrap().value, 0.5);
        assert_eq!(
            Threshold::from_text("1h30m", Unit::S).unwrap().value,
            5400.0
        );
        assert_eq!(Threshold::from_text("14d", Unit::Days).unwrap().value, 14.0);
        assert_eq!(Threshold::from_text("36h", Unit::Days).unwrap().value, 1.5);
        assert_eq!(Threshold::from_text("14", Unit::Days).unwrap().value, 14.0);
    }

    #[test]
    fn days_never_read_longer_than_they_are() {
        assert_eq!(Unit::Days.format(41.9), "41 days");
        assert_eq!(Unit::Days.format(1.2), "1 day");
        assert_eq!(Unit::Days.format(0.25), "6h");
        assert_eq!(Unit::Days.format(-2.5), "-2 days");
        assert!(Threshold::from_text("5%", Unit::Days).is_err());
    }

    #[test]
    fn units_that_do_not_fit_are_refused() {
        let e = Threshold::from_text("500ms", Unit::Ratio).unwrap_err();
        assert!(e.0.contains("durations fit `ms`, `s` or `days`"), "{}", e.0);
        let e = Threshold::from_text("5%", Unit::Count).unwrap_err();
        assert!(e.0.contains("percentages fit"), "{}", e.0);
        assert!(Threshold::from_text("fast", Unit::Ms).is_err());
    }

    #[test]
    fn values_read_naturally() {
        assert_eq!(Unit::Ratio.format(0.0012), "0.12%");
        assert_eq!(Unit::Ms.format(412.0), "412 ms");
        assert_eq!(Unit::Ms.format(12_500.0), "12.5 s");
        assert_eq!(Unit::Bytes.format(1536.0), "1.5 KiB");
        assert_eq!(Unit::Count.format(42.0), "42");
        assert_eq!(format_duration(Duration::from_secs(272)), "4m32s");
        assert_eq!(format_duration(Duration::from_secs(3 * 3600)), "3h");
    }

    #[test]
    fn durations_read_alike_at_every_precision() {
        assert_eq!(format_duration(Duration::from_millis(450)), "450ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_seconds(Duration::from_millis(450)), "0s");
        assert_eq!(format_seconds(Duration::from_millis(90_500)), "1m30s");
        assert_eq!(format_elapsed(Duration::from_millis(450)), "450ms");
        assert_eq!(format_elapsed(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_elapsed(Duration::from_millis(9_999)), "10.0s");
        assert_eq!(format_elapsed(Duration::from_millis(12_400)), "12s");
        assert_eq!(format_elapsed(Duration::from_secs(65)), "1m05s");
    }
}
