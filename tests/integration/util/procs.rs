//! Real processes for the end-to-end tests: the `gonogo` binary, a headless
//! demo service, `gonogo watch` guards whose output is read line by line,
//! raw journal reads, what `/proc` says about a process, and this test
//! binary re-run for one test. Every child is killed when its owner drops,
//! so a failing test leaves nothing running.
//!
//! All tests share one process, each on a thread of its own. A test that
//! measures the whole process (its peak RSS) or leaves process-wide state
//! behind runs [`alone`]: the test binary re-runs just that test in a
//! child.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_gonogo");

pub fn demo_layout() -> String {
    format!("{}/layouts/demo.toml", env!("CARGO_MANIFEST_DIR"))
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Set in a child started by [`rerun`]: the name of the one test it runs.
const RERUN_ENV: &str = "GONOGO_TEST_RERUN";

/// The name libtest gives the test `test` of the module at `module`
/// (`module_path!()`, whose first part, the crate, libtest leaves out):
/// `durability::durability_writer_child`.
pub fn test_name(module: &str, test: &str) -> String {
    let module = module.split_once("::").map_or("", |(_, m)| m);
    if module.is_empty() {
        test.to_string()
    } else {
        format!("{module}::{test}")
    }
}

/// This test binary, set to run the one test `name` (as libtest names it),
/// on one thread with its output uncaptured, and knowing it is that re-run
/// ([`is_rerun`]).
pub fn rerun(name: &str) -> Command {
    let exe = std::env::current_exe().expect("the test binary");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(RERUN_ENV, name);
    cmd
}

/// Whether this process is the re-run of the test `name` ([`rerun`]).
pub fn is_rerun(name: &str) -> bool {
    std::env::var_os(RERUN_ENV).is_some_and(|v| v == name)
}

/// Runs `body` in a process of its own: the calling test re-runs itself
/// ([`rerun`]) and passes when that child ran it and passed; in the child,
/// `body` runs. The child's output is shown as the test's own.
pub fn alone(body: impl FnOnce()) {
    // libtest runs each test on a thread named after it.
    let name = std::thread::current()
        .name()
        .expect("a test thread is named after its test")
        .to_string();
    if is_rerun(&name) {
        body();
        return;
    }
    // Never a re-run of a re-run, whatever went wrong with the name.
    assert!(
        std::env::var_os(RERUN_ENV).is_none(),
        "{name} is not the test this process was re-run for"
    );
    let out = rerun(&name)
        .stdin(Stdio::null())
        .output()
        .expect("re-run the test binary");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name}, run alone: {}\n{stdout}{stderr}",
        out.status
    );
    eprint!("{stderr}");
}

/// A child process killed (SIGKILL) and reaped on drop.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(i32::try_from(self.0.id()).expect("pid"))
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A headless demo service in its own process.
pub struct Demo {
    child: Option<KillOnDrop>,
    pub url: String,
}

impl Demo {
    pub fn start() -> Demo {
        let mut child = Command::new(BIN)
            .args(["demo", "--headless"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start demo");
        let stdout = child.stdout.take().expect("stdout");
        let child = KillOnDrop(child);
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read demo url");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        Demo {
            child: Some(child),
            url,
        }
    }

    /// `POST /faults/<what>`, asserting it was accepted.
    pub fn fault(&self, what: &str) {
        let url = format!("{}/faults/{what}", self.url);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let status = rt.block_on(async {
            reqwest::Client::new()
                .post(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map(|r| r.status())
        });
        assert!(
            status.as_ref().is_ok_and(|s| s.is_success()),
            "fault {what}: {status:?}"
        );
    }

    /// Stops the service (SIGKILL): every signal against it fails from now on.
    pub fn stop(&mut self) {
        self.child = None;
    }
}

/// A `gonogo` command with `DEMO_URL` set (when given) and the XDG state
/// directory pointed at `state`, so the operator's real default journal is
/// never touched even if a test forgets `--journal`.
pub fn gonogo_cmd(state: &Path, demo_url: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("XDG_STATE_HOME", state);
    if let Some(url) = demo_url {
        cmd.env("DEMO_URL", url);
    }
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run gonogo")
}

/// A running process whose stdout lines are collected on a thread.
pub struct Lines {
    pub child: KillOnDrop,
    rx: mpsc::Receiver<(Instant, String)>,
    /// Every line read so far, with when it was read.
    pub seen: Vec<(Instant, String)>,
}

impl Lines {
    pub fn spawn(mut cmd: Command) -> Lines {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send((Instant::now(), line)).is_err() {
                    return;
                }
            }
        });
        Lines {
            child: KillOnDrop(child),
            rx,
            seen: Vec::new(),
        }
    }

    /// Takes in every line available now, without waiting.
    pub fn drain(&mut self) {
        while let Ok(l) = self.rx.try_recv() {
            self.seen.push(l);
        }
    }

    /// Waits (bounded) for a line matching `want`, returning it and when it
    /// was read. Lines already seen count.
    pub fn wait_for(
        &mut self,
        want: impl Fn(&str) -> bool,
        limit: Duration,
    ) -> Option<(Instant, String)> {
        if let Some(hit) = self.seen.iter().find(|(_, l)| want(l)) {
            return Some(hit.clone());
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if want(&l.1) {
                        return Some(l);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Like [`Lines::wait_for`], panicking with everything seen on timeout.
    pub fn expect(&mut self, what: &str, want: impl Fn(&str) -> bool, limit: Duration) -> String {
        match self.wait_for(want, limit) {
            Some((_, l)) => l,
            None => panic!(
                "no line {what} within {limit:?}; saw:\n{}",
                self.transcript()
            ),
        }
    }

    pub fn transcript(&self) -> String {
        self.seen
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn count(&self, want: impl Fn(&str) -> bool) -> usize {
        self.seen.iter().filter(|(_, l)| want(l)).count()
    }
}

/// Starts `gonogo watch` on a layout and journal and waits for its first
/// line ("watching …").
pub fn watch(state: &Path, demo_url: Option<&str>, layout: &str, journal: &Path) -> Lines {
    let cmd = gonogo_cmd(
        state,
        demo_url,
        &["watch", layout, "--journal", journal.to_str().unwrap()],
    );
    let mut lines = Lines::spawn(cmd);
    lines.expect(
        "\"watching …\"",
        |l| l.contains(" watching \""),
        Duration::from_secs(10),
    );
    lines
}

/// `gonogo start`: enters the first phase of the launch on `journal`.
pub fn start(state: &Path, demo_url: Option<&str>, layout: &str, journal: &Path) {
    let out = run(&mut gonogo_cmd(
        state,
        demo_url,
        &["start", layout, "--journal", journal.to_str().unwrap()],
    ));
    assert_eq!(
        out.status.code(),
        Some(0),
        "gonogo start: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Polls `probe` every 50 ms until it returns `Some`, or `limit` passes.
pub fn poll_until<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The journal's events as stored: `(seq, actor, kind, body)`, read with
/// plain SQLite (read-only), so nothing of gonogo's own reading is trusted.
pub fn raw_events(journal: &Path) -> Vec<(i64, String, String, String)> {
    if let Some(url) = journal.to_str().filter(|j| j.starts_with("postgres://")) {
        // A team journal: every event of its one launch, as stored.
        let at = gonogo::journal::Location::Postgres(url.to_string());
        let Some(launch) = gonogo::journal::Journal::launches(&at)
            .ok()
            .and_then(|l| l.into_iter().next())
        else {
            return Vec::new();
        };
        let Ok(j) = gonogo::journal::Journal::open_read_only(&at, &launch) else {
            return Vec::new();
        };
        return j
            .rows()
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.seq, r.actor, r.kind, r.body))
            .collect();
    }
    let Ok(conn) = rusqlite::Connection::open_with_flags(
        journal,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return Vec::new();
    };
    let _ = conn.busy_timeout(Duration::from_secs(5));
    let Ok(mut stmt) = conn.prepare("SELECT seq, actor, kind, body FROM events ORDER BY seq")
    else {
        return Vec::new();
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .map(|rows| rows.map_while(Result::ok).collect())
        .unwrap_or_default()
}

pub fn count_kind(journal: &Path, kind: &str) -> usize {
    raw_events(journal).iter().filter(|e| e.2 == kind).count()
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

pub fn path_str(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// `/proc/<pid>/stat` fields after the command name: state, ppid, … .
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// The children of `parent` whose command line contains `needle`.
pub fn children(parent: i32, needle: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            stat_fields(pid).is_some_and(|f| f.get(1).is_some_and(|p| *p == parent.to_string()))
        })
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

/// Whether `pid` has exited (gone, or a zombie waiting to be reaped).
pub fn exited(pid: i32) -> bool {
    stat_fields(pid).is_none_or(|f| f.first().is_some_and(|s| s == "Z" || s == "X"))
}

/// CPU time `pid` has used so far (all threads), if it is still there.
pub fn cpu_time(pid: i32) -> Option<Duration> {
    // utime and stime are fields 14 and 15 of stat: 11 and 12 after the name.
    let f = stat_fields(pid)?;
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // Linux reports these in USER_HZ, which is 100 everywhere.
    Some(Duration::from_millis(ticks * 10))
}

/// How a process went away: how long it took from the call, and the CPU
/// time it used meanwhile (as last seen before it went).
pub struct Exit {
    pub took: Duration,
    pub cpu: Duration,
}

/// Polls `pid` every 10 ms until it has exited; `None` after `limit`.
pub fn watch_exit(pid: i32, limit: Duration) -> Option<Exit> {
    let start = Instant::now();
    let before = cpu_time(pid)?;
    let mut last = before;
    loop {
        if let Some(cpu) = cpu_time(pid) {
            last = cpu;
        }
        if exited(pid) {
            return Some(Exit {
                took: start.elapsed(),
                cpu: last.saturating_sub(before),
            });
        }
        if start.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
