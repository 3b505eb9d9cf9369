//! Delivery: the bounded queue and the one thread behind [`Notifier`], so
//! that [`Notifier::send`] never blocks its caller; the desktop path tried
//! first with a time limit, the terminal path as the fallback, and every
//! outcome counted in [`NotifyStats`].

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread;
use std::time::{Duration, Instant};

use super::desktop::{desktop_available, show_desktop};
use super::message::Notification;
use super::terminal::{TTY, open_sink, terminal_sequence};
use crate::layout::Notify;

/// Notifications waiting for delivery before [`Notifier::send`] drops.
pub const DEFAULT_QUEUE: usize = 32;
/// How long one delivery may take: a D-Bus call that has not answered by
/// then is abandoned, and a terminal write that cannot finish is given up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Desktop calls still hanging after their time limit, beyond which the
/// desktop path is skipped (no thread pile-up against a wedged bus).
const MAX_HUNG_DESKTOP_CALLS: usize = 2;

/// Opens the terminal sink for one notification.
type SinkFn = Arc<dyn Fn() -> io::Result<Box<dyn Write + Send>> + Send + Sync>;
/// Shows a notification on the desktop; `Err` says why it could not.
type DesktopFn = Arc<dyn Fn(&Notification) -> Result<(), String> + Send + Sync>;

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
