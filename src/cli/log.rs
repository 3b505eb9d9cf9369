//! `gonogo log`: the launch record. Markdown is the timeline a person
//! pastes into the post-launch report; JSON is the same events, one per
//! line; `--verify` checks the hash chain.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::{Error, LogFormat, journal_path, load_layout, out};
use crate::journal::Verified;
use crate::launch::{Event, EventKind};
use crate::layout::Layout;
use crate::session::Session;
use crate::unit::format_seconds;

pub(super) fn run(
    layout: &Path,
    journal: Option<&Path>,
    format: LogFormat,
    verify: bool,
    head: Option<&str>,
) -> Result<i32, Error> {
    let layout = load_layout(layout)?;
    let path = journal_path(&layout, journal);
    // Reading needs no write access, and never changes the journal. A
    // damaged journal has its own exit code, but for `--verify` it is
    // what was asked: tampering or damage, 1.
    let session = Session::open_read_only(layout, journal)
        .map_err(|e| {
            if verify {
                Error::Journal(e)
            } else {
                Error::reading(e)
            }
        })?
        .ok_or_else(|| Error::NoJournal(path.clone()))?;
    let verified = session.journal.verify(head);
    if verify {
        let v = verified.map_err(|problems| Error::Tampered {
            path: path.clone(),
            problems,
        })?;
        out::line(&format!(
            "{}: {} events, hash chain intact; head {}",
            path.display(),
            v.events,
            head_words(&v)
        ));
        if v.chain < 2 {
            out::line(
                "note: this journal predates chain v2: event kinds and claims are not covered by its hashes",
            );
        }
        // Intact is not the same as allowed: an event its actor had no
        // authority to record is in the chain, and counts as nothing.
        if !session.state.void.is_empty() {
            return Err(Error::Tampered {
                path: path.clone(),
                problems: session
                    .state
                    .void
                    .iter()
                    .map(|v| {
                        crate::text::clean(&format!(
                            "event #{} counts as nothing: {} — {}",
                            v.seq, v.summary, v.why
                        ))
                        .into_owned()
                    })
                    .collect(),
            });
        }
        return Ok(0);
    }
    let events = session
        .journal
        .since(0)
        .map_err(|e| Error::reading(e.into()))?;
    // A reader that stops early (`gonogo log | head`) closes the pipe: stop
    // writing then, quietly, rather than panic as `println!` would. Every
    // string is cleaned on the way out (notes are what operators typed).
    match format {
        LogFormat::Json => {
            for e in &events {
                match serde_json::to_string(e) {
                    Ok(line) => {
                        if !out::json(&line) {
                            return Ok(0);
                        }
                    }
                    Err(err) => out::notice(&format!("event #{}: {err}", e.seq)),
                }
            }
        }
        LogFormat::Md => {
            let md = markdown(
                &session.layout,
                &path,
                &events,
                &verified,
                &session.state.void,
            );
            out::block(&md);
        }
    }
    Ok(0)
}

/// `#12 3f2a…` — what to note down and give `--verify --head` later.
fn head_words(v: &Verified) -> String {
    match &v.head {
        Some((seq, hash)) => format!("#{seq} {hash}"),
        None => "none (no events)".into(),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format_seconds((to - from).to_std().unwrap_or_default())
}

/// A phase's stay: id, entered, left.
type PhaseSpan = (String, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The record as markdown: phases with durations, then every event with
/// the gate evidence at that moment.
pub(crate) fn markdown(
    layout: &Layout,
    path: &crate::journal::Location,
    events: &[Event],
    verified: &Result<Verified, Vec<String>>,
    void: &[crate::launch::Void],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Launch record: {}\n", layout.launch.name);
    let _ = writeln!(
        out,
        "Journal `{}` · {} events · hash chain {}\n",
        path.display(),
        events.len(),
        match verified {
            Ok(v) => format!(
                "intact · head {} (keep it: `gonogo log --verify --head HASH` later proves nothing was cut from the end)",
                head_words(v)
            ),
            Err(_) => "BROKEN (run `gonogo log --verify`)".to_string(),
        }
    );
    // Phases entered and left.
    let mut phases: Vec<PhaseSpan> = Vec::new();
    for e in events {
        let entered = match &e.kind {
            EventKind::Advanced { to, .. } => Some(to),
            EventKind::Reopened { phase, .. } | EventKind::Started { phase } => Some(phase),
            _ => None,
        };
        if let Some(to) = entered {
            if let Some(last) = phases.last_mut() {
                last.2 = Some(e.at);
            }
            phases.push((to.clone(), Some(e.at), None));
        }
    }
    let _ = writeln!(
        out,
        "## Phases\n\n| phase | entered | left | duration |\n|---|---|---|---|"
    );
    let end = events.last().map(|e| e.at);
    // A rolled-back launch stopped at its rollback, not at the reading.
    let over = events
        .iter()
        .any(|e| matches!(e.kind, EventKind::RollbackFinished { .. }));
    if phases.is_empty() {
        let _ = writeln!(out, "| {} | NOT STARTED | — | — |", layout.phases[0].id);
    }
    for (id, entered, left) in &phases {
        let entered_s = entered.map_or("—".into(), time);
        let left_s = left.map_or("(current)".into(), time);
        // The current phase runs until now, not until the last event
        // (which, right after entering it, is the entry itself: "0s").
        let dur = match (entered, left) {
            (Some(a), Some(b)) => span(*a, *b),
            (Some(a), None) if !over => {
                format!(
                    "{} so far",
                    span(*a, crate::clock::now().max(end.unwrap_or(*a)))
                )
            }
            (Some(a), None) => span(*a, end.unwrap_or(*a)),
            _ => "—".into(),
        };
        let _ = writeln!(out, "| {id} | {entered_s} | {left_s} | {dur} |");
    }
    let _ = writeln!(out, "\n## Timeline\n");
    for e in events {
        // One line per event, whatever a note holds.
        let summary = crate::text::clean(&e.summary()).into_owned();
        let _ = writeln!(out, "- **{}** #{} {summary}", time(e.at), e.seq);
        if let Some(v) = void.iter().find(|v| v.seq == e.seq) {
            let why = crate::text::clean(&v.why).into_owned();
            let _ = writeln!(out, "  - **counts as nothing**: {why}");
        }
        match &e.kind {
            EventKind::LayoutPinned { diff, .. } if !diff.is_empty() => {
                let _ = writeln!(
                    out,
                    "  - diff against the layout pinned before:\n\n    ```diff"
                );
                for line in diff.trim_end().lines() {
                    let _ = writeln!(out, "    {line}");
                }
                let _ = writeln!(out, "    ```");
            }
            EventKind::RollbackFinished { outcome, .. } | EventKind::OnEnterRan { outcome, .. } => {
                let _ = writeln!(
                    out,
                    "  - command: `{}` — {}",
                    outcome.command.join(" "),
                    outcome.ending
                );
                if !outcome.output_tail.trim().is_empty() {
                    let _ = writeln!(out, "  - output (tail):\n\n    ```");
                    for line in outcome.output_tail.trim_end().lines() {
                        let _ = writeln!(out, "    {line}");
                    }
                    let _ = writeln!(out, "    ```");
                }
            }
            _ => {}
        }
        if !e.gates.is_empty() {
            let gates: Vec<String> = e
                .gates
                .iter()
                .map(|g| match &g.value {
                    Some(v) => format!("{} {} ({v})", g.gate, g.state),
                    None => format!("{} {}", g.gate, g.state),
                })
                .collect();
            let _ = writeln!(out, "  - gates: {}", gates.join(" · "));
        }
    }
    out
}
