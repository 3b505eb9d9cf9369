//! No layout input panics or hangs gonogo (SPEC §6): every duration is
//! bounded when the layout is read, every value an error quotes is cut,
//! and validation stays linear with thousands of ids.
//!
//! The fuzzer (`layout_fuzz.rs`) looks for what breaks; these pin
//! the rules down one by one, with the messages operators read.

use std::path::Path;
use std::time::Duration;

use gonogo::layout::{self, Diagnostic, Layout};

fn parse(text: &str) -> Result<Layout, Vec<Diagnostic>> {
    layout::parse(Path::new("launch.toml"), text).map_err(|d| d.0)
}

/// A layout with one http signal, one phase and a rollback, with `signal`,
/// `phase`, `gate`, `rollback` and `trigger` lines added where they go.
fn layout_with(signal: &str, phase: &str, gate: &str, rollback: &str, trigger: &str) -> String {
    format!(
        r#"[launch]
name = "Bounds"

[signals.api]
kind = "http"
url = "http://127.0.0.1:1/healthz"
{signal}

[[phases]]
id = "canary"
{phase}
gates = [{{ signal = "api", up = true{gate} }}]

[rollback]
run = ["true"]
auto_from = "canary"
{rollback}
triggers = [{{ signal = "api", up = false{trigger} }}]
"#
    )
}

/// Where the duration key goes, for each one the layout has.
fn with_duration(key: &str, value: &str) -> String {
    let line = format!("{key} = \"{value}\"");
    match key {
        "every" | "timeout" | "stale_after" => layout_with(&line, "", "", "", ""),
        "soak" | "timebox" => layout_with("", &line, "", "", ""),
        "gate for" => layout_with("", "", &format!(", for = \"{value}\""), "", ""),
        "trigger for" => layout_with("", "", "", "", &format!(", for = \"{value}\"")),
        "rollback timeout" => layout_with("", "", "", &format!("timeout = \"{value}\""), ""),
        other => panic!("no place for {other}"),
    }
}

/// Every duration key: where it goes, its name, the most it accepts.
const BOUNDS: [(&str, &str, &str); 8] = [
    ("every", "every", "24h"),
    ("timeout", "timeout", "24h"),
    ("rollback timeout", "timeout", "24h"),
    ("stale_after", "stale_after", "365d"),
    ("gate for", "for", "365d"),
    ("trigger for", "for", "365d"),
    ("soak", "soak", "365d"),
    ("timebox", "timebox", "365d"),
];

#[test]
fn every_duration_is_bounded_with_its_key_limit_and_value() {
    for (place, key, max) in BOUNDS {
        // The bound itself is accepted.
        let at_max = with_duration(place, max);
        if let Err(e) = parse(&at_max) {
            panic!("{place} = {max} must be accepted: {e:?}");
        }
        // Just past it, and past what `Duration` and chrono can hold.
        let past = if max == "24h" { "25h" } else { "366d" };
        for too_long in [past, "18446744073709551615s", "584942417y"] {
            let text = with_duration(place, too_long);
            let errors = parse(&text).expect_err(&format!("{place} = {too_long}"));
            assert_eq!(errors.len(), 1, "{place} = {too_long}: {errors:?}");
            let e = &errors[0];
            assert_eq!(
                e.message,
                format!("`{key}` must be at most {max}, found `{too_long}`"),
                "{place}"
            );
            // Located at the value: its line holds it, the column points at it.
            let line = text.lines().nth(e.line - 1).unwrap();
            let at: String = line.chars().skip(e.col - 1).collect();
            assert!(
                at.starts_with(&format!("\"{too_long}\"")),
                "{place}: {e} points at `{at}`"
            );
        }
        // A number too large to count at all is named the same way.
        let overflow = with_duration(place, "99999999999999999999h");
        let errors = parse(&overflow).expect_err(place);
        assert!(
            errors[0].message.starts_with(&format!(
                "`{key}` must be at most {max}, found `99999999999999999999h`"
            )),
            "{place}: {}",
            errors[0]
        );
    }
}

#[test]
fn zero_and_too_fast_durations_are_refused() {
    for (place, key, _) in BOUNDS {
        for zero in ["0s", "0ms", "0ns"] {
            let errors = parse(&with_duration(place, zero)).expect_err(place);
            assert_eq!(
                errors[0].message,
                format!("`{key}` must be longer than zero"),
                "{place} = {zero}"
            );
        }
    }
    let errors = parse(&with_duration("every", "1ns")).expect_err("every = 1ns");
    assert_eq!(
        errors[0].message,
        "`every` must be at least 100ms, found `1ns`"
    );
    let errors = parse(&with_duration("gate for", "0.5ns")).expect_err("for = 0.5ns");
    assert_eq!(
        errors[0].message,
        "`for` cannot be finer than 1ns, found `0.5ns`"
    );
    let l = parse(&with_duration("every", "100ms")).expect("every = 100ms is fine");
    assert_eq!(l.signals[0].every, Duration::from_millis(100));
}

/// The sums the engine makes from a layout stay far inside every clock
/// type when every duration is at its bound.
#[test]
fn durations_at_their_bounds_keep_the_engine_sums_small() {
    let text = layout_with(
        "every = \"24h\"\ntimeout = \"24h\"\nstale_after = \"365d\"",
        "soak = \"365d\"\ntimebox = \"365d\"",
        ", for = \"365d\"",
        "timeout = \"24h\"",
        ", for = \"365d\"",
    );
    let l = parse(&text).expect("all at their bounds");
    let span = gonogo::engine::evidence_span(&l);
    assert_eq!(span, Duration::from_secs((365 + 365 + 1) * 24 * 3600));
    let since = chrono::Utc::now() - chrono::Duration::from_std(span).unwrap();
    assert!(since < chrono::Utc::now());
    let _ = gonogo::engine::Board::new(&l);
    let _ = std::time::Instant::now() + span + l.signals[0].every * 3;
}

#[test]
fn huge_values_are_cut_in_error_messages() {
    // Not a valid id, unit, URL or duration anywhere.
    let huge = format!("{}!", "x".repeat(1_000_000));
    let base = |launch: &str, signal: &str, phase: &str| {
        format!(
            "[launch]\nname = \"Cut\"\n{launch}\n[signals.api]\nkind = \"http\"\n{signal}\n\n[[phases]]\nid = \"canary\"\n{phase}\n"
        )
    };
    let url = "url = \"http://127.0.0.1:1/\"";
    // One megabyte-long value in each place an error quotes one.
    let layouts = [
        base(&format!("id = \"{huge}\""), url, ""),
        base("", &format!("{url}\nunit = \"{huge}\""), ""),
        base("", &format!("url = \"{huge}\""), ""),
        base("", &format!("url = \"{huge}://host/\""), ""),
        base("", &format!("url = \"http{huge}://host/\""), ""),
        base("", &format!("{url}\nevery = \"{huge}\""), ""),
        base("", &format!("{url}\nevery = \"1{huge}\""), ""),
        base("", &format!("{url}\n\"{huge}\" = 1"), ""),
        base(
            "",
            url,
            &format!("gates = [{{ signal = \"{huge}\", up = true }}]"),
        ),
        base(
            "",
            url,
            &format!("gates = [{{ signal = \"api\", below = \"{huge}\" }}]"),
        ),
        base(
            "[roles]\ncto = [\"alice\"]",
            url,
            &format!("signoff = [\"{huge}\"]"),
        ),
        base("", url, &format!("\n[[phases]]\nid = \"{huge}\"")),
        format!(
            "{}\n[signals.\"{huge}\"]\nkind = \"http\"\n{url}\n",
            base("", url, "")
        ),
        format!(
            "{}\n[screen]\nrows = [{{ panes = [\"chart:{huge}\"] }}]\n",
            base("", url, "")
        ),
    ];
    for (i, text) in layouts.iter().enumerate() {
        let Err(errors) = parse(text) else {
            panic!("layout {i} was accepted");
        };
        assert!(!errors.is_empty());
        for e in &errors {
            let line = e.to_string();
            assert!(
                line.chars().count() < 400,
                "one short line, not the 1 MB value: {}…",
                line.chars().take(200).collect::<String>()
            );
            assert!(!line.contains('\n'), "{line}");
            assert!(line.contains("xxx…"), "the value shows, cut: {line}");
        }
    }
}

/// Thousands of copies of one mistake: each is found, the first 500 are
/// shown in file order, and one last line says how many more there are.
#[test]
fn thousands_of_duplicate_ids_are_reported_in_bounded_output() {
    let mut text = String::from(
        "[launch]\nname = \"dups\"\n[signals.api]\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\n",
    );
    for _ in 0..5_000 {
        text.push_str("[[phases]]\nid = \"canary\"\ngates = [{ signal = \"api\", up = true }]\n");
    }
    let errors = parse(&text).expect_err("duplicates");
    assert_eq!(errors.len(), 501, "500 shown and one line for the rest");
    for pair in errors.windows(2) {
        assert!((pair[0].line, pair[0].col) <= (pair[1].line, pair[1].col));
    }
    // The first duplicate is the second phase's id, on line 10.
    assert_eq!(
        errors[0].to_string(),
        "launch.toml:10:6: duplicate phase id `canary` (first used on line 7; phase ids must be unique)"
    );
    let last = errors.last().unwrap();
    assert_eq!(last.message, "4499 more errors from here on, not shown");
    assert_eq!(last.line, errors[499].line + 3, "at the next duplicate");
}

/// With thousands of signals and thousands of gates naming unknown ones,
/// every gate is reported; suggestions are made while their budget lasts.
#[test]
fn thousands_of_unknown_signals_are_all_reported() {
    let mut text = String::from("[launch]\nname = \"unknown\"\n");
    for i in 0..3_000 {
        text.push_str(&format!(
            "[signals.sig_{i}]\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\n"
        ));
    }
    text.push_str("[[phases]]\nid = \"canary\"\ngates = [\n");
    for i in 0..3_000 {
        text.push_str(&format!("  {{ signal = \"sgi_{i}\", up = true }},\n"));
    }
    text.push_str("]\n");
    let errors = parse(&text).expect_err("unknown signals");
    assert_eq!(errors.len(), 501);
    assert!(
        errors[0].to_string().contains("unknown signal `sgi_0`"),
        "{}",
        errors[0]
    );
}

#[test]
fn an_oversized_layout_is_refused_in_one_line() {
    let text = format!(
        "[launch]\nname = \"big\"\n# {}\n",
        "x".repeat(4 * 1024 * 1024)
    );
    let errors = parse(&text).expect_err("too big");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        format!(
            "launch.toml:1:1: the layout is {} KiB; a layout is at most 4096 KiB",
            text.len() / 1024
        )
    );
}

/// A duration threshold beyond 584 years (2^64 ns) is converted exactly,
/// not wrapped around to a small number.
#[test]
fn duration_thresholds_do_not_wrap_around() {
    let text = r#"[launch]
name = "Thresholds"

[signals.lag]
kind = "json"
url = "http://127.0.0.1:1/lag"
path = "$.lag"
unit = "s"

[[phases]]
id = "canary"
gates = [{ signal = "lag", below = "1000y" }]
"#;
    let l = parse(text).expect("valid");
    let gonogo::layout::Condition::Below(t) = &l.phases[0].gates[0].condition else {
        panic!("below");
    };
    // humantime's year is 365.25 days.
    assert_eq!(t.value, 1000.0 * 365.25 * 86_400.0);
}
