//! The terminal path: the escape sequences a notification travels as
//! (OSC 777, OSC 9, OSC 99 and a bell, wrapped for tmux passthrough) and
//! the controlling terminal they are written to, without ever blocking
//! past a deadline or stopping a background process.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use super::message::{FALLBACK_TITLE, MAX_FIELD_CHARS, Notification, Urgency, clean};

/// The controlling terminal.
pub(super) const TTY: &str = "/dev/tty";

/// A field of an OSC sequence: clean, and without `;`, the field separator.
fn osc_field(s: &str) -> String {
    clean(s, MAX_FIELD_CHARS).replace(';', ",")
}

/// The bytes the terminal path writes for `n`: OSC 777 (`ESC ] 777 ; notify
/// ; title ; body BEL`: urxvt, foot, Ghostty, WezTerm, VTE), OSC 9 (`ESC ] 9
/// ; title: body BEL`: iTerm2 and others), OSC 99 (`ESC ] 99 ; ; title: body
/// ESC \`: kitty, with `u=2` in the metadata when critical) and a bell.
/// Terminals ignore the OSC codes they do not know.
///
/// `in_tmux` wraps each OSC in a tmux passthrough (`ESC P tmux ; … ESC \`
/// with every ESC inside doubled; tmux needs `allow-passthrough on`). The
/// bell is left bare, for tmux's own bell handling.
///
/// Title and body are sanitised: no control characters (so no escape
/// injection), no `;`, at most [`MAX_FIELD_CHARS`] characters each.
pub fn terminal_sequence(n: &Notification, in_tmux: bool) -> Vec<u8> {
    let mut title = osc_field(&n.title);
    if title.is_empty() {
        title = FALLBACK_TITLE.to_owned();
    }
    let body = osc_field(&n.body);
    let text = if body.is_empty() {
        title.clone()
    } else {
        format!("{title}: {body}")
    };
    let kitty = match n.urgency {
        Urgency::Normal => "",
        Urgency::Critical => "u=2",
    };
    let oscs = [
        format!("\x1b]777;notify;{title};{body}\x07"),
        format!("\x1b]9;{text}\x07"),
        format!("\x1b]99;{kitty};{text}\x1b\\"),
    ];
    let mut out = Vec::with_capacity(oscs.iter().map(|o| o.len() + 16).sum::<usize>() + 1);
    for osc in &oscs {
        if in_tmux {
            out.extend_from_slice(b"\x1bPtmux;");
            for &b in osc.as_bytes() {
                if b == 0x1b {
                    out.push(0x1b);
                }
                out.push(b);
            }
            out.extend_from_slice(b"\x1b\\");
        } else {
            out.extend_from_slice(osc.as_bytes());
        }
    }
    out.push(0x07);
    out
}

/// Opens `path` for writing without blocking on it: `O_NONBLOCK`, and the
/// writer retries a full terminal until `timeout` has passed, then gives
/// up. With `foreground_only`, refuses unless this process is in the
/// terminal's foreground process group (a background process writing to a
/// terminal with `tostop` set would be stopped by SIGTTOU).
pub(super) fn open_sink(
    path: &Path,
    foreground_only: bool,
    timeout: Duration,
) -> io::Result<Box<dyn Write + Send>> {
    if foreground_only && !in_foreground() {
        return Err(io::Error::other(
            "not in the terminal's foreground process group",
        ));
    }
    let file = OpenOptions::new()
        .append(true)
        .create(!foreground_only)
        .custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK)
        .open(path)?;
    Ok(Box::new(DeadlineWriter {
        file,
        deadline: Instant::now() + timeout,
    }))
}

/// Whether this process is in the foreground process group of its
/// controlling terminal; `false` with no controlling terminal. Where
/// `/proc` cannot tell, assume so.
fn in_foreground() -> bool {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| foreground_from_stat(&s))
        .unwrap_or(true)
}

/// From `/proc/<pid>/stat`: is `tpgid` (the terminal's foreground group)
/// this process's `pgrp`?
fn foreground_from_stat(stat: &str) -> Option<bool> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // state ppid pgrp session tty_nr tpgid
    let mut fields = rest.split_whitespace();
    let pgrp: i64 = fields.nth(2)?.parse().ok()?;
    let tpgid: i64 = fields.nth(2)?.parse().ok()?;
    Some(tpgid > 0 && tpgid == pgrp)
}

/// A non-blocking file whose writes wait out a full buffer until a deadline.
struct DeadlineWriter {
    file: std::fs::File,
    deadline: Instant,
}

impl Write for DeadlineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.file.write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= self.deadline {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "terminal not accepting output",
                        ));
                    }
                    thread::sleep(Duration::from_millis(5));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::io::{self, Write};
    use std::os::unix::fs::OpenOptionsExt;
    use std::time::{Duration, Instant};

    use super::{foreground_from_stat, open_sink, osc_field};
    use crate::notify::DEFAULT_TIMEOUT;

    #[test]
    fn osc_fields_have_no_separator() {
        assert_eq!(osc_field("a;b;;c"), "a,b,,c");
    }

    #[test]
    fn foreground_from_proc_stat() {
        let fg = "1234 (gonogo (x) y) S 1 1234 1234 34816 1234 4194560 0";
        assert_eq!(foreground_from_stat(fg), Some(true));
        let bg = "1234 (gonogo) S 1 1234 1000 34816 999 4194560 0";
        assert_eq!(foreground_from_stat(bg), Some(false));
        let no_tty = "1234 (gonogo) S 1 1234 1234 0 -1 4194560 0";
        assert_eq!(foreground_from_stat(no_tty), Some(false));
        assert_eq!(foreground_from_stat("garbage"), None);
    }

    #[test]
    fn stat_of_this_process_parses() {
        if let Ok(s) = std::fs::read_to_string("/proc/self/stat") {
            assert!(foreground_from_stat(&s).is_some(), "{s}");
        }
    }

    /// A write to a full pipe gives up at the deadline instead of blocking.
    #[test]
    fn full_fifo_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return; // no mkfifo here
        }
        // A reader that never reads keeps the FIFO open.
        let _reader = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        let mut w = open_sink(&fifo, false, Duration::from_millis(200)).unwrap();
        let start = Instant::now();
        let err = w.write_all(&vec![b'x'; 4 << 20]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(200), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    /// A FIFO nobody reads cannot even be opened: nothing to write to.
    #[test]
    fn fifo_without_reader_is_no_terminal() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return;
        }
        assert!(open_sink(&fifo, false, DEFAULT_TIMEOUT).is_err());
    }
}
