//! The control room screen (SPEC §4): a front end on the engine, like
//! `check` and `watch`.
//!
//! [`app`] holds the screen's model and its pure `update`; [`render`] only
//! reads it and the runtime's picture; this module is the loop: it owns
//! the terminal (restored on every exit path), runs the launch
//! [`Runtime`] on a task of its own (every journal read and write, polling,
//! the guard — a slow disk never freezes the screen), feeds keys, ticks
//! and the runtime's updates in as messages, passes the acts `update`
//! orders to the runtime, and redraws only when something changed, at
//! most ten times a second.

pub mod app;
pub mod keys;
pub mod render;
pub mod theme;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste, Event as TermEvent};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::layout::Layout;
use crate::notify::Notifier;
use crate::runtime::{self, Order, Runtime};
use crate::session::Session;
use crate::signal::Prober;
use app::{App, Effect, Msg};

/// Options from the command line.
pub struct Options {
    pub read_only: bool,
    pub presenter: bool,
    /// The demo service's URL when running `gonogo demo` (enables `f`).
    pub demo_url: Option<String>,
    /// Watch the layout file and apply saved edits live.
    pub watch_layout: bool,
}

/// Restores the terminal when dropped: on quit, on error and on unwind.
struct TerminalGuard;

/// Set once the terminal has been given back. A second restore after the
/// panic hook's would leave the alternate screen again, and the terminal
/// would repaint over the panic message just printed.
static RESTORED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Gives the terminal back (main screen, cooked mode, no bracketed paste),
/// once. Never reports a failure: stderr may be the dead terminal, and a
/// panic here would abort the process.
fn restore_terminal() {
    if RESTORED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    // Cleared before leaving: without an alternate screen the last frame
    // would stay under the shell prompt.
    let _ = crossterm::execute!(
        std::io::stdout(),
        DisableBracketedPaste,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All),
        crossterm::cursor::MoveTo(0, 0)
    );
    let _ = ratatui::try_restore();
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Opens the terminal with a panic hook that restores it quietly, then
/// hands over to the hook that was there before.
fn open_terminal() -> std::io::Result<ratatui::DefaultTerminal> {
    let previous = std::panic::take_hook();
    let terminal = ratatui::try_init()?;
    // Where there is no alternate screen (GNU screen's default is
    // `altscreen off`) the text printed before is still there, and the
    // first frame's diff skips every cell it believes blank: wipe it, so
    // the screen matches the blank buffer the diff starts from. Done by
    // hand: `Terminal::clear` asks the terminal for the cursor position
    // and can wait on an answer that never comes.
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All),
        crossterm::cursor::MoveTo(0, 0)
    )?;
    // Drop ratatui's hook: it reports restore failures on stderr.
    let _ = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    Ok(terminal)
}

enum Tty {
    Input,
    Idle,
    Gone,
}

/// Waits up to `ms` milliseconds on standard input (the terminal).
fn tty_state(ms: u16) -> Tty {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let stdin = std::io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(ms)) {
        Ok(0) => Tty::Idle,
        Ok(_) => {
            let revents = fds[0].revents().unwrap_or(PollFlags::empty());
            if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL) {
                Tty::Gone
            } else {
                Tty::Input
            }
        }
        Err(nix::errno::Errno::EINTR) => Tty::Idle,
        Err(_) => Tty::Gone,
    }
}

/// Why the screen could not start; it is reported before the alternate
/// screen opens, or after it is given back.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error("cannot open the terminal: {0}")]
    Terminal(#[source] std::io::Error),
}

/// Runs the screen until `q`, SIGTERM, SIGINT, SIGHUP or a dead terminal;
/// `Ok(0)` then.
///
/// # Errors
/// The journal cannot be opened; the terminal or the signal handlers
/// cannot be set up.
pub async fn run(
    layout: Arc<Layout>,
    journal: Option<&Path>,
    prober: Prober,
    opts: Options,
) -> Result<i32, ScreenError> {
    // Everything that can fail plainly happens before the alternate screen.
    // A viewer never writes: it needs only read access to the journal.
    let opened = if opts.read_only {
        Session::open_read_only((*layout).clone(), journal).and_then(|s| {
            s.ok_or_else(|| {
                crate::session::SessionError::Journal(crate::journal::JournalError::Missing(
                    crate::session::journal_path(&layout, journal),
                ))
            })
        })
    } else {
        Session::open((*layout).clone(), journal)
    };
    let session = opened?;
    let file = layout.path.clone();
    let history = session.journal.since(0).unwrap_or_default();
    // In raw mode Ctrl-C arrives as a key; a SIGINT from outside (`kill
    // -INT`) must give the terminal back like SIGTERM, not kill us with it.
    let mut term_sig = signal(SignalKind::terminate()).map_err(ScreenError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(ScreenError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ScreenError::Signals)?;
    let mut cont =
        signal(SignalKind::from_raw(nix::libc::SIGCONT)).map_err(ScreenError::Signals)?;
    let (term_tx, mut term_out) = mpsc::unbounded_channel::<Vec<u8>>();
    let actor = session.journal.actor();
    let (runtime, live, mut updates) = Runtime::new(
        session,
        prober,
        runtime::Options {
            read_only: opts.read_only,
            notifier: Box::new(move |cfg| screen_notifier(cfg, &term_tx)),
            // Saved edits of the layout file become proposals to adopt.
            watch_file: opts.watch_layout.then_some(file),
        },
    );
    let proposal = runtime.proposal_note();
    let mut app = App::on(live, actor, crate::clock::now());
    app.read_only = opts.read_only;
    app.presenter = opts.presenter;
    app.demo.clone_from(&opts.demo_url);
    app.colors = theme::Depth::detect(|k| std::env::var(k).ok());
    app.update(Msg::History(history));
    if let Some(note) = proposal {
        app.update(Msg::Status(Err(note)));
    }

    let mut terminal = open_terminal().map_err(ScreenError::Terminal)?;
    let _guard = TerminalGuard;
    let _ = crossterm::execute!(std::io::stdout(), EnableBracketedPaste);

    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    // Keys come from a blocking reader thread; the screen never waits on it.
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            loop {
                // A hung-up terminal (an SSH drop) must end us, not spin:
                // crossterm loops on reads of zero bytes, so it is asked to
                // read only when the terminal is alive and has input.
                match tty_state(250) {
                    Tty::Input => {}
                    Tty::Idle => continue,
                    Tty::Gone => {
                        let _ = tx.send(Msg::Hangup);
                        return;
                    }
                }
                // One read may bring several events (a fast typist, a
                // paste): deliver all crossterm holds before waiting again.
                loop {
                    let msg = match crossterm::event::read() {
                        Ok(TermEvent::Key(k)) => Some(Msg::Key(k)),
                        Ok(TermEvent::Paste(p)) => Some(Msg::Paste(p)),
                        Ok(TermEvent::Resize(..)) => Some(Msg::Tick(crate::clock::now())),
                        Ok(_) => None,
                        Err(_) => Some(Msg::Hangup),
                    };
                    let hangup = matches!(msg, Some(Msg::Hangup));
                    if let Some(msg) = msg
                        && tx.send(msg).is_err()
                    {
                        return;
                    }
                    if hangup || matches!(tty_state(0), Tty::Gone) {
                        let _ = tx.send(Msg::Hangup);
                        return;
                    }
                    if !matches!(crossterm::event::poll(Duration::ZERO), Ok(true)) {
                        break;
                    }
                }
            }
        });
    }
    // Every journal read and write happens in the runtime, on its own task.
    let (orders, orders_rx) = mpsc::unbounded_channel();
    let running = tokio::spawn(runtime.run(orders_rx));
    let mut frame_tick = tokio::time::interval(Duration::from_millis(100));
    let mut drawn = app.live.version();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    // A full repaint owed after SIGCONT.
    let mut repaint_at: Option<tokio::time::Instant> = None;
    'main: loop {
        let mut effects = Vec::new();
        tokio::select! {
            Some(msg) = rx.recv() => {
                // Data redraws wait for the 10 fps frame tick; the
                // operator's own keys are answered at once (measured: up
                // to 100 ms otherwise, against a 50 ms bar). Keys are rare,
                // so the frame rate stays low.
                let input = matches!(msg, Msg::Key(_) | Msg::Paste(_));
                effects = app.update(msg);
                if input && draw(&mut terminal, &mut app).is_err() {
                    break 'main;
                }
            }
            Some(u) = updates.recv() => {
                effects = app.update(Msg::Runtime(u));
            }
            Some(bytes) = term_out.recv() => {
                let mut out = std::io::stdout();
                let _ = out.write_all(&bytes);
                let _ = out.flush();
            }
            _ = clock.tick() => {
                app.update(Msg::Tick(crate::clock::now()));
            }
            _ = frame_tick.tick() => {
                if repaint_at.is_some_and(|t| tokio::time::Instant::now() >= t) {
                    repaint_at = None;
                    let _ = terminal.clear();
                    app.dirty = true;
                }
                // Samples reach the picture without a message each: a
                // frame is owed when the picture moved since the last.
                let version = app.live.version();
                if version != drawn {
                    app.dirty = true;
                    drawn = version;
                }
                if app.dirty && draw(&mut terminal, &mut app).is_err() {
                    break 'main;
                }
                panic_if_asked();
            }
            _ = term_sig.recv() => break 'main,
            _ = hup.recv() => break 'main,
            _ = int.recv() => break 'main,
            _ = cont.recv() => {
                // Stopped and continued (SIGSTOP, then `fg`): the shell
                // put the terminal back in cooked mode meanwhile and may
                // have drawn over us. Raw again, and every cell redrawn.
                // (crossterm's enable is a no-op while it believes the
                // terminal raw: it is told otherwise first.)
                let _ = crossterm::terminal::disable_raw_mode();
                let _ = crossterm::terminal::enable_raw_mode();
                let _ = crossterm::execute!(
                    std::io::stdout(),
                    crossterm::terminal::EnterAlternateScreen,
                    EnableBracketedPaste,
                    crossterm::cursor::Hide
                );
                let _ = terminal.clear();
                app.dirty = true;
                if draw(&mut terminal, &mut app).is_err() {
                    break 'main;
                }
                // The shell may still be printing as it hands the terminal
                // back (the job's command line): paint it all once more.
                repaint_at = Some(tokio::time::Instant::now() + Duration::from_millis(300));
            }
        }
        for effect in effects {
            match effect {
                Effect::Quit => break 'main,
                Effect::DemoFault(on) => {
                    if let Some(url) = &opts.demo_url {
                        demo_fault(url, on, &tx);
                    }
                }
                Effect::Perform(a) => {
                    let _ = orders.send(Order::Perform(a));
                }
            }
        }
    }
    // The runtime hands the lease over and lets a running rollback or
    // on_enter finish: its command would die with us.
    let _ = orders.send(Order::Stop);
    let _ = running.await;
    Ok(0)
}

/// Debug builds only: `GONOGO_DEBUG_PANIC=1` panics once a frame is up,
/// so the tests can show the terminal is restored after a panic.
#[cfg(debug_assertions)]
#[allow(clippy::panic)]
fn panic_if_asked() {
    if std::env::var_os("GONOGO_DEBUG_PANIC").is_some() {
        panic!("GONOGO_DEBUG_PANIC is set");
    }
}

#[cfg(not(debug_assertions))]
fn panic_if_asked() {}

/// Draws one frame inside a synchronized update (DEC 2026), so the
/// terminal shows it whole.
fn draw(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> std::io::Result<()> {
    app.dirty = false;
    let _ = crossterm::execute!(std::io::stdout(), BeginSynchronizedUpdate);
    let drawn = terminal.draw(|f| render::render(app, f)).map(|_| ());
    let _ = crossterm::execute!(std::io::stdout(), EndSynchronizedUpdate);
    let _ = std::io::stdout().flush();
    drawn
}

/// Demo only: asks the embedded demo service to fail 5% of requests, or to
/// stop. Off the loop, so the screen never waits on it.
fn demo_fault(url: &str, on: bool, tx: &mpsc::UnboundedSender<Msg>) {
    let target = if on {
        format!("{url}/faults/errors?rate=0.05")
    } else {
        format!("{url}/faults/clear")
    };
    let tx = tx.clone();
    tokio::spawn(async move {
        let sent = reqwest::Client::new().post(&target).send().await;
        let msg = match sent {
            Ok(r) if r.status().is_success() && on => {
                Ok("demo: fault injected: 5% of requests fail".to_string())
            }
            Ok(r) if r.status().is_success() => Ok("demo: fault cleared".to_string()),
            Ok(r) => Err(format!("demo: the service answered {}", r.status())),
            Err(e) => Err(format!("demo: cannot reach the service: {e}")),
        };
        let _ = tx.send(Msg::Status(msg));
    });
}

/// The screen's notifier for a layout's `[notify]`: terminal sequences go
/// to the screen's loop through `tx`, to be written between frames.
fn screen_notifier(cfg: &crate::layout::Notify, tx: &mpsc::UnboundedSender<Vec<u8>>) -> Notifier {
    let tx = tx.clone();
    Notifier::builder(cfg)
        .terminal_sink(move || {
            Ok(Box::new(BetweenFrames {
                tx: tx.clone(),
                buf: Vec::new(),
            }) as Box<dyn std::io::Write + Send>)
        })
        .build()
}

/// A terminal notification on its way to the screen's loop: sent whole
/// when the notifier is done with it, so it is written between frames.
struct BetweenFrames {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl std::io::Write for BetweenFrames {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let _ = self.tx.send(std::mem::take(&mut self.buf));
        }
        Ok(())
    }
}

impl Drop for BetweenFrames {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}
