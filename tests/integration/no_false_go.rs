//! No false GO, no unaccountable act: the holes an adversarial pass found,
//! each closed and kept closed, end to end through the real binary against
//! the real demo service and real SQLite journals.
//!
//! - windows count only samples taken since the phase was entered (or
//!   reopened), whatever a running guard saw before;
//! - a rollback that fails, times out or cannot start is ROLLBACK FAILED
//!   and may be retried; one whose runner is killed is recorded as lost by
//!   another process within seconds;
//! - `check` never exits 0 for a launch that may not proceed, and a damaged
//!   journal has its own exit code;
//! - the journal's integrity claims hold for empty, truncated and cut-back
//!   files, and paths that cannot be journals are refused untouched;
//! - readers need no write access to the journal.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::util;
use crate::util::procs::{
    self, Demo, count_kind, gonogo_cmd, path_str, poll_until, run, text, watch,
};

/// A small launch on the demo service: a one-item preflight, a canary whose
/// error-rate gate must hold for `window`, and a rollback running
/// `rollback` (an argv in TOML) with triggers armed from the canary.
fn launch(dir: &Path, window: &str, rollback: &str, extra_rollback: &str) -> String {
    let path = dir.join("launch.toml");
    std::fs::write(
        &path,
        format!(
            r#"[launch]
name = "Trust drill"
id = "trust"

[roles]
release = ["*"]

[signals.error_rate]
kind = "json"
url = "${{DEMO_URL}}/api/stats"
path = "$.error_rate"
unit = "ratio"
every = "500ms"

[signals.ready]
kind = "checklist"
items = ["go"]

[[phases]]
id = "pre"
gates = [{{ signal = "ready", complete = true }}]

[[phases]]
id = "canary"
signoff = ["release"]
gates = [{{ signal = "error_rate", below = "1%", for = "{window}" }}]

[[phases]]
id = "full"

[rollback]
run = {rollback}
timeout = "5s"
auto_from = "canary"
{extra_rollback}
"#
        ),
    )
    .unwrap();
    path_str(&path)
}

struct Desk<'a> {
    dir: &'a Path,
    demo: &'a str,
    layout: String,
    journal: String,
}

impl<'a> Desk<'a> {
    /// A desk on `layout` with the journal `trust.sqlite` in `dir`.
    fn new(dir: &'a Path, demo: &'a str, layout: &str) -> Desk<'a> {
        Desk::on(dir, demo, layout, &dir.join("trust.sqlite"))
    }

    /// A desk on `layout` with the journal at `journal` (a file or a URL).
    fn on(dir: &'a Path, demo: &'a str, layout: &str, journal: &Path) -> Desk<'a> {
        Desk {
            dir,
            demo,
            layout: layout.to_string(),
            journal: path_str(journal),
        }
    }

    fn act(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let mut all = vec![args[0], self.layout.as_str()];
        all.extend_from_slice(&args[1..]);
        all.extend_from_slice(&["--journal", &self.journal]);
        let out = run(&mut gonogo_cmd(self.dir, Some(self.demo), &all));
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.act(args);
        assert_eq!(code, Some(0), "{args:?}\n{out}{err}");
        out
    }

    fn check_json(&self) -> (Option<i32>, serde_json::Value) {
        let (code, out, err) = self.act(&["check", "--json"]);
        let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
        (code, v)
    }
}

/// When event `kind` (the `n`th, from 1) was recorded.
fn recorded_at(journal: &Path, kind: &str, n: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    let conn =
        rusqlite::Connection::open_with_flags(journal, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    let at: String = conn
        .query_row(
            "SELECT at FROM events WHERE kind = ?1 ORDER BY seq LIMIT 1 OFFSET ?2",
            rusqlite::params![kind, n - 1],
            |r| r.get(0),
        )
        .ok()?;
    Some(chrono::DateTime::parse_from_rfc3339(&at).ok()?.to_utc())
}

/// Today a guard's evidence made `for` windows pass on entry: check three
/// items, advance, sign and advance again in one second, and a gate with
/// `for = 20s` had been GO. Now the window counts from the phase entry.
#[test]
fn a_window_counts_only_samples_since_its_phase_was_entered() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    let layout = launch(dir.path(), "4s", r#"["true"]"#, "");
    let journal = dir.path().join("trust.sqlite");
    let desk = Desk::new(dir.path(), &demo.url, &layout);
    desk.ok(&["start"]);
    // A guard records healthy evidence for longer than the window.
    let mut guard = watch(dir.path(), Some(&demo.url), &layout, &journal);
    guard.expect(
        "the guard polling",
        |l| l.contains("polling the signals"),
        Duration::from_secs(10),
    );
    std::thread::sleep(Duration::from_secs(6));
    desk.ok(&["check-item", "--checklist", "ready", "--item", "go"]);
    desk.ok(&["advance"]);
    desk.ok(&["sign", "--role", "release"]);
    let (code, out, err) = desk.act(&["advance"]);
    assert_eq!(
        code,
        Some(1),
        "advanced on evidence from before the phase:\n{out}{err}"
    );
    assert!(
        err.contains("cannot advance from canary: gates not GO: error_rate < 1% for 4s PENDING ("),
        "{err}"
    );
    // The window runs its length from the entry, then the gate is GO.
    let entered = Instant::now();
    let advanced = poll_until(Duration::from_secs(12), || {
        (desk.act(&["advance"]).0 == Some(0)).then(Instant::now)
    });
    let took = advanced.expect("never advanced") - entered;
    eprintln!("advanced {took:?} after the refusal");
    let entered_at = recorded_at(&journal, "advanced", 1).unwrap();
    let left_at = recorded_at(&journal, "advanced", 2).unwrap();
    assert!(
        left_at - entered_at >= chrono::Duration::seconds(4),
        "left canary {} after entering it",
        left_at - entered_at
    );
}

/// Today, after an auto-rollback and a reopen, a trigger with a 10 s
/// window fired again 2 s after the reopen, on the samples from before it.
#[test]
fn after_a_reopen_a_trigger_window_starts_afresh() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    let layout = launch(
        dir.path(),
        "1s",
        r#"["echo", "traffic back on v1"]"#,
        r#"triggers = [{ signal = "error_rate", above = "2%", for = "3s" }]"#,
    );
    let journal = dir.path().join("trust.sqlite");
    let desk = Desk::new(dir.path(), &demo.url, &layout);
    desk.ok(&["start"]);
    desk.ok(&["advance", "--override", "drill"]);
    let mut guard = watch(dir.path(), Some(&demo.url), &layout, &journal);
    demo.fault("errors?rate=0.5");
    let fired = poll_until(Duration::from_secs(15), || {
        (count_kind(&journal, "rollback_finished") == 1).then_some(())
    });
    assert!(fired.is_some(), "no auto-rollback:\n{}", guard.transcript());
    // The breach goes on; the operator reopens anyway.
    desk.ok(&["reopen", "--phase", "canary", "--reason", "fix forward"]);
    let again = poll_until(Duration::from_secs(15), || {
        (count_kind(&journal, "rollback_started") == 2).then_some(())
    });
    guard.drain();
    assert!(again.is_some(), "{}", guard.transcript());
    let reopened = recorded_at(&journal, "reopened", 1).unwrap();
    let second = recorded_at(&journal, "rollback_started", 2).unwrap();
    let gap = second - reopened;
    eprintln!("second auto-rollback {gap} after the reopen");
    assert!(
        gap >= chrono::Duration::seconds(3),
        "fired {gap} after the reopen, inside its 3 s window:\n{}",
        guard.transcript()
    );
}

/// A rollback command that fails, times out or cannot start leaves the
/// launch ROLLBACK FAILED — never ROLLED BACK — and may be retried at once.
#[test]
fn a_failed_rollback_is_rollback_failed_and_may_be_retried() {
    let demo = Demo::start();
    for (rollback, ending) in [
        // Fails the first time, works the second.
        (
            r#"["sh", "-c", "test -f retried || { touch retried; echo no route to cluster >&2; exit 3; }"]"#,
            "exit status 3",
        ),
        (
            r#"["sh", "-c", "test -f retried || exec sleep 30"]"#,
            "timed out after 5s",
        ),
        (r#"["./no-such-rollback.sh"]"#, "cannot start"),
    ] {
        let dir = procs::tempdir();
        let layout = launch(dir.path(), "1s", rollback, "");
        let desk = Desk::new(dir.path(), &demo.url, &layout);
        desk.ok(&["start"]);
        let (code, out, err) = desk.act(&["rollback", "--reason", "drill", "--yes"]);
        assert_ne!(code, Some(0), "a failed rollback exited 0:\n{out}{err}");
        assert!(out.contains("ROLLBACK FAILED"), "{ending}: {out}{err}");
        assert!(out.contains(ending), "{ending}: {out}");
        assert!(!out.contains("ROLLED BACK"), "{out}");
        let (code, v) = desk.check_json();
        assert_eq!(code, Some(4), "{v}");
        assert_eq!(v["rollback"]["state"], "failed", "{v}");
        let (_, table, _) = desk.act(&["check"]);
        assert!(table.contains("ROLLBACK FAILED by"), "{table}");
        let log = desk.ok(&["log"]);
        assert!(log.contains("ROLLBACK FAILED"), "{log}");
        // Advancing is refused, naming the failure; the rollback may be
        // retried at once.
        let (code, _, err) = desk.act(&["advance", "--override", "x"]);
        assert_eq!(code, Some(1));
        assert!(err.contains("ROLLBACK FAILED"), "{err}");
        if ending == "cannot start" {
            std::fs::write(
                dir.path().join("no-such-rollback.sh"),
                "#!/bin/sh\necho ok\n",
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                dir.path().join("no-such-rollback.sh"),
                std::fs::Permissions::from_mode(0o755),
            )
            .unwrap();
        } else {
            std::fs::write(dir.path().join("retried"), "").unwrap();
        }
        let out = desk.ok(&["rollback", "--reason", "retry", "--yes"]);
        assert!(
            out.contains("ROLLED BACK: the rollback command ended with exit status 0"),
            "{out}"
        );
        let (code, v) = desk.check_json();
        assert_eq!(code, Some(4), "{v}");
        assert_eq!(v["rollback"]["state"], "rolled back", "{v}");
        // And once rolled back, no third run.
        let (code, _, err) = desk.act(&["rollback", "--reason", "again", "--yes"]);
        assert_eq!(code, Some(1), "{err}");
    }
}

/// kill -9 of the process running a rollback: another process on the
/// journal records the outcome as unknown within seconds (today: never;
/// the launch showed a rollback running forever).
#[test]
fn a_rollback_whose_runner_is_killed_is_recorded_as_lost() {
    let dir = procs::tempdir();
    let journal = dir.path().join("trust.sqlite");
    runner_killed_mid_rollback(&dir, &journal);
}

/// The same on the team journal: the runner's lease lapses on the
/// server's clock, and one guard records the loss.
#[test]
fn a_rollback_whose_runner_is_killed_is_recorded_as_lost_on_postgres() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let dir = procs::tempdir();
    let journal = std::path::PathBuf::from(cluster.database());
    runner_killed_mid_rollback(&dir, &journal);
}

fn runner_killed_mid_rollback(dir: &tempfile::TempDir, journal: &Path) {
    let demo = Demo::start();
    let layout = launch(
        dir.path(),
        "1s",
        r#"["sh", "-c", "echo $$ > rollback.pid; exec sleep 30"]"#,
        "",
    );
    let journal = journal.to_path_buf();
    let desk = Desk::on(dir.path(), &demo.url, &layout, &journal);
    desk.ok(&["start"]);
    let mut guard = watch(dir.path(), Some(&demo.url), &layout, &journal);
    let runner = procs::KillOnDrop(
        gonogo_cmd(
            dir.path(),
            Some(&demo.url),
            &[
                "rollback",
                &layout,
                "--reason",
                "drill",
                "--yes",
                "--journal",
                &path_str(&journal),
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap(),
    );
    let pid_file = dir.path().join("rollback.pid");
    let command = poll_until(Duration::from_secs(10), || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
    })
    .expect("the rollback command never ran");
    // Running: the launch may not proceed, and says so.
    let (code, v) = desk.check_json();
    assert_eq!(
        (code, v["rollback"]["state"].as_str()),
        (Some(4), Some("running"))
    );
    nix::sys::signal::kill(runner.pid(), nix::sys::signal::Signal::SIGKILL).unwrap();
    let killed = Instant::now();
    drop(runner);
    // The orphaned command is the test's to clean up, whatever happens.
    struct Reap(i32);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.0),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    let orphan = Reap(command);
    let lost = poll_until(Duration::from_secs(15), || {
        (count_kind(&journal, "rollback_lost") == 1).then(|| killed.elapsed())
    });
    let lost = lost.unwrap_or_else(|| {
        guard.drain();
        panic!("never recorded:\n{}", guard.transcript())
    });
    eprintln!("the lost rollback was recorded {lost:?} after kill -9");
    guard.expect(
        "the guard saying so",
        |l| l.contains("ROLLBACK FAILED: the process running rollback #"),
        Duration::from_secs(5),
    );
    let (code, v) = desk.check_json();
    assert_eq!(code, Some(4), "{v}");
    assert_eq!(v["rollback"]["state"], "failed", "{v}");
    assert!(
        v["rollback"]["ending"]
            .as_str()
            .is_some_and(|e| e.starts_with("outcome unknown")),
        "{v}"
    );
    // Exactly once, however many processes watch.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count_kind(&journal, "rollback_lost"), 1);
    // Its command still runs: a retry beside it would be two rollbacks at
    // once. Refused, naming the process, until it is gone.
    let (code, _, err) = desk.act(&["rollback", "--reason", "retry", "--yes"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "is still running here (pid {command}; its runner stopped)"
        )),
        "{err}"
    );
    drop(orphan);
    let gone = poll_until(Duration::from_secs(5), || {
        (!std::path::Path::new(&format!("/proc/{command}")).exists()).then_some(())
    });
    assert!(gone.is_some(), "the orphan {command} outlived SIGKILL");
    std::fs::remove_file(&pid_file).unwrap();
    let retry = procs::KillOnDrop(
        gonogo_cmd(
            dir.path(),
            Some(&demo.url),
            &[
                "rollback",
                &layout,
                "--reason",
                "retry",
                "--yes",
                "--journal",
                &path_str(&journal),
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap(),
    );
    let second = poll_until(Duration::from_secs(10), || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
    })
    .expect("the retry never ran");
    let _second = Reap(second);
    drop(retry);
}

/// `check` exits 0 only for a launch that may proceed: ON HOLD, ROLLED
/// BACK and ROLLBACK FAILED exit 4 whatever the gates say; NOT STARTED is
/// reported but leaves the answer to the gates; a damaged journal is 5.
#[test]
fn check_never_says_go_for_a_launch_that_may_not_proceed() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    let layout = launch(dir.path(), "1s", r#"["true"]"#, "");
    let journal = dir.path().join("trust.sqlite");
    let desk = Desk::new(dir.path(), &demo.url, &layout);
    desk.ok(&["check-item", "--checklist", "ready", "--item", "go"]);
    let (code, v) = desk.check_json();
    assert_eq!(
        code,
        Some(0),
        "a preflight check before the start answers: {v}"
    );
    assert_eq!(
        (&v["started"], &v["hold"], &v["rollback"]),
        (
            &serde_json::json!(false),
            &serde_json::Value::Null,
            &serde_json::Value::Null
        )
    );
    let (_, table, _) = desk.act(&["check"]);
    assert!(table.contains("NOT STARTED"), "{table}");
    desk.ok(&["start"]);
    assert_eq!(desk.check_json().1["started"], true);
    desk.ok(&["hold", "--reason", "DBA on a call"]);
    let (code, v) = desk.check_json();
    assert_eq!(code, Some(4), "held, yet: {v}");
    assert_eq!(v["verdict"], "GO", "the gates themselves are GO: {v}");
    assert_eq!(v["hold"]["reason"], "DBA on a call", "{v}");
    desk.ok(&["resume"]);
    assert_eq!(desk.check_json().0, Some(0));
    desk.ok(&["rollback", "--reason", "drill", "--yes"]);
    let (code, v) = desk.check_json();
    assert_eq!(code, Some(4), "rolled back, yet: {v}");
    assert_eq!(v["rollback"]["state"], "rolled back", "{v}");
    desk.ok(&["reopen", "--phase", "pre", "--reason", "again"]);
    assert_eq!(desk.check_json().0, Some(0));

    // Damage: cut the file short, or empty it. Its own code, not NO-GO.
    let bytes = std::fs::read(&journal).unwrap();
    std::fs::write(&journal, &bytes[..bytes.len() / 3]).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", journal.display()));
    }
    let (code, out, err) = desk.act(&["check"]);
    assert_eq!(code, Some(5), "truncated journal:\n{out}{err}");
    assert!(err.contains("DAMAGED"), "{err}");
    std::fs::write(&journal, b"").unwrap();
    let (code, out, err) = desk.act(&["check"]);
    assert_eq!(code, Some(5), "empty journal:\n{out}{err}");
    assert!(
        err.contains("DAMAGED") && err.contains("empty (0 bytes)"),
        "{err}"
    );
}

/// `log --verify` never calls a damaged journal intact: empty, truncated,
/// or cut back with its tracks covered (caught by `--head`). A path that
/// cannot be a journal is refused before anything is created.
#[test]
fn the_journal_integrity_claims_hold() {
    let dir = procs::tempdir();
    let layout = procs::demo_layout();
    let journal = dir.path().join("j.sqlite");
    let j = path_str(&journal);
    let act = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--journal", &j]);
        let out = run(&mut gonogo_cmd(dir.path(), None, &all));
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    for i in 0..5 {
        let (code, _, err) = act(&["note", &layout, &format!("note {i}")]);
        assert_eq!(code, Some(0), "{err}");
    }
    let (code, out, _) = act(&["log", &layout, "--verify"]);
    assert_eq!(code, Some(0), "{out}");
    // The head, as the record prints it for safekeeping.
    let (_, md, _) = act(&["log", &layout]);
    let head = md
        .split("head #6 ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no head in the record:\n{md}"))
        .to_string();
    assert_eq!(head.len(), 64, "{head}");
    let (code, out, err) = act(&["log", &layout, "--verify", "--head", &head]);
    assert_eq!(code, Some(0), "{out}{err}");

    // Cut the last two events and cover the tracks in sqlite_sequence:
    // what is left is consistent, so only the noted head tells.
    let conn = rusqlite::Connection::open(&journal).unwrap();
    conn.execute_batch(
        "DELETE FROM events WHERE seq > 4; UPDATE sqlite_sequence SET seq = 4 WHERE name = 'events';",
    )
    .unwrap();
    drop(conn);
    let (code, out, _) = act(&["log", &layout, "--verify"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out, err) = act(&["log", &layout, "--verify", "--head", &head[..16]]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("events were deleted from the end"), "{err}");

    // The kind and the claim are in the chain too.
    let conn = rusqlite::Connection::open(&journal).unwrap();
    conn.execute("UPDATE events SET kind = 'held' WHERE seq = 3", [])
        .unwrap();
    drop(conn);
    let (code, _, err) = act(&["log", &layout, "--verify"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("event #3 was edited after it was recorded"),
        "{err}"
    );

    // Truncated and empty files are damaged, never intact.
    let bytes = std::fs::read(&journal).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{j}{suffix}"));
    }
    std::fs::write(&journal, &bytes[..bytes.len() / 2]).unwrap();
    let (code, out, err) = act(&["log", &layout, "--verify"]);
    assert_ne!(code, Some(0), "truncated: {out}{err}");
    assert!(!out.contains("intact"), "{out}");
    std::fs::write(&journal, b"").unwrap();
    let (code, out, err) = act(&["log", &layout, "--verify"]);
    assert_ne!(code, Some(0), "empty: {out}{err}");
    assert!(!out.contains("intact"), "{out}");
    assert!(err.contains("empty (0 bytes)"), "{err}");
    // An act on it does not quietly start a new journal over the old one.
    let (code, _, err) = act(&["note", &layout, "hello"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(std::fs::metadata(&journal).unwrap().len(), 0);

    // /dev/null and a directory are refused, and nothing is created.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    for (path, why) in [
        ("/dev/null", "not a regular file"),
        (sub.to_str().unwrap(), "it is a directory"),
    ] {
        let out = run(&mut gonogo_cmd(
            dir.path(),
            None,
            &["note", &layout, "hello", "--journal", path],
        ));
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains(why), "{}", text(&out.stderr));
    }
    assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 0);
    let null = std::fs::metadata("/dev/null").unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(
        &null.file_type()
    ));
}

/// `log`, `log --verify` and `check` on a journal the user may read but not
/// write (today: "attempt to write a readonly database"), with a guard
/// writing to it meanwhile and without one.
#[test]
fn readers_need_no_write_access() {
    if !util::require_root("to run as `nobody`") || util::require("runuser").is_none() {
        return;
    }
    let demo = Demo::start();
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let layout = launch(dir.path(), "1s", r#"["true"]"#, "");
    let journal = dir.path().join("trust.sqlite");
    let desk = Desk::new(dir.path(), &demo.url, &layout);
    desk.ok(&["start"]);
    desk.ok(&["note", "for the auditors"]);
    std::fs::set_permissions(&journal, std::fs::Permissions::from_mode(0o644)).unwrap();
    let as_nobody = |args: &[&str]| {
        let mut all = vec!["-u", "nobody", "--", procs::BIN, args[0], layout.as_str()];
        all.extend_from_slice(&args[1..]);
        all.extend_from_slice(&["--journal", desk.journal.as_str()]);
        let out = run(std::process::Command::new("runuser")
            .args(&all)
            .env("DEMO_URL", &demo.url)
            .env("HOME", "/nonexistent"));
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let quiet = || {
        let (code, out, err) = as_nobody(&["log"]);
        assert_eq!(code, Some(0), "{out}{err}");
        assert!(out.contains("noted: for the auditors"), "{out}");
        let (code, out, err) = as_nobody(&["log", "--verify"]);
        assert_eq!(code, Some(0), "{out}{err}");
        assert!(out.contains("hash chain intact"), "{out}");
        let (code, out, err) = as_nobody(&["check"]);
        assert!(matches!(code, Some(0..=2)), "{code:?}: {out}{err}");
        assert!(!err.contains("readonly"), "{err}");
    };
    // No writer: the journal's WAL files are gone with the last writer.
    quiet();
    // A guard writing evidence meanwhile.
    let _guard = watch(dir.path(), Some(&demo.url), &layout, &journal);
    std::thread::sleep(Duration::from_secs(2));
    quiet();
    // Nothing the reader did wrote to it.
    let (_, out, _) = as_nobody(&["log", "--format", "json"]);
    assert_eq!(out.lines().count(), 3, "{out}");
}

/// A `${VAR}` secret typed into a note (pasted by mistake) is redacted in
/// the record itself, not only when shown.
#[test]
fn a_secret_typed_into_a_note_never_reaches_the_journal() {
    let dir = procs::tempdir();
    let secret = "tok-3f9a1c77e2d54b";
    let layout = dir.path().join("secret.toml");
    std::fs::write(
        &layout,
        "[launch]\nname = \"s\"\n[signals.api]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/healthz\"\n\
         headers = { Authorization = \"Bearer ${API_TOKEN}\" }\n[[phases]]\nid = \"p\"\n\
         gates = [{ signal = \"api\", up = true }]\n",
    )
    .unwrap();
    let journal = dir.path().join("s.sqlite");
    let out = run(gonogo_cmd(
        dir.path(),
        None,
        &[
            "note",
            &path_str(&layout),
            &format!("the token is {secret}, oops"),
            "--journal",
            &path_str(&journal),
        ],
    )
    .env("API_TOKEN", secret));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains(secret), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("the token is ‹redacted›, oops"));
    for suffix in ["", "-wal"] {
        let bytes = std::fs::read(format!("{}{suffix}", journal.display())).unwrap_or_default();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is in the journal{suffix}"
        );
    }
    let events = procs::raw_events(&journal);
    assert!(
        events[1].3.contains("the token is ‹redacted›, oops"),
        "{events:?}"
    );
}
