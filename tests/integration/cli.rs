//! The command line as an operator uses it: the real binary against the
//! real demo service on 127.0.0.1, checking exit codes, output and signals.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::util::procs::{self, BIN, demo_layout, text};

/// The shared headless demo service, with a state directory of the test's
/// own so gonogo never touches the operator's default journal.
struct Demo {
    service: procs::Demo,
    url: String,
    state: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        let service = procs::Demo::start();
        Demo {
            url: service.url.clone(),
            service,
            state: procs::tempdir(),
        }
    }

    fn fault(&self, what: &str) {
        self.service.fault(what);
    }

    fn gonogo(&self, args: &[&str]) -> Output {
        procs::gonogo_cmd(self.state.path(), Some(&self.url), args)
            .output()
            .expect("run gonogo")
    }
}

#[test]
fn check_exit_codes_follow_the_verdict() {
    let demo = Demo::start();
    let layout = demo_layout();

    // Preflight: the checklist is not done yet → NO-GO, exit 1.
    let out = demo.gonogo(&["check", &layout]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("phase 1/4 preflight"), "{stdout}");
    assert!(stdout.contains("✘ NO-GO  preflight"), "{stdout}");
    assert!(stdout.contains("3 of 3 items open"), "{stdout}");
    assert!(stdout.contains("✔ GO     api"), "{stdout}");

    // A `for` window cannot pass on one sample → PENDING, exit 2.
    let out = demo.gonogo(&["check", &layout, "--phase", "canary-10"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("PENDING"));

    // Plain thresholds on a healthy service → GO, exit 0.
    let out = demo.gonogo(&["check", &layout, "--phase", "full"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // The service goes down → NO-GO, exit 1, with the reason.
    demo.fault("down");
    let out = demo.gonogo(&["check", &layout, "--phase", "full"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("down: status 503"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_json_has_the_documented_shape() {
    let demo = Demo::start();
    let out = demo.gonogo(&["check", &demo_layout(), "--phase", "canary-10", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["launch"], "Checkout v2 rollout (demo)");
    assert_eq!(v["phase"], "canary-10");
    // Only the 20 s windows are missing: PENDING, not UNKNOWN.
    assert_eq!(v["verdict"], "PENDING");
    let gates = v["gates"].as_array().unwrap();
    assert_eq!(gates.len(), 4);
    for g in gates {
        for key in ["signal", "condition", "state", "value", "reason"] {
            assert!(g.get(key).is_some(), "gate lacks {key}: {g}");
        }
    }
    assert_eq!(gates[1]["signal"], "error_rate");
    assert_eq!(gates[1]["condition"], "< 1% for 20s");
    assert_eq!(gates[1]["state"], "PENDING");
    assert_eq!(v["signoffs"][0]["role"], "release");
    // The demo URL came from ${DEMO_URL}; its value is not echoed anywhere.
    assert!(!text(&out.stdout).contains(&demo.url));
}

#[test]
fn check_wait_decides_windows() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("wait.toml");
    std::fs::write(
        &layout,
        r#"[launch]
name = "wait"
[signals.p95]
kind = "json"
url = "${DEMO_URL}/api/stats"
path = "$.latency_ms.p95"
unit = "ms"
every = "500ms"
[[phases]]
id = "only"
gates = [{ signal = "p95", below = "2s", for = "2s" }]
"#,
    )
    .unwrap();
    let demo = Demo::start();
    let started = Instant::now();
    let out = demo.gonogo(&["check", layout.to_str().unwrap(), "--wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(
        text(&out.stdout).contains("held for 2s"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn usage_and_layout_errors_exit_3() {
    let out = Command::new(BIN).args(["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let out = Command::new(BIN)
        .args(["check", "/nonexistent/launch.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("/nonexistent/launch.toml: cannot read layout"),
        "{stderr}"
    );
    let out = Command::new(BIN)
        .args(["check", &demo_layout(), "--phase", "canary10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("did you mean `canary-10`?"),
        "{}",
        text(&out.stderr)
    );
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    for cmd in ["run", "demo", "check", "validate", "watch"] {
        assert!(text(&out.stdout).contains(cmd), "--help lacks {cmd}");
    }
}

/// Reads a child's stdout lines on a thread so waits can time out.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn wait_for_line(
    rx: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    want: impl Fn(&str) -> bool,
    limit: Duration,
) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if want(&line) {
                    return line;
                }
            }
            Err(_) => panic!(
                "no matching line within {limit:?}; saw:\n{}",
                seen.join("\n")
            ),
        }
    }
}

/// Kills the child if the test fails before it is done with it.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn watch_prints_changes_and_stops_on_sigterm() {
    let demo = Demo::start();
    let journal = tempfile::tempdir().unwrap();
    let mut guard = KillOnDrop(
        Command::new(BIN)
            .args([
                "watch",
                &demo_layout(),
                "--journal",
                journal.path().join("j.sqlite").to_str().unwrap(),
            ])
            .env("DEMO_URL", &demo.url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let child = &mut guard.0;
    let rx = lines_of(child);
    let mut seen = Vec::new();
    wait_for_line(
        &rx,
        &mut seen,
        |l| l.contains("gate \"api up\" — → GO"),
        Duration::from_secs(10),
    );
    demo.fault("down");
    let flip = wait_for_line(
        &rx,
        &mut seen,
        |l| l.contains("gate \"api up\" GO → NO-GO"),
        Duration::from_secs(10),
    );
    assert!(flip.contains("down: status 503"), "{flip}");
    if !seen
        .iter()
        .any(|l| l.contains("signal api: down: status 503"))
    {
        wait_for_line(
            &rx,
            &mut seen,
            |l| l.contains("signal api: down: status 503"),
            Duration::from_secs(10),
        );
    }
    // Each line starts with a UTC timestamp.
    assert!(
        seen.iter()
            .all(|l| l.len() > 21 && l.as_bytes()[19] == b'Z'),
        "{seen:?}"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "watch did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    wait_for_line(
        &rx,
        &mut seen,
        |l| l.contains("watch stopped (SIGTERM)"),
        Duration::from_secs(2),
    );
}

/// `gonogo demo` started from a directory with no `layouts/` in it: its
/// layout is written where its rollback command can run, and the layout
/// and journal it names work from any other directory (the rollback runs,
/// `log` reads the record).
#[test]
fn the_demo_runs_from_any_directory() {
    let cwd = procs::tempdir();
    let state = procs::tempdir();
    // Not a terminal: the demo runs as `watch`, and says where it keeps
    // its layout and journal on stderr.
    let mut demo = Command::new(BIN)
        .arg("demo")
        .current_dir(cwd.path())
        .env("XDG_STATE_HOME", state.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(demo.stderr.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut said = Vec::new();
    let named = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no `demo: layout` line; saw {said:?}"));
        if let Some(rest) = line.strip_prefix("gonogo: demo: layout ") {
            break rest.to_string();
        }
        said.push(line);
    };
    let (layout, journal) = named.split_once("; journal ").expect(&named);
    assert!(std::path::Path::new(layout).is_file(), "{layout}");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .current_dir("/")
            .env("XDG_STATE_HOME", state.path())
            .output()
            .unwrap()
    };
    let started = run(&["start", layout, "--journal", journal]);
    assert!(started.status.success(), "{}", text(&started.stderr));
    let rolled = run(&[
        "rollback",
        layout,
        "--journal",
        journal,
        "--yes",
        "--reason",
        "from /",
    ]);
    let out = text(&rolled.stdout);
    assert!(
        rolled.status.success() && out.contains("ROLLED BACK"),
        "{out}{}",
        text(&rolled.stderr)
    );
    let log = run(&["log", layout, "--journal", journal]);
    assert!(log.status.success(), "{}", text(&log.stderr));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(demo.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = demo.wait();
}

/// `run = ["./bin/rb.sh"]` means the script beside the layout, whatever
/// directory gonogo is started in — for the rollback, `on_enter` and a
/// command signal — and the record shows the path it ran, not
/// `cfg/./bin/rb.sh`.
#[test]
fn relative_commands_run_from_the_layouts_directory_anywhere() {
    use std::os::unix::fs::PermissionsExt;
    let root = procs::tempdir();
    let cfg = root.path().join("cfg");
    std::fs::create_dir_all(cfg.join("bin")).unwrap();
    let script = cfg.join("bin/rb.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho ran >> \"$(dirname \"$0\")/ran.log\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        cfg.join("rb.toml"),
        r#"[launch]
name = "Relative"
id = "relative"

[signals.probe]
kind = "command"
run = ["./bin/rb.sh"]

[[phases]]
id = "one"
on_enter = ["./bin/rb.sh"]
gates = [{ signal = "probe", up = true }]

[rollback]
run = ["./bin/rb.sh"]
"#,
    )
    .unwrap();
    let elsewhere = procs::tempdir();
    let gonogo = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(elsewhere.path())
            .env("XDG_STATE_HOME", root.path())
            .output()
            .unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    // Named relative to where gonogo runs (both directories are in the
    // temp dir), which is not the layout's.
    assert_eq!(elsewhere.path().parent(), root.path().parent());
    let rel = format!(
        "../{}/cfg/rb.toml",
        root.path().file_name().unwrap().to_str().unwrap()
    );
    let (code, out, err) = gonogo(&["start", &rel]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = gonogo(&["check", &rel, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}{err}"));
    assert_eq!(v["gates"][0]["state"], "GO", "{v}");
    assert_eq!(code, Some(0), "{v}");
    let (code, out, err) = gonogo(&["rollback", &rel, "--reason", "drill", "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let real = std::fs::canonicalize(&script).unwrap();
    let ran = std::fs::read_to_string(cfg.join("bin/ran.log")).unwrap();
    // on_enter, the polls of start, check and rollback, the rollback.
    assert!(ran.lines().count() >= 3, "{ran}");
    let (_, log, _) = gonogo(&["log", &rel]);
    assert!(log.contains(&format!("`{}`", real.display())), "{log}");
    assert!(!log.contains("./bin"), "{log}");
}

/// A note or reason is at most 2,000 characters: longer is refused with
/// the cap, never recorded — except a rollback's reason, which never
/// stands between an operator and a rollback: it is cut, and says so.
#[test]
fn notes_and_reasons_are_capped_and_say_the_cap() {
    let dir = procs::tempdir();
    let layout = dir.path().join("cap.toml");
    std::fs::write(
        &layout,
        r#"[launch]
name = "Caps"
id = "caps"

[signals.ready]
kind = "checklist"
items = ["go"]

[[phases]]
id = "one"

[rollback]
run = ["true"]
"#,
    )
    .unwrap();
    let layout = layout.to_str().unwrap();
    let gonogo = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .env("XDG_STATE_HOME", dir.path())
            .output()
            .unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, _, err) = gonogo(&["start", layout]);
    assert_eq!(code, Some(0), "{err}");
    let long = "x".repeat(2001);
    let (code, _, err) = gonogo(&["note", layout, &long]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err.trim_end(),
        "cannot note: the note is 2001 characters; at most 2000"
    );
    let (code, _, err) = gonogo(&["hold", layout, "--reason", &long]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot hold: the reason is 2001 characters; at most 2000"),
        "{err}"
    );
    let (code, _, err) = gonogo(&["note", layout, &"x".repeat(2000)]);
    assert_eq!(code, Some(0), "{err}");
    let huge = "y".repeat(100_000);
    let (code, out, err) = gonogo(&["rollback", layout, "--reason", &huge, "--yes"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (_, log, _) = gonogo(&["log", layout, "--format", "json"]);
    let started = log
        .lines()
        .find(|l| l.contains("\"rollback_started\""))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(started).unwrap();
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.ends_with("… (cut at 2000 characters)"),
        "{}",
        &reason[reason.len() - 40..]
    );
    assert_eq!(reason.chars().filter(|c| *c == 'y').count(), 2000);
    // Refused acts are recorded without the text they carried.
    assert!(!log.contains(&long), "a refused note's text was recorded");
}

/// `gonogo chek L` is a mistyped command, not a layout named `chek`: said
/// so, with the command meant, exit 3. A real file of that name is still
/// a layout.
#[test]
fn a_mistyped_command_suggests_the_command() {
    let dir = procs::tempdir();
    let out = Command::new(BIN)
        .args(["chek", "layouts/demo.toml"])
        .current_dir(dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: unknown command `chek`: did you mean `check`?"),
        "{err}"
    );
    let out = Command::new(BIN)
        .args(["wtach"])
        .current_dir(dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("did you mean `watch`?"),
        "{}",
        text(&out.stderr)
    );
}
