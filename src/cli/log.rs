//! `gonogo log`: the launch record. Markdown is the timeline a person
//! pastes into the post-launch report; JSON is the same events, one per
//! line; `--verify` checks the hash chain.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::{EXIT_LAYOUT, LogFormat, journal_path, load_or_report, out};
use crate::journal::Journal;
use crate::launch::{Event, EventKind};
use crate::layout::Layout;
use crate::unit::format_duration;

pub(super) fn run(layout: &Path, journal: Option<&Path>, format: LogFormat, verify: bool) -> i32 {
    let Ok(layout) = load_or_report(layout) else {
        return EXIT_LAYOUT;
    };
    let path = journal_path(&layout, journal);
    if !path.exists() {
        eprintln!(
            "gonogo log: no journal at {} yet (nothing has been recorded)",
            path.display()
        );
        return 1;
    }
    let journal = match Journal::open(&path, &layout.launch.id) {
        Ok(j) => j,
        Err(e) => {
            out::err(&format!("gonogo log: {e}"));
            return 1;
        }
    };
    if verify {
        return match journal.verify() {
            Ok(n) => {
                out::line(&format!(
                    "{}: {n} events, hash chain intact",
                    path.display()
                ));
                0
            }
            Err(problems) => {
                for p in problems {
                    out::err(&format!("{}: {p}", path.display()));
                }
                1
            }
        };
    }
    let events = match journal.since(0) {
        Ok(e) => e,
        Err(e) => {
            out::err(&format!("gonogo log: {e}"));
            return 1;
        }
    };
    // A reader that stops early (`gonogo log | head`) closes the pipe: stop
    // writing then, quietly, rather than panic as `println!` would. Every
    // string is cleaned on the way out (notes are what operators typed).
    match format {
        LogFormat::Json => {
            for e in &events {
                match serde_json::to_string(e) {
                    Ok(line) => {
                        if !out::json(&line) {
                            return 0;
                        }
                    }
                    Err(err) => out::err(&format!("gonogo log: event #{}: {err}", e.seq)),
                }
            }
        }
        LogFormat::Md => {
            let md = markdown(&layout, &path, &events, journal.verify().is_ok());
            out::block(&md);
        }
    }
    0
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format_duration(std::time::Duration::from_secs(
        (to - from).num_seconds().max(0).unsigned_abs(),
    ))
}

/// A phase's stay: id, entered, left.
type PhaseSpan = (String, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The record as markdown: phases with durations, then every event with
/// the gate evidence at that moment.
pub(crate) fn markdown(layout: &Layout, path: &Path, events: &[Event], chain_ok: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Launch record: {}\n", layout.launch.name);
    let _ = writeln!(
        out,
        "Journal `{}` · {} events · hash chain {}\n",
        path.display(),
        events.len(),
        if chain_ok {
            "intact"
        } else {
            "BROKEN (run `gonogo log --verify`)"
        }
    );
    // Phases entered and left.
    let mut phases: Vec<PhaseSpan> = vec![(
        layout.phases[0].id.clone(),
        events.first().map(|e| e.at),
        None,
    )];
    for e in events {
        let entered = match &e.kind {
            EventKind::Advanced { to, .. } => Some(to),
            EventKind::Reopened { phase, .. } => Some(phase),
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
    for (id, entered, left) in &phases {
        let entered_s = entered.map_or("—".into(), time);
        let left_s = left.map_or("(current)".into(), time);
        let dur = match (entered, left.or(end)) {
            (Some(a), Some(b)) => span(*a, b),
            _ => "—".into(),
        };
        let _ = writeln!(out, "| {id} | {entered_s} | {left_s} | {dur} |");
    }
    let _ = writeln!(out, "\n## Timeline\n");
    for e in events {
        // One line per event, whatever a note holds.
        let summary = crate::text::clean(&e.summary()).into_owned();
        let _ = writeln!(out, "- **{}** #{} {summary}", time(e.at), e.seq);
        match &e.kind {
            EventKind::RollbackFinished { outcome } | EventKind::OnEnterRan { outcome, .. } => {
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
