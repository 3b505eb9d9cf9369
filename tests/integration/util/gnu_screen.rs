//! GNU screen as the terminal for end-to-end tests: bastions run it as
//! often as tmux, with `altscreen off` by default, so a program that does
//! not clear what was printed before it is drawn over that text. One
//! detached session (`screen -dmS`) on a private socket directory
//! (`SCREENDIR`), keys in through `-X stuff`, the window out through `-X
//! hardcopy`. The session is killed when the [`GnuScreen`] drops.
//!
//! Settings are Debian's defaults: `-c /dev/null` keeps any personal
//! `~/.screenrc` out, `/etc/screenrc` is read as on a bastion.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static SESSIONS: AtomicUsize = AtomicUsize::new(0);

pub struct GnuScreen {
    name: String,
    dir: tempfile::TempDir,
}

impl GnuScreen {
    /// Starts a detached session (80×24, screen's size for a detached
    /// session) running the shell command line `command`.
    pub fn start(env: &[(&str, &str)], command: &str) -> GnuScreen {
        use std::os::unix::fs::PermissionsExt;
        let n = SESSIONS.fetch_add(1, Ordering::Relaxed);
        let s = GnuScreen {
            name: format!("gonogo-test-{}-{n}", std::process::id()),
            dir: tempfile::Builder::new()
                .prefix("gonogo-screen")
                .tempdir_in("/tmp")
                .expect("tempdir"),
        };
        // screen refuses a socket directory others can read.
        std::fs::set_permissions(s.dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod 700");
        let mut cmd = s.command();
        cmd.args(["-U", "-c", "/dev/null", "-dmS", &s.name, "env"]);
        for (k, v) in env {
            cmd.arg(format!("{k}={v}"));
        }
        cmd.args(["sh", "-c", command]);
        let out = cmd.output().expect("run screen");
        assert!(out.status.success(), "screen -dmS: {out:?}");
        s
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("screen");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env(
                "HOME",
                std::env::var_os("HOME").unwrap_or_else(|| "/".into()),
            )
            .env("LANG", "C.UTF-8")
            .env("TERM", "xterm-256color")
            .env("SCREENDIR", self.dir.path())
            .stdin(Stdio::null());
        cmd
    }

    /// `screen -S NAME -X <args>`: a command to the running session.
    fn x(&self, args: &[&str]) -> Output {
        self.command()
            .args(["-S", &self.name, "-X"])
            .args(args)
            .output()
            .expect("run screen -X")
    }

    /// Types `text` into the window, as keys.
    pub fn stuff(&self, text: &str) {
        let out = self.x(&["stuff", text]);
        assert!(out.status.success(), "screen -X stuff: {out:?}");
    }

    /// The window as text, one line per row.
    pub fn screen(&self) -> String {
        let file: PathBuf = self.dir.path().join("hardcopy");
        let _ = std::fs::remove_file(&file);
        let out = self.x(&["hardcopy", &file.to_string_lossy()]);
        if !out.status.success() {
            return format!("(screen -X hardcopy failed: {out:?})");
        }
        // hardcopy writes the file on the session's own time.
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(bytes) = std::fs::read(&file)
                && !bytes.is_empty()
            {
                return String::from_utf8_lossy(&bytes).into_owned();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        String::new()
    }

    /// Polls the window every 100 ms until `want` holds, returning it;
    /// panics with the last window after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if want(&screen) {
                return screen;
            }
            if Instant::now() >= deadline {
                panic!("GNU screen did not show {what} within {limit:?}; it shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for GnuScreen {
    fn drop(&mut self) {
        let _ = self.x(&["quit"]);
    }
}
