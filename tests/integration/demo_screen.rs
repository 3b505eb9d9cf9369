//! The demo as a new user runs it (issue 10): from whatever directory the
//! shell is in, in a real terminal. Its rollback command runs, and the
//! `gonogo log …` line it prints on quit works from anywhere.

use std::process::Command;
use std::time::Duration;

use crate::util;
use crate::util::procs::{BIN, path_str, tempdir, text};
use crate::util::tmux::{Tmux, sh_quote};

const SCREEN: Duration = Duration::from_secs(15);

#[test]
fn the_demo_rolls_back_and_its_log_line_works_from_another_directory() {
    if util::require("tmux").is_none() {
        return;
    }
    let cwd = tempdir();
    let state = tempdir();
    let script = format!(
        "cd {} && {} demo; echo \"gonogo exited $?\"; read line",
        sh_quote(&path_str(cwd.path())),
        sh_quote(BIN)
    );
    let state_dir = path_str(state.path());
    let t = Tmux::start(
        120,
        40,
        &[("XDG_STATE_HOME", &state_dir)],
        &format!("sh -c {}", sh_quote(&script)),
    );
    t.wait_text("phase 1/4", SCREEN);
    t.keys(&["a"]);
    t.wait_text("STARTED the launch", SCREEN);
    t.keys(&["r"]);
    t.wait_text("Type `rollback`", SCREEN);
    t.type_text("rollback");
    t.keys(&["Enter"]);
    let done = t.wait_for("the rollback's end", SCREEN, |s| {
        s.contains("ROLLED BACK: the rollback command ended") || s.contains("ROLLBACK FAILED")
    });
    assert!(
        !done.contains("ROLLBACK FAILED") && !done.contains("cannot start"),
        "the demo's rollback failed when run from another directory:\n{done}"
    );

    t.keys(&["q"]);
    let after = t.wait_text("gonogo exited", SCREEN);
    assert!(after.contains("gonogo exited 0"), "{after}");
    let line = after
        .lines()
        .find_map(|l| l.split_once("gonogo log ").map(|(_, rest)| rest.trim()))
        .unwrap_or_else(|| panic!("no `gonogo log` line after quit:\n{after}"));
    let (layout, journal) = line
        .split_once(" --journal ")
        .unwrap_or_else(|| panic!("no --journal in {line:?}"));
    // From the root, not the directory the demo ran in.
    let log = Command::new(BIN)
        .args(["log", layout, "--journal", journal])
        .current_dir("/")
        .env("XDG_STATE_HOME", state.path())
        .output()
        .unwrap();
    let out = text(&log.stdout);
    assert!(log.status.success(), "{line}: {out}{}", text(&log.stderr));
    assert!(out.contains("ROLLED BACK"), "{out}");
}
