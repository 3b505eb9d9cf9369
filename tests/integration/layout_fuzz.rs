//! Deterministic mutation fuzzing of the layout layer: no layout input
//! panics gonogo (SPEC §6).
//!
//! Every shipped layout, every bad layout and every input that once broke
//! gonogo (`tests/fuzz_corpus/`) is mutated thousands of times (bytes and
//! lines deleted, inserted and duplicated, truncation, swapped quotes and
//! brackets, unicode, plausible-but-wrong keys, and durations pushed to
//! their extremes) and handed to `gonogo::layout::parse`. Whatever the
//! input, the validator must not panic, must explain every refusal, and
//! every diagnostic must point inside the file, on one line of bounded
//! length. Every input it accepts is then handed to what consumes a layout
//! and used to panic on one: the board, the evidence span, every gate and
//! trigger judged on an empty board and on one sample, now and at the end
//! of time, the timebox and soak checks, and the clock arithmetic the
//! engine and the CLI do with the layout's durations.
//!
//! The seed is fixed, so a failure reproduces; it prints the seed and the
//! mutated text. Add what it finds to `tests/fuzz_corpus/`, which
//! `corpus_inputs_that_once_broke_gonogo_stay_fixed` replays on every run.
//!
//! To search harder, once: `FUZZ_SEED=123 FUZZ_CASES=5000 cargo test --test
//! integration layout_fuzz:: -- --nocapture` (the default run stays fixed
//! and bounded: a few thousand cases, cut off after `FUZZ_SECS`, default
//! 25, on a slow machine).

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use gonogo::act::{self, Act, Desk};
use gonogo::engine::{self, Board};
use gonogo::guard;
use gonogo::launch::State;
use gonogo::layout::{self, Diagnostic, Layout, Probe};
use gonogo::signal::{Checklist, Outcome, Sample};

const SEED: u64 = 0x6f6e_676f_2d66_757a;
/// Mutated inputs per source file (each with 1–4 mutations stacked).
const CASES_PER_FILE: usize = 200;

/// Snippets that reach deeper than random bytes: keys and values the
/// validator knows, often in the wrong place or with the wrong type.
const FRAGMENTS: &[&str] = &[
    "kind = \"json\"",
    "kind = \"checklist\"",
    "kind = \"command\"",
    "kind = \"prometheus\"",
    "kind = \"tcp\"",
    "kind = \"tls\"",
    "kind = \"dns\"",
    "address = \"[::1\"",
    "address = \"host:99999\"",
    "address = \":\"",
    "server_name = \"\"",
    "type = \"cname\"",
    "server = \"[::1]:\"",
    "name = \"..\"",
    "unit = \"days\"",
    "gates = [{ signal = \"api\", one_of = [] }]",
    "gates = [{ signal = \"api\", resolves_to = [\"::ffff:1.2.3.4\", \"\"] }]",
    "gates = [{ signal = \"api\", equals = \"UP\", for = \"1m\" }]",
    "gates = [{ signal = \"api\", at_least = \"14d\" }]",
    "unit = \"ratio\"",
    "unit = \"ms\"",
    "path = \"$.a[\"",
    "path = \"$..x\"",
    "url = \"${X\"",
    "url = \"ftp://x\"",
    "url = \"http://[::1\"",
    "items = []",
    "run = []",
    "run = [\"\"]",
    "expect_status = [99999999999999999999]",
    "expect_status = []",
    "quorum = 0",
    "quorum = -1",
    "quorum = 0x7fffffffffffffff",
    "every = \"0s\"",
    "every = \"99999999999999999999h\"",
    "every = \"18446744073709551615s\"",
    "stale_after = \"18446744073709551615s\"",
    "timeout = \"584942417355y\"",
    "soak = \"18446744073709551615s\"",
    "timebox = \"300000y\"",
    "every = \"1ns\"",
    "every = 1.5",
    "t0 = 2026-02-05T14:00:00",
    "t0 = 14:00:00",
    "t0 = \"2026-02-05T14:00:00+25:00\"",
    "auto_from = \"\"",
    "signoff = [\"cto\", \"cto\"]",
    "gates = [{ signal = \"api\" }]",
    "gates = [{ signal = \"api\", below = nan }]",
    "gates = [{ signal = \"api\", below = inf }]",
    "gates = [{ signal = \"api\", below = \"1e400\" }]",
    "gates = [{ signal = \"api\", equals = \"-0%\" }]",
    "gates = [1, \"x\", []]",
    "triggers = [{ signal = \"api\", up = false, for = \"1m\" }]",
    "rows = [{ height = 0, panes = [\"chart:\"] }]",
    "rows = [{ panes = [\"checklist:api\", \":\", \"chart:chart:\"] }]",
    "headers = { \"bad header\" = \"x\", X = \"${}\" }",
    "[signals]",
    "[signals.\"\"]",
    "[signals.\"a b\"]",
    "[[phases]]",
    "[rollback]",
    "[screen]",
    "[roles]\nx = []",
    "[launch]",
    "name = \"\"",
    "id = \"../../etc\"",
    "\"\"\"\n",
    "'''",
    "\"\\u{1b}[31m\"",
    "x = \"\\n\"",
];

/// Characters that break structure or stress columns.
const CHARS: &[char] = &[
    '[', ']', '{', '}', '"', '\'', '=', ',', '.', '#', '\n', '\r', '\t', ' ', '\\', '$', ':', '%',
    '-', '0', '9', 'a', 'é', '名', '🚀', '\u{200b}', '\u{feff}', '\u{0}', '\u{7f}', '\u{2028}',
    '\u{301}',
];

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn toml_files(dir: &str) -> Vec<(PathBuf, String)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(manifest().join(dir))
        .unwrap_or_else(|e| panic!("read {dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read layout");
            (p, text)
        })
        .collect()
}

fn corpus() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for dir in ["layouts", "tests/bad_layouts", "tests/fuzz_corpus"] {
        files.extend(toml_files(dir));
    }
    assert!(files.len() > 10, "corpus too small: {}", files.len());
    files
}

/// Durations at and past every edge: zero, below a nanosecond, the bounds
/// and just past them, and the values that overflowed `Duration`,
/// chrono's `TimeDelta`, `DateTime` and `Instant` arithmetic.
const DURATIONS: &[&str] = &[
    "18446744073709551615s",
    "18446744073709551615s 999999999ns",
    "584942417355y",
    "9223372036854775807ms",
    "106751991167d",
    "10000000000000000s",
    "300000y",
    "1000y",
    "366d",
    "365d",
    "25h",
    "24h",
    "0s",
    "0ms",
    "1ns",
    "0.5ns",
    "99ms",
    "100ms",
    "1.5h",
    "5m",
];

/// Durations at or just inside the bounds (24h for polls and commands,
/// 365d for spans), where sums are largest on a layout that is accepted.
const DURATIONS_INSIDE: &[&str] = &["24h", "23h59m59s", "365d", "364d 23h", "100ms", "1.5h"];

/// Which duration keys fit after which table header.
const DURATION_KEYS: &[(&str, &[&str])] = &[
    ("[signals.", &["every", "timeout", "stale_after"]),
    ("[[phases]]", &["soak", "timebox"]),
    ("[rollback]", &["timeout"]),
];

/// Sets a duration to an extreme: an existing one (any of the keys), or a
/// new key after a table header, or a `for` window in an inline gate.
fn extreme_duration(rng: &mut fastrand::Rng, text: &str) -> String {
    let value = if rng.bool() {
        DURATIONS[rng.usize(..DURATIONS.len())]
    } else {
        DURATIONS_INSIDE[rng.usize(..DURATIONS_INSIDE.len())]
    };
    let mut spots = Vec::new();
    for key in ["every", "timeout", "stale_after", "for", "soak", "timebox"] {
        let pattern = format!("{key} = \"");
        for (i, _) in text.match_indices(&pattern) {
            let start = i + pattern.len();
            if let Some(len) = text[start..].find('"') {
                spots.push(start..start + len);
            }
        }
    }
    match rng.u8(..3) {
        0 if !spots.is_empty() => {
            let spot = spots[rng.usize(..spots.len())].clone();
            format!("{}{value}{}", &text[..spot.start], &text[spot.end..])
        }
        1 => {
            // `, for = "…"` into an inline gate or trigger.
            let gates: Vec<usize> = text.match_indices("{ signal = ").map(|(i, _)| i).collect();
            if gates.is_empty() {
                return text.to_string();
            }
            let at = gates[rng.usize(..gates.len())];
            match text[at..].find('}') {
                Some(end) => format!(
                    "{}, for = \"{value}\" {}",
                    &text[..at + end],
                    &text[at + end..]
                ),
                None => text.to_string(),
            }
        }
        _ => {
            let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
            let headers: Vec<(usize, &[&str])> = lines
                .iter()
                .enumerate()
                .filter_map(|(i, l)| {
                    DURATION_KEYS
                        .iter()
                        .find(|(h, _)| l.trim_start().starts_with(h))
                        .map(|(_, keys)| (i, *keys))
                })
                .collect();
            if headers.is_empty() {
                return text.to_string();
            }
            let (line, keys) = headers[rng.usize(..headers.len())];
            let key = keys[rng.usize(..keys.len())];
            lines.insert(line + 1, format!("{key} = \"{value}\""));
            lines.join("\n")
        }
    }
}

/// A random char index range within `chars`.
fn range(rng: &mut fastrand::Rng, len: usize, max: usize) -> (usize, usize) {
    if len == 0 {
        return (0, 0);
    }
    let start = rng.usize(..len);
    let end = (start + rng.usize(1..=max)).min(len);
    (start, end)
}

fn mutate(rng: &mut fastrand::Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let len = chars.len();
    match rng.u8(..14) {
        // Delete a few characters.
        0 => {
            let (a, b) = range(rng, len, 8);
            chars.drain(a..b);
        }
        // Insert structural or unicode characters.
        1 => {
            let at = rng.usize(..=len);
            let n = rng.usize(1..=4);
            for _ in 0..n {
                chars.insert(at, CHARS[rng.usize(..CHARS.len())]);
            }
        }
        // Duplicate a run of characters.
        2 => {
            let (a, b) = range(rng, len, 24);
            let copy: Vec<char> = chars[a..b].to_vec();
            let at = rng.usize(..=chars.len());
            chars.splice(at..at, copy);
        }
        // Truncate.
        3 => chars.truncate(rng.usize(..=len)),
        // Swap a quote or bracket for its look-alike.
        4 => {
            let spots: Vec<usize> = (0..len).filter(|&i| "\"'[]{}".contains(chars[i])).collect();
            if !spots.is_empty() {
                let i = spots[rng.usize(..spots.len())];
                chars[i] = match chars[i] {
                    '"' => '\'',
                    '\'' => '"',
                    '[' => '{',
                    '{' => '[',
                    ']' => '}',
                    _ => ']',
                };
            }
        }
        // Replace one character with a multi-byte one (columns vs bytes).
        5 => {
            if len > 0 {
                let i = rng.usize(..len);
                chars[i] = ['é', '🚀', '名', '\u{301}'][rng.usize(..4)];
            }
        }
        // Line operations.
        6..=9 => {
            let mut lines: Vec<String> = chars
                .iter()
                .collect::<String>()
                .split('\n')
                .map(str::to_string)
                .collect();
            let n = lines.len();
            match rng.u8(..4) {
                0 => {
                    lines.remove(rng.usize(..n));
                }
                1 => {
                    let line = lines[rng.usize(..n)].clone();
                    lines.insert(rng.usize(..=n), line);
                }
                2 => {
                    let (a, b) = (rng.usize(..n), rng.usize(..n));
                    lines.swap(a, b);
                }
                _ => {
                    let fragment = FRAGMENTS[rng.usize(..FRAGMENTS.len())];
                    lines.insert(rng.usize(..=n), fragment.to_string());
                }
            }
            return lines.join("\n");
        }
        // Change a number.
        10 => {
            let digits: Vec<usize> = (0..len).filter(|&i| chars[i].is_ascii_digit()).collect();
            if !digits.is_empty() {
                let i = digits[rng.usize(..digits.len())];
                let with: &str =
                    ["0", "-1", "99999999999999999999", "1e400", "nan", "."][rng.usize(..6)];
                chars.splice(i..=i, with.chars());
            }
        }
        // A duration pushed to an extreme, where one is or where one fits.
        12 | 13 => return extreme_duration(rng, &chars.iter().collect::<String>()),
        // Line endings: CRLF or a lone CR somewhere.
        _ => {
            let at = rng.usize(..=len);
            if rng.bool() {
                chars.insert(at, '\r');
            } else {
                let s: String = chars.iter().collect();
                return s.replace('\n', "\r\n");
            }
        }
    }
    chars.into_iter().collect()
}

/// Longest message, and longest hint, a diagnostic may carry: values it
/// quotes are cut, so a megabyte-long value never makes a megabyte line.
const MAX_MESSAGE_CHARS: usize = 400;

/// The panic's message and where it happened (in gonogo, or in the
/// library gonogo called that panicked).
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    match PANIC_AT.with(|at| at.take()) {
        Some(at) => format!("{message} (at {at})"),
        None => message,
    }
}

/// What must hold for any input: a refusal explains itself, every
/// diagnostic points inside the text and stays on one bounded line; and
/// whatever is accepted can be used without a panic. `Ok(true)`: the
/// layout was accepted.
fn check(path: &Path, text: &str) -> Result<bool, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| layout::parse(path, text)));
    let diags: Vec<Diagnostic> = match outcome {
        Err(panic) => return Err(format!("parse panicked: {}", panic_text(&*panic))),
        Ok(Ok(layout)) => {
            return match catch_unwind(AssertUnwindSafe(|| use_layout(&layout))) {
                Ok(()) => Ok(true),
                Err(panic) => Err(format!(
                    "accepted, then {} panicked: {}",
                    STEP.with(Cell::get),
                    panic_text(&*panic)
                )),
            };
        }
        Ok(Err(d)) => d.0,
    };
    if diags.is_empty() {
        return Err("refused without a single diagnostic".into());
    }
    let lines = text.lines().count();
    // Columns count characters on lines split at `\n`, as the validator does.
    let line_chars: Vec<usize> = text.split('\n').map(|l| l.chars().count()).collect();
    let mut last = (0, 0);
    for d in &diags {
        let shown = d.to_string();
        if d.line < 1 || d.col < 1 || d.line > lines + 1 {
            return Err(format!(
                "out of the file ({lines} lines): {}:{} in `{shown}`",
                d.line, d.col
            ));
        }
        let width = line_chars.get(d.line - 1).copied().unwrap_or(0);
        if d.col > width + 1 {
            return Err(format!(
                "column {} past the end of line {} ({width} chars): `{shown}`",
                d.col, d.line
            ));
        }
        if shown.contains(['\n', '\r']) {
            return Err(format!("diagnostic spans several lines: {shown:?}"));
        }
        if d.message.trim().is_empty() {
            return Err(format!("empty message: `{shown}`"));
        }
        let long = |s: &str| s.chars().count() > MAX_MESSAGE_CHARS;
        if long(&d.message) || d.hint.as_deref().is_some_and(long) {
            return Err(format!(
                "message or hint longer than {MAX_MESSAGE_CHARS} characters: `{}…`",
                shown.chars().take(120).collect::<String>()
            ));
        }
        if (d.line, d.col) < last {
            return Err(format!("not in file order: `{shown}`"));
        }
        last = (d.line, d.col);
    }
    Ok(false)
}

/// A sample each signal could give: up, a number, a string, a
/// checklist, a certificate, an answer set.
fn sample_for(probe: &Probe, at: DateTime<Utc>) -> Sample {
    let outcome = match probe {
        Probe::Http(_) => Outcome::Health {
            up: true,
            latency: Some(Duration::from_millis(12)),
            detail: "status 200 OK".into(),
        },
        Probe::Checklist(_) => Outcome::Checklist(Checklist::from_items(&["done".to_string()])),
        Probe::Tcp(_) => Outcome::Health {
            up: true,
            latency: Some(Duration::from_millis(3)),
            detail: "connected".into(),
        },
        Probe::Tls(_) => Outcome::Certificate {
            up: true,
            days: Some(41.5),
            detail: "valid until 2027-01-12 00:00 UTC".into(),
        },
        Probe::Dns(_) => Outcome::Answers {
            records: vec!["203.0.113.7".into()],
            detail: String::new(),
        },
        Probe::Json(_) => Outcome::Text("UP".into()),
        _ => Outcome::Number(1.0),
    };
    Sample { at, outcome }
}

/// Marks which use of the layout runs now, so a panic names it.
fn step(name: &'static str) {
    STEP.with(|s| s.set(name));
}

/// Everything that consumes a validated layout and once panicked on one,
/// called as the engine, the CLI and the acts call it. Where gonogo
/// does arithmetic inline (in `check`, the probes, the scheduler), the
/// same expression is repeated here, named after its place.
fn use_layout(l: &Layout) {
    let now = Utc::now();
    let end_of_time = DateTime::<Utc>::MAX_UTC;
    step("engine::Board::new");
    let empty = Board::new(l);
    step("engine::evidence_span");
    let span = engine::evidence_span(l);
    step("cli check/acts, guard: now - chrono::Duration::from_std(evidence span)");
    let _ = now - chrono::Duration::from_std(span).unwrap_or(chrono::Duration::MAX);
    for (i, s) in l.signals.iter().enumerate() {
        step("Layout::longest_window");
        let _ = l.longest_window(i);
        step("engine::poll_forever: interval_at(start + offset, every)");
        let _ = tokio::time::Instant::now() + s.every.mul_f64(1.0);
        step("signal::probe: timeout + 200ms; command: Instant::now() + timeout");
        let _ = std::time::Instant::now() + s.timeout + Duration::from_millis(200);
        step("3 × every");
        let _ = s.every * 3;
    }
    if let Some(rb) = &l.rollback {
        step("guard rollback command: Instant::now() + rollback timeout");
        let _ = std::time::Instant::now() + rb.timeout;
    }
    let Some(first) = l.phases.first() else {
        return;
    };
    // One sample per signal now, and a trend's worth for the first, so
    // the board trims its history.
    step("Board::record");
    let mut board = Board::new(l);
    for (i, s) in l.signals.iter().enumerate() {
        board.record(i, sample_for(&s.probe, now));
    }
    if let Some(s) = l.signals.first() {
        let every = chrono::Duration::from_std(s.every).unwrap_or(chrono::Duration::seconds(1));
        for k in 1..200 {
            if let Some(at) = every.checked_mul(k).and_then(|d| now.checked_sub_signed(d)) {
                board.record(0, sample_for(&s.probe, at));
            }
        }
    }
    for phase in &l.phases {
        let mut state = State::new(&first.id);
        state.phase = phase.id.clone();
        for b in [&empty, &board] {
            for at in [now, end_of_time] {
                step("act::judge_phase");
                let _ = act::judge_phase(l, &state, b, phase, at);
                step("guard::judge_triggers");
                let _ = guard::judge_triggers(l, &state, b, at);
                step("guard::auto_rollback_due");
                let _ = guard::auto_rollback_due(l, &state, b, at);
            }
        }
        for entered in [now, DateTime::<Utc>::MIN_UTC] {
            state.phase_entered = Some(entered);
            step("guard::timebox_overrun");
            let _ = guard::timebox_overrun(l, &state, end_of_time);
            for at in [now, end_of_time] {
                let desk = Desk {
                    layout: l,
                    state: &state,
                    board: &board,
                    now: at,
                    actor: "fuzz",
                };
                step("act::decide(advance): gates, sign-offs, soak");
                let _ = act::decide(
                    &desk,
                    &Act::Advance {
                        override_reason: None,
                    },
                );
            }
        }
    }
}

fn report(failures: &[String], cases: usize) {
    let shown: Vec<&str> = failures.iter().take(10).map(String::as_str).collect();
    assert!(
        failures.is_empty(),
        "{} of {cases} layouts failed (first 10):\n{}",
        failures.len(),
        shown.join("\n\n")
    );
}

thread_local! {
    /// Whether this thread's panics are caught and reported as failures.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Where this thread last panicked while quiet.
    static PANIC_AT: Cell<Option<String>> = const { Cell::new(None) };
    /// Which use of an accepted layout is running (see `use_layout`).
    static STEP: Cell<&'static str> = const { Cell::new("") };
}

/// Runs `f` with its panics kept off stderr (they are caught, collected
/// and reported as failures), noting where each happened. One hook for
/// the whole process: tests run in parallel, and swapping hooks per test
/// would race.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let at = info.location().map(ToString::to_string);
                PANIC_AT.with(|p| p.set(at));
            } else {
                default(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let out = f();
    QUIET.with(|q| q.set(false));
    out
}

#[test]
fn mutated_layouts_never_panic_and_always_point_inside_the_file() {
    let started = Instant::now();
    let corpus = corpus();
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let mut rng = fastrand::Rng::with_seed(env("FUZZ_SEED").unwrap_or(SEED));
    let per_file = env("FUZZ_CASES").map_or(CASES_PER_FILE, |n| n as usize);
    let budget = Duration::from_secs(env("FUZZ_SECS").unwrap_or(25));
    let (mut accepted, mut refused) = (0, 0);
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut cut_short = false;
    quietly(|| {
        for (path, original) in &corpus {
            // The unmutated file too.
            if let Err(e) = check(path, original) {
                failures.push(format!("{} (unmutated): {e}", path.display()));
            }
            // Layouts that are valid but for their durations: every other
            // case only pushes durations around, so most stay valid and
            // reach what uses a layout.
            let whole = !path.starts_with(manifest().join("tests/bad_layouts"));
            for case in 0..per_file {
                let seed = rng.u64(..);
                if started.elapsed() > budget {
                    cut_short = true;
                    continue;
                }
                let mut case_rng = fastrand::Rng::with_seed(seed);
                let mut text = original.clone();
                let durations_only = whole && case % 2 == 0;
                for _ in 0..case_rng.usize(1..=4) {
                    text = if durations_only {
                        extreme_duration(&mut case_rng, &text)
                    } else {
                        mutate(&mut case_rng, &text)
                    };
                }
                cases += 1;
                match check(path, &text) {
                    Ok(true) => accepted += 1,
                    Ok(false) => refused += 1,
                    Err(e) => failures.push(format!(
                        "{} case {case} (seed {seed:#x}): {e}\n--- input ---\n{}\n-------------",
                        path.display(),
                        text.chars().take(4000).collect::<String>()
                    )),
                }
            }
        }
    });
    report(&failures, cases);
    assert!(cases >= 2000, "only {cases} cases in {budget:?}");
    eprintln!(
        "{cases} mutated layouts ({accepted} accepted, {refused} refused) in {:?}{}",
        started.elapsed(),
        if cut_short {
            " (cut short by FUZZ_SECS)"
        } else {
            ""
        }
    );
}

/// Every input that once broke gonogo, replayed as it was found.
#[test]
fn corpus_inputs_that_once_broke_gonogo_stay_fixed() {
    let found = toml_files("tests/fuzz_corpus");
    assert!(found.len() >= 5, "tests/fuzz_corpus holds {}", found.len());
    let failures: Vec<String> = quietly(|| {
        found
            .iter()
            .filter_map(|(path, text)| {
                check(path, text)
                    .err()
                    .map(|e| format!("{}: {e}", path.display()))
            })
            .collect()
    });
    report(&failures, found.len());
}

/// Hand-picked inputs at the edges: empty, whitespace, binary-ish, huge line.
#[test]
fn degenerate_inputs_are_refused_cleanly() {
    let path = Path::new("edge.toml");
    let long = format!("[launch]\nname = \"{}\"\n", "x".repeat(100_000));
    let inputs = [
        "",
        "\n",
        "   \n\t\n",
        "\u{feff}",
        "\u{0}\u{0}\u{0}",
        "[",
        "[[",
        "\"",
        "'''",
        "a = \"\"\"",
        "[launch]\nname = \"x\"\n[signals.a]\nkind = \"http\"\nurl = \"\"\"\n${\"\"\"\n",
        "[launch]\nname = \"x\"\n[signals.a]\nkind = \"http\"\nurl = \"\\u00e9${X\"\n",
        "[launch]\nname = \"x\"\n[signals.a]\nkind = \"json\"\nurl = \"http://x\"\npath = '''\n$.a['''\n",
        long.as_str(),
        "🚀 = 1\n",
        "[launch]\r\nname = 1\r\n",
    ];
    let mut failures = Vec::new();
    quietly(|| {
        for (i, text) in inputs.iter().enumerate() {
            if let Err(e) = check(path, text) {
                failures.push(format!("input {i} {:?}: {e}", &text[..text.len().min(60)]));
            }
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
