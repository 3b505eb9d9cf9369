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
//!
//! The parts: `notify/message.rs` (what a notification says),
//! `notify/terminal.rs` (escape sequences, the controlling terminal),
//! `notify/desktop.rs` (D-Bus, and whether it can work here) and
//! `notify/delivery.rs` (the queue and thread behind [`Notifier`]).

mod delivery;
mod desktop;
mod message;
mod terminal;

pub use delivery::{DEFAULT_QUEUE, DEFAULT_TIMEOUT, Notifier, NotifierBuilder, NotifyStats};
pub use desktop::desktop_available;
pub use message::{MAX_FIELD_CHARS, Notification, Urgency, blocked_count};
pub use terminal::terminal_sequence;
