//! Child processes of the product bench and what `/proc` says about them.
//!
//! Every child is spawned from the main thread with a parent-death signal
//! (SIGKILL), so it dies with the bench however the bench ends (a panic, a
//! Ctrl-C, a `kill -9`); [`Guarded`] also stops it on drop (SIGTERM, then
//! SIGKILL), so a failing run leaves nothing polling the next one's server.
//!
//! Included with `#[path = "support/process.rs"] mod process;`.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, SysconfVar, sysconf};

/// `CLOCK_MONOTONIC` in µs: the one clock the bench and its server share.
pub fn monotonic_us() -> u64 {
    let mut ts = nix::libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` only writes the timespec we own; the clock id
    // is valid on every Linux.
    unsafe { nix::libc::clock_gettime(nix::libc::CLOCK_MONOTONIC, &raw mut ts) };
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000
        + u64::try_from(ts.tv_nsec).unwrap_or(0) / 1000
}

/// Clock ticks per second, the unit of `/proc/<pid>/stat` CPU times.
pub fn clock_ticks() -> u64 {
    sysconf(SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .unwrap_or(100)
}

/// A child that is stopped when dropped and killed when the bench dies.
pub struct Guarded {
    pub child: Child,
    name: String,
}

impl Guarded {
    /// Spawns `cmd` with SIGKILL as its parent-death signal. Call from the
    /// main thread: the signal follows the thread that forked.
    pub fn spawn(mut cmd: Command, name: &str) -> Result<Guarded, String> {
        with_parent_death_signal(&mut cmd);
        let child = cmd.spawn().map_err(|e| format!("cannot run {name}: {e}"))?;
        Ok(Guarded {
            child,
            name: name.to_string(),
        })
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX))
    }

    /// Whether it is still running; its exit status if not.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM, then SIGKILL if it has not gone within `grace`. Returns how
    /// it ended and whether it took the SIGKILL.
    pub fn stop(&mut self, grace: Duration) -> (Option<ExitStatus>, bool) {
        if let Some(status) = self.exited() {
            return (Some(status), false);
        }
        let _ = kill(self.pid(), Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return (Some(status), false);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!(
            "product bench: {} (pid {}) ignored SIGTERM for {} s; killing it",
            self.name,
            self.child.id(),
            grace.as_secs()
        );
        let _ = self.child.kill();
        (self.child.wait().ok(), true)
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.stop(Duration::from_secs(3));
        }
    }
}

fn with_parent_death_signal(cmd: &mut Command) {
    let parent = nix::unistd::getpid();
    // SAFETY: only async-signal-safe calls (prctl, getppid) between fork
    // and exec.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            // The bench died before the prctl: nobody would stop this child.
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::other("the bench is gone"));
            }
            Ok(())
        });
    }
}

/// Spawns `cmd` on the slave side of a new `cols`×`rows` pty, in a session
/// of its own with the pty as its controlling terminal, as in a terminal
/// emulator. A thread drains the master: counts the bytes and keeps the
/// last few KiB for a failure message.
pub fn spawn_on_pty(
    mut cmd: Command,
    name: &str,
    cols: u16,
    rows: u16,
) -> Result<(Guarded, Drained), String> {
    let pty = crate::pty::attach(&mut cmd, cols, rows)?;
    let child = Guarded::spawn(cmd, name)?;
    // Only the child holds the slave now: its exit ends our reads.
    drop(pty.slave);
    let drained = Drained::start(File::from(pty.master), false);
    Ok((child, drained))
}

/// Lines of output, each with when it arrived (µs, `CLOCK_MONOTONIC`).
pub type TimedLines = Arc<Mutex<Vec<(u64, String)>>>;

/// A thread that reads a child's output until EOF, so the child never
/// blocks on a full pipe or pty.
pub struct Drained {
    pub bytes: Arc<AtomicU64>,
    pub lines: Arc<AtomicU64>,
    /// Each complete line with when it arrived (µs, `CLOCK_MONOTONIC`),
    /// when asked for: plain-line output only.
    pub timed_lines: Option<TimedLines>,
    /// The output switched to the alternate screen (a TUI landed).
    pub alternate_screen: Arc<AtomicBool>,
    tail: Arc<Mutex<Vec<u8>>>,
}

/// `ESC [ ? 1049 h`: enter the alternate screen.
const ALT_SCREEN: &[u8] = b"\x1b[?1049h";

impl Drained {
    const TAIL: usize = 4096;

    pub fn start(mut from: impl Read + Send + 'static, keep_lines: bool) -> Drained {
        let bytes = Arc::new(AtomicU64::new(0));
        let lines = Arc::new(AtomicU64::new(0));
        let alternate_screen = Arc::new(AtomicBool::new(false));
        let tail = Arc::new(Mutex::new(Vec::new()));
        let timed_lines = keep_lines.then(|| Arc::new(Mutex::new(Vec::new())));
        let (b, l, a, t, kept) = (
            Arc::clone(&bytes),
            Arc::clone(&lines),
            Arc::clone(&alternate_screen),
            Arc::clone(&tail),
            timed_lines.clone(),
        );
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let mut partial = Vec::new();
            // EOF, or EIO on a pty once the child closed the slave.
            while let Ok(n @ 1..) = from.read(&mut buf) {
                let at = monotonic_us();
                let chunk = &buf[..n];
                if let Some(kept) = &kept {
                    partial.extend_from_slice(chunk);
                    let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
                    while let Some(end) = partial.iter().position(|&c| c == b'\n') {
                        let line: Vec<u8> = partial.drain(..=end).collect();
                        kept.push((at, String::from_utf8_lossy(&line).trim_end().to_string()));
                    }
                }
                b.fetch_add(n as u64, Ordering::Relaxed);
                l.fetch_add(
                    chunk.iter().filter(|&&c| c == b'\n').count() as u64,
                    Ordering::Relaxed,
                );
                let mut t = t.lock().unwrap_or_else(PoisonError::into_inner);
                t.extend_from_slice(chunk);
                if !a.load(Ordering::Relaxed)
                    && t.windows(ALT_SCREEN.len()).any(|w| w == ALT_SCREEN)
                {
                    a.store(true, Ordering::Relaxed);
                }
                let excess = t.len().saturating_sub(Self::TAIL);
                t.drain(..excess);
            }
        });
        Drained {
            bytes,
            lines,
            timed_lines,
            alternate_screen,
            tail,
        }
    }

    /// The last output, control sequences and all, as printable text.
    pub fn tail(&self) -> String {
        let t = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&t)
            .chars()
            .map(|c| if c.is_control() && c != '\n' { '·' } else { c })
            .collect()
    }
}

/// CPU time (user + system, all threads) of a process, in clock ticks.
pub fn cpu_ticks(pid: Pid) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the
    // fields that follow start after the last ')'. utime and stime are
    // fields 14 and 15, so the 12th and 13th after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The numeric fields of `/proc/<pid>/status` (kB figures are KiB).
pub fn status(pid: Pid) -> HashMap<String, u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let n = v.split_whitespace().next()?.parse().ok()?;
            Some((k.to_string(), n))
        })
        .collect()
}

/// The whole machine's busy CPU time (all CPUs, not idle or waiting on
/// I/O), in clock ticks, from `/proc/stat`.
pub fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let f: Vec<u64> = cpu
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is in user).
    let total: u64 = f.iter().take(8).sum();
    Some(total - f.get(3)? - f.get(4)?)
}

/// The 1-minute load average.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// How many compilers are running right now (other engineers' builds).
pub fn compilers_running() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|comm| matches!(comm.trim(), "rustc" | "cc1" | "cc1plus" | "ld" | "rust-lld"))
        .count()
}
