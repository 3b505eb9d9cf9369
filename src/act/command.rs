//! Running an act's command (`on_enter`, rollback): argv without a shell,
//! the launch's context in the environment, a bounded time and a bounded
//! output tail for the record, each line handed on as it is printed so a
//! front end can show it live.

use std::path::Path;
use std::time::Duration;

use crate::launch::CommandOutcome;
use crate::signal::command::{self, Limits};

/// Context handed to commands in their environment, never on a command line.
pub struct CommandContext<'a> {
    pub launch: &'a str,
    pub phase: &'a str,
    pub actor: &'a str,
    pub reason: &'a str,
    /// The mark every process of the run carries (`GONOGO_RUN`): set when
    /// others must find the run later (a rollback whose runner died).
    pub marker: Option<&'a str>,
}

/// Bytes of command output kept for the journal.
pub const OUTPUT_TAIL: usize = 4096;

/// What a running `on_enter` or rollback command reports as it goes, so a
/// screen can show its output live instead of after the fact.
pub enum Progress<'a> {
    Started(&'a [String]),
    Line(&'a str),
    Finished(&'a CommandOutcome),
}

/// Receives [`Progress`]; called from the task running the command.
pub type ProgressSink = dyn Fn(Progress<'_>) + Send + Sync;

/// Runs an `on_enter` or rollback command: argv, no shell, own process
/// group killed on timeout, output tail kept, each line handed to
/// `progress` as it is printed.
pub async fn run_command(
    argv: &[String],
    dir: &Path,
    ctx: &CommandContext<'_>,
    timeout: Duration,
    progress: Option<&ProgressSink>,
) -> CommandOutcome {
    let mut env = vec![
        ("GONOGO_LAUNCH".to_string(), ctx.launch.to_string()),
        ("GONOGO_PHASE".to_string(), ctx.phase.to_string()),
        ("GONOGO_ACTOR".to_string(), ctx.actor.to_string()),
        ("GONOGO_REASON".to_string(), ctx.reason.to_string()),
    ];
    if let Some(m) = ctx.marker {
        env.push((command::MARKER_VAR.to_string(), m.to_string()));
    }
    let limits = Limits {
        timeout,
        keep: OUTPUT_TAIL,
        max_stdout: None,
    };
    if let Some(p) = progress {
        p(Progress::Started(argv));
    }
    let line = |l: &str| {
        if let Some(p) = progress {
            p(Progress::Line(l));
        }
    };
    let sink: Option<&command::LineSink<'_>> = progress.map(|_| &line as &command::LineSink<'_>);
    let outcome = match command::run_streamed(argv, dir, &env, &limits, sink).await {
        Ok(f) => {
            // Cleaned and redacted before it is cut: a command that prints
            // its environment must not leave half a token in the record.
            let mut tail = command::tail_text(&f.stdout, f.stdout_bytes);
            let err = command::tail_text(&f.stderr, f.stderr_bytes);
            if !err.trim().is_empty() {
                if !tail.is_empty() && !tail.ends_with('\n') {
                    tail.push('\n');
                }
                tail.push_str(&err);
            }
            let tail = last_chars(&tail, OUTPUT_TAIL);
            CommandOutcome {
                command: argv.to_vec(),
                ending: f.describe(&limits),
                success: f.success(),
                took_ms: u64::try_from(f.took.as_millis()).unwrap_or(u64::MAX),
                output_tail: tail,
            }
        }
        Err(reason) => CommandOutcome {
            command: argv.to_vec(),
            ending: crate::text::clean(&reason).into_owned(),
            success: false,
            took_ms: 0,
            output_tail: String::new(),
        },
    };
    if let Some(p) = progress {
        p(Progress::Finished(&outcome));
    }
    outcome
}

fn last_chars(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].to_string()
}
