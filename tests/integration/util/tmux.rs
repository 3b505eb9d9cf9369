//! A real terminal for the end-to-end screen tests: a tmux server on a
//! private socket (`tmux -L gonogo-test-<pid>-<n> -f /dev/null`), one
//! detached session of a fixed size, keys in through `send-keys`, the
//! screen out through `capture-pane`, polled with bounded waits. The server
//! is killed when the [`Tmux`] drops, so a failing test leaves nothing
//! running.
//!
//! The socket sits in a private directory under /tmp (short enough for a
//! socket path), so no stale socket is left behind.
//!
//! The server starts from a scrubbed environment (PATH, HOME, a UTF-8
//! locale), so whatever the CI job exports (`NO_COLOR`, `COLORTERM`,
//! `TMUX`) never leaks into the screen under test; each session gets its
//! variables explicitly through `env`.

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static SERVERS: AtomicUsize = AtomicUsize::new(0);

/// Quotes a word for `sh -c`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One tmux server with one session running `command`. Its socket lives
/// in a private directory (`TMUX_TMPDIR`), removed with it.
pub struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
}

impl Tmux {
    /// Starts a detached `width`×`height` session running `command` (a
    /// shell command line), with `env` in its environment.
    pub fn start(width: u16, height: u16, env: &[(&str, &str)], command: &str) -> Tmux {
        let n = SERVERS.fetch_add(1, Ordering::Relaxed);
        let tmux = Tmux {
            socket: format!("gonogo-test-{}-{n}", std::process::id()),
            dir: tempfile::Builder::new()
                .prefix("gonogo-tmux")
                .tempdir_in("/tmp")
                .expect("tempdir"),
        };
        let (w, h) = (width.to_string(), height.to_string());
        // `env K=V … command` rather than `new-session -e` (tmux ≥ 3.2).
        let vars: Vec<String> = env
            .iter()
            .map(|(k, v)| sh_quote(&format!("{k}={v}")))
            .collect();
        let command = format!("env {} {command}", vars.join(" "));
        let args = ["new-session", "-d", "-x", &w, "-y", &h, &command];
        tmux.ok(&args);
        tmux
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env(
                "HOME",
                std::env::var_os("HOME").unwrap_or_else(|| "/".into()),
            )
            .env("LANG", "C.UTF-8")
            .env("TMUX_TMPDIR", self.dir.path())
            .args(["-u", "-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a tmux command; its output, whatever the status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run tmux")
    }

    /// Runs a tmux command that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends key names (`Tab`, `Enter`, `Space`, `a`, …).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend(keys);
        self.ok(&args);
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        self.ok(&["send-keys", "-l", text]);
    }

    /// Pastes `text` as a bracketed paste (tmux brackets it only when the
    /// application asked for bracketed paste).
    pub fn paste(&self, text: &str) {
        self.ok(&["set-buffer", "--", text]);
        self.ok(&["paste-buffer", "-p", "-d"]);
    }

    /// The visible screen as text, wrapped lines joined.
    pub fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-J"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen with its SGR attribute sequences.
    pub fn screen_escaped(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-e"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `display -p FORMAT`, trimmed.
    pub fn display(&self, format: &str) -> String {
        self.ok(&["display", "-p", format]).trim().to_string()
    }

    /// Whether the pane is on the alternate screen.
    pub fn alternate_on(&self) -> bool {
        self.display("#{alternate_on}") == "1"
    }

    pub fn pane_pid(&self) -> i32 {
        self.display("#{pane_pid}").parse().expect("pane pid")
    }

    pub fn resize(&self, width: u16, height: u16) {
        self.ok(&[
            "resize-window",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// Polls the screen every 50 ms until `want` holds, returning that
    /// screen; panics with the last screen after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if want(&screen) {
                return screen;
            }
            if Instant::now() >= deadline {
                panic!("the screen did not show {what} within {limit:?}; it shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for `text` anywhere on the screen.
    pub fn wait_text(&self, text: &str, limit: Duration) -> String {
        self.wait_for(&format!("{text:?}"), limit, |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command(&["kill-server"])
            .stderr(Stdio::null())
            .output();
    }
}

/// Every SGR sequence (`ESC [ … m`) in `text` that sets a colour: basic,
/// bright, 256-colour or truecolor, foreground or background. Defaults
/// (39, 49) and attributes (bold, reverse, dim, …) are not colours.
pub fn colour_codes(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("\x1b[") {
        let after = &rest[start + 2..];
        let Some(len) = after.find(|c: char| !(c.is_ascii_digit() || c == ';' || c == ':')) else {
            break;
        };
        if after[len..].starts_with('m') {
            let params = &after[..len];
            let colour = params.split([';', ':']).any(|p| {
                p.parse::<u16>()
                    .is_ok_and(|n| matches!(n, 30..=38 | 40..=48 | 90..=97 | 100..=107))
            });
            if colour {
                found.push(format!("ESC[{params}m"));
            }
        }
        rest = &after[len..];
    }
    found
}
