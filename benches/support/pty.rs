//! A child on a pseudo-terminal of a fixed size, as a terminal emulator
//! runs it: the slave is its stdin, stdout and stderr, and, in a session of
//! its own, its controlling terminal. Shared by the screen and product
//! benches (`#[path = "support/pty.rs"] mod pty;`).

use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use nix::pty::{OpenptyResult, Winsize, openpty};

/// Opens a `cols`×`rows` pty and sets `cmd` up to run on its slave. After
/// spawning, drop `cmd` and the returned slave so that only the child holds
/// it (its exit then ends reads of the master).
pub fn attach(cmd: &mut Command, cols: u16, rows: u16) -> Result<OpenptyResult, String> {
    let size = Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(&size, None).map_err(|e| format!("openpty: {e}"))?;
    let slave = |pty: &OwnedFd| -> Result<Stdio, String> {
        Ok(Stdio::from(
            pty.try_clone().map_err(|e| format!("dup pty: {e}"))?,
        ))
    };
    cmd.stdin(slave(&pty.slave)?)
        .stdout(slave(&pty.slave)?)
        .stderr(slave(&pty.slave)?);
    // SAFETY: only async-signal-safe calls (setsid, ioctl) between fork
    // and exec.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()?;
            // The pty becomes the controlling terminal, as in a real one.
            if nix::libc::ioctl(0, nix::libc::TIOCSCTTY as _, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(pty)
}
