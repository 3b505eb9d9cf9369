//! SPEC §6 performance bars, measured on the product as users run it:
//! the `gonogo` binary in its own process, polling a real local HTTP
//! server in another.
//!
//! - `gonogo watch` with 1,000 HTTP signals every 1 s: ≥ 99.9 % of samples
//!   within 100 ms of schedule, ≤ 15 % of one core, ≤ 48 MiB peak RSS;
//! - the screen (`gonogo run`, on a 200×60 pty) on the same layout:
//!   ≤ 20 % of one core (and the same schedule bar);
//! - cost grows linearly: `watch`'s CPU per sample at 5,000 signals
//!   ≤ 1.25 × that at 1,000.
//!
//! Run with `cargo bench --bench product`. For each N and each mode it
//! starts a fresh server (this bench binary re-executed with
//! `GONOGO_BENCH_SERVER=1`: HTTP/1.1 keep-alive on 127.0.0.1, `GET /s/<i>`
//! answers `200 {"up":true}` and the arrival of every request is written
//! down), writes a layout of N `http` signals (`every = "1s"`) against it
//! with one phase gating every signal (`up = true`, and for one signal in
//! ten `below = "500ms", for = "30s"`) and an armed auto-rollback trigger,
//! in a fresh 0700 directory (gonogo refuses untrusted layouts), validates
//! it, `gonogo start`s the launch on a fresh journal there, and runs the
//! product. After a warm-up it measures a window:
//!
//! - CPU: utime + stime of the process (all threads) from `/proc/<pid>/stat`
//!   at both ends of the window, as a share of one core; per sample =
//!   that CPU time ÷ (N × the window in seconds), one sample per signal per
//!   second;
//! - memory: peak RSS (`VmHWM`, over the whole life) at the window's end;
//! - schedule: from the server's request log (see `support/schedule.rs`):
//!   each signal's 1 s grid placed where its requests around the window
//!   fall, each grid slot in the window matched to its request; on time =
//!   within 100 ms of the slot, a slot without a request is missed;
//! - `watch` only, after the window: one endpoint starts answering 503, and
//!   the bench times its first 503 to watch's NO-GO line on stdout. A
//!   guard that folds samples slower than they come says so late or never:
//!   the linear-cost bar holds only for runs that say it within 1 s (a
//!   saturated loop does less work per sample by falling behind).
//!
//! The machine is shared: the load average, the CPU the rest of the machine
//! used during the window and any compiler seen running are printed with
//! every figure. Measure on a quiet machine.
//!
//! Environment:
//! - `GONOGO_BINS="before=/path/a,after=/path/b"`: measure these binaries,
//!   interleaved run by run (default: this tree's `gonogo`, built by cargo);
//! - `GONOGO_BENCH_N="1000,5000"`: signal counts;
//! - `GONOGO_BENCH_SECS=30`: the measured window; `GONOGO_BENCH_WARMUP=40`
//!   (from spawn: past the layout's 30 s `for` windows and the 3 s stale
//!   limit, when every history is full and the judging costs what it will
//!   cost for the rest of a launch — before it, `watch` costs less);
//! - `GONOGO_BENCH_MODES="watch,screen"`.
//!
//! Prints a table with PASS/FAIL per bar; exits non-zero on any FAIL.

#[path = "support/process.rs"]
mod process;
#[path = "support/pty.rs"]
mod pty;
#[path = "support/product_report.rs"]
mod report;
#[path = "support/request_log.rs"]
mod request_log;
#[path = "support/schedule.rs"]
mod schedule;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::Duration;

use nix::unistd::Pid;

use process::{Drained, Guarded};
use report::{Row, report};
use request_log::Server;
use schedule::Adherence;

const EVERY: Duration = Duration::from_secs(1);
const ON_TIME: Duration = Duration::from_millis(100);
const COLS: u16 = 200;
const ROWS: u16 = 60;
/// After the window, before reading the server's log: the requests of the
/// window's last slots land.
const SETTLE: Duration = Duration::from_millis(1500);
/// How long the bench waits for `watch` to say an endpoint went down.
const REACTION_TIMEOUT: Duration = Duration::from_secs(20);

fn main() -> ExitCode {
    if std::env::var_os(request_log::SERVER_ENV).is_some() {
        return request_log::serve();
    }
    // `cargo test --benches` runs bench targets without `--bench`: this is a
    // measurement, not a test, so say so and leave.
    if !std::env::args().any(|a| a == "--bench") {
        println!("product bench: not run in test mode; run `cargo bench --bench product`");
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("product bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Under the system's temporary directory (sticky, so trusted); each
    // run's directory inside is 0700, as gonogo requires of a layout's.
    let dir = match tempfile::Builder::new()
        .prefix("gonogo-product-bench-")
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => {
            eprintln!("product bench: no temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    config.print_header();
    let mut rows = Vec::new();
    for &n in &config.ns {
        for &mode in &config.modes {
            for bin in &config.bins {
                let outcome = measure(bin, mode, n, &config, dir.path());
                let row = Row {
                    bin: bin.label.clone(),
                    mode,
                    n,
                    outcome,
                };
                row.print_details();
                rows.push(row);
            }
        }
    }
    let pass = report(&config, &rows);
    if pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// ---------------------------------------------------------------------------
// What to measure.

struct Binary {
    label: String,
    path: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `gonogo watch LAYOUT`, stdout into a pipe the bench drains.
    Watch,
    /// `gonogo run LAYOUT` on a pty the bench drains.
    Screen,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Watch => "watch",
            Mode::Screen => "screen",
        }
    }
}

struct Config {
    bins: Vec<Binary>,
    ns: Vec<usize>,
    modes: Vec<Mode>,
    warm_up: Duration,
    window: Duration,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let secs = |name: &str, default: u64| -> Result<Duration, String> {
            match var(name) {
                None => Ok(Duration::from_secs(default)),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
                    _ => Err(format!("{name} must be a positive whole number of seconds")),
                },
            }
        };
        let bins = match var("GONOGO_BINS") {
            None => vec![Binary {
                label: "this-tree".into(),
                path: PathBuf::from(env!("CARGO_BIN_EXE_gonogo")),
            }],
            Some(list) => list
                .split(',')
                .map(|item| {
                    let (label, path) = item.trim().split_once('=').ok_or_else(|| {
                        format!("GONOGO_BINS: {item:?} is not label=/path/to/gonogo")
                    })?;
                    let path = PathBuf::from(path);
                    if !path.is_file() {
                        return Err(format!("GONOGO_BINS: no file at {}", path.display()));
                    }
                    Ok(Binary {
                        label: label.to_string(),
                        path,
                    })
                })
                .collect::<Result<_, String>>()?,
        };
        let ns = var("GONOGO_BENCH_N")
            .unwrap_or_else(|| "1000,5000".into())
            .split(',')
            .map(|n| match n.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("GONOGO_BENCH_N: {n:?} is not a positive count")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let modes = var("GONOGO_BENCH_MODES")
            .unwrap_or_else(|| "watch,screen".into())
            .split(',')
            .map(|m| match m.trim() {
                "watch" => Ok(Mode::Watch),
                "screen" => Ok(Mode::Screen),
                other => Err(format!(
                    "GONOGO_BENCH_MODES: {other:?} is neither watch nor screen"
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            bins,
            ns,
            modes,
            warm_up: secs("GONOGO_BENCH_WARMUP", 40)?,
            window: secs("GONOGO_BENCH_SECS", 30)?,
        })
    }

    fn print_header(&self) {
        println!();
        println!(
            "gonogo product bench — http signals every {} s against a local server in its own process; {} s warm-up, {} s window; {} CPUs, {} ticks/s; load average {} at start",
            EVERY.as_secs(),
            self.warm_up.as_secs(),
            self.window.as_secs(),
            std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
            process::clock_ticks(),
            process::loadavg(),
        );
        for b in &self.bins {
            println!("  binary {:<10} {}", b.label, b.path.display());
        }
        println!(
            "  screen mode: `gonogo run` on a {COLS}×{ROWS} pty, TERM=xterm-256color; watch mode: stdout into a pipe"
        );
    }
}

// ---------------------------------------------------------------------------
// One run: one binary, one mode, N signals.

struct Measured {
    wall: Duration,
    cpu: Duration,
    peak_rss_kib: Option<u64>,
    /// RSS at the window's start and end.
    rss_kib: (Option<u64>, Option<u64>),
    threads: Option<u64>,
    schedule: Adherence,
    /// From spawn to the first request of the last signal to be polled.
    all_polled: Option<Duration>,
    /// Signals never polled at all.
    never_polled: usize,
    /// Requests for paths other than the signals'.
    stray_requests: u64,
    /// Everything else on the machine during the window (other processes,
    /// the server, the bench itself), as a share of one core.
    others_cpu_pct: f64,
    server_cpu_pct: f64,
    compilers: (usize, usize),
    load: (String, String),
    /// Bytes written to the pty or stdout per second, in the window.
    output_bytes_per_sec: f64,
    /// Lines written in the window.
    output_lines: u64,
    /// `watch` only: how soon it said an endpoint went down.
    reaction: Option<Reaction>,
    /// `watch` only: lines in the window that call a gate STALE or a
    /// trigger BLIND, while the endpoint saw every request on time: the
    /// guard is behind its own samples.
    stale_lines: Option<usize>,
    /// How the process ended when stopped.
    ended: String,
}

impl Measured {
    fn cpu_pct(&self) -> f64 {
        100.0 * self.cpu.as_secs_f64() / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    /// CPU per sample, µs: one sample per signal per `EVERY`.
    fn us_per_sample(&self, n: usize) -> f64 {
        let samples = n as f64 * self.wall.as_secs_f64() / EVERY.as_secs_f64();
        self.cpu.as_secs_f64() * 1e6 / samples.max(1.0)
    }

    fn peak_mib(&self) -> Option<f64> {
        self.peak_rss_kib.map(|k| k as f64 / 1024.0)
    }
}

/// The CPU counters at one end of the window.
struct Mark {
    at_us: u64,
    gonogo: u64,
    server: u64,
    machine: u64,
    load: String,
    compilers: usize,
}

impl Mark {
    fn take(gonogo: Pid, server: Pid) -> Result<Mark, String> {
        let ticks = |pid: Pid, what: &str| {
            process::cpu_ticks(pid).ok_or_else(|| format!("cannot read /proc/{pid}/stat ({what})"))
        };
        Ok(Mark {
            at_us: process::monotonic_us(),
            gonogo: ticks(gonogo, "gonogo")?,
            server: ticks(server, "server")?,
            machine: process::machine_busy_ticks().ok_or("cannot read /proc/stat")?,
            load: process::loadavg(),
            compilers: process::compilers_running(),
        })
    }
}

fn measure(
    bin: &Binary,
    mode: Mode,
    n: usize,
    config: &Config,
    parent: &Path,
) -> Result<Measured, String> {
    let server = Server::start()?;
    let dir = tempfile::Builder::new()
        .prefix(&format!("{}-{}-{n}-", bin.label, mode.name()))
        .tempdir_in(parent)
        .map_err(|e| format!("no run directory: {e}"))?;
    let layout = dir.path().join("product-bench.toml");
    std::fs::write(&layout, layout_toml(server.port, n))
        .map_err(|e| format!("cannot write {}: {e}", layout.display()))?;
    let journal = dir.path().join("journal.sqlite");
    let (layout, journal) = (
        layout.to_string_lossy().into_owned(),
        journal.to_string_lossy().into_owned(),
    );
    gonogo_once(bin, dir.path(), &["validate", &layout])?;
    gonogo_once(bin, dir.path(), &["start", &layout, "--journal", &journal])?;

    let spawned_at = process::monotonic_us();
    let (mut child, output) = match mode {
        Mode::Watch => {
            let stderr = std::fs::File::create(dir.path().join("stderr.txt"))
                .map_err(|e| format!("cannot create stderr.txt: {e}"))?;
            let mut cmd = gonogo(bin, dir.path());
            cmd.args(["watch", &layout, "--journal", &journal])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(stderr);
            let mut child = Guarded::spawn(cmd, "gonogo watch")?;
            let stdout = child.child.stdout.take().ok_or("gonogo watch: no stdout")?;
            (child, Drained::start(stdout, true))
        }
        Mode::Screen => {
            let mut cmd = gonogo(bin, dir.path());
            cmd.args(["run", &layout, "--journal", &journal]);
            process::spawn_on_pty(cmd, "gonogo run", COLS, ROWS)?
        }
    };
    let pid = child.pid();
    let server_pid = server.process.pid();
    let alive = |child: &mut Guarded, output: &Drained, span: Duration| -> Result<(), String> {
        let until = std::time::Instant::now() + span;
        while std::time::Instant::now() < until {
            if let Some(status) = child.exited() {
                let stderr =
                    std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default();
                return Err(format!(
                    "gonogo {} exited ({status}) during the run\n{}{}",
                    mode.name(),
                    stderr,
                    output.tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    };

    alive(&mut child, &output, config.warm_up)?;
    if mode == Mode::Screen && !output.alternate_screen.load(Ordering::Relaxed) {
        return Err(format!(
            "the screen did not open within the warm-up; its output ends:\n{}",
            output.tail()
        ));
    }
    let from = Mark::take(pid, server_pid)?;
    let rss_from = process::status(pid).get("VmRSS").copied();
    let bytes_from = output.bytes.load(Ordering::Relaxed);
    let lines_from = output.lines.load(Ordering::Relaxed);
    alive(&mut child, &output, config.window)?;
    let until = Mark::take(pid, server_pid)?;
    let bytes = output.bytes.load(Ordering::Relaxed) - bytes_from;
    let lines = output.lines.load(Ordering::Relaxed) - lines_from;
    let status = process::status(pid);
    alive(&mut child, &output, SETTLE)?;
    let stats = server.stats()?;
    let reaction = match mode {
        Mode::Watch => Some(reaction(&server, &output, n)?),
        Mode::Screen => None,
    };
    let (ended, killed) = child.stop(Duration::from_secs(5));
    let ended = match (ended, killed) {
        (_, true) => "killed after ignoring SIGTERM for 5 s".to_string(),
        (Some(s), false) => format!("{s} on SIGTERM"),
        (None, false) => "gone".to_string(),
    };

    let ticks = process::clock_ticks();
    let wall_us = until.at_us - from.at_us;
    let wall = Duration::from_micros(wall_us);
    let to_duration = |t: u64| Duration::from_micros(t * 1_000_000 / ticks);
    let share = |t: u64| 100.0 * to_duration(t).as_secs_f64() / wall.as_secs_f64();
    let gonogo_ticks = until.gonogo - from.gonogo;
    let server_ticks = until.server - from.server;
    let machine_ticks = until.machine.saturating_sub(from.machine);
    let schedule = schedule::adherence(
        &stats.arrivals,
        n,
        u64::try_from(EVERY.as_micros()).unwrap_or(u64::MAX),
        (from.at_us, until.at_us),
        u64::try_from(ON_TIME.as_micros()).unwrap_or(u64::MAX),
    );
    // The first poll of each signal by the product (`gonogo start` polled
    // each once before it was spawned).
    let firsts: Vec<u64> = (0..n)
        .filter_map(|i| {
            let a = stats.arrivals.get(i)?;
            a.get(a.partition_point(|&t| t < spawned_at)).copied()
        })
        .collect();
    Ok(Measured {
        wall,
        cpu: to_duration(gonogo_ticks),
        peak_rss_kib: status.get("VmHWM").copied(),
        rss_kib: (rss_from, status.get("VmRSS").copied()),
        threads: status.get("Threads").copied(),
        schedule,
        all_polled: (firsts.len() == n)
            .then(|| firsts.iter().max().copied())
            .flatten()
            .map(|t| Duration::from_micros(t.saturating_sub(spawned_at))),
        never_polled: n - firsts.len(),
        stray_requests: stats.other,
        others_cpu_pct: share(machine_ticks.saturating_sub(gonogo_ticks + server_ticks)),
        server_cpu_pct: share(server_ticks),
        compilers: (from.compilers, until.compilers),
        load: (from.load, until.load),
        output_bytes_per_sec: bytes as f64 / wall.as_secs_f64(),
        output_lines: lines,
        stale_lines: output.timed_lines.as_ref().map(|kept| {
            kept.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .filter(|(at, line)| {
                    (from.at_us..until.at_us).contains(at)
                        && (line.contains("STALE") || line.contains("BLIND"))
                })
                .count()
        }),
        reaction,
        ended,
    })
}

/// How soon `watch` said that an endpoint went down.
#[derive(Clone, Copy)]
enum Reaction {
    /// From the endpoint's first 503 to the line on stdout.
    Said(Duration),
    /// Nothing said within this long.
    Silent(Duration),
}

impl Reaction {
    fn keeps_up(self) -> bool {
        matches!(self, Reaction::Said(d) if d <= EVERY)
    }
}

impl std::fmt::Display for Reaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reaction::Said(d) => write!(f, "{:.1} ms", d.as_secs_f64() * 1000.0),
            Reaction::Silent(d) => write!(f, "> {} s", d.as_secs()),
        }
    }
}

/// After the window: makes one signal's endpoint answer 503 and times how
/// soon `watch` prints its gate going NO-GO. A guard that keeps up says so
/// within milliseconds of the failing answer; one that folds samples slower
/// than they arrive says so only after the queue ahead of it, or never.
fn reaction(server: &Server, output: &Drained, n: usize) -> Result<Reaction, String> {
    // Not s0 (the rollback trigger's) and not one with a `for` window.
    let k = (n / 2 + 1).min(n - 1);
    let lines = output
        .timed_lines
        .as_ref()
        .ok_or("watch output is not kept line by line")?;
    let lock = || lines.lock().unwrap_or_else(PoisonError::into_inner);
    let seen = lock().len();
    server.fail(k)?;
    let asked = std::time::Instant::now();
    loop {
        let said = lock()[seen..]
            .iter()
            .find(|(_, line)| line.contains("NO-GO") && names_signal(line, k))
            .map(|(at, _)| *at);
        if let Some(at) = said {
            let stats = server.stats()?;
            let failed = stats
                .failed
                .get(&k)
                .ok_or_else(|| format!("watch said s{k} is NO-GO before it ever failed"))?;
            return Ok(Reaction::Said(Duration::from_micros(
                at.saturating_sub(*failed),
            )));
        }
        if asked.elapsed() >= REACTION_TIMEOUT {
            return Ok(Reaction::Silent(REACTION_TIMEOUT));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `line` names signal `s<k>` (not `s<k>0`).
fn names_signal(line: &str, k: usize) -> bool {
    let name = format!("s{k}");
    line.match_indices(&name).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + name.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// `gonogo` with a private state directory, as a user's terminal runs it.
fn gonogo(bin: &Binary, dir: &Path) -> Command {
    let mut cmd = Command::new(&bin.path);
    cmd.env("XDG_STATE_HOME", dir.join("state"))
        .env("TMPDIR", dir)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("COLORTERM")
        .env_remove(request_log::SERVER_ENV);
    cmd
}

/// Runs a one-shot gonogo command (validate, start); an error unless it
/// exits 0.
fn gonogo_once(bin: &Binary, dir: &Path, args: &[&str]) -> Result<(), String> {
    let mut cmd = gonogo(bin, dir);
    cmd.args(args).stdin(Stdio::null());
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.path.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`gonogo {}` failed ({}):\n{}{}",
            args[0],
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// N http signals every 1 s, one phase gating all of them (one in ten also
/// on latency over a 30 s window) and an armed auto-rollback trigger.
fn layout_toml(port: u16, n: usize) -> String {
    let mut s = format!(
        "# gonogo product bench: {n} http signals against a local server.\n\
         [launch]\nname = \"Product bench, {n} signals\"\nid = \"product-bench\"\n\n"
    );
    let every = humantime::format_duration(EVERY);
    for i in 0..n {
        let _ = write!(
            s,
            "[signals.s{i}]\nkind = \"http\"\nurl = \"http://127.0.0.1:{port}/s/{i}\"\nevery = \"{every}\"\n\n"
        );
    }
    s.push_str("[[phases]]\nid = \"steady\"\ntitle = \"Steady state\"\ngates = [\n");
    for i in 0..n {
        let _ = writeln!(s, "  {{ signal = \"s{i}\", up = true }},");
        if i % 10 == 0 {
            let _ = writeln!(
                s,
                "  {{ signal = \"s{i}\", below = \"500ms\", for = \"30s\" }},"
            );
        }
    }
    s.push_str(
        "]\n\n[rollback]\nrun = [\"true\"]\ntimeout = \"10s\"\nconfirm = \"rollback\"\n\
         auto_from = \"steady\"\ntriggers = [\n  { signal = \"s0\", up = false, for = \"10s\" },\n]\n",
    );
    s
}
