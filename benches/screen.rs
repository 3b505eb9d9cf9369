//! SPEC §6 screen bars, measured on the real binary under a pseudo-terminal:
//! - idle terminal output (only the clock ticking) ≤ 1 KiB/s;
//! - start to first frame ≤ 150 ms;
//! - key press to screen ≤ 50 ms while 100 signals hang;
//! - another process's act on the same journal on screen within 1 s
//!   (SPEC §5);
//! - on a PostgreSQL team journal (a throwaway cluster this bench starts,
//!   when PostgreSQL is installed), within 300 ms, median of 20 acts:
//!   pushed by LISTEN/NOTIFY, not polled.
//!
//! Run with `cargo bench --bench screen`. Each measurement spawns
//! `gonogo` (`CARGO_BIN_EXE_gonogo`, built with the bench profile) on the
//! slave side of a pty of its own (a new session with the pty as its
//! controlling terminal), `TERM=xterm-256color`, no `NO_COLOR` or
//! `COLORTERM`, `XDG_STATE_HOME` and `TMPDIR` in a temporary directory.
//! Everything it writes is read as it arrives, time-stamped, and fed to a
//! small screen model (cursor moves and text), so "the screen shows X" means
//! what a terminal would show, however ratatui chose to diff the frame.
//!
//! Prints its figures and PASS/FAIL per bar; exits non-zero on FAIL.
//! `GONOGO_BENCH_ONLY=NAME` runs only the measurements whose name holds
//! NAME (`team`, `journal`, `key`, …).

#[path = "support/pty.rs"]
mod pty;

#[path = "../tests/integration/util/pg.rs"]
#[allow(dead_code)]
mod pg;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const COLS: u16 = 120;
const ROWS: u16 = 40;

const BAR_IDLE_BYTES_PER_SEC: f64 = 1024.0;
const BAR_FIRST_FRAME_MS: f64 = 150.0;
const BAR_KEY_MS: f64 = 50.0;
const BAR_JOURNAL_MS: f64 = 1000.0;
const JOURNAL_SAMPLES: usize = 10;
const BAR_TEAM_MEDIAN_MS: f64 = 300.0;
const TEAM_SAMPLES: usize = 20;

const IDLE_SETTLE: Duration = Duration::from_secs(5);
const IDLE_WINDOW: Duration = Duration::from_secs(20);
const START_RUNS: usize = 10;
const HANGING_SIGNALS: usize = 100;
const KEY_SAMPLES: usize = 20;
/// Time for the first polls of every hanging signal to time out, so the
/// keys are pressed in the steady state of 100 polls in flight.
const HANG_SETTLE: Duration = Duration::from_secs(3);

const DEMO_NAME: &str = "Checkout v2 rollout";
const HANG_NAME: &str = "Hanging signals bench";
/// A line of the help overlay (`?`), and its frame's title.
const HELP_TEXT: &str = "roll back (type the confirm word)";
const HELP_TITLE: &str = "┌ Keys ";

fn main() -> ExitCode {
    // `cargo test --benches` runs bench targets without `--bench`: this is a
    // measurement, not a test, so say so and leave.
    if !std::env::args().any(|a| a == "--bench") {
        println!("screen bench: not run in test mode; run `cargo bench --bench screen`");
        return ExitCode::SUCCESS;
    }
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("screen bench: no temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!();
    println!(
        "gonogo screen bench — `{}` on a {COLS}×{ROWS} pty, TERM=xterm-256color; {} CPUs, load average {}",
        env!("CARGO_BIN_EXE_gonogo"),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        loadavg()
    );
    let mut pass = true;
    for (name, run) in [
        ("idle output", idle as fn(&Path) -> Result<bool, String>),
        ("first frame", first_frame),
        ("key to screen", key_to_screen),
        ("journal", journal_to_screen),
        ("team journal", team_journal_to_screen),
    ] {
        // `GONOGO_BENCH_ONLY=team` runs the measurements so named alone.
        if std::env::var("GONOGO_BENCH_ONLY").is_ok_and(|only| !name.contains(only.as_str())) {
            continue;
        }
        match run(dir.path()) {
            Ok(ok) => pass &= ok,
            Err(e) => {
                println!("  {name:<13} ERROR {e}   FAIL");
                pass = false;
            }
        }
    }
    println!("  load average {} at end", loadavg());
    println!("  RESULT        {}", verdict(pass));
    println!();
    if pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// ---------------------------------------------------------------------------
// The three measurements.

/// `gonogo demo`, left alone: bytes written per second once it settled.
fn idle(dir: &Path) -> Result<bool, String> {
    let mut p = Pty::spawn(dir, &["demo"])?;
    p.wait_until(Duration::from_secs(10), |s| s.alt && s.contains(DEMO_NAME))
        .ok_or_else(|| format!("no first frame within 10 s\n{}", p.screen.dump()))?;
    std::thread::sleep(IDLE_SETTLE);
    p.drain();
    let from = p.consumed;
    p.screen.start_counting();
    let t0 = Instant::now();
    std::thread::sleep(IDLE_WINDOW);
    p.drain();
    let wall = t0.elapsed();
    let bytes = p.consumed - from;
    let counts = p.screen.stop_counting();
    let rate = bytes as f64 / wall.as_secs_f64();
    let ok = rate <= BAR_IDLE_BYTES_PER_SEC;
    println!(
        "  idle output   `gonogo demo`, {} s after a {} s settle: {bytes} bytes in {} frames = {rate:.0} B/s   (bar ≤ {BAR_IDLE_BYTES_PER_SEC} B/s)   {}",
        IDLE_WINDOW.as_secs(),
        IDLE_SETTLE.as_secs(),
        counts.frames,
        verdict(ok)
    );
    println!(
        "                {:.1} frames/s, {:.0} bytes/frame; frame overhead (sync, cursor) {} bytes",
        counts.frames as f64 / wall.as_secs_f64(),
        bytes as f64 / counts.frames.max(1) as f64,
        counts.overhead
    );
    let mut rows: Vec<_> = counts.rows.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1.bytes));
    println!("                bytes by screen row (top 8; columns rewritten; the row as it ends):");
    for (row, c) in rows.iter().take(8) {
        println!(
            "                {:>6} B  {:>4.1} %  row {:>2} cols {:>3}–{:<3} {:?}",
            c.bytes,
            100.0 * c.bytes as f64 / bytes.max(1) as f64,
            *row + 1,
            c.min_col + 1,
            c.max_col + 1,
            p.screen.row_text(**row)
        );
    }
    p.quit();
    Ok(ok)
}

/// Spawn to first frame of `gonogo demo`, over several runs.
fn first_frame(dir: &Path) -> Result<bool, String> {
    // One run first, not counted: the binary and its libraries into the
    // page cache, as on any second start.
    let mut runs = Vec::new();
    for i in 0..=START_RUNS {
        let mut p = Pty::spawn(dir, &["demo"])?;
        let alt = p.wait_until(Duration::from_secs(10), |s| s.alt);
        let frame = p.wait_until(Duration::from_secs(10), |s| s.alt && s.contains(DEMO_NAME));
        let (Some(alt), Some(frame)) = (alt, frame) else {
            return Err(format!(
                "run {i}: no first frame within 10 s\n{}",
                p.screen.dump()
            ));
        };
        if i > 0 {
            runs.push((alt - p.started, frame - p.started));
        }
        p.quit();
    }
    let mut alt: Vec<_> = runs.iter().map(|r| r.0).collect();
    let mut frame: Vec<_> = runs.iter().map(|r| r.1).collect();
    alt.sort();
    frame.sort();
    let median = quantile(&frame, 0.5);
    let ok = ms_f(median) <= BAR_FIRST_FRAME_MS;
    println!(
        "  first frame   `gonogo demo`, spawn to the launch name on screen, {START_RUNS} runs: median {}, min {}, max {}   (bar ≤ {BAR_FIRST_FRAME_MS} ms)   {}",
        ms(median),
        ms(frame[0]),
        ms(frame[frame.len() - 1]),
        verdict(ok)
    );
    println!(
        "                spawn to alternate screen: median {}; every run: {}",
        ms(quantile(&alt, 0.5)),
        runs.iter()
            .map(|r| format!("{:.0}", ms_f(r.1)))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(ok)
}

/// `?` (help) and Esc while 100 HTTP signals hang on a server that accepts
/// and never answers; then the same keys with no HTTP signals at all, as a
/// control: it tells what the hang costs from what the runtime costs anyway.
fn key_to_screen(dir: &Path) -> Result<bool, String> {
    let server = Hanging::start()?;
    let hang = keys(dir, &server, HANGING_SIGNALS)?;
    let control = keys(dir, &server, 0)?;
    let p95 = quantile(&hang.all(), 0.95);
    let ok = ms_f(p95) <= BAR_KEY_MS;
    println!(
        "  key to screen {HANGING_SIGNALS} http signals hanging (every 1s, timeout 1s), {KEY_SAMPLES} × `?` (help opens) and Esc (help closes):"
    );
    let all = hang.all();
    println!(
        "                all {} keys: median {}, p95 {}, max {}   (bar ≤ {BAR_KEY_MS} ms at p95)   {}",
        all.len(),
        ms(quantile(&all, 0.5)),
        ms(p95),
        ms(all[all.len() - 1]),
        verdict(ok)
    );
    hang.details();
    println!(
        "                server: {} connections accepted before the keys, {} during; {}–{} held open",
        hang.accepted_before, hang.accepted_during, hang.open_before, hang.open_after
    );
    let all = control.all();
    println!(
        "                control, same layout without http signals: median {}, p95 {}, max {}",
        ms(quantile(&all, 0.5)),
        ms(quantile(&all, 0.95)),
        ms(all[all.len() - 1]),
    );
    control.details();
    Ok(ok)
}

/// A second process (`gonogo note`) writes to the journal the screen is
/// on: from that process's exit (the event is durable) to the note on the
/// screen.
fn journal_to_screen(dir: &Path) -> Result<bool, String> {
    let journal = dir.join("journal-bench.sqlite");
    let seen = acts_to_screen(dir, &journal.to_string_lossy(), JOURNAL_SAMPLES)?;
    let max = seen[seen.len() - 1];
    let ok = ms_f(max) <= BAR_JOURNAL_MS;
    println!(
        "  journal       `gonogo note` from a second process, {JOURNAL_SAMPLES} notes, its exit to the note on screen: median {}, max {}   (bar ≤ {BAR_JOURNAL_MS} ms, every note)   {}",
        ms(quantile(&seen, 0.5)),
        ms(max),
        verdict(ok)
    );
    Ok(ok)
}

/// The same on a PostgreSQL journal: pushed by NOTIFY.
fn team_journal_to_screen(dir: &Path) -> Result<bool, String> {
    let Some(cluster) = pg::Cluster::start() else {
        println!("  team journal  SKIPPED: PostgreSQL is not installed");
        return Ok(true);
    };
    let url = cluster.database();
    let seen = acts_to_screen(dir, &url, TEAM_SAMPLES)?;
    let median = quantile(&seen, 0.5);
    let ok = ms_f(median) <= BAR_TEAM_MEDIAN_MS;
    println!(
        "  team journal  `gonogo note` from a second process on a PostgreSQL journal, {TEAM_SAMPLES} notes, its exit to the note on screen: median {}, p90 {}, max {}   (bar median ≤ {BAR_TEAM_MEDIAN_MS} ms)   {}",
        ms(median),
        ms(quantile(&seen, 0.9)),
        ms(seen[seen.len() - 1]),
        verdict(ok)
    );
    Ok(ok)
}

/// `samples` notes by a second process on `journal`, each from its exit
/// (durable) to the note on screen; sorted.
fn acts_to_screen(dir: &Path, journal: &str, samples: usize) -> Result<Vec<Duration>, String> {
    let server = Hanging::start()?;
    let layout = dir.join("journal-bench.toml");
    std::fs::write(&layout, hanging_layout(server.port, 0))
        .map_err(|e| format!("cannot write {}: {e}", layout.display()))?;
    let (layout, journal) = (layout.to_string_lossy().into_owned(), journal.to_string());
    let mut p = Pty::spawn(dir, &["run", &layout, "--journal", &journal])?;
    p.wait_until(Duration::from_secs(10), |s| s.alt && s.contains(HANG_NAME))
        .ok_or_else(|| format!("no first frame within 10 s\n{}", p.screen.dump()))?;
    let mut rng = fastrand::Rng::with_seed(11);
    let mut seen = Vec::new();
    for i in 0..samples {
        // Not in step with the screen's journal poll.
        std::thread::sleep(Duration::from_millis(rng.u64(100..600)));
        let text = format!("remote note {i:02}");
        let out = Command::new(env!("CARGO_BIN_EXE_gonogo"))
            .args(["note", &layout, &text, "--journal", &journal])
            .env("XDG_STATE_HOME", dir.join("state"))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run gonogo note: {e}"))?;
        let durable = Instant::now();
        if !out.status.success() {
            return Err(format!(
                "gonogo note failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let shown = p
            .wait_until(Duration::from_secs(5), |s| s.contains(&text))
            .ok_or_else(|| {
                format!(
                    "sample {i}: the note did not show within 5 s\n{}",
                    p.screen.dump()
                )
            })?;
        seen.push(shown.saturating_duration_since(durable));
    }
    p.quit();
    seen.sort();
    Ok(seen)
}

struct KeyRun {
    open: Vec<Duration>,
    close: Vec<Duration>,
    frames_per_sec: f64,
    first: Duration,
    accepted_before: usize,
    accepted_during: usize,
    open_before: usize,
    open_after: usize,
}

impl KeyRun {
    fn all(&self) -> Vec<Duration> {
        let mut all = self.open.clone();
        all.extend(&self.close);
        all.sort();
        all
    }

    fn details(&self) {
        println!(
            "                `?`: median {}, p95 {}, min {}; Esc: median {}, p95 {}, min {}; {:.1} frames/s; first frame {} after spawn",
            ms(quantile(&self.open, 0.5)),
            ms(quantile(&self.open, 0.95)),
            ms(self.open[0]),
            ms(quantile(&self.close, 0.5)),
            ms(quantile(&self.close, 0.95)),
            ms(self.close[0]),
            self.frames_per_sec,
            ms(self.first),
        );
    }
}

fn keys(dir: &Path, server: &Hanging, signals: usize) -> Result<KeyRun, String> {
    let layout = dir.join(format!("hanging-{signals}.toml"));
    std::fs::write(&layout, hanging_layout(server.port, signals))
        .map_err(|e| format!("cannot write {}: {e}", layout.display()))?;
    let journal = dir.join(format!("hanging-{signals}.sqlite"));
    let mut p = Pty::spawn(
        dir,
        &[
            "run",
            &layout.to_string_lossy(),
            "--journal",
            &journal.to_string_lossy(),
        ],
    )?;
    let first = p
        .wait_until(Duration::from_secs(10), |s| s.alt && s.contains(HANG_NAME))
        .ok_or_else(|| format!("no first frame within 10 s\n{}", p.screen.dump()))?;
    let first = first - p.started;
    std::thread::sleep(HANG_SETTLE);
    let accepted_before = server.accepted.load(Ordering::Relaxed);
    let open_before = server.open.load(Ordering::Relaxed);

    let mut rng = fastrand::Rng::with_seed(7);
    let mut open = Vec::new();
    let mut close = Vec::new();
    let t0 = Instant::now();
    p.drain();
    p.screen.start_counting();
    for i in 0..KEY_SAMPLES {
        // Not in step with the screen's own timers.
        std::thread::sleep(Duration::from_millis(rng.u64(150..450)));
        p.drain();
        if p.screen.contains(HELP_TEXT) {
            return Err(format!("sample {i}: help is already open"));
        }
        let sent = p.send(b"?")?;
        let shown = p
            .wait_until(Duration::from_secs(5), |s| {
                s.contains(HELP_TITLE) && s.contains(HELP_TEXT)
            })
            .ok_or_else(|| {
                format!(
                    "sample {i}: `?` did not show the help within 5 s\n{}",
                    p.screen.dump()
                )
            })?;
        open.push(shown - sent);
        std::thread::sleep(Duration::from_millis(rng.u64(150..450)));
        p.drain();
        let sent = p.send(b"\x1b")?;
        let gone = p
            .wait_until(Duration::from_secs(5), |s| !s.contains(HELP_TEXT))
            .ok_or_else(|| format!("sample {i}: Esc did not close the help within 5 s"))?;
        close.push(gone - sent);
    }
    p.drain();
    let wall = t0.elapsed();
    let frames = p.screen.stop_counting().frames;
    let accepted = server.accepted.load(Ordering::Relaxed);
    let open_after = server.open.load(Ordering::Relaxed);
    p.quit();
    open.sort();
    close.sort();
    Ok(KeyRun {
        open,
        close,
        frames_per_sec: frames as f64 / wall.as_secs_f64(),
        first,
        accepted_before,
        accepted_during: accepted - accepted_before,
        open_before,
        open_after,
    })
}

fn hanging_layout(port: u16, signals: usize) -> String {
    let mut s = format!("[launch]\nname = \"{HANG_NAME}\"\nid = \"hang-bench\"\n\n");
    for i in 0..signals {
        s.push_str(&format!(
            "[signals.s{i:03}]\nkind = \"http\"\nurl = \"http://127.0.0.1:{port}/hang/{i}\"\nevery = \"1s\"\ntimeout = \"1s\"\n\n"
        ));
    }
    s.push_str(
        "[signals.preflight]\nkind = \"checklist\"\nitems = [\"Pager on\", \"Dashboards open\", \"Rollback rehearsed\"]\n\n\
         [[phases]]\nid = \"steady\"\ntitle = \"Steady state\"\ngates = [\n  { signal = \"preflight\", complete = true },\n",
    );
    for i in [0, signals / 2, signals.saturating_sub(1)] {
        if i < signals {
            s.push_str(&format!("  {{ signal = \"s{i:03}\", up = true }},\n"));
        }
    }
    s.push_str("]\n");
    s
}

/// A TCP server that accepts and never answers; each connection is held
/// until the client gives up on it.
struct Hanging {
    port: u16,
    accepted: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
}

impl Hanging {
    fn start() -> Result<Hanging, String> {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot listen: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("no local address: {e}"))?
            .port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let (a, o) = (Arc::clone(&accepted), Arc::clone(&open));
        // Lives as long as the bench process.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                a.fetch_add(1, Ordering::Relaxed);
                o.fetch_add(1, Ordering::Relaxed);
                let o = Arc::clone(&o);
                std::thread::spawn(move || hold(stream, &o));
            }
        });
        Ok(Hanging {
            port,
            accepted,
            open,
        })
    }
}

/// Reads the request and whatever follows, answers nothing, and lets go
/// when the client closes.
fn hold(mut stream: TcpStream, open: &AtomicUsize) {
    let mut buf = [0u8; 4096];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
    open.fetch_sub(1, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------
// The process on a pty.

/// What the reader thread has seen: every chunk with the moment it arrived.
#[derive(Default)]
struct Received {
    chunks: Vec<(Instant, Vec<u8>)>,
    closed: bool,
}

struct Pty {
    child: Child,
    master: File,
    received: Arc<(Mutex<Received>, Condvar)>,
    /// Chunks already fed to `screen`.
    next_chunk: usize,
    /// Bytes already fed to `screen`.
    consumed: usize,
    /// When the last chunk fed to `screen` arrived.
    last_at: Option<Instant>,
    screen: Screen,
    started: Instant,
}

impl Pty {
    fn spawn(dir: &Path, args: &[&str]) -> Result<Pty, String> {
        let state = dir.join("state");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gonogo"));
        cmd.args(args)
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .env_remove("COLORTERM")
            .env("XDG_STATE_HOME", &state)
            .env("TMPDIR", dir);
        let pty = pty::attach(&mut cmd, COLS, ROWS)?;
        let started = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", env!("CARGO_BIN_EXE_gonogo")))?;
        // `cmd` keeps our copies of the slave open until dropped.
        drop(cmd);
        // Only the child holds the slave now: its exit ends our reads.
        drop(pty.slave);
        let master = File::from(pty.master);
        let mut reader = master
            .try_clone()
            .map_err(|e| format!("dup pty master: {e}"))?;
        let received = Arc::new((Mutex::new(Received::default()), Condvar::new()));
        let r = Arc::clone(&received);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = reader.read(&mut buf);
                let at = Instant::now();
                let (lock, cv) = &*r;
                let mut got = lock.lock().unwrap_or_else(|e| e.into_inner());
                match n {
                    Ok(n) if n > 0 => got.chunks.push((at, buf[..n].to_vec())),
                    // EIO once the child and its descendants closed the slave.
                    _ => {
                        got.closed = true;
                        cv.notify_all();
                        return;
                    }
                }
                cv.notify_all();
            }
        });
        Ok(Pty {
            child,
            master,
            received,
            next_chunk: 0,
            consumed: 0,
            last_at: None,
            screen: Screen::new(),
            started,
        })
    }

    /// Feeds every chunk received so far to the screen model.
    fn drain(&mut self) {
        let _ = self.feed_until(Instant::now(), |_| false);
    }

    /// Feeds chunks as they arrive until `done(screen)` holds: returns the
    /// arrival time of the chunk that made it true (if it holds already,
    /// of the last chunk fed).
    fn wait_until(&mut self, timeout: Duration, done: impl Fn(&Screen) -> bool) -> Option<Instant> {
        if done(&self.screen) {
            return Some(self.last_at.unwrap_or_else(Instant::now));
        }
        self.feed_until(Instant::now() + timeout, done)
    }

    fn feed_until(&mut self, deadline: Instant, done: impl Fn(&Screen) -> bool) -> Option<Instant> {
        let (lock, cv) = &*self.received;
        let mut got = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            while self.next_chunk < got.chunks.len() {
                let (at, bytes) = &got.chunks[self.next_chunk];
                self.next_chunk += 1;
                self.consumed += bytes.len();
                self.last_at = Some(*at);
                self.screen.feed(bytes);
                if done(&self.screen) {
                    return Some(*at);
                }
            }
            let now = Instant::now();
            if got.closed || now >= deadline {
                return None;
            }
            got = cv
                .wait_timeout(got, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Writes keys to the terminal; returns when they were written.
    fn send(&mut self, keys: &[u8]) -> Result<Instant, String> {
        self.master
            .write_all(keys)
            .map_err(|e| format!("cannot write to the pty: {e}"))?;
        Ok(Instant::now())
    }

    /// `q`, then SIGKILL if it has not gone within 3 s.
    fn quit(mut self) {
        let _ = self.master.write_all(b"q");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!(
            "screen bench: pid {} did not quit on `q` within 3 s; killing it",
            self.child.id()
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// A small terminal model: enough of VT100 to follow ratatui's output.

#[derive(Default)]
struct RowCount {
    bytes: usize,
    min_col: usize,
    max_col: usize,
}

#[derive(Default)]
struct Counts {
    frames: usize,
    /// Synchronized-update and cursor show/hide sequences.
    overhead: usize,
    rows: BTreeMap<usize, RowCount>,
}

enum Parse {
    Ground,
    Esc,
    /// ESC ( or ESC ): one more byte.
    Charset,
    Csi(Vec<u8>),
    Osc,
    OscEsc,
    Utf8(Vec<u8>, usize),
}

struct Screen {
    cells: Vec<Vec<char>>,
    row: usize,
    col: usize,
    /// In the alternate screen.
    alt: bool,
    parse: Parse,
    counts: Option<Counts>,
}

impl Screen {
    fn new() -> Screen {
        Screen {
            cells: vec![vec![' '; COLS as usize]; ROWS as usize],
            row: 0,
            col: 0,
            alt: false,
            parse: Parse::Ground,
            counts: None,
        }
    }

    fn start_counting(&mut self) {
        self.counts = Some(Counts::default());
    }

    fn stop_counting(&mut self) -> Counts {
        self.counts.take().unwrap_or_default()
    }

    fn contains(&self, text: &str) -> bool {
        (0..self.cells.len()).any(|r| self.row_text(r).contains(text))
    }

    fn row_text(&self, row: usize) -> String {
        self.cells
            .get(row)
            .map(|r| r.iter().collect::<String>().trim_end().to_string())
            .unwrap_or_default()
    }

    fn dump(&self) -> String {
        (0..self.cells.len())
            .map(|r| format!("    |{}", self.row_text(r)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn clear(&mut self) {
        for r in &mut self.cells {
            r.fill(' ');
        }
    }

    fn count(&mut self, n: usize, overhead: bool) {
        let (row, col) = (self.row, self.col);
        if let Some(c) = &mut self.counts {
            if overhead {
                c.overhead += n;
            } else {
                let r = c.rows.entry(row).or_insert(RowCount {
                    bytes: 0,
                    min_col: col,
                    max_col: col,
                });
                r.bytes += n;
                r.min_col = r.min_col.min(col);
                r.max_col = r.max_col.max(col);
            }
        }
    }

    fn put(&mut self, c: char) {
        if self.row < self.cells.len() && self.col < self.cells[self.row].len() {
            self.cells[self.row][self.col] = c;
        }
        self.col += 1;
    }

    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.byte(b);
        }
    }

    fn byte(&mut self, b: u8) {
        match std::mem::replace(&mut self.parse, Parse::Ground) {
            Parse::Ground => match b {
                0x1b => self.parse = Parse::Esc,
                b'\r' => {
                    self.count(1, false);
                    self.col = 0;
                }
                b'\n' => {
                    self.count(1, false);
                    self.row += 1;
                }
                0x08 => {
                    self.count(1, false);
                    self.col = self.col.saturating_sub(1);
                }
                0x20..=0x7e => {
                    self.count(1, false);
                    self.put(b as char);
                }
                0xc0..=0xdf => self.parse = Parse::Utf8(vec![b], 2),
                0xe0..=0xef => self.parse = Parse::Utf8(vec![b], 3),
                0xf0..=0xf7 => self.parse = Parse::Utf8(vec![b], 4),
                _ => self.count(1, false),
            },
            Parse::Utf8(mut v, len) => {
                v.push(b);
                if v.len() < len {
                    self.parse = Parse::Utf8(v, len);
                } else {
                    self.count(len, false);
                    let c = std::str::from_utf8(&v)
                        .ok()
                        .and_then(|s| s.chars().next())
                        .unwrap_or('\u{fffd}');
                    self.put(c);
                }
            }
            Parse::Esc => match b {
                b'[' => self.parse = Parse::Csi(Vec::new()),
                b']' => self.parse = Parse::Osc,
                b'(' | b')' => self.parse = Parse::Charset,
                _ => self.count(2, false),
            },
            Parse::Charset => self.count(3, false),
            Parse::Osc => match b {
                0x07 => {}
                0x1b => self.parse = Parse::OscEsc,
                _ => self.parse = Parse::Osc,
            },
            Parse::OscEsc => {}
            Parse::Csi(mut v) => {
                if (0x40..=0x7e).contains(&b) {
                    self.csi(&v, b);
                } else {
                    v.push(b);
                    self.parse = Parse::Csi(v);
                }
            }
        }
    }

    /// One control sequence `ESC [ params final`.
    fn csi(&mut self, params: &[u8], fin: u8) {
        let len = params.len() + 3;
        let p = std::str::from_utf8(params).unwrap_or("");
        let nums = |i: usize, default: usize| -> usize {
            p.split(';')
                .nth(i)
                .and_then(|n| n.parse().ok())
                .filter(|&n| n > 0)
                .unwrap_or(default)
        };
        match (p, fin) {
            ("?2026", b'h') => {
                if let Some(c) = &mut self.counts {
                    c.frames += 1;
                }
                self.count(len, true);
            }
            ("?2026", b'l') | ("?25", b'h') | ("?25", b'l') => self.count(len, true),
            ("?1049", b'h') => {
                self.alt = true;
                self.clear();
                self.count(len, true);
            }
            ("?1049", b'l') => {
                self.alt = false;
                self.count(len, true);
            }
            (_, b'H' | b'f') => {
                self.row = nums(0, 1) - 1;
                self.col = nums(1, 1) - 1;
                self.count(len, false);
            }
            ("2", b'J') => {
                self.clear();
                self.count(len, false);
            }
            _ => self.count(len, false),
        }
    }
}

// ---------------------------------------------------------------------------

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms_f(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", ms_f(d))
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// The 1-minute load average.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}
