//! Exits are clean on every path: the plain-line front ends stop when
//! whoever reads their stdout goes away (`gonogo demo | head -2`), quietly,
//! with exit code 0, after the normal cleanup (the polling lease handed
//! over), whether or not they had anything to print at that moment. A
//! one-shot command writing into a closed pipe does not panic.
//!
//! (An outside SIGINT to the screen is in `tmux.rs`.)

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::util::procs::{BIN, KillOnDrop, path_str, tempdir, text};

/// How soon after its reader goes a guard must be gone.
const EXIT_BAR: Duration = Duration::from_secs(5);

/// A launch with nothing to poll over the network: a checklist polled
/// every 10 s, so once its first lines are out the guard stays silent.
fn quiet_layout(dir: &Path) -> String {
    let path = dir.join("quiet.toml");
    std::fs::write(
        &path,
        "[launch]\nname = \"quiet\"\n\n[signals.list]\nkind = \"checklist\"\nitems = [\"one\"]\nevery = \"10s\"\n\n\
         [[phases]]\nid = \"p\"\ngates = [{ signal = \"list\", complete = true }]\n",
    )
    .unwrap();
    path_str(&path)
}

/// Spawns `cmd` with stdout piped, reads lines until `enough` says so,
/// then drops the reader; returns how the process ended, how long after
/// that it took, and the lines read.
fn read_then_leave(
    mut cmd: Command,
    enough: impl Fn(&[String]) -> bool,
) -> (ExitStatus, Duration, Vec<String>) {
    let mut child = KillOnDrop(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gonogo"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut lines = Vec::new();
    while !enough(&lines) {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read a line");
        assert!(!line.is_empty(), "gonogo closed stdout early: {lines:?}");
        lines.push(line);
    }
    drop(reader);
    let left = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            left.elapsed() < EXIT_BAR,
            "gonogo still runs {EXIT_BAR:?} after its reader went; it printed {lines:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = left.elapsed();
    let mut stderr = String::new();
    if let Some(mut e) = child.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    (status, took, lines)
}

/// Whether the journal still names a holder of the polling lease.
fn lease_held(journal: &Path) -> bool {
    let conn =
        rusqlite::Connection::open_with_flags(journal, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open journal");
    conn.query_row("SELECT count(*) FROM lease", [], |r| r.get::<_, i64>(0))
        .expect("read lease")
        > 0
}

#[test]
fn watch_exits_when_its_reader_goes() {
    let dir = tempdir();
    let layout = quiet_layout(dir.path());
    let journal = dir.path().join("j.sqlite");
    let mut cmd = Command::new(BIN);
    cmd.args(["watch", &layout, "--journal", &path_str(&journal)])
        .env("XDG_STATE_HOME", dir.path());
    // After the verdict this launch has nothing to say for a long while:
    // the guard must notice its reader is gone without a write failing.
    let (status, took, lines) =
        read_then_leave(cmd, |l| l.last().is_some_and(|l| l.contains(" verdict ")));
    eprintln!("watch gone {took:?} after its reader; it said {lines:?}");
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        !lease_held(&journal),
        "the polling lease was not handed over"
    );
}

#[test]
fn demo_without_a_terminal_exits_when_its_reader_goes() {
    let dir = tempdir();
    let journal = dir.path().join("demo.sqlite");
    let mut cmd = Command::new(BIN);
    cmd.args(["demo", "--journal", &path_str(&journal)])
        .env("XDG_STATE_HOME", dir.path());
    let (status, took, lines) = read_then_leave(cmd, |l| l.len() == 2);
    eprintln!("demo gone {took:?} after its reader; it said {lines:?}");
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        !lease_held(&journal),
        "the polling lease was not handed over"
    );
}

#[test]
fn one_shot_commands_into_a_closed_pipe_do_not_panic() {
    let dir = tempdir();
    let layout = quiet_layout(dir.path());
    let journal = path_str(&dir.path().join("j.sqlite"));
    let note = Command::new(BIN)
        .args(["note", &layout, "--journal", &journal, "a note"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .expect("note");
    assert!(note.status.success(), "{}", text(&note.stderr));
    for args in [
        vec!["check", layout.as_str(), "--journal", &journal],
        vec!["check", layout.as_str(), "--journal", &journal, "--json"],
        vec!["note", layout.as_str(), "--journal", &journal, "another"],
        vec!["log", layout.as_str(), "--journal", &journal],
    ] {
        let mut child = Command::new(BIN)
            .args(&args)
            .env("XDG_STATE_HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // The reader is gone before anything is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
    }
}
