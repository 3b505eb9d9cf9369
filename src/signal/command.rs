//! Running commands safely: argv without a shell, in their own process
//! group, with a timeout that kills the whole group and output kept to a
//! bounded tail. Command signals use it now; `on_enter` and rollback
//! commands use the same runner so they all fail the same way.
//!
//! A command may print anything, its inherited environment included: every
//! line handed out ([`LineSink`], [`tail_text`]) is cleaned of escape
//! sequences and has secrets redacted ([`crate::text`]), and no line is cut
//! where it would split a secret in two.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal as UnixSignal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::time::Instant;

/// After the command exits, how long its pipes may stay open (held by a
/// stray background child) before the group is killed.
const PIPE_GRACE: Duration = Duration::from_millis(250);

#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout: Duration,
    /// Bytes of the end of stdout and of stderr to keep.
    pub keep: usize,
    /// Kill the group once stdout passes this many bytes.
    pub max_stdout: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Exited with this code.
    Exited(i32),
    /// Killed by a signal it did not get from us.
    Signalled(i32),
    /// We killed it: its time ran out.
    TimedOut,
    /// We killed it: it printed more than allowed.
    TooMuchOutput,
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub ending: Ending,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    pub took: Duration,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.ending == Ending::Exited(0)
    }

    /// `exit status 3`, `timed out after 5s`, … for one-line reasons.
    pub fn describe(&self, limits: &Limits) -> String {
        match &self.ending {
            Ending::Exited(c) => format!("exit status {c}"),
            Ending::Signalled(s) => format!("killed by signal {s}"),
            Ending::TimedOut => format!(
                "timed out after {}; process group killed",
                crate::unit::format_duration(limits.timeout)
            ),
            Ending::TooMuchOutput => format!(
                "printed more than {} bytes; process group killed",
                limits.max_stdout.unwrap_or_default()
            ),
        }
    }

    pub fn last_stderr_line(&self) -> Option<String> {
        last_line(&self.stderr)
    }
}

pub fn last_line(bytes: &[u8]) -> Option<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// Keeps the last `cap` bytes written.
struct Tail {
    buf: Vec<u8>,
    cap: usize,
    total: u64,
}

impl Tail {
    fn new(cap: usize) -> Self {
        Tail {
            buf: Vec::new(),
            cap,
            total: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > self.cap * 2 {
            let cut = self.buf.len() - self.cap;
            self.buf.drain(..cut);
        }
    }

    fn into_vec(mut self) -> Vec<u8> {
        if self.buf.len() > self.cap {
            let cut = self.buf.len() - self.cap;
            self.buf.drain(..cut);
        }
        self.buf
    }
}

/// Receives each line of a command's output (stdout and stderr) as it is
/// printed, cleaned of terminal escapes so it is safe to draw.
pub type LineSink<'a> = dyn Fn(&str) + Send + Sync + 'a;

/// Longest line handed to a [`LineSink`]; longer runs are broken, so a
/// command printing without newlines cannot grow a buffer without bound.
const MAX_LINE: usize = 1024;

/// Cuts a byte stream into lines for a [`LineSink`].
#[derive(Default)]
struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    fn push(&mut self, bytes: &[u8], sink: &LineSink<'_>) {
        for &b in bytes {
            if b == b'\n' {
                self.flush(sink);
            } else {
                self.partial.push(b);
                if self.partial.len() >= MAX_LINE {
                    self.break_long_line(sink);
                }
            }
        }
    }

    /// Hands over a line too long to keep, but not where that would split
    /// a secret: the bytes that could begin one are carried over (up to
    /// half a line, so a line still moves on).
    fn break_long_line(&mut self, sink: &LineSink<'_>) {
        let carry = crate::text::unfinished_secret(&self.partial, MAX_LINE / 2);
        let rest = self.partial.split_off(self.partial.len() - carry);
        self.flush(sink);
        self.partial = rest;
    }

    fn flush(&mut self, sink: &LineSink<'_>) {
        if self.partial.is_empty() {
            return;
        }
        sink(&clean_line(&self.partial));
        self.partial.clear();
    }
}

/// What a terminal would end up showing for one line of output: escape
/// sequences (colours, cursor moves, titles) dropped, a carriage-return
/// progress bar reduced to its last state, other control bytes removed,
/// secrets redacted.
pub fn clean_line(bytes: &[u8]) -> String {
    let mut end = bytes.len();
    while end > 0 && bytes[end - 1] == b'\r' {
        end -= 1;
    }
    let start = bytes[..end]
        .iter()
        .rposition(|&b| b == b'\r')
        .map_or(0, |i| i + 1);
    let line = String::from_utf8_lossy(&bytes[start..end]);
    crate::text::clean(&line).into_owned()
}

/// The kept end of an output stream of `total` bytes as clean lines
/// ([`clean_line`] each). When the start was cut off, the first line is
/// dropped: it may begin in the middle of a secret, where no redaction
/// could recognise it.
pub fn tail_text(kept: &[u8], total: u64) -> String {
    let mut kept = kept;
    if total > kept.len() as u64 {
        kept = match kept.iter().position(|&b| b == b'\n') {
            Some(i) => &kept[i + 1..],
            None => &kept[crate::text::longest_secret().min(kept.len())..],
        };
    }
    let lines: Vec<String> = kept.split(|&b| b == b'\n').map(clean_line).collect();
    lines.join("\n")
}

/// Runs `argv` in `dir` with extra environment `env`.
///
/// # Errors
/// Only when the program cannot be started at all (not found, not
/// executable); the message names the program.
pub async fn run(
    argv: &[String],
    dir: &Path,
    env: &[(String, String)],
    limits: &Limits,
) -> Result<Finished, String> {
    run_streamed(argv, dir, env, limits, None).await
}

/// [`run`], handing every line of output to `sink` as it is printed.
///
/// # Errors
/// As [`run`].
pub async fn run_streamed(
    argv: &[String],
    dir: &Path,
    env: &[(String, String)],
    limits: &Limits,
    sink: Option<&LineSink<'_>>,
) -> Result<Finished, String> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "empty command".to_string())?;
    let started = Instant::now();
    // Spawning in a directory that is gone fails with the same ENOENT as a
    // missing program: name the directory, which is what to fix.
    if !dir.as_os_str().is_empty() && !dir.is_dir() {
        return Err(format!(
            "cannot start {program}: its directory {} does not exist",
            dir.display()
        ));
    }
    // Every process of this run carries the mark, setsid or not: what the
    // group kill misses, the mark finds.
    let marker = env
        .iter()
        .find(|(k, _)| k == MARKER_VAR)
        .map_or_else(new_marker, |(_, v)| v.clone());
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env(MARKER_VAR, &marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let pgid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    // Disarmed on return; fires only if this future is dropped mid-run.
    let mut cancelled = KillGroupOnDrop(pgid, marker.clone());
    let kill_group = || kill_run(pgid, &marker);
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut out = Tail::new(limits.keep);
    let mut err = Tail::new(limits.keep);
    let mut out_lines = Lines::default();
    let mut err_lines = Lines::default();
    let mut out_buf = vec![0u8; 16 * 1024];
    let mut err_buf = vec![0u8; 4 * 1024];
    let deadline = Instant::now() + limits.timeout;
    let mut status = None;
    let mut grace_until = None;
    let mut forced = None;
    loop {
        if status.is_some() && stdout.is_none() && stderr.is_none() {
            break;
        }
        tokio::select! {
            r = read_some(&mut stdout, &mut out_buf), if stdout.is_some() => match r {
                Some(n) => {
                    out.push(&out_buf[..n]);
                    if let Some(sink) = sink {
                        out_lines.push(&out_buf[..n], sink);
                    }
                    if limits.max_stdout.is_some_and(|max| out.total > max) {
                        forced = Some(Ending::TooMuchOutput);
                        break;
                    }
                }
                None => stdout = None,
            },
            r = read_some(&mut stderr, &mut err_buf), if stderr.is_some() => match r {
                Some(n) => {
                    err.push(&err_buf[..n]);
                    if let Some(sink) = sink {
                        err_lines.push(&err_buf[..n], sink);
                    }
                }
                None => stderr = None,
            },
            s = child.wait(), if status.is_none() => {
                status = Some(s);
                grace_until = Some(Instant::now() + PIPE_GRACE);
            }
            () = tokio::time::sleep_until(deadline) => {
                forced = Some(Ending::TimedOut);
                break;
            }
            () = sleep_until_opt(grace_until), if grace_until.is_some() => {
                // Exited, but a background child still holds the pipes.
                kill_group();
                break;
            }
        }
    }
    if forced.is_some() {
        kill_group();
    }
    if let Some(sink) = sink {
        out_lines.flush(sink);
        err_lines.flush(sink);
    }
    let status = match status {
        Some(s) => s,
        None => child.wait().await,
    };
    let ending = forced.unwrap_or_else(|| match status {
        Ok(s) => {
            use std::os::unix::process::ExitStatusExt;
            match (s.code(), s.signal()) {
                (Some(c), _) => Ending::Exited(c),
                (None, Some(sig)) => Ending::Signalled(sig),
                (None, None) => Ending::Exited(-1),
            }
        }
        Err(_) => Ending::Exited(-1),
    });
    cancelled.0 = None;
    Ok(Finished {
        ending,
        stdout_bytes: out.total,
        stderr_bytes: err.total,
        stdout: out.into_vec(),
        stderr: err.into_vec(),
        took: started.elapsed(),
    })
}

/// Kills the process group if [`run`] is dropped before it finishes (its
/// polling task was cancelled): `kill_on_drop` reaches only the direct
/// child, and its children would run on, orphaned.
struct KillGroupOnDrop(Option<Pid>, String);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        if self.0.is_some() {
            kill_run(self.0, &self.1);
        }
    }
}

/// The variable that marks every process of one run.
pub const MARKER_VAR: &str = "GONOGO_RUN";

fn new_marker() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}-{n}-{nanos:08x}", std::process::id())
}

/// Kills the run's process group and every process still carrying its
/// mark: a descendant that called `setsid` has left the group, not the
/// environment it inherited.
fn kill_run(pgid: Option<Pid>, marker: &str) {
    if let Some(pgid) = pgid {
        // ESRCH (already gone) is fine: the point is that nothing is left.
        let _ = killpg(pgid, UnixSignal::SIGKILL);
    }
    for pid in marked(marker) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), UnixSignal::SIGKILL);
    }
}

/// The processes of this user whose environment carries `marker` (only
/// ours are readable): a run's stragglers, found by what they inherited.
pub fn marked(marker: &str) -> Vec<i32> {
    let needle = format!("{MARKER_VAR}={marker}\0");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| u32::try_from(pid).is_ok_and(|p| p != me))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .collect()
}

async fn read_some<R: tokio::io::AsyncRead + Unpin>(
    r: &mut Option<R>,
    buf: &mut [u8],
) -> Option<usize> {
    let reader = r.as_mut()?;
    match reader.read(buf).await {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n),
    }
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(ms: u64) -> Limits {
        Limits {
            timeout: Duration::from_millis(ms),
            keep: 1024,
            max_stdout: Some(64 * 1024),
        }
    }

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_string()).collect()
    }

    #[tokio::test]
    async fn exit_status_and_output_are_kept() {
        let f = run(
            &argv(&["sh", "-c", "echo 42; echo oops >&2; exit 3"]),
            Path::new("."),
            &[],
            &limits(5000),
        )
        .await
        .unwrap();
        assert_eq!(f.ending, Ending::Exited(3));
        assert_eq!(last_line(&f.stdout).as_deref(), Some("42"));
        assert_eq!(f.last_stderr_line().as_deref(), Some("oops"));
    }

    #[tokio::test]
    async fn lines_stream_while_the_command_runs() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = {
            let seen = std::sync::Arc::clone(&seen);
            move |l: &str| seen.lock().unwrap().push((Instant::now(), l.to_string()))
        };
        let f = run_streamed(
            &argv(&["sh", "-c", "echo one; echo warn >&2; sleep 1; printf two"]),
            Path::new("."),
            &[],
            &limits(5000),
            Some(&record),
        )
        .await
        .unwrap();
        assert!(f.success());
        let seen = seen.lock().unwrap();
        let mut texts: Vec<&str> = seen.iter().map(|(_, l)| l.as_str()).collect();
        // stdout and stderr are separate pipes: their order is the reader's.
        texts[..2].sort_unstable();
        assert_eq!(texts, ["one", "warn", "two"]);
        // The first lines were handed over a second before the last was
        // printed, not at exit; an unterminated last line is flushed.
        assert!(seen[2].0 - seen[0].0 >= Duration::from_millis(800));
    }

    #[test]
    fn output_lines_are_safe_to_draw() {
        assert_eq!(clean_line(b"\x1b[31mred\x1b[0m done"), "red done");
        assert_eq!(clean_line(b"10%\r50%\r100%"), "100%");
        assert_eq!(clean_line(b"a\tb\x07\x1b]0;title\x07"), "a b");
        let cut = std::sync::Mutex::new(Vec::new());
        let mut lines = Lines::default();
        let sink = |l: &str| cut.lock().unwrap().push(l.len());
        lines.push(&[b'x'; 2500], &sink);
        lines.flush(&sink);
        assert_eq!(*cut.lock().unwrap(), [MAX_LINE, MAX_LINE, 452]);
    }

    #[test]
    fn a_cut_tail_loses_its_first_line() {
        assert_eq!(tail_text(b"a\x1b[1mb\nc\n", 6), "ab\nc\n");
        assert_eq!(tail_text(b"ken=s3\nPATH=/bin", 100), "PATH=/bin");
        assert_eq!(tail_text(b"", 0), "");
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        // The grandchild would write the marker if it outlived the group kill.
        let script = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let f = run(&argv(&["sh", "-c", &script]), dir.path(), &[], &limits(200))
            .await
            .unwrap();
        assert_eq!(f.ending, Ending::TimedOut);
        assert!(f.took < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!marker.exists(), "a grandchild outlived the timeout");
    }

    #[tokio::test]
    async fn endless_output_is_cut_off() {
        let f = run(&argv(&["yes"]), Path::new("."), &[], &limits(10_000))
            .await
            .unwrap();
        assert_eq!(f.ending, Ending::TooMuchOutput);
        assert!(f.stdout.len() <= 1024);
    }

    #[tokio::test]
    async fn a_missing_directory_is_named_not_the_program() {
        let e = run(
            &argv(&["echo", "hi"]),
            Path::new("/nonexistent/gonogo-dir"),
            &[],
            &limits(1000),
        )
        .await
        .unwrap_err();
        assert_eq!(
            e,
            "cannot start echo: its directory /nonexistent/gonogo-dir does not exist"
        );
    }

    #[tokio::test]
    async fn missing_program_is_named() {
        let e = run(
            &argv(&["/nonexistent/gonogo-probe"]),
            Path::new("."),
            &[],
            &limits(1000),
        )
        .await
        .unwrap_err();
        assert!(
            e.starts_with("cannot start /nonexistent/gonogo-probe"),
            "{e}"
        );
    }
}
