//! Clocks that disagree (libfaketime): a team launch is judged on the
//! journal server's timeline. A machine a little off is corrected and
//! says so (`CLOCK +10s`); one far off refuses to poll or act, saying
//! why; and a sample stamped in the future is never evidence.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::procs::{self, BIN, Lines, path_str, run, text};

/// `gonogo ARGS` on a clock `offset` off this machine's (`+60s`).
fn skewed(offset: &str, state: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("faketime");
    cmd.args(["-f", offset, BIN])
        .args(args)
        .env("XDG_STATE_HOME", state);
    cmd
}

fn layout(dir: &Path, run: &str, window: &str) -> String {
    let path = dir.join("clock.toml");
    std::fs::write(
        &path,
        format!(
            r#"[launch]
name = "Clocks"
id = "clock"

[signals.api]
kind = "command"
run = {run}
every = "1s"

[[phases]]
id = "canary"
gates = [{{ signal = "api", up = true{window} }}]

[[phases]]
id = "full"
"#
        ),
    )
    .unwrap();
    path_str(&path)
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&text(&out.stdout))
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

/// A minute ahead of the database server: measured, shown, and every
/// poll and act refused with the reason — never judged on that clock.
#[test]
fn a_clock_a_minute_ahead_of_the_server_is_refused() {
    if crate::util::require("faketime").is_none() {
        return;
    }
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let url = cluster.database();
    let dir = procs::tempdir();
    let layout = layout(dir.path(), r#"["true"]"#, "");
    let state = dir.path();
    let out = run(&mut procs::gonogo_cmd(
        state,
        None,
        &["start", &layout, "--journal", &url],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&mut skewed(
        "+60s",
        state,
        &["check", &layout, "--json", "--journal", &url],
    ));
    let check = json(&out);
    let skew = check["clock_skew_s"].as_f64().unwrap();
    assert!((55.0..65.0).contains(&skew), "{check}");
    assert_eq!(check["gates"][0]["state"], "UNKNOWN", "{check}");
    let reason = check["gates"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains(
            "not polled: this machine's clock is 60s ahead of the journal server's (more than 30s)"
        ),
        "{reason}"
    );
    let out = run(&mut skewed(
        "+60s",
        state,
        &["note", &layout, "from the future", "--journal", &url],
    ));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot note: this machine's clock is 60s ahead"),
        "{}",
        text(&out.stderr)
    );
    // Ten seconds off is corrected, and said.
    let out = run(&mut skewed(
        "+10s",
        state,
        &["check", &layout, "--json", "--journal", &url],
    ));
    let check = json(&out);
    let skew = check["clock_skew_s"].as_f64().unwrap();
    assert!((8.0..12.0).contains(&skew), "{check}");
    assert_eq!(check["gates"][0]["state"], "GO", "{check}");
    assert!(
        text(&out.stderr).contains("CLOCK +10s"),
        "{}",
        text(&out.stderr)
    );
    let mut guard = Lines::spawn(skewed(
        "+10s",
        state,
        &["watch", &layout, "--journal", &url],
    ));
    guard.expect(
        "saying the clock",
        |l| l.contains("CLOCK +10s: this machine's clock is 10s ahead of the journal server's"),
        Duration::from_secs(15),
    );
}

/// A machine ten seconds fast does not see a `for` window filled early:
/// right after the start its advance is refused, as everyone's is, until
/// the window has run on the server's clock.
#[test]
fn a_fast_clock_does_not_fill_a_window_early() {
    if crate::util::require("faketime").is_none() {
        return;
    }
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let url = cluster.database();
    let dir = procs::tempdir();
    let layout = layout(dir.path(), r#"["true"]"#, r#", for = "6s""#);
    let state = dir.path();
    let out = run(&mut procs::gonogo_cmd(
        state,
        None,
        &["start", &layout, "--journal", &url],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let started = std::time::Instant::now();
    let mut guard = Lines::spawn(skewed(
        "+10s",
        state,
        &["watch", &layout, "--journal", &url],
    ));
    guard.expect(
        "watching",
        |l| l.contains(" watching \""),
        Duration::from_secs(10),
    );
    std::thread::sleep(Duration::from_secs(2));
    let out = run(&mut skewed(
        "+10s",
        state,
        &["advance", &layout, "--journal", &url],
    ));
    if started.elapsed() < Duration::from_secs(5) {
        assert_eq!(
            out.status.code(),
            Some(1),
            "advanced {:?} into a 6s window: {}{}",
            started.elapsed(),
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("api up for 6s"),
            "{}",
            text(&out.stderr)
        );
    }
    let out = run(&mut procs::gonogo_cmd(
        state,
        None,
        &["check", &layout, "--json", "--journal", &url],
    ));
    let check = json(&out);
    if started.elapsed() < Duration::from_secs(5) {
        assert_ne!(check["gates"][0]["state"], "GO", "{check}");
    }
    // And once it has run, it is GO for both.
    let advanced = procs::poll_until(Duration::from_secs(20), || {
        let out = run(&mut skewed(
            "+10s",
            state,
            &["advance", &layout, "--journal", &url],
        ));
        (out.status.code() == Some(0)).then_some(())
    });
    assert!(advanced.is_some(), "{}", guard.transcript());
    assert!(started.elapsed() >= Duration::from_secs(6));
}

/// On a file journal (no server to measure), a guard on a clock a minute
/// fast records samples in the future. The CLI on the right clock does not
/// take them for fresh evidence: it polls, and sees the signal down.
#[test]
fn a_sample_from_the_future_is_not_evidence() {
    if crate::util::require("faketime").is_none() {
        return;
    }
    let dir = procs::tempdir();
    let up = dir.path().join("up");
    std::fs::write(&up, "").unwrap();
    let layout = layout(
        dir.path(),
        &format!(r#"["test", "-e", "{}"]"#, up.display()),
        "",
    );
    let journal = dir.path().join("clock.sqlite");
    let journal_s = path_str(&journal);
    let state = dir.path();
    procs::start(state, None, &layout, &journal);
    let mut guard = Lines::spawn(skewed(
        "+60s",
        state,
        &["watch", &layout, "--journal", &journal_s],
    ));
    guard.expect(
        "watching",
        |l| l.contains(" watching \""),
        Duration::from_secs(10),
    );
    let recorded = procs::poll_until(Duration::from_secs(10), || {
        let conn = rusqlite::Connection::open(&journal).ok()?;
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM samples", [], |r| r.get(0))
            .ok()?;
        (n > 0).then_some(n)
    });
    assert!(recorded.is_some(), "{}", guard.transcript());
    drop(guard);
    std::fs::remove_file(&up).unwrap();
    let out = run(&mut procs::gonogo_cmd(
        state,
        None,
        &["check", &layout, "--json", "--journal", &journal_s],
    ));
    let check = json(&out);
    assert_eq!(check["gates"][0]["state"], "NO-GO", "{check}");
}

/// The screen says it in its header: `CLOCK +10s` on a machine ten
/// seconds ahead of the journal server.
#[test]
fn the_screen_header_shows_the_clock_skew() {
    if crate::util::require("faketime").is_none() || crate::util::require("tmux").is_none() {
        return;
    }
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let url = cluster.database();
    let dir = procs::tempdir();
    let layout = layout(dir.path(), r#"["true"]"#, "");
    let command = [
        "faketime",
        "-f",
        "+10s",
        BIN,
        "run",
        &layout,
        "--journal",
        &url,
    ]
    .map(crate::util::tmux::sh_quote)
    .join(" ");
    let tmux = crate::util::tmux::Tmux::start(
        120,
        30,
        &[("XDG_STATE_HOME", &path_str(dir.path()))],
        &command,
    );
    let screen = tmux.wait_text("CLOCK +10s", Duration::from_secs(15));
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.contains("CLOCK +10s"), "{screen}");
}
