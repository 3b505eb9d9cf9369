//! The screen in a real terminal (STYLE "Tests that carry weight" 7, SPEC
//! §4): the real binary in tmux on a private socket, a fixed size, keys
//! through `send-keys`, the screen polled through `capture-pane` with
//! bounded waits; after it exits, `#{alternate_on}` and `stty -a` in the
//! same pane show the terminal was given back.
//!
//! Each test runs its own tmux server and its own headless demo service, so
//! they run in parallel. Without tmux each test is skipped, saying so; under
//! CI it fails (`util::require`).

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::util;
use crate::util::procs::{self, BIN, Demo, demo_layout, path_str, tempdir};
use crate::util::tmux::{self, Tmux, sh_quote};

/// The first frame, a key's effect, an event reaching the screen.
const SCREEN: Duration = Duration::from_secs(10);
/// SPEC §4: on SIGHUP or a dead tty the screen exits within 2 s.
const HANGUP_BAR: Duration = Duration::from_secs(2);

/// A pane running `gonogo <args>` that, once gonogo exits, prints its exit
/// status and `stty -a` and then waits, so the restored terminal can be
/// inspected in the very pane the screen ran in.
/// Run as `user`, when given.
fn screen_command_as(user: Option<&str>, args: &[&str]) -> String {
    let runuser = user
        .map(|u| vec!["runuser", "-u", u, "--"])
        .unwrap_or_default();
    let argv: Vec<String> = runuser
        .into_iter()
        .chain(std::iter::once(BIN))
        .chain(args.iter().copied())
        .map(sh_quote)
        .collect();
    let script = format!(
        "{}; echo \"gonogo exited $?\"; stty -a; echo stty-done; read line",
        argv.join(" ")
    );
    format!("sh -c {}", sh_quote(&script))
}

/// A screen on the demo layout with its own journal and state directory.
struct Screen {
    tmux: Tmux,
    journal: std::path::PathBuf,
    state: tempfile::TempDir,
    demo: Demo,
}

impl Screen {
    /// Starts `gonogo run demo.toml --journal … <extra>` at `width`×`height`
    /// and waits for the first frame.
    fn start(width: u16, height: u16, extra: &[&str], env: &[(&str, &str)]) -> Screen {
        Screen::start_on(&demo_layout(), "phase 1/4", width, height, extra, env)
    }

    /// Starts `gonogo run <layout> --journal … <extra>` and waits for
    /// `first` on the screen.
    fn start_on(
        layout: &str,
        first: &str,
        width: u16,
        height: u16,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Screen {
        let demo = Demo::start();
        let state = tempdir();
        let journal = state.path().join("j.sqlite");
        let journal_arg = path_str(&journal);
        let mut args = vec!["run", layout, "--journal", journal_arg.as_str()];
        args.extend(extra);
        let state_dir = path_str(state.path());
        let mut vars = vec![
            ("XDG_STATE_HOME", state_dir.as_str()),
            ("DEMO_URL", demo.url.as_str()),
        ];
        vars.extend(env);
        // A viewer needs a launch to view, and only read access to it: as
        // root, the viewer runs as `nobody` on a journal it cannot write.
        let mut viewer = None;
        if extra.contains(&"--read-only") {
            let out = procs::run(&mut procs::gonogo_cmd(
                state.path(),
                Some(&demo.url),
                &[
                    "note",
                    layout,
                    "prepared for a viewer",
                    "--journal",
                    &journal_arg,
                ],
            ));
            assert!(out.status.success(), "gonogo note: {out:?}");
            if nix::unistd::geteuid().is_root() {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o755))
                    .unwrap();
                std::fs::set_permissions(&journal, std::fs::Permissions::from_mode(0o644)).unwrap();
                viewer = Some("nobody");
            }
        }
        let tmux = Tmux::start(width, height, &vars, &screen_command_as(viewer, &args));
        tmux.wait_text(first, SCREEN);
        Screen {
            tmux,
            journal,
            state,
            demo,
        }
    }

    /// The gonogo process in the pane.
    fn pid(&self) -> i32 {
        let shell = self.tmux.pane_pid();
        let found = procs::poll_until(SCREEN, || {
            let kids = procs::children(shell, BIN);
            (kids.len() == 1).then(|| kids[0])
        });
        found.unwrap_or_else(|| panic!("no gonogo under the pane's shell {shell}"))
    }

    /// Waits for gonogo to have exited and `stty -a` to have run; returns
    /// gonogo's exit status.
    fn wait_exit(&self) -> i32 {
        wait_exit(&self.tmux)
    }

    /// After exit: the main screen is back and the tty is cooked again.
    fn assert_restored(&self, after: &str) {
        assert_restored(&self.tmux, after);
    }
}

/// Waits for gonogo (started with [`screen_command`]) to have exited and
/// `stty -a` to have run; returns gonogo's exit status.
fn wait_exit(tmux: &Tmux) -> i32 {
    let screen = tmux.wait_text("stty-done", SCREEN);
    let status = screen
        .split("gonogo exited ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok());
    status.unwrap_or_else(|| panic!("no exit status on the screen:\n{screen}"))
}

/// After exit: the main screen is back, the cursor shows, and the tty is
/// cooked again.
fn assert_restored(tmux: &Tmux, after: &str) {
    assert!(
        !tmux.alternate_on(),
        "after {after}: the pane is still on the alternate screen"
    );
    assert_eq!(
        tmux.display("#{cursor_flag}"),
        "1",
        "after {after}: the cursor is still hidden"
    );
    let screen = tmux.screen();
    let stty = screen
        .split("gonogo exited")
        .nth(1)
        .and_then(|s| s.split("stty-done").next())
        .unwrap_or_else(|| panic!("after {after}: no stty output:\n{screen}"));
    let flags: Vec<&str> = stty
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    for flag in ["icanon", "echo", "isig", "icrnl"] {
        assert!(
            flags.contains(&flag),
            "after {after}: stty -a lacks {flag}:\n{stty}"
        );
        let off = format!("-{flag}");
        assert!(
            !flags.contains(&off.as_str()),
            "after {after}: stty -a shows {off}:\n{stty}"
        );
    }
}

/// Events in the journal, read with plain SQLite; `None` when the journal
/// or its events table is not there (so "no event" is never vacuous).
fn event_count(journal: &Path) -> Option<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(journal, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.busy_timeout(Duration::from_secs(5)).ok()?;
    conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .ok()
}

fn gate_row<'a>(screen: &'a str, gate: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.starts_with('│') && l.split_whitespace().any(|w| w == gate))
}

/// The operator's happy path and a bad one, all through the keys: check
/// the preflight items, advance, sign, disarm, see an injected fault turn
/// the error gate NO-GO, roll back with the typed confirm word, quit; the
/// launch record then holds the rollback.
#[test]
fn demo_launch_from_preflight_to_rollback() {
    if util::require("tmux").is_none() {
        return;
    }
    let t0 = Instant::now();
    let s = Screen::start(100, 30, &[], &[]);
    let t = &s.tmux;
    eprintln!("first frame after {:?}", t0.elapsed());
    t.wait_text("preflight 0/3", SCREEN);
    t.wait_text("NOT STARTED", SCREEN);
    // The advance key starts the launch: it enters the first phase.
    t.keys(&["a"]);
    t.wait_text("STARTED the launch", SCREEN);

    // Tab to the checklist; space checks an item and moves to the next
    // open one.
    t.keys(&["Tab", "Space", "Space", "Space"]);
    t.wait_text("preflight 3/3", SCREEN);
    t.wait_for("the preflight verdict GO", SCREEN, |s| {
        s.lines().next().is_some_and(|l| l.contains("✔ GO"))
    });
    t.keys(&["a"]);
    t.wait_text("phase 2/4", SCREEN);

    t.keys(&["s"]);
    let signed = t.wait_text("✔ release:", SCREEN);
    assert!(!signed.contains("release: waiting"), "{signed}");

    // Disarm first, so the rollback below is ours and not the trigger's
    // (error_rate above 2% for 10s would fire it).
    t.wait_text("auto-rollback ARMED", SCREEN);
    t.keys(&["d"]);
    t.wait_text("Disarm auto-rollback", SCREEN);
    t.type_text("tmux test: manual rollback");
    t.keys(&["Enter"]);
    t.wait_text("auto-rollback off", SCREEN);
    t.wait_for("the error_rate gate not NO-GO yet", SCREEN, |s| {
        gate_row(s, "error_rate").is_some_and(|r| !r.contains("NO-GO"))
    });

    // A fault in the service: the gate turns NO-GO within two polls (it
    // polls every 2 s; the wait is bounded loosely for a loaded machine).
    s.demo.fault("errors?rate=0.5");
    let injected = Instant::now();
    let screen = t.wait_for("the error_rate gate NO-GO", SCREEN, |s| {
        gate_row(s, "error_rate").is_some_and(|r| r.contains("✘ NO-GO"))
    });
    eprintln!("error_rate NO-GO {:?} after the fault", injected.elapsed());
    assert!(
        screen.lines().next().is_some_and(|l| l.contains("✘ NO-GO")),
        "the header verdict is not NO-GO:\n{screen}"
    );

    // Roll back: the confirm word, then Enter.
    t.keys(&["r"]);
    t.wait_text("Type `rollback`", SCREEN);
    t.type_text("rollback");
    t.keys(&["Enter"]);
    t.wait_text("ROLLED BACK", SCREEN);
    // Quit only once the command has finished (see
    // `quit_during_a_rollback_lets_it_finish`).
    t.wait_text("ROLLED BACK: the rollback command ended", SCREEN);

    t.keys(&["q"]);
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored("q");

    let layout = demo_layout();
    let journal = path_str(&s.journal);
    let out = procs::run(&mut procs::gonogo_cmd(
        s.state.path(),
        Some(&s.demo.url),
        &["log", &layout, "--journal", &journal],
    ));
    let log = procs::text(&out.stdout);
    assert!(out.status.success(), "gonogo log: {out:?}");
    for want in [
        "checked \"Dashboards open\"",
        "advanced preflight → canary-10",
        "signed canary-10 as release",
        "DISARMED auto-rollback",
        "started ROLLBACK",
        "manual rollback from the screen",
        "ROLLED BACK: the rollback command ended",
        "STARTED the launch: entered preflight",
    ] {
        assert!(log.contains(want), "the log lacks {want:?}:\n{log}");
    }
    assert!(!log.contains("AUTO-ROLLBACK"), "{log}");
    eprintln!("demo flow took {:?}", t0.elapsed());
}

/// SPEC §4: the output of a rollback command streams into a pane inside the
/// screen, so the operator never drops to a shell to see it.
#[test]
fn rollback_output_streams_while_it_runs() {
    if util::require("tmux").is_none() {
        return;
    }
    // A rollback that prints, works for a while, then prints again: the
    // first line must be on the screen while the command still runs.
    let dir = tempdir();
    let layout = dir.path().join("slow-rollback.toml");
    let text = std::fs::read_to_string(demo_layout()).unwrap().replace(
        r#"run = ["echo", "demo rollback: traffic shifted back to v1"]"#,
        r#"run = ["sh", "-c", "echo shifting traffic to v1; sleep 3; printf '\\033[32mv1 serving 100%%\\033[0m\\n'"]"#,
    );
    assert!(
        text.contains("sleep 3"),
        "the demo layout's rollback changed"
    );
    std::fs::write(&layout, text).unwrap();
    let s = Screen::start_on(&path_str(&layout), "phase 1/4", 120, 40, &[], &[]);
    let t = &s.tmux;
    t.keys(&["r"]);
    t.wait_text("Type `rollback`", SCREEN);
    t.type_text("rollback");
    t.keys(&["Enter"]);
    // Output lines are indented under the command; the confirm modal
    // quoted the command itself.
    let during = t.wait_text("│  shifting traffic to v1", SCREEN);
    assert!(during.contains("running sh"), "{during}");
    assert!(!during.contains("│  v1 serving"), "{during}");
    assert_eq!(
        procs::count_kind(&s.journal, "rollback_finished"),
        0,
        "the first line showed only after the command ended:\n{during}"
    );
    // The colour escapes the command printed are dropped, not drawn.
    let after = t.wait_text("│  v1 serving 100%", SCREEN);
    let line = after.lines().find(|l| l.contains("│  v1 serving")).unwrap();
    assert!(!line.contains("[32m") && !line.contains("[0m"), "{after}");
    t.wait_text("→ exit status 0 after 3.", SCREEN);
    t.wait_text("ROLLED BACK: the rollback command ended", SCREEN);
}

fn stop_and_check(stop: &str, how: impl FnOnce(&Screen)) {
    if util::require("tmux").is_none() {
        return;
    }
    let s = Screen::start(100, 30, &[], &[]);
    assert!(
        s.tmux.alternate_on(),
        "the screen is not on the alternate screen"
    );
    let pid = s.pid();
    let exit = std::thread::scope(|scope| {
        let watch = scope.spawn(|| procs::watch_exit(pid, SCREEN));
        how(&s);
        watch.join().expect("watch")
    });
    let exit = exit.unwrap_or_else(|| panic!("gonogo still runs {SCREEN:?} after {stop}"));
    eprintln!(
        "after {stop}: gone in {:?}, {:?} of CPU meanwhile",
        exit.took, exit.cpu
    );
    let status = s.wait_exit();
    assert!(
        status < 128,
        "after {stop}: gonogo died of a signal ({status})"
    );
    s.assert_restored(stop);
    if stop == "SIGHUP" {
        assert!(
            exit.took <= HANGUP_BAR,
            "SIGHUP: gonogo took {:?} to exit",
            exit.took
        );
    }
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the panic seam (GONOGO_DEBUG_PANIC) exists in debug builds only"
)]
fn terminal_restored_after_a_panic() {
    if util::require("tmux").is_none() {
        return;
    }
    let s = Screen::start_on(
        &demo_layout(),
        "stty-done",
        100,
        30,
        &[],
        &[("GONOGO_DEBUG_PANIC", "1"), ("RUST_BACKTRACE", "0")],
    );
    assert_eq!(s.wait_exit(), 101, "{}", s.tmux.screen());
    s.assert_restored("a panic");
    // The panic message is printed on the restored screen, not lost in
    // the alternate one.
    let screen = s.tmux.screen();
    assert!(screen.contains("GONOGO_DEBUG_PANIC is set"), "{screen}");
}

#[test]
fn terminal_restored_after_q() {
    stop_and_check("q", |s| s.tmux.keys(&["q"]));
}

#[test]
fn terminal_restored_after_ctrl_c() {
    stop_and_check("Ctrl-C", |s| s.tmux.keys(&["C-c"]));
}

#[test]
fn terminal_restored_after_sigterm() {
    stop_and_check("SIGTERM", |s| {
        kill(Pid::from_raw(s.pid()), Signal::SIGTERM).expect("kill -TERM");
    });
}

/// `gonogo demo` in a terminal, stopped by an outside `kill -INT` (not
/// Ctrl-C, which raw mode turns into a key): it exits as on SIGTERM, and
/// the terminal is given back.
#[test]
fn terminal_restored_after_an_outside_sigint() {
    if util::require("tmux").is_none() {
        return;
    }
    let state = tempdir();
    let journal = path_str(&state.path().join("demo.sqlite"));
    let state_dir = path_str(state.path());
    let tmux = Tmux::start(
        100,
        30,
        &[("XDG_STATE_HOME", state_dir.as_str())],
        &screen_command_as(None, &["demo", "--journal", &journal]),
    );
    tmux.wait_text("phase 1/4", SCREEN);
    assert!(
        tmux.alternate_on(),
        "the demo is not on the alternate screen"
    );
    let shell = tmux.pane_pid();
    let pid = procs::poll_until(SCREEN, || {
        let kids = procs::children(shell, BIN);
        (kids.len() == 1).then(|| kids[0])
    })
    .unwrap_or_else(|| panic!("no gonogo under the pane's shell {shell}"));
    kill(Pid::from_raw(pid), Signal::SIGINT).expect("kill -INT");
    let status = wait_exit(&tmux);
    assert!(status < 128, "after SIGINT: gonogo died of it ({status})");
    assert_restored(&tmux, "an outside SIGINT");
}

#[test]
fn terminal_restored_after_sighup_within_2s() {
    stop_and_check("SIGHUP", |s| {
        kill(Pid::from_raw(s.pid()), Signal::SIGHUP).expect("kill -HUP");
    });
}

/// A launch whose rollback command takes a second.
const SLOW_ROLLBACK: &str = r#"
[launch]
name = "Slow rollback"
id = "slow"

[signals.ready]
kind = "checklist"
items = ["ready"]

[[phases]]
id = "only"
title = "Only"
gates = [{ signal = "ready", complete = true }]

[rollback]
run = ["sh", "-c", "sleep 1; echo slow rollback done"]
timeout = "30s"
confirm = "rollback"
"#;

/// Quitting while a rollback command runs lets it finish and records how
/// it ended (`ui::run`: "let a running rollback finish: its command would
/// die with us"), as `gonogo rollback` and the guard's auto-rollback do.
#[test]
fn quit_during_a_rollback_lets_it_finish() {
    if util::require("tmux").is_none() {
        return;
    }
    let dir = tempdir();
    let layout = dir.path().join("slow.toml");
    std::fs::write(&layout, SLOW_ROLLBACK).expect("write layout");
    std::fs::set_permissions(&layout, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .expect("chmod layout");
    let s = Screen::start_on(&path_str(&layout), "phase 1/1", 100, 30, &[], &[]);
    let t = &s.tmux;
    t.keys(&["r"]);
    t.wait_text("Type `rollback`", SCREEN);
    t.type_text("rollback");
    t.keys(&["Enter"]);
    t.wait_text("started ROLLBACK", SCREEN);
    t.keys(&["q"]);
    s.wait_exit();
    s.assert_restored("q during a rollback");
    let events = procs::raw_events(&s.journal);
    let finished: Vec<&str> = events
        .iter()
        .filter(|e| e.2 == "rollback_finished")
        .map(|e| e.3.as_str())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(finished.len(), 1, "events: {kinds:?}");
    assert!(
        finished[0].contains("slow rollback done"),
        "{}",
        finished[0]
    );
}

/// An SSH drop: the pane (and so the tty) goes away under the screen, and
/// no SIGHUP reaches gonogo (the shell that got it ignores it, as one that
/// does not forward it would). Returns how long gonogo took to go, the CPU
/// it burned meanwhile, and its exit status.
fn drop_the_tty() -> Option<(procs::Exit, i32)> {
    util::require("tmux")?;
    let demo = Demo::start();
    let state = tempdir();
    let journal = path_str(&state.path().join("j.sqlite"));
    let rc = state.path().join("rc");
    let script = format!(
        "trap : HUP; {} run {} --journal {}; echo $? > {}",
        sh_quote(BIN),
        sh_quote(&demo_layout()),
        sh_quote(&journal),
        sh_quote(&path_str(&rc)),
    );
    let state_dir = path_str(state.path());
    let t = Tmux::start(
        100,
        30,
        &[("XDG_STATE_HOME", &state_dir), ("DEMO_URL", &demo.url)],
        &format!("sh -c {}", sh_quote(&script)),
    );
    let first = t.wait_text("phase 1/4", SCREEN);
    // Let the start-up burst pass: wait for the header clock to tick once,
    // so the drop meets a screen at rest, as an SSH drop usually does.
    let clock = |s: &str| s.lines().next().map(str::to_string);
    let at_first = clock(&first);
    t.wait_for("the clock to tick", SCREEN, |s| clock(s) != at_first);
    let shell = t.pane_pid();
    let pid = procs::poll_until(SCREEN, || procs::children(shell, BIN).first().copied())
        .expect("gonogo under the pane's shell");
    let exit = std::thread::scope(|scope| {
        let watch = scope.spawn(|| procs::watch_exit(pid, SCREEN));
        // The only pane: killing it closes the tty and ends the server.
        let _ = t.run(&["kill-pane"]);
        watch.join().expect("watch")
    })
    .expect("gonogo still runs 10 s after its tty went away");
    let status = procs::poll_until(SCREEN, || {
        std::fs::read_to_string(&rc)
            .ok()?
            .trim()
            .parse::<i32>()
            .ok()
    })
    .expect("the pane's shell recorded no exit status");
    eprintln!(
        "dead tty: gonogo gone in {:?}, {:?} of CPU meanwhile, exit status {status}",
        exit.took, exit.cpu
    );
    Some((exit, status))
}

/// SPEC §4: on a dead tty (an SSH drop) the screen exits within 2 s.
#[test]
fn dead_tty_exits_within_2s() {
    let Some((exit, _)) = drop_the_tty() else {
        return;
    };
    let took = exit.took;
    assert!(
        took <= HANGUP_BAR,
        "gonogo took {took:?} to notice its tty died"
    );
}

/// SPEC §4: … without spinning, having flushed the journal: a clean exit,
/// not an abort, and no busy loop on the dead tty while it winds down.
#[test]
fn dead_tty_exits_cleanly_without_spinning() {
    let Some((exit, status)) = drop_the_tty() else {
        return;
    };
    assert!(status < 128, "gonogo died of a signal: status {status}");
    // A clean exit (q, SIGTERM, SIGHUP) uses next to no CPU; a reader
    // spinning on the dead tty burns a core until the process is gone.
    assert!(
        exit.cpu < Duration::from_millis(60),
        "gonogo burned {:?} of CPU in the {:?} it took to exit",
        exit.cpu,
        exit.took
    );
}

/// Below 80×24 a one-line notice, and `q` still quits; resizing back
/// redraws the full screen, live.
#[test]
fn too_small_then_resized_back() {
    if util::require("tmux").is_none() {
        return;
    }
    let s = Screen::start(100, 30, &[], &[]);
    let t = &s.tmux;
    t.resize(60, 20);
    let small = t.wait_text("terminal too small", SCREEN);
    assert!(!small.contains("Gates"), "{small}");
    t.resize(100, 30);
    // Waits for the whole frame: a capture may land while the first frame
    // at the new size is still arriving (header and gates before the rest).
    let full = t.wait_for("the full screen again", SCREEN, |s| {
        s.contains("phase 1/4")
            && s.contains("Gates")
            && s.contains("Sign-off")
            && s.contains("Journal")
            && !s.contains("too small")
    });
    assert!(
        full.contains("Sign-off") && full.contains("Journal"),
        "{full}"
    );
    t.resize(79, 23);
    t.wait_text("terminal too small (79×23", SCREEN);
    t.keys(&["q"]);
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored("q on a small terminal");
}

/// `--read-only`: a mutating key is refused with the reason on the status
/// line, and the journal gets no event.
#[test]
fn read_only_refuses_and_records_nothing() {
    if util::require("tmux").is_none() {
        return;
    }
    let s = Screen::start(100, 30, &["--read-only"], &[]);
    let t = &s.tmux;
    t.wait_text("READ-ONLY", SCREEN);
    t.keys(&["a"]);
    let screen = t.wait_text("this screen is read-only", SCREEN);
    // On the status line, just above the key bar.
    let status = screen.lines().nth(28).unwrap_or_default();
    assert!(
        status.contains("cannot advance: this screen is read-only"),
        "{screen}"
    );
    assert!(screen.contains("phase 1/4"), "{screen}");
    // Every other mutating key, in order; the last refusal shows once all
    // of them have been handled.
    t.keys(&["Tab", "Space", "s", "x", "h", "r", "n", "A", "d"]);
    let screen = t.wait_text("cannot arm or disarm: this screen is read-only", SCREEN);
    for prompt in ["Type `rollback`", " Note ", " Hold "] {
        assert!(!screen.contains(prompt), "{prompt} opened:\n{screen}");
    }
    t.keys(&["q"]);
    assert_eq!(s.wait_exit(), 0);
    assert_eq!(
        event_count(&s.journal),
        Some(2),
        "the read-only screen recorded events (the pin and the note were there before)"
    );
}

/// Bracketed paste: pasted text never fires a key binding; in a prompt it
/// is text.
#[test]
fn pasted_q_is_text_not_quit() {
    if util::require("tmux").is_none() {
        return;
    }
    let s = Screen::start(100, 30, &[], &[]);
    let t = &s.tmux;
    // A paste on the main screen: nothing happens. The `?` after it proves
    // the paste was handled (keys are read in order) and did not quit.
    t.paste("q");
    t.keys(&["?"]);
    t.wait_text("this help (any key closes it)", SCREEN);
    t.keys(&["Escape"]);
    // Wait for the help to close: an Escape and an `n` read together
    // would be Alt-n.
    t.wait_for("the help closed", SCREEN, |s| {
        !s.contains("any key closes it")
    });
    t.keys(&["n"]);
    t.wait_text("Add a note to the launch record", SCREEN);
    t.paste("q");
    t.wait_text("> q▏", SCREEN);
    t.keys(&["Enter"]);
    t.wait_text("noted: q", SCREEN);
    assert_eq!(procs::children(t.pane_pid(), BIN).len(), 1, "gonogo quit");
    t.keys(&["q"]);
    assert_eq!(s.wait_exit(), 0);
}

/// `NO_COLOR=1`: no colour SGR anywhere on the screen (bold and reverse
/// are fine; meaning is in the glyph and the word). The same screen without
/// it does colour its gate states, so the check can fail.
#[test]
fn colour_depth_follows_colorterm_and_no_color() {
    if util::require("tmux").is_none() {
        return;
    }
    let plain = Screen::start(100, 30, &[], &[("COLORTERM", "")]);
    let deep = Screen::start(100, 30, &[], &[("COLORTERM", "truecolor")]);
    let bare = Screen::start(100, 30, &[], &[("NO_COLOR", "1")]);
    let states = |s: &str| {
        gate_row(s, "api").is_some_and(|r| r.contains("✔ GO"))
            && gate_row(s, "preflight").is_some_and(|r| r.contains("✘ NO-GO"))
    };
    plain.tmux.wait_for("gate states", SCREEN, states);
    deep.tmux.wait_for("gate states", SCREEN, states);
    bare.tmux.wait_for("gate states", SCREEN, states);

    // GO is Okabe–Ito bluish green: xterm-256 index 36 unless COLORTERM
    // promises truecolor, then #009E73 itself.
    let api_codes = |s: &Screen| {
        let screen = s.tmux.screen_escaped();
        let api = screen
            .lines()
            .find(|l| l.contains(" api "))
            .expect("api row")
            .to_string();
        (tmux::colour_codes(&api), api)
    };
    let (codes, api) = api_codes(&plain);
    assert!(
        codes.iter().any(|c| c == "ESC[38;5;36m"),
        "{codes:?} in {api:?}"
    );
    assert!(
        !codes.iter().any(|c| c.contains("38;2;")),
        "{codes:?} in {api:?}"
    );
    let (codes, api) = api_codes(&deep);
    assert!(
        codes.iter().any(|c| c == "ESC[38;2;0;158;115m"),
        "{codes:?} in {api:?}"
    );

    let screen = bare.tmux.screen_escaped();
    let gates: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("GO") || l.contains("UNKNOWN") || l.contains("PENDING"))
        .collect();
    assert!(gates.len() >= 3, "{screen}");
    for row in &gates {
        let codes = tmux::colour_codes(row);
        assert!(codes.is_empty(), "NO_COLOR, yet {codes:?} in {row:?}");
    }
    let codes = tmux::colour_codes(&screen);
    assert!(codes.is_empty(), "NO_COLOR, yet {codes:?} on the screen");
}

/// A saved edit of the layout (a threshold changed mid-launch) applies
/// live and is journaled; an invalid edit is shown while the last good
/// layout keeps running.
#[test]
fn layout_edits_apply_live_and_bad_edits_are_shown() {
    if util::require("tmux").is_none() {
        return;
    }
    let dir = tempdir();
    let layout = dir.path().join("live.toml");
    let write = |limit: &str| {
        std::fs::write(
            &layout,
            format!(
                "[launch]\nname = \"live edit\"\n[signals.depth]\nkind = \"command\"\nrun = [\"echo\", \"5\"]\nevery = \"1s\"\n\
                 [[phases]]\nid = \"only\"\ngates = [{{ signal = \"depth\", at_most = {limit} }}]\n"
            ),
        )
        .unwrap();
    };
    write("10");
    let s = Screen::start_on(&path_str(&layout), "phase 1/1", 100, 30, &[], &[]);
    let t = &s.tmux;
    t.wait_text("≤ 10", SCREEN);
    t.wait_text("✔ GO", SCREEN);
    // mtime has one-second resolution on some filesystems.
    std::thread::sleep(Duration::from_millis(1100));
    write("3");
    // A saved edit is only proposed: the pinned layout keeps running until
    // an owner adopts it.
    let screen = t.wait_text("the layout file changed", SCREEN);
    assert!(screen.contains("L adopts it"), "{screen}");
    assert!(
        screen.contains("≤ 10") && !screen.contains("≤ 3"),
        "{screen}"
    );
    t.keys(&["L"]);
    let screen = t.wait_text("≤ 3", SCREEN);
    assert!(!screen.contains("≤ 10"), "{screen}");
    t.wait_text("5, needs ≤", SCREEN);
    t.wait_text("ADOPTED a changed layout", SCREEN);
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(&layout, "[launch]\nname = \n").unwrap();
    let screen = t.wait_text("edit rejected, pinned layout runs", SCREEN);
    assert!(screen.contains("≤ 3"), "{screen}");
    // An edit another user could have made (the file is group-writable
    // now) is refused outright: it could run commands as us.
    std::thread::sleep(Duration::from_millis(1100));
    write("1");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&layout, std::fs::Permissions::from_mode(0o664)).unwrap();
    }
    let screen = t.wait_text("refusing an untrusted", SCREEN);
    assert!(
        screen.contains("edit rejected, pinned layout runs"),
        "{screen}"
    );
    assert!(
        screen.contains("≤ 3") && !screen.contains("≤ 1 "),
        "{screen}"
    );
    t.keys(&["L"]);
    let screen = t.wait_text("cannot adopt", SCREEN);
    assert!(screen.contains("≤ 3"), "{screen}");
    t.keys(&["q"]);
    assert_eq!(s.wait_exit(), 0);
    assert_eq!(
        procs::count_kind(&s.journal, "layout_pinned"),
        2,
        "the first pin and one adoption"
    );
}

/// `[notify] terminal`: another operator's act reaches this operator as a
/// terminal notification (OSC 777/9/99 and a bell, wrapped for tmux),
/// written whole between frames; the operator's own acts are not
/// announced back to them. The pane's raw output is read with
/// `pipe-pane`, so the bytes are the ones the terminal got.
#[test]
fn another_operators_act_is_a_terminal_notification() {
    use gonogo::notify::{Notification, terminal_sequence};
    if util::require("tmux").is_none() {
        return;
    }
    let s = Screen::start(100, 30, &[], &[]);
    let t = &s.tmux;
    let raw = s.state.path().join("pane.raw");
    t.ok(&[
        "pipe-pane",
        "-o",
        &format!("cat >> {}", sh_quote(&path_str(&raw))),
    ]);
    let layout = demo_layout();
    let journal = path_str(&s.journal);
    // This operator starts the launch; another one advances it.
    t.keys(&["a"]);
    t.wait_text("STARTED the launch", SCREEN);
    let out = procs::run(&mut procs::gonogo_cmd(
        s.state.path(),
        Some(&s.demo.url),
        &[
            "advance",
            &layout,
            "--journal",
            &journal,
            "--override",
            "bridge call agreed",
        ],
    ));
    assert!(out.status.success(), "gonogo advance: {out:?}");
    t.wait_text("phase 2/4", SCREEN);
    let want = terminal_sequence(
        &Notification::advanced(
            "Checkout v2 rollout (demo)",
            "preflight",
            "canary-10",
            Some("bridge call agreed"),
        ),
        true,
    );
    let got = procs::poll_until(SCREEN, || {
        let bytes = std::fs::read(&raw).unwrap_or_default();
        bytes
            .windows(want.len())
            .any(|w| w == want.as_slice())
            .then_some(bytes)
    });
    assert!(
        got.is_some(),
        "no whole notification in the pane's output: {:?}",
        String::from_utf8_lossy(&std::fs::read(&raw).unwrap_or_default())
    );
    // This operator's own sign-off is not announced back to them.
    t.keys(&["s"]);
    t.wait_text("✔ release:", SCREEN);
    std::thread::sleep(Duration::from_millis(1500));
    let bytes = std::fs::read(&raw).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("— sign-off"), "{text:?}");
}

/// SPEC §4 "never blocks on I/O": with the journal locked by another
/// process (a long write transaction: the screen's lease renewal and
/// evidence writes must wait for it), keys are still answered at once.
#[test]
fn a_locked_journal_does_not_freeze_the_screen() {
    if util::require("tmux").is_none() {
        return;
    }
    let s = Screen::start(100, 30, &[], &[]);
    let t = &s.tmux;
    // Let the screen take the lease and record evidence first.
    t.wait_for("the api gate GO", SCREEN, |s| {
        gate_row(s, "api").is_some_and(|r| r.contains("✔ GO"))
    });
    let conn = rusqlite::Connection::open(&s.journal).expect("open journal");
    conn.execute_batch("BEGIN EXCLUSIVE")
        .expect("lock the journal");
    // Past a lease renewal, so the journal side is stuck behind the lock
    // (it waits up to 10 s for it); the keys below come while it is held.
    std::thread::sleep(Duration::from_millis(1500));
    t.keys(&["?"]);
    t.wait_text("┌ Keys", Duration::from_secs(3));
    t.keys(&["Escape"]);
    t.wait_for("help closed", Duration::from_secs(3), |s| {
        !s.contains("┌ Keys")
    });
    conn.execute_batch("COMMIT").expect("unlock");
    // And the journal side catches up: a note from the screen lands.
    t.keys(&["n"]);
    t.wait_text(" Note ", SCREEN);
    t.type_text("after the lock");
    t.keys(&["Enter"]);
    t.wait_text("noted: after the lock", SCREEN);
}

/// SPEC §4 "no gate is ever hidden", in a real 80×24 terminal: 21 gates,
/// the one NO-GO last in the layout. It is on screen (those not GO come
/// first) and a line counts the gates out of view; j scrolls to them.
#[test]
fn a_no_go_gate_below_the_fold_is_shown_first() {
    if util::require("tmux").is_none() {
        return;
    }
    let dir = tempdir();
    let layout = dir.path().join("many.toml");
    let mut text = String::from("[launch]\nname = \"many gates\"\n");
    for i in 1..=21 {
        text.push_str(&format!(
            "[signals.g{i:02}]\nkind = \"command\"\nrun = [\"echo\", \"5\"]\nevery = \"1s\"\n"
        ));
    }
    text.push_str("[[phases]]\nid = \"only\"\ngates = [\n");
    for i in 1..=21 {
        let limit = if i == 21 { 3 } else { 10 };
        text.push_str(&format!(
            "  {{ signal = \"g{i:02}\", at_most = {limit} }},\n"
        ));
    }
    text.push_str("]\n");
    std::fs::write(&layout, text).unwrap();
    let s = Screen::start_on(&path_str(&layout), "phase 1/1", 80, 24, &[], &[]);
    let t = &s.tmux;
    let screen = t.wait_for("g21 NO-GO, first", SCREEN, |s| {
        gate_row(s, "g21").is_some_and(|r| r.contains("✘ NO-GO")) && s.contains("more (0 not GO)")
    });
    let first = screen
        .lines()
        .find(|l| l.starts_with("│✘") || l.starts_with("│✔") || l.starts_with("│?"))
        .unwrap_or_default();
    assert!(
        first.contains("g21"),
        "the NO-GO gate is not first:\n{screen}"
    );
    // Scrolling reaches the last gates of the layout.
    for _ in 0..20 {
        t.keys(&["j"]);
    }
    let screen = t.wait_for("g20 in view", SCREEN, |s| gate_row(s, "g20").is_some());
    assert!(screen.contains("above, 0 below"), "{screen}");
    t.keys(&["q"]);
    assert_eq!(s.wait_exit(), 0);
}

/// Stopped and continued under a job-control shell (SIGSTOP, then `fg`):
/// the screen is raw again and redrawn, not left in the shell's cooked
/// mode with the shell's lines over it.
#[test]
fn the_screen_is_raw_and_redrawn_after_sigcont() {
    if util::require("tmux").is_none() {
        return;
    }
    let demo = Demo::start();
    let state = tempdir();
    let journal = state.path().join("j.sqlite");
    let tmux = Tmux::start(
        100,
        30,
        &[
            ("XDG_STATE_HOME", &path_str(state.path())),
            ("DEMO_URL", &demo.url),
            ("PS1", "$ "),
        ],
        "bash --norc --noprofile -i",
    );
    let line = format!(
        "{} run {} --journal {}",
        sh_quote(BIN),
        sh_quote(&demo_layout()),
        sh_quote(&path_str(&journal))
    );
    tmux.type_text(&line);
    tmux.keys(&["Enter"]);
    tmux.wait_text("phase 1/4", SCREEN);
    let shell = tmux.pane_pid();
    let pid = procs::poll_until(SCREEN, || procs::children(shell, BIN).first().copied())
        .expect("no gonogo under the shell");
    let tty = tmux.display("#{pane_tty}");
    let raw = || {
        let out = std::process::Command::new("stty")
            .args(["-a", "-F", tty.trim()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("-icanon")
    };
    kill(Pid::from_raw(pid), Signal::SIGSTOP).unwrap();
    tmux.wait_text("Stopped", SCREEN);
    // At its prompt, the shell has the terminal back in cooked mode.
    tmux.wait_text("$ ", SCREEN);
    tmux.type_text("fg");
    tmux.keys(&["Enter"]);
    let redrawn = procs::poll_until(SCREEN, || {
        let screen = tmux.screen();
        (screen.contains("phase 1/4") && !screen.contains("Stopped") && raw()).then_some(())
    });
    assert!(
        redrawn.is_some(),
        "raw: {}; state {:?}; screen:\n{}",
        raw(),
        std::fs::read_to_string(format!("/proc/{pid}/stat")),
        tmux.screen()
    );
    tmux.keys(&["q"]);
}

/// In a real terminal: Ctrl-C in the rollback confirmation cancels it and
/// the screen stays (it may be the launch's only guard); on the plain
/// screen Ctrl-C still quits.
#[test]
fn ctrl_c_in_the_rollback_confirmation_cancels_it() {
    if util::require("tmux").is_none() {
        return;
    }
    let s = Screen::start(100, 30, &[], &[]);
    let pid = s.pid();
    s.tmux.keys(&["r"]);
    s.tmux.wait_text("ROLLBACK", SCREEN);
    s.tmux.type_text("roll");
    s.tmux.keys(&["C-c"]);
    s.tmux.wait_text("cancelled", SCREEN);
    assert!(
        !procs::exited(pid),
        "Ctrl-C in the confirmation closed the screen"
    );
    let screen = s.tmux.screen();
    assert!(screen.contains("phase 1/4"), "{screen}");
    assert!(!screen.contains("Type `rollback`"), "{screen}");
    s.tmux.keys(&["C-c"]);
    assert_eq!(s.wait_exit(), 0);
}
