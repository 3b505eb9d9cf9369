//! What the integration tests share: what a test needs from the machine
//! ([`require`]), layouts built from TOML text and one-poll helpers here;
//! a misbehaving HTTP server in [`server`], real processes (the `gonogo`
//! binary, the demo service, this test binary re-run) in [`procs`], a real
//! terminal in [`tmux`].
//!
//! A test that needs something the machine may lack (tmux, Prometheus,
//! root) asks [`require`] or [`require_root`] and returns when told no: on
//! a laptop it is skipped, saying so on the terminal; under CI (`CI=true`,
//! as `.ci/run` exports) it fails, so a CI image that lost tmux cannot pass
//! by skipping every terminal test.

pub mod dns;
pub mod gnu_screen;
pub mod pg;
pub mod procs;
pub mod server;
pub mod tls;
pub mod tmux;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gonogo::gate::{self, Judgement};
use gonogo::layout::template::{ProcessEnv, Vars};
use gonogo::layout::{Layout, Signal};
use gonogo::signal::{Outcome, Prober, Sample};

pub const MIB: usize = 1024 * 1024;

/// Whether the tests run under CI: `CI` is set (to anything but `0` or
/// `false`), as `.ci/run` and CI services set it.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The calling test cannot run here for want of `what`. Outside CI it says
/// `SKIPPED <test>: <what>` straight to the terminal (past the harness's
/// capture, so a plain `cargo test` shows it) and the test returns; under
/// CI it fails the test.
pub fn missing(what: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    assert!(
        !in_ci(),
        "{test} cannot run: {what}; under CI (CI=true) a test that cannot run \
         fails instead of skipping (.ci/run runs as root and installs tmux \
         and prometheus)"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {what}");
}

/// The program `program` (a name looked up on `PATH`, or a path), if it
/// is installed; else [`missing`].
pub fn require(program: &str) -> Option<PathBuf> {
    let found = find_program(program);
    if found.is_none() {
        missing(&format!("`{program}` is not installed"));
    }
    found
}

/// Whether the tests run as root; else [`missing`], `why` saying what the
/// test needs root for.
pub fn require_root(why: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        missing(&format!("needs root {why}"));
    }
    root
}

/// `program` as an executable file: itself if it names a path, else the
/// first one on `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let program = Path::new(program);
    if program.components().count() > 1 {
        return executable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}

/// The path layouts are "read from": commands run in its directory.
pub fn layout_path() -> PathBuf {
    std::env::temp_dir().join("gonogo-it.toml")
}

/// A layout from `[signals…]` TOML text and the gates of its one phase.
pub fn layout(signals: &str, gates: &str) -> Layout {
    let src = format!(
        "[launch]\nname = \"integration test\"\n\n{signals}\n\n[[phases]]\nid = \"p\"\ngates = [\n{gates}\n]\n"
    );
    gonogo::layout::parse(Path::new(&layout_path()), &src)
        .unwrap_or_else(|d| panic!("test layout is invalid:\n{d}\n---\n{src}"))
}

/// A layout with one signal `s` (its table body given) and one gate on it.
pub fn one_signal(body: &str, gate: &str) -> Layout {
    layout(
        &format!("[signals.s]\n{body}\n"),
        &format!("{{ signal = \"s\", {gate} }}"),
    )
}

pub fn prober() -> Prober {
    prober_with(Arc::new(ProcessEnv))
}

pub fn prober_with(vars: Arc<dyn Vars>) -> Prober {
    Prober::new(vars).expect("HTTP client")
}

/// Polls `signal` once and says how long it took.
pub async fn timed_poll(prober: &Prober, signal: &Signal) -> (Sample, Duration) {
    let started = Instant::now();
    let sample = prober.poll(signal).await;
    (sample, started.elapsed())
}

/// Polls the layout's first signal once with the process environment.
pub async fn poll_first(layout: &Layout) -> (Sample, Duration) {
    timed_poll(&prober(), &layout.signals[0]).await
}

/// Judges the layout's first gate on `sample`, checking its reason is one
/// readable line.
pub fn judge_first(layout: &Layout, sample: &Sample) -> Judgement {
    let g = &layout.phases[0].gates[0];
    let j = gate::judge(
        g,
        &layout.signals[g.signal],
        std::slice::from_ref(sample),
        sample.at,
    );
    // A plain GO needs no reason; anything else must say why, on one line.
    if j.state != gate::State::Go || !j.reason.is_empty() {
        assert_one_line(&j.reason);
    }
    j
}

/// A reason must be a single, non-empty, readable line.
pub fn assert_one_line(reason: &str) {
    // Shown with `--nocapture`: the reasons as an operator would read them.
    eprintln!("reason: {reason}");
    assert!(!reason.trim().is_empty(), "empty reason");
    assert!(
        !reason.chars().any(char::is_control),
        "reason is not one clean line: {reason:?}"
    );
    assert!(
        reason.chars().count() <= 200,
        "reason is too long to read on one line ({} chars): {reason:?}",
        reason.chars().count()
    );
}

/// The reason of an UNKNOWN outcome (checked to be one line); panics on any
/// other outcome.
pub fn unknown_reason(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Unknown(r) => {
            assert_one_line(r);
            r
        }
        other => panic!("expected UNKNOWN, got {other:?}"),
    }
}

/// Milliseconds, for timing assertions.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The cluster every test of this process shares, started on first use;
/// `None` (and [`missing`]) when PostgreSQL is not installed.
pub fn pg_shared() -> Option<&'static pg::Cluster> {
    static SHARED: std::sync::OnceLock<Option<pg::Cluster>> = std::sync::OnceLock::new();
    let c = SHARED.get_or_init(pg::Cluster::start).as_ref();
    if c.is_none() {
        missing("PostgreSQL is not installed (Debian's `postgresql`)");
    }
    c
}
