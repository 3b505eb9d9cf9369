//! Why a command failed, as a type: each kind keeps the error it came from
//! and has its exit code (README "Exit codes"). Commands return it; one
//! place, [`report`], prints it and turns it into the code, so every
//! message carries the same `gonogo: ` prefix and no command picks its own
//! code for a failure.

use std::io;
use std::path::PathBuf;

use super::{EXIT_FAILED, EXIT_JOURNAL, EXIT_LAYOUT, EXIT_UNREACHABLE, out};
use crate::journal::JournalError;
use crate::layout::LoadError;
use crate::layout::diag::Diagnostics;
use crate::session::SessionError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What was typed does not parse: clap's message and usage.
    #[error("{}", .0.render())]
    Usage(clap::Error),
    /// Neither a command nor a layout was named.
    #[error("name a layout file, or try `gonogo demo` (see `gonogo --help`)")]
    NoLayout,
    /// The layout cannot be used (unreadable, invalid, untrusted).
    #[error(transparent)]
    Layout(#[from] LoadError),
    /// The demo's own layout does not validate.
    #[error(transparent)]
    DemoLayout(#[from] Diagnostics),
    /// `check --phase` names a phase the layout does not have.
    #[error("no phase `{phase}` in {}{hint}", path.display())]
    NoPhase {
        phase: String,
        path: PathBuf,
        /// ` (did you mean …?)`, or empty.
        hint: String,
    },
    /// The journal cannot be opened, read or written.
    #[error(transparent)]
    Journal(SessionError),
    /// `check`, `log`: the journal itself is damaged (its own exit code).
    #[error(transparent)]
    JournalDamaged(SessionError),
    /// `log`: nothing has been recorded for this launch.
    #[error("no journal at {} yet (nothing has been recorded)", .0.display())]
    NoJournal(crate::journal::Location),
    /// `log --verify`: the hash chain is broken; one problem a line.
    #[error("{}", tampered_lines(path, problems))]
    Tampered {
        path: crate::journal::Location,
        problems: Vec<String>,
    },
    /// An act was refused: the reason, in the words every front end shows.
    #[error("{0}")]
    Refused(String),
    /// The HTTP client for the probes cannot be built.
    #[error("{0}")]
    Prober(String),
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] io::Error),
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen {
        port: u16,
        #[source]
        source: io::Error,
    },
    #[error("internal error: an act was not dispatched")]
    Undispatched,
    /// The demo's own directory cannot be made.
    #[error("cannot prepare the demo's directory {}: {source}", path.display())]
    DemoDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Signal handlers cannot be installed (SIGTERM, SIGINT, SIGHUP).
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] io::Error),
    /// The screen cannot start.
    #[error(transparent)]
    Screen(#[from] crate::ui::ScreenError),
}

fn tampered_lines(path: &crate::journal::Location, problems: &[String]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {p}", path.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    /// A journal that `check` or `log` reads: a damaged one has its own
    /// exit code there.
    pub(super) fn reading(e: SessionError) -> Error {
        if matches!(&e, SessionError::Journal(j) if j.is_damaged()) {
            Error::JournalDamaged(e)
        } else {
            Error::Journal(e)
        }
    }

    /// The exit code (README "Exit codes").
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_)
            | Error::NoLayout
            | Error::Layout(_)
            | Error::DemoLayout(_)
            | Error::NoPhase { .. } => EXIT_LAYOUT,
            Error::JournalDamaged(_) => EXIT_JOURNAL,
            Error::Journal(SessionError::Journal(j)) if j.is_unreachable() => EXIT_UNREACHABLE,
            Error::Journal(_)
            | Error::NoJournal(_)
            | Error::Tampered { .. }
            | Error::Refused(_)
            | Error::Prober(_)
            | Error::Runtime(_)
            | Error::Listen { .. }
            | Error::Undispatched
            | Error::DemoDir { .. }
            | Error::Signals(_)
            | Error::Screen(_) => EXIT_FAILED,
        }
    }

    /// Whether the message is a report in its own right, printed as it is:
    /// clap's usage text, layout diagnostics (`file:line:col: message`, as
    /// editors read them), a refusal in the engine's exact words, a broken
    /// chain's `file: problem` lines.
    fn stands_alone(&self) -> bool {
        matches!(
            self,
            Error::Usage(_)
                | Error::Layout(_)
                | Error::DemoLayout(_)
                | Error::Refused(_)
                | Error::Tampered { .. }
        )
    }
}

impl From<JournalError> for Error {
    fn from(e: JournalError) -> Self {
        Error::Journal(e.into())
    }
}

/// Prints `e` on stderr — cleaned, as everything printed is, and with the
/// one prefix unless it stands alone — and returns its exit code.
pub fn report(e: &Error) -> i32 {
    if e.stands_alone() {
        out::err(&e.to_string());
    } else {
        out::err(&format!("{}{e}", out::PREFIX));
    }
    e.exit_code()
}
