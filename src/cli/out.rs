//! Where the plain-text front ends (`check`, `watch`, `log`, the acts)
//! write. Two jobs, each done once, here:
//!
//! - **Clean text.** Everything printed passes [`crate::text`]: no escape
//!   sequence from a note, an endpoint or a command reaches the reader's
//!   terminal, and no secret from `${VAR}` is shown.
//! - **One voice on stderr.** Messages of gonogo's own start with
//!   [`PREFIX`]: failures, printed once by [`super::error::report`], and
//!   notices ([`notice`]).
//! - **A reader that goes away.** When stdout is a pipe whose reader has
//!   gone (`gonogo watch … | head -2`), writes fail with EPIPE (Rust ignores
//!   SIGPIPE, and `println!` would panic). The first such failure is noted
//!   here, later writes are skipped, and [`closed`] tells a long-running
//!   loop to stop. Since `watch` may print nothing for a long while,
//!   [`reader_gone`] also asks the kernel without writing: `poll(2)` reports
//!   POLLERR on a pipe whose reader is gone and POLLHUP on a hung-up
//!   terminal.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::text;

static CLOSED: AtomicBool = AtomicBool::new(false);

/// What every message of gonogo's own on stderr starts with.
pub const PREFIX: &str = "gonogo: ";

/// Prints one line of text (cleaned to one line). `false` once stdout is
/// closed.
pub fn line(s: &str) -> bool {
    let mut cleaned = text::clean(s).into_owned();
    cleaned.push('\n');
    write_stdout(cleaned.as_bytes())
}

/// Prints text of several lines as it is (cleaned, line feeds kept).
pub fn block(s: &str) -> bool {
    write_stdout(text::clean_block(s).as_bytes())
}

/// Prints serialized JSON with every string in it cleaned, then a line feed.
pub fn json(s: &str) -> bool {
    let mut cleaned = text::clean_json(s).into_owned();
    cleaned.push('\n');
    write_stdout(cleaned.as_bytes())
}

/// Prints a message on stderr (cleaned, line feeds kept), then a line
/// feed. Refusals quote what the operator typed: it is cleaned too.
pub fn err(s: &str) {
    let mut cleaned = text::clean_block(s).into_owned();
    if !cleaned.ends_with('\n') {
        cleaned.push('\n');
    }
    // Nowhere left to report a failure to report.
    let mut e = io::stderr().lock();
    let _ = e.write_all(cleaned.as_bytes()).and_then(|()| e.flush());
}

/// Prints a message of gonogo's own on stderr that is not a failure (a
/// note, where the demo runs): `gonogo: ` and the text.
pub fn notice(s: &str) {
    err(&format!("{PREFIX}{s}"));
}

/// Whether stdout's reader is known to be gone.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Asks the kernel, without writing, whether stdout's reader is gone (a
/// pipe's reader closed, a terminal hung up); remembers it if so.
pub fn reader_gone() -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    if closed() {
        return true;
    }
    let stdout = io::stdout();
    // No events asked for: POLLERR and POLLHUP are always reported.
    let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::empty())];
    let gone = matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
        && fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP));
    if gone {
        CLOSED.store(true, Ordering::Relaxed);
    }
    gone
}

fn write_stdout(bytes: &[u8]) -> bool {
    if closed() {
        return false;
    }
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            false
        }
        // Another failure (a full disk, a closed descriptor) is not a
        // reader going away: carry on, as a guard must.
        _ => true,
    }
}
