//! Notifications for launch events: a gate going NO-GO, a rollback trigger
//! firing, a rollback finishing, a timebox overrun, an advance, a sign-off
//! (SPEC §2 `[notify]`).
//!
//! Two paths, both optional (`[notify] desktop` / `terminal`):
//!
//! - **Desktop**: a freedesktop notification over D-Bus (notify-rust, pure
//!   Rust zbus), taken only where a session bus exists and a graphical
//!   session is there to show it ([`desktop_available`]). If the call fails
//!   or hangs past the time limit, the terminal path is taken instead.
//! - **Terminal**: OSC 777, OSC 9 and OSC 99 notifications and a bell
//!   ([`terminal_sequence`]), wrapped for tmux passthrough inside tmux,
//!   written to the controlling terminal. These travel over SSH, so an
//!   operator on a bastion still gets them. With no controlling terminal
//!   (CI, systemd) nothing is written.
//!
//! [`Notifier::send`] never blocks the caller, from a tokio task or a plain
//! thread alike: it hands the notification to one dedicated thread through a
//! bounded queue and drops it when the queue is full. Every failure is
//! harmless: it is counted in [`Notifier::stats`] and goes nowhere else.
//!
//! A full-screen front end should not let the default sink write to
//! `/dev/tty` while it draws, or the bytes can land inside a frame's escape
//! sequence: give it a sink ([`NotifierBuilder::terminal_sink`]) that hands
//! the bytes to its own writer between frames.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread;
use std::time::{Duration, Instant};

use crate::layout::Notify;

/// Longest title or body, in characters, after sanitising; longer text is
/// cut and ends in `…`.
pub const MAX_FIELD_CHARS: usize = 200;
/// Notifications waiting for delivery before [`Notifier::send`] drops.
pub const DEFAULT_QUEUE: usize = 32;
/// How long one delivery may take: a D-Bus call that has not answered by
/// then is abandoned, and a terminal write that cannot finish is given up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Desktop calls still hanging after their time limit, beyond which the
/// desktop path is skipped (no thread pile-up against a wedged bus).
const MAX_HUNG_DESKTOP_CALLS: usize = 2;
/// The controlling terminal.
const TTY: &str = "/dev/tty";
/// Title used when the given one sanitises to nothing.
const FALLBACK_TITLE: &str = "gonogo";

/// How loudly to notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Urgency {
    #[default]
    Normal,
    /// Stays on screen until dismissed, where the desktop supports it.
    Critical,
}

/// One notification. Title and body are plain text; they are sanitised on
/// the way out, so they may come from anywhere (gate reasons, signal names,
/// command output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
    pub urgency: Urgency,
}

impl Notification {
    pub fn new(title: impl Into<String>, body: impl Into<String>, urgency: Urgency) -> Self {
        Notification {
            title: title.into(),
            body: body.into(),
            urgency,
        }
    }

    /// A gate went from GO to NO-GO (or UNKNOWN): `gate` names it (and its
    /// condition), `reason` says why.
    pub fn gate_no_go(launch: &str, gate: &str, reason: &str) -> Self {
        let body = if reason.is_empty() {
            gate.to_owned()
        } else {
            format!("{gate}: {reason}")
        };
        Self::new(format!("{launch} — NO-GO"), body, Urgency::Critical)
    }

    /// An automatic-rollback trigger fired.
    pub fn trigger_fired(launch: &str, trigger: &str) -> Self {
        Self::new(
            format!("{launch} — rollback triggered"),
            trigger,
            Urgency::Critical,
        )
    }

    /// A rollback finished: `ok` when the command exited 0; `detail` carries
    /// exit status, duration and the like.
    pub fn rollback_finished(launch: &str, ok: bool, detail: &str) -> Self {
        let what = if ok {
            "rollback finished"
        } else {
            "rollback FAILED"
        };
        Self::new(format!("{launch} — {what}"), detail, Urgency::Critical)
    }

    /// A phase is past its timebox by `over`.
    pub fn timebox_overrun(launch: &str, phase: &str, over: Duration) -> Self {
        let over = humantime::format_duration(Duration::from_secs(over.as_secs()));
        Self::new(
            format!("{launch} — timebox exceeded"),
            format!("{phase} is {over} over its timebox"),
            Urgency::Normal,
        )
    }

    /// The launch advanced from one phase to the next, with the waiver
    /// reason if gates were overridden.
    pub fn advanced(launch: &str, from: &str, to: &str, waiver: Option<&str>) -> Self {
        let body = match waiver {
            Some(reason) => format!("{from} → {to} (override: {reason})"),
            None => format!("{from} → {to}"),
        };
        Self::new(format!("{launch} — advanced"), body, Urgency::Normal)
    }

    /// A role signed off a phase.
    pub fn signed_off(launch: &str, phase: &str, role: &str, user: &str) -> Self {
        Self::new(
            format!("{launch} — sign-off"),
            format!("{user} signed off {phase} as {role}"),
            Urgency::Normal,
        )
    }
}

/// Plain text fit for one line of a notification: cleaned as everything
/// gonogo prints is ([`crate::text::clean`]: no escape sequence, control,
/// bidi or zero-width character, no secret), whitespace runs made single
/// spaces, and at most `max` characters, ending in `…` when cut.
fn clean(s: &str, max: usize) -> String {
    let text = crate::text::clean(s);
    let mut out = String::new();
    let mut chars = 0usize;
    let mut space = false;
    let mut cut = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        let need = usize::from(space && chars > 0) + 1;
        if chars + need > max {
            cut = true;
            break;
        }
        if space && chars > 0 {
            out.push(' ');
            chars += 1;
        }
        space = false;
        out.push(c);
        chars += 1;
    }
    if cut && max > 0 {
        // Make room for the ellipsis.
        while chars >= max {
            out.pop();
            chars -= 1;
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('…');
    }
    out
}

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

/// Whether the desktop path can work here, judged from the environment
/// (`env` looks a variable up, e.g. `|k| std::env::var(k).ok()`):
///
/// - `DBUS_SESSION_BUS_ADDRESS` is set, and one of its addresses is usable:
///   a `unix:path=` whose socket exists, or a transport that cannot be
///   checked without connecting (abstract socket, TCP, …);
/// - a graphical session is there to show it (`WAYLAND_DISPLAY` or
///   `DISPLAY`);
/// - the process is not in an SSH session (`SSH_CONNECTION`, `SSH_CLIENT`,
///   `SSH_TTY`): there the session bus belongs to the remote host, and a
///   notification would pop up on its screen, not the operator's. The
///   terminal path reaches the operator instead.
pub fn desktop_available(env: impl Fn(&str) -> Option<String>) -> bool {
    let set = |k: &str| env(k).is_some_and(|v| !v.trim().is_empty());
    if ["SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"]
        .iter()
        .any(|k| set(k))
    {
        return false;
    }
    if !set("WAYLAND_DISPLAY") && !set("DISPLAY") {
        return false;
    }
    match env("DBUS_SESSION_BUS_ADDRESS") {
        Some(addr) => bus_address_usable(&addr),
        None => false,
    }
}

/// Whether one of the `;`-separated D-Bus server addresses may be reached.
fn bus_address_usable(addr: &str) -> bool {
    addr.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .any(|a| {
            let Some((transport, params)) = a.split_once(':') else {
                return false;
            };
            if transport != "unix" {
                return true;
            }
            let mut path = None;
            let mut other = false;
            for kv in params.split(',') {
                match kv.split_once('=') {
                    Some(("path", v)) => path = Some(unescape_bus_value(v)),
                    Some(("abstract", _)) => other = true,
                    _ => {}
                }
            }
            match path {
                Some(Some(p)) => Path::new(&p).exists(),
                Some(None) => false,
                None => other,
            }
        })
}

/// Decodes a D-Bus address value's `%XX` escapes.
fn unescape_bus_value(v: &str) -> Option<String> {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = v.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Shows `n` on the desktop: what the desktop path calls by default.
fn show_desktop(n: &Notification) -> Result<(), String> {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let mut title = clean(&n.title, MAX_FIELD_CHARS);
        if title.is_empty() {
            title = FALLBACK_TITLE.to_owned();
        }
        // Servers that advertise `body-markup` parse the body as markup.
        let body = clean(&n.body, MAX_FIELD_CHARS)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let (urgency, icon) = match n.urgency {
            Urgency::Normal => (notify_rust::Urgency::Normal, "dialog-information"),
            Urgency::Critical => (notify_rust::Urgency::Critical, "dialog-warning"),
        };
        notify_rust::Notification::new()
            .appname("gonogo")
            .summary(&title)
            .body(&body)
            .icon(icon)
            .urgency(urgency)
            .show()
            .map(drop)
            .map_err(|e| e.to_string())
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    {
        let _ = n;
        Err("desktop notifications go over D-Bus only".to_owned())
    }
}

/// Opens the terminal sink for one notification.
type SinkFn = Arc<dyn Fn() -> io::Result<Box<dyn Write + Send>> + Send + Sync>;
/// Shows a notification on the desktop; `Err` says why it could not.
type DesktopFn = Arc<dyn Fn(&Notification) -> Result<(), String> + Send + Sync>;

/// Opens `path` for writing without blocking on it: `O_NONBLOCK`, and the
/// writer retries a full terminal until `timeout` has passed, then gives
/// up. With `foreground_only`, refuses unless this process is in the
/// terminal's foreground process group (a background process writing to a
/// terminal with `tostop` set would be stopped by SIGTTOU).
fn open_sink(
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

/// Delivery counts, for a status line and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NotifyStats {
    /// Accepted by [`Notifier::send`].
    pub queued: u64,
    /// Refused by [`Notifier::send`] because the queue was full.
    pub dropped: u64,
    /// Shown on the desktop.
    pub desktop: u64,
    /// Desktop calls that failed or timed out (then tried on the terminal).
    pub desktop_failed: u64,
    /// Written to the terminal.
    pub terminal: u64,
    /// Delivered nowhere (every enabled path failed).
    pub failed: u64,
    /// Taken off the queue and dealt with, delivered or not.
    pub done: u64,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    dropped: AtomicU64,
    desktop: AtomicU64,
    desktop_failed: AtomicU64,
    terminal: AtomicU64,
    failed: AtomicU64,
    done: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Sends notifications without ever blocking the caller. Cheap to clone:
/// clones share one queue and one delivery thread, which ends when the last
/// clone is dropped.
#[derive(Clone)]
pub struct Notifier {
    tx: Option<SyncSender<Notification>>,
    counters: Arc<Counters>,
    desktop: bool,
    terminal: bool,
    tmux: bool,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("desktop", &self.desktop)
            .field("terminal", &self.terminal)
            .field("tmux", &self.tmux)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Notifier {
    /// The notifier for a layout's `[notify]`, in this process's
    /// environment, writing to the controlling terminal.
    pub fn new(cfg: &Notify) -> Notifier {
        Self::builder(cfg).build()
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Self::builder(&Notify {
            desktop: false,
            terminal: false,
        })
        .build()
    }

    /// Starts from a layout's `[notify]` and this process's environment.
    pub fn builder(cfg: &Notify) -> NotifierBuilder {
        NotifierBuilder {
            cfg: *cfg,
            desktop_available: false,
            tmux: false,
            desktop: Arc::new(show_desktop),
            sink: Sink::Tty,
            queue: DEFAULT_QUEUE,
            timeout: DEFAULT_TIMEOUT,
        }
        .env(|k| std::env::var(k).ok())
    }

    /// Queues `n` for delivery and returns at once. Returns `false` when it
    /// was not queued: the queue is full (it is dropped and counted), or
    /// notifications are off.
    pub fn send(&self, n: &Notification) -> bool {
        let Some(tx) = &self.tx else {
            return false;
        };
        match tx.try_send(n.clone()) {
            Ok(()) => {
                bump(&self.counters.queued);
                true
            }
            Err(TrySendError::Full(_)) => {
                bump(&self.counters.dropped);
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Waits up to `timeout` for every notification queued so far to be
    /// dealt with (say, before the process exits). `true` if they were.
    pub fn flush(&self, timeout: Duration) -> bool {
        let target = self.counters.queued.load(Ordering::Acquire);
        let deadline = Instant::now() + timeout;
        loop {
            if self.counters.done.load(Ordering::Acquire) >= target {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Whether the desktop path is taken first.
    pub fn desktop(&self) -> bool {
        self.desktop
    }

    /// Whether the terminal path is on.
    pub fn terminal(&self) -> bool {
        self.terminal
    }

    /// Whether terminal sequences are wrapped for tmux.
    pub fn tmux(&self) -> bool {
        self.tmux
    }

    pub fn stats(&self) -> NotifyStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        NotifyStats {
            queued: get(&c.queued),
            dropped: get(&c.dropped),
            desktop: get(&c.desktop),
            desktop_failed: get(&c.desktop_failed),
            terminal: get(&c.terminal),
            failed: get(&c.failed),
            done: get(&c.done),
        }
    }
}

/// Where terminal notifications go.
enum Sink {
    /// The controlling terminal, when in its foreground process group.
    Tty,
    Path(PathBuf),
    Custom(SinkFn),
}

/// Builds a [`Notifier`]; every setting has a default from
/// [`Notifier::builder`].
pub struct NotifierBuilder {
    cfg: Notify,
    desktop_available: bool,
    tmux: bool,
    desktop: DesktopFn,
    sink: Sink,
    queue: usize,
    timeout: Duration,
}

impl NotifierBuilder {
    /// Judges the environment through `env` instead of the process's own:
    /// whether the desktop path is available ([`desktop_available`]) and
    /// whether we are inside tmux (`TMUX` set).
    pub fn env(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        self.tmux = env("TMUX").is_some_and(|v| !v.is_empty());
        self.desktop_available = desktop_available(&env);
        self
    }

    /// Writes terminal notifications to `path` (opened per notification,
    /// appending, created if missing, never blocking past the timeout)
    /// instead of the controlling terminal.
    pub fn terminal_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.sink = Sink::Path(path.into());
        self
    }

    /// Writes terminal notifications to whatever `open` returns, called once
    /// per notification; an `Err` means "no terminal now" and skips it. It
    /// runs on the delivery thread: while it blocks, notifications queue up
    /// and then drop.
    pub fn terminal_sink(
        mut self,
        open: impl Fn() -> io::Result<Box<dyn Write + Send>> + Send + Sync + 'static,
    ) -> Self {
        self.sink = Sink::Custom(Arc::new(open));
        self
    }

    /// Shows desktop notifications with `show` instead of D-Bus. It is
    /// still only called where the desktop path is available.
    pub fn desktop_backend(
        mut self,
        show: impl Fn(&Notification) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.desktop = Arc::new(show);
        self
    }

    /// How many notifications may wait for delivery (at least 1).
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue = n.max(1);
        self
    }

    /// The time limit of one delivery (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Starts the delivery thread (none when both paths are off).
    pub fn build(self) -> Notifier {
        let desktop = self.cfg.desktop && self.desktop_available;
        let terminal = self.cfg.terminal;
        let counters = Arc::new(Counters::default());
        let timeout = self.timeout;
        let sink: SinkFn = match self.sink {
            Sink::Tty => Arc::new(move || open_sink(Path::new(TTY), true, timeout)),
            Sink::Path(path) => Arc::new(move || open_sink(&path, false, timeout)),
            Sink::Custom(open) => open,
        };
        let mut tx = None;
        if desktop || terminal {
            let (sender, rx) = mpsc::sync_channel(self.queue);
            let worker = Worker {
                desktop: desktop.then_some(self.desktop),
                sink: terminal.then_some(sink),
                tmux: self.tmux,
                timeout: self.timeout,
                counters: counters.clone(),
                hung: Arc::new(AtomicUsize::new(0)),
            };
            let spawned = thread::Builder::new()
                .name("gonogo-notify".to_owned())
                .spawn(move || worker.run(rx));
            if spawned.is_ok() {
                tx = Some(sender);
            }
        }
        Notifier {
            desktop: desktop && tx.is_some(),
            terminal: terminal && tx.is_some(),
            tx,
            counters,
            tmux: self.tmux,
        }
    }
}

/// The delivery thread's state.
struct Worker {
    desktop: Option<DesktopFn>,
    sink: Option<SinkFn>,
    tmux: bool,
    timeout: Duration,
    counters: Arc<Counters>,
    /// Desktop calls under way (more than one: earlier ones hang).
    hung: Arc<AtomicUsize>,
}

/// Decrements a counter when dropped, also on a panic.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Worker {
    fn run(self, rx: Receiver<Notification>) {
        for n in rx {
            // A panicking sink costs its notification, not the thread.
            let delivered =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.deliver(&n)));
            if delivered.is_err() {
                bump(&self.counters.failed);
            }
            self.counters.done.fetch_add(1, Ordering::Release);
        }
    }

    fn deliver(&self, n: &Notification) {
        if let Some(show) = &self.desktop {
            match self.show_desktop(show, n) {
                Ok(()) => {
                    bump(&self.counters.desktop);
                    return;
                }
                Err(_) => bump(&self.counters.desktop_failed),
            }
        }
        let written = match &self.sink {
            Some(open) => write_terminal(open, n, self.tmux).is_ok(),
            None => false,
        };
        bump(if written {
            &self.counters.terminal
        } else {
            &self.counters.failed
        });
    }

    /// Runs the desktop call on its own thread and waits at most the time
    /// limit for it; a call that hangs is abandoned, not waited for.
    fn show_desktop(&self, show: &DesktopFn, n: &Notification) -> Result<(), String> {
        if self.hung.load(Ordering::Acquire) >= MAX_HUNG_DESKTOP_CALLS {
            return Err("earlier desktop notifications still hang".to_owned());
        }
        self.hung.fetch_add(1, Ordering::AcqRel);
        let in_flight = InFlight(self.hung.clone());
        let (tx, rx) = mpsc::sync_channel(1);
        let show = show.clone();
        let n = n.clone();
        thread::Builder::new()
            .name("gonogo-notify-dbus".to_owned())
            .spawn(move || {
                let _in_flight = in_flight;
                let _ = tx.send(show(&n));
            })
            .map_err(|e| e.to_string())?;
        match rx.recv_timeout(self.timeout) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => Err("desktop notification timed out".into()),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err("desktop notification failed".into()),
        }
    }
}

fn write_terminal(open: &SinkFn, n: &Notification, tmux: bool) -> io::Result<()> {
    let bytes = terminal_sequence(n, tmux);
    let mut w = open()?;
    w.write_all(&bytes)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_collapses_whitespace_and_drops_controls() {
        assert_eq!(clean("  a\t\nb\r\n  c  ", 200), "a b c");
        // Escape sequences go whole, C1 forms included (U+009B is CSI).
        assert_eq!(clean("x\x1b[31my\x07z\x7f\u{9b}1mw", 200), "xyzw");
        assert_eq!(clean("a\u{202E}b\u{200B}c", 200), "abc");
        assert_eq!(clean("a\u{85}b", 200), "ab");
        assert_eq!(clean("\x1b\x07\n", 200), "");
    }

    #[test]
    fn clean_caps_length_in_chars() {
        let long = "é".repeat(500);
        let c = clean(&long, 200);
        assert_eq!(c.chars().count(), 200);
        assert!(c.ends_with('…'));
        assert_eq!(clean("abc", 3), "abc");
        assert_eq!(clean("abcd", 3), "ab…");
        assert_eq!(clean("ab cd", 4), "ab…");
        assert_eq!(clean("abc", 0), "");
    }

    #[test]
    fn osc_fields_have_no_separator() {
        assert_eq!(osc_field("a;b;;c"), "a,b,,c");
    }

    #[test]
    fn bus_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("bus");
        std::fs::write(&sock, b"").unwrap();
        let s = sock.display().to_string();
        assert!(bus_address_usable(&format!("unix:path={s}")));
        assert!(bus_address_usable(&format!("unix:path={s},guid=abc")));
        assert!(bus_address_usable(&format!(
            "unix:path=/nonexistent/bus;unix:path={s}"
        )));
        assert!(!bus_address_usable("unix:path=/nonexistent/bus"));
        assert!(bus_address_usable("unix:abstract=/tmp/dbus-x,guid=1"));
        assert!(bus_address_usable("tcp:host=localhost,port=1234"));
        assert!(!bus_address_usable(""));
        assert!(!bus_address_usable("garbage"));
        assert!(!bus_address_usable("unix:path=%zz"));
        let escaped = s.replace('/', "%2f");
        assert!(bus_address_usable(&format!("unix:path={escaped}")));
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

    #[test]
    fn event_notifications() {
        let n = Notification::gate_no_go("Checkout", "error_rate below 0.1%", "2.3%");
        assert_eq!(n.title, "Checkout — NO-GO");
        assert_eq!(n.body, "error_rate below 0.1%: 2.3%");
        assert_eq!(n.urgency, Urgency::Critical);
        let n =
            Notification::timebox_overrun("Checkout", "Preflight", Duration::from_millis(90_500));
        assert_eq!(n.body, "Preflight is 1m 30s over its timebox");
        assert_eq!(n.urgency, Urgency::Normal);
        let n = Notification::rollback_finished("Checkout", false, "exit 1 after 12s");
        assert_eq!(n.title, "Checkout — rollback FAILED");
        let n = Notification::advanced("Checkout", "canary-10", "full", Some("known flake"));
        assert_eq!(n.body, "canary-10 → full (override: known flake)");
    }
}
