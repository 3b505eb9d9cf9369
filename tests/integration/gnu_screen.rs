//! The screen inside GNU screen 4.9 with its default settings (issue 10,
//! SPEC §4): `altscreen off`, so whatever the shell printed before gonogo
//! started is still in the window. The first frame must not be laid over
//! it, and quitting must not leave a frame under the prompt.

use std::time::Duration;

use crate::util;
use crate::util::gnu_screen::GnuScreen;
use crate::util::procs::{BIN, path_str, tempdir};
use crate::util::tmux::sh_quote;

const SCREEN: Duration = Duration::from_secs(15);

/// A line of text that only the shell printed, never gonogo.
const FILLER: &str = "filler-before-gonogo with `c and a quick brown fox";

#[test]
fn the_demo_in_gnu_screen_is_drawn_on_a_clean_window() {
    if util::require("screen").is_none() {
        return;
    }
    let cwd = tempdir();
    let state = tempdir();
    let script = format!(
        "cd {cwd} && for i in $(seq 1 40); do printf '%s %s\\n' $i {filler}; done; \
         {bin} demo; echo \"gonogo exited $?\"; sleep 600",
        cwd = sh_quote(&path_str(cwd.path())),
        filler = sh_quote(FILLER),
        bin = sh_quote(BIN),
    );
    let state_dir = path_str(state.path());
    let s = GnuScreen::start(&[("XDG_STATE_HOME", &state_dir)], &script);
    // The whole first frame: the header and the key bar on the last row.
    let first = s.wait_for("the demo's first frame", SCREEN, |w| {
        w.contains("phase 1/4") && w.contains("a starts the launch")
    });
    assert!(
        !first.contains("filler-before-gonogo"),
        "text printed before gonogo shows through its frame:\n{first}"
    );
    assert!(
        !first.contains("quick brown"),
        "a fragment of the earlier text shows through:\n{first}"
    );

    // A new key bar over the old one: no word of the old survives.
    s.stuff("a");
    let started = s.wait_for("the launch started", SCREEN, |w| {
        w.contains("STARTED the launch")
    });
    assert!(!started.contains("filler-before-gonogo"), "{started}");
    assert!(
        !started.contains("NOT STARTED"),
        "the old header shows through the new one:\n{started}"
    );

    // Quit: the window is given back clean, the frame does not linger.
    s.stuff("q");
    let after = s.wait_for("gonogo's exit", SCREEN, |w| w.contains("gonogo exited"));
    assert!(after.contains("gonogo exited 0"), "{after}");
    assert!(
        !after.contains("phase 1/4"),
        "the last frame lingers under the prompt:\n{after}"
    );
}
