//! Deterministic mutation fuzzing of the layout validator.
//!
//! Every shipped layout and every bad layout is mutated thousands of times
//! (bytes and lines deleted, inserted and duplicated, truncation, swapped
//! quotes and brackets, unicode, plausible-but-wrong keys) and handed to
//! `gonogo::layout::parse`. Whatever the input, the validator must not
//! panic, must explain every refusal, and every diagnostic must point
//! inside the file. The seed is fixed, so a failure reproduces; it prints
//! the seed and the mutated text.
//!
//! To search harder, once: `FUZZ_SEED=123 FUZZ_CASES=5000 cargo test --test
//! layout_fuzz -- --nocapture` (the default run stays fixed and fast).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use gonogo::layout::{self, Diagnostic};

const SEED: u64 = 0x6f6e_676f_2d66_757a;
/// Mutated inputs per source file (each with 1–4 mutations stacked).
const CASES_PER_FILE: usize = 120;

/// Snippets that reach deeper than random bytes: keys and values the
/// validator knows, often in the wrong place or with the wrong type.
const FRAGMENTS: &[&str] = &[
    "kind = \"json\"",
    "kind = \"checklist\"",
    "kind = \"command\"",
    "kind = \"prometheus\"",
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

fn corpus() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for dir in ["layouts", "tests/bad_layouts"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(manifest().join(dir))
            .unwrap_or_else(|e| panic!("read {dir}: {e}"))
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).expect("read layout");
            files.push((p, text));
        }
    }
    assert!(files.len() > 10, "corpus too small: {}", files.len());
    files
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
    match rng.u8(..12) {
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

/// What must hold for any input: a refusal explains itself, and every
/// diagnostic points inside the text and stays on one line. `Ok(true)`:
/// the layout was accepted.
fn check(path: &Path, text: &str) -> Result<bool, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| layout::parse(path, text)));
    let diags: Vec<Diagnostic> = match outcome {
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return Err(format!("panicked: {msg}"));
        }
        Ok(Ok(_)) => return Ok(true),
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
        if (d.line, d.col) < last {
            return Err(format!("not in file order: `{shown}`"));
        }
        last = (d.line, d.col);
    }
    Ok(false)
}

#[test]
fn mutated_layouts_never_panic_and_always_point_inside_the_file() {
    // The panic hook would print every caught panic; failures are collected
    // and reported below instead.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));

    let started = Instant::now();
    let corpus = corpus();
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let mut rng = fastrand::Rng::with_seed(env("FUZZ_SEED").unwrap_or(SEED));
    let per_file = env("FUZZ_CASES").map_or(CASES_PER_FILE, |n| n as usize);
    let (mut accepted, mut refused) = (0, 0);
    let mut failures = Vec::new();
    let mut cases = 0;
    for (path, original) in &corpus {
        // The unmutated file too.
        if let Err(e) = check(path, original) {
            failures.push(format!("{} (unmutated): {e}", path.display()));
        }
        for case in 0..per_file {
            let seed = rng.u64(..);
            let mut case_rng = fastrand::Rng::with_seed(seed);
            let mut text = original.clone();
            for _ in 0..case_rng.usize(1..=4) {
                text = mutate(&mut case_rng, &text);
            }
            cases += 1;
            match check(path, &text) {
                Ok(true) => accepted += 1,
                Ok(false) => refused += 1,
                Err(e) => failures.push(format!(
                    "{} case {case} (seed {seed:#x}): {e}\n--- input ---\n{text}\n-------------",
                    path.display()
                )),
            }
        }
    }
    std::panic::set_hook(hook);

    assert!(cases >= 2000, "only {cases} cases");
    let shown: Vec<&String> = failures.iter().take(10).collect();
    assert!(
        failures.is_empty(),
        "{} of {cases} mutated layouts failed (first 10):\n{}",
        failures.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    eprintln!(
        "{cases} mutated layouts ({accepted} accepted, {refused} refused) in {:?}",
        started.elapsed()
    );
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
    for (i, text) in inputs.iter().enumerate() {
        if let Err(e) = check(path, text) {
            failures.push(format!("input {i} {:?}: {e}", &text[..text.len().min(60)]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
