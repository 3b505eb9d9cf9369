//! The command line (SPEC §3): parse what was typed, then hand over to a
//! front end on the engine. Exit codes: 0 GO, 1 NO-GO (or a refused act),
//! 2 UNKNOWN, 3 layout or usage error.
//!
//! A command returns its outcome's exit code, or an [`Error`]; [`main`]
//! prints the error once (`error::report`) and exits with its code.

mod acts;
mod check;
mod copy;
mod error;
mod log;
mod out;
mod pull;
mod watch;

pub use error::Error;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::layout::template::{Overlay, ProcessEnv, Vars};
use crate::layout::{self, Layout};
use crate::signal::Prober;

/// NO-GO, a refused act, a failed rollback, a broken hash chain, and any
/// failure without a code of its own.
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_LAYOUT: i32 = 3;
/// `check`: the gates may say GO, but the launch may not proceed: ON HOLD,
/// ROLLED BACK, ROLLBACK FAILED or a rollback running.
pub const EXIT_HALTED: i32 = 4;
/// The journal is damaged or cannot be read.
pub const EXIT_JOURNAL: i32 = 5;
/// The journal's database cannot be reached or refuses us (down, a wrong
/// password, no such database, a newer schema): every command.
pub const EXIT_UNREACHABLE: i32 = 6;

#[derive(Debug, Parser)]
#[command(
    name = "gonogo",
    version,
    about = "A terminal control room for launch day: live gates, sign-offs, holds and rollback.",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    /// Layout file to open (same as `gonogo run <layout>`).
    layout: Option<PathBuf>,
    /// Journal: a file or a postgres:// URL (default: the layout's `journal`, else
    /// `$XDG_STATE_HOME/gonogo/<id>.sqlite`).
    #[arg(long, global = true)]
    journal: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open a launch (until the screen lands: plain lines, as `watch`).
    Run {
        layout: PathBuf,
        #[arg(long)]
        read_only: bool,
        #[arg(long)]
        presenter: bool,
    },
    /// Start the embedded demo service and open the demo launch against it.
    Demo {
        /// Serve only, print the URL, no screen (for tests and scripts).
        #[arg(long)]
        headless: bool,
        /// Port on 127.0.0.1 (default: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Poll every signal once, judge the phase's gates, exit 0/1/2.
    Check {
        layout: PathBuf,
        /// Judge this phase instead of the current one.
        #[arg(long)]
        phase: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Keep polling until every `for` window is decided.
        #[arg(long)]
        wait: bool,
    },
    /// Check a layout file; print every error as file:line:col.
    Validate { layout: PathBuf },
    /// Print one plain line per change: the headless guard (fires
    /// auto-rollback, records timebox overruns).
    Watch { layout: PathBuf },
    /// Sign off the current phase for a role.
    Sign {
        layout: PathBuf,
        #[arg(long)]
        role: String,
        /// Sign only if this is the current phase.
        #[arg(long)]
        phase: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Withdraw a sign-off.
    Revoke {
        layout: PathBuf,
        #[arg(long)]
        role: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Move to the next phase (gates GO, roles signed, soak done, no hold).
    Advance {
        layout: PathBuf,
        /// Advance past gates that are not GO, recording a waiver with this reason.
        #[arg(long = "override", value_name = "REASON")]
        override_reason: Option<String>,
    },
    /// Put the launch on hold: advance is refused until resume.
    Hold {
        layout: PathBuf,
        #[arg(long)]
        reason: String,
    },
    /// Lift the hold.
    Resume { layout: PathBuf },
    /// Check off (or with --undo, uncheck) a checklist item.
    CheckItem {
        layout: PathBuf,
        #[arg(long)]
        checklist: String,
        #[arg(long)]
        item: String,
        #[arg(long)]
        undo: bool,
    },
    /// Add a note to the launch record.
    Note { layout: PathBuf, text: String },
    /// Re-arm auto-rollback.
    Arm {
        layout: PathBuf,
        #[arg(long)]
        reason: String,
    },
    /// Disarm auto-rollback.
    Disarm {
        layout: PathBuf,
        #[arg(long)]
        reason: String,
    },
    /// Run the rollback command now.
    Rollback {
        layout: PathBuf,
        #[arg(long)]
        reason: String,
        /// Confirm: the rollback command runs.
        #[arg(long)]
        yes: bool,
    },
    /// Start the launch: enter the first phase (runs its on_enter).
    Start { layout: PathBuf },
    /// Adopt this layout file as the launch's layout (an owner only); the
    /// record keeps the diff.
    Adopt { layout: PathBuf },
    /// Replace this layout file with the layout the journal pins (printing
    /// the diff): the pinned layout's commands run only from your own copy.
    Pull { layout: PathBuf },
    /// Reopen a rolled-back launch at a phase.
    Reopen {
        layout: PathBuf,
        #[arg(long)]
        phase: String,
        #[arg(long)]
        reason: String,
    },
    /// Print the launch record.
    Log {
        layout: PathBuf,
        #[arg(long, value_enum, default_value_t = LogFormat::Md)]
        format: LogFormat,
        /// Check the journal's hash chain instead (exit 1 if broken).
        #[arg(long)]
        verify: bool,
        /// With --verify: the head hash noted from an earlier record; a
        /// journal cut back before it fails.
        #[arg(long, requires = "verify", value_name = "HASH")]
        head: Option<String>,
    },
    /// Work on journals themselves.
    #[command(subcommand)]
    Journal(JournalCommand),
}

#[derive(Debug, Subcommand)]
enum JournalCommand {
    /// Copy a launch's whole record between journals (a file or a
    /// postgres:// URL each), verifying the hash chain on both sides.
    Copy {
        from: PathBuf,
        to: PathBuf,
        /// The launch to copy, when FROM holds several.
        #[arg(long)]
        launch: Option<String>,
    },
    /// Create or upgrade the gonogo schema of a PostgreSQL journal, as
    /// the user URL logs in as, who owns it from then on.
    Setup { url: String },
    /// Give database role ROLE exactly what an operator needs: read the
    /// launches, write only through the functions that stamp who acted.
    Grant { url: String, role: String },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum LogFormat {
    Md,
    Json,
}

/// `url` as a journal location, which must be a database's.
fn postgres_url(url: &str) -> Result<crate::journal::Location, Error> {
    match crate::journal::Location::parse(Path::new(url)) {
        l @ crate::journal::Location::Postgres(_) => Ok(l),
        crate::journal::Location::File(_) => Err(Error::Refused(format!(
            "gonogo: {url} is not a postgres:// URL: `journal setup` and `journal grant` are for a team's PostgreSQL journal"
        ))),
    }
}

/// Parses the command line, runs it, returns the exit code.
pub fn main() -> i32 {
    run().unwrap_or_else(|e| error::report(&e))
}

/// `gonogo chek L`: a first word that is no command and no file is a
/// mistyped command, not a layout named `chek` — said as such, with the
/// command it was likely meant to be.
fn mistyped_command() -> Option<clap::Error> {
    use clap::CommandFactory;
    let first = std::env::args_os().nth(1)?;
    let first = first.to_str()?;
    if first.starts_with('-')
        || first.contains('.')
        || first.contains('/')
        || Path::new(first).exists()
    {
        return None;
    }
    let mut cmd = Cli::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    if names.iter().any(|n| n == first) {
        return None;
    }
    let guess = crate::layout::diag::did_you_mean(first, names.iter().map(String::as_str))?;
    Some(cmd.error(
        clap::error::ErrorKind::InvalidSubcommand,
        format!("unknown command `{first}`: {guess}"),
    ))
}

fn run() -> Result<i32, Error> {
    if let Some(e) = mistyped_command() {
        return Err(Error::Usage(e));
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        // It quotes what was typed: cleaned, as every message is.
        Err(e) if e.use_stderr() => return Err(Error::Usage(e)),
        Err(e) => {
            // `--help`, `--version`: into a pipe through `out`, like all
            // output; on a terminal clap prints it, in its colours.
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                let _ = e.print();
            } else {
                out::block(&e.render().to_string());
            }
            return Ok(0);
        }
    };
    let command = match (cli.command, cli.layout) {
        (Some(c), _) => c,
        (None, Some(layout)) => Command::Run {
            layout,
            read_only: false,
            presenter: false,
        },
        (None, None) => return Err(Error::NoLayout),
    };
    let journal = cli.journal;
    if let Some((act, confirmed)) = acts::from_command(&command) {
        let layout = command.layout().to_path_buf();
        return with_runtime(|| acts::run(layout, journal, act, confirmed));
    }
    match command {
        Command::Validate { layout } => validate(&layout),
        Command::Pull { layout } => pull::run(&layout, journal.as_deref()),
        Command::Journal(JournalCommand::Copy { from, to, launch }) => {
            copy::run(&from, &to, launch.as_deref())
        }
        Command::Journal(JournalCommand::Setup { url }) => {
            let said = crate::journal::Journal::setup(&postgres_url(&url)?)?;
            out::line(&format!("gonogo: {said}"));
            Ok(0)
        }
        Command::Journal(JournalCommand::Grant { url, role }) => {
            let said = crate::journal::Journal::grant(&postgres_url(&url)?, &role)?;
            out::line(&format!("gonogo: {said}"));
            Ok(0)
        }
        Command::Log {
            layout,
            format,
            verify,
            head,
        } => log::run(&layout, journal.as_deref(), format, verify, head.as_deref()),
        Command::Check {
            layout,
            phase,
            json,
            wait,
        } => with_runtime(|| async move {
            let layout = load_layout(&layout)?;
            let prober = prober(Arc::new(ProcessEnv))?;
            check::run(
                &layout,
                journal.as_deref(),
                &prober,
                phase.as_deref(),
                json,
                wait,
            )
            .await
        }),
        Command::Run {
            layout,
            read_only,
            presenter,
        } if std::io::IsTerminal::is_terminal(&std::io::stdout()) => with_runtime(|| async move {
            let layout = load_layout(&layout)?;
            let prober = prober(Arc::new(ProcessEnv))?;
            let opts = crate::ui::Options {
                read_only,
                presenter,
                demo_url: None,
                watch_layout: true,
            };
            Ok(crate::ui::run(Arc::new(layout), journal.as_deref(), prober, opts).await?)
        }),
        // Not a terminal: the plain-line guard.
        Command::Watch { layout } | Command::Run { layout, .. } => with_runtime(|| async move {
            let layout = load_layout(&layout)?;
            let prober = prober(Arc::new(ProcessEnv))?;
            watch::run(Arc::new(layout), journal.as_deref(), prober).await
        }),
        Command::Demo { headless, port } => with_runtime(|| async move {
            let service = crate::demo::serve(port)
                .await
                .map_err(|source| Error::Listen { port, source })?;
            let url = service.url();
            if headless {
                // Whoever started us may stop reading after the URL line; a
                // closed stdout must not take the service down (`out` notes
                // it and writes no more).
                out::line(&format!("gonogo demo service on {url}"));
                out::line(&format!("export DEMO_URL={url}   # for layouts/demo.toml"));
                out::line(&format!(
                    "faults: curl -X POST {url}/faults/errors?rate=0.05 | latency?ms=800 | down | up | queue?pending=5000 | clear"
                ));
                service.wait().await;
                return Ok(0);
            }
            // Written where its commands can run and its record can be read
            // back from any directory: not a path relative to wherever the
            // demo was started.
            let file = demo_file()?;
            let layout = crate::demo::layout_at(&file)?;
            let vars = Overlay(vec![("DEMO_URL".into(), url.clone())]);
            // Our own service on 127.0.0.1, its address printed below: the
            // operator needs it to inject a fault by hand.
            crate::text::publish(&url);
            crate::text::Secrets::from_layout(&layout, &vars).install();
            let prober = prober(Arc::new(vars))?;
            out::notice(&format!(
                "demo: simulated service on {url}; inject a fault with `curl -X POST {url}/faults/errors?rate=0.05`"
            ));
            // Each demo starts a fresh launch unless told otherwise.
            let journal = journal.unwrap_or_else(|| file.with_file_name("journal.sqlite"));
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                let opts = crate::ui::Options {
                    read_only: false,
                    presenter: false,
                    demo_url: Some(url.clone()),
                    watch_layout: false,
                };
                let code = crate::ui::run(Arc::new(layout), Some(&journal), prober, opts).await?;
                out::notice(&format!(
                    "demo: the record of this launch: gonogo log {} --journal {}",
                    file.display(),
                    journal.display()
                ));
                return Ok(code);
            }
            out::notice(&format!(
                "demo: layout {}; journal {}",
                file.display(),
                journal.display()
            ));
            watch::run(Arc::new(layout), Some(&journal), prober).await
        }),
        _ => Err(Error::Undispatched),
    }
}

fn validate(path: &Path) -> Result<i32, Error> {
    let (l, text) = layout::load_with_text(path)?;
    // What would fail only when it runs — a rollback script missing or not
    // executable, a checklist file gone — fails here, before the launch.
    layout::check_needs(&l, &text).map_err(|d| Error::Layout(layout::LoadError::Invalid(d)))?;
    out::line(&format!(
        "{}: ok — {} signals, {} phases",
        path.display(),
        l.signals.len(),
        l.phases.len()
    ));
    Ok(0)
}

/// Loads the layout. Once loaded, the values of the variables its
/// templates name are secrets for the rest of the process
/// ([`crate::text`]): redacted from everything printed, even before the
/// first poll (a rollback command may print its environment).
fn load_layout(path: &Path) -> Result<Layout, Error> {
    let layout = layout::load(path)?;
    crate::text::Secrets::from_layout(&layout, &ProcessEnv).install();
    Ok(layout)
}

fn prober(vars: Arc<dyn Vars>) -> Result<Prober, Error> {
    Prober::new(vars).map_err(Error::Prober)
}

fn with_runtime<F, Fut>(f: F) -> Result<i32, Error>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<i32, Error>>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    rt.block_on(f())
}

impl Command {
    fn layout(&self) -> &Path {
        match self {
            Command::Run { layout, .. }
            | Command::Check { layout, .. }
            | Command::Validate { layout }
            | Command::Watch { layout }
            | Command::Sign { layout, .. }
            | Command::Revoke { layout, .. }
            | Command::Advance { layout, .. }
            | Command::Hold { layout, .. }
            | Command::Resume { layout }
            | Command::Start { layout }
            | Command::Adopt { layout }
            | Command::Pull { layout }
            | Command::CheckItem { layout, .. }
            | Command::Note { layout, .. }
            | Command::Arm { layout, .. }
            | Command::Disarm { layout, .. }
            | Command::Rollback { layout, .. }
            | Command::Reopen { layout, .. }
            | Command::Log { layout, .. } => layout,
            Command::Demo { .. } | Command::Journal(_) => Path::new(""),
        }
    }
}

pub(crate) use crate::session::journal_path;

/// The demo's layout, written into a directory of its own (0700, under the
/// temp dir), so its commands run and `gonogo log` finds it from anywhere.
///
/// The name has a random part and is created, never reused: another user
/// on the machine could otherwise make the directory first and own what
/// the demo runs.
fn demo_file() -> Result<PathBuf, Error> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let pick = || {
        std::env::temp_dir().join(format!(
            "gonogo-demo-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ))
    };
    let mut dir = pick();
    let mut tries = 0;
    loop {
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 8 => {
                tries += 1;
                dir = pick();
            }
            Err(source) => return Err(Error::DemoDir { path: dir, source }),
        }
    }
    let file = dir.join("demo.toml");
    let fail = |source| Error::DemoDir {
        path: dir.clone(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&file)
        .map_err(fail)?;
    f.write_all(crate::demo::LAYOUT.as_bytes()).map_err(fail)?;
    Ok(file)
}
