//! Validation cost must grow linearly with the layout: a layout with
//! thousands of duplicate ids (a copy-paste gone wrong, a generated plan)
//! is refused in moments, never after a pause that looks like a hang.
//!
//! Three layouts at N = 1,000, 5,000 and 20,000:
//! - `dup-phases`: N `[[phases]]` all with `id = "canary"` (N − 1 errors);
//! - `dup-signals`: N `[signals.api]` tables (TOML duplicate-key errors,
//!   three per copy);
//! - `unknown-signals`: N signals `sig_i` and N gates naming `sgi_i`, so
//!   every gate asks for a did-you-mean among N names (N errors).
//!
//! The `errors` column counts the lines printed: since validation keeps the
//! first 500 errors and one line for the rest, 501 at most.
//!
//! Each is timed two ways: `gonogo validate` as operators run it (the bench
//! profile's binary, its own process, wall time, best of 3), and
//! `gonogo::layout::parse` in this process (median of 5). The last column is
//! the parse time per phase, signal or gate: flat when the cost is linear.
//!
//! Run with `cargo bench --bench validate` (`GONOGO_BENCH_ONLY=dup-phases`
//! for one layout). Prints figures; no bar is asserted (timings belong in
//! a report, not in `cargo test`). A run slower than 5 s is not repeated.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const SIZES: [usize; 3] = [1_000, 5_000, 20_000];

/// Writes a layout of size N.
type Make = fn(usize) -> String;

fn dup_phases(n: usize) -> String {
    let mut s = String::from(
        "[launch]\nname = \"bench\"\n\n[signals.api]\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\n",
    );
    for _ in 0..n {
        s.push_str("\n[[phases]]\nid = \"canary\"\ngates = [{ signal = \"api\", up = true }]\n");
    }
    s
}

fn dup_signals(n: usize) -> String {
    let mut s = String::from("[launch]\nname = \"bench\"\n");
    for _ in 0..n {
        s.push_str("\n[signals.api]\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\n");
    }
    s.push_str("\n[[phases]]\nid = \"canary\"\ngates = [{ signal = \"api\", up = true }]\n");
    s
}

fn unknown_signals(n: usize) -> String {
    let mut s = String::from("[launch]\nname = \"bench\"\n");
    for i in 0..n {
        let _ = write!(
            s,
            "\n[signals.sig_{i}]\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\n"
        );
    }
    s.push_str("\n[[phases]]\nid = \"canary\"\ngates = [\n");
    for i in 0..n {
        let _ = writeln!(s, "  {{ signal = \"sgi_{i}\", up = true }},");
    }
    s.push_str("]\n");
    s
}

/// A run this slow is not repeated: the figure is plain enough.
const SLOW: Duration = Duration::from_secs(5);

/// Wall time of `gonogo validate FILE`, best of 3 (of 1 when slow); and
/// its exit code.
fn run_binary(path: &Path) -> (Duration, Option<i32>) {
    let mut best = Duration::MAX;
    let mut code = None;
    for _ in 0..3 {
        if best > SLOW && best != Duration::MAX {
            break;
        }
        let started = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_gonogo"))
            .arg("validate")
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        best = best.min(started.elapsed());
        code = status.ok().and_then(|s| s.code());
    }
    (best, code)
}

/// Median of 5 in-process parses (1 when slow), and how many errors
/// they found.
fn run_parse(path: &Path, text: &str) -> (Duration, usize) {
    let mut times: Vec<Duration> = Vec::new();
    let mut errors = 0;
    for _ in 0..5 {
        if times.first().is_some_and(|t| *t > SLOW) {
            break;
        }
        let started = Instant::now();
        let outcome = gonogo::layout::parse(path, text);
        times.push(started.elapsed());
        errors = outcome.err().map_or(0, |d| d.0.len());
    }
    times.sort();
    (times[times.len() / 2], errors)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() -> ExitCode {
    // `cargo test --benches` runs bench targets without `--bench`: this is a
    // measurement, not a test, so say so and leave.
    if !std::env::args().any(|a| a == "--bench") {
        println!("validate bench: not run in test mode; run `cargo bench --bench validate`");
        return ExitCode::SUCCESS;
    }
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("validate bench: no temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    println!("gonogo validate bench — {cpus} CPUs, load average {load}");
    println!(
        "{:<16} {:>7} {:>9} {:>7} {:>13} {:>11} {:>12}",
        "layout", "N", "size KiB", "errors", "validate ms", "parse ms", "parse µs/N"
    );
    let cases: [(&str, Make); 3] = [
        ("dup-phases", dup_phases),
        ("dup-signals", dup_signals),
        ("unknown-signals", unknown_signals),
    ];
    // `GONOGO_BENCH_ONLY=dup-phases` (a name, or part of one) runs less.
    let only = std::env::var("GONOGO_BENCH_ONLY").unwrap_or_default();
    for (name, make) in cases {
        if !name.contains(only.as_str()) {
            continue;
        }
        for n in SIZES {
            let text = make(n);
            let path = dir.path().join(format!("{name}-{n}.toml"));
            if let Err(e) = std::fs::write(&path, &text) {
                eprintln!("validate bench: write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            let (wall, code) = run_binary(&path);
            let (parse, errors) = run_parse(&path, &text);
            let per = parse.as_secs_f64() * 1e6 / n as f64;
            println!(
                "{name:<16} {n:>7} {:>9} {errors:>7} {:>13} {:>11} {per:>12.2}{}",
                text.len() / 1024,
                ms(wall),
                ms(parse),
                if code == Some(3) {
                    String::new()
                } else {
                    format!("  (exit {code:?}, expected 3)")
                }
            );
        }
    }
    ExitCode::SUCCESS
}
