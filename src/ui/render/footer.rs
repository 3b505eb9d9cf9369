//! The bottom two lines: the status line (the last act's outcome or
//! refusal, in one line) and the key bar (in the demo, a guide to the next
//! step instead). The key bar's words come from the key map
//! ([`crate::ui::keys`]), as the help overlay's lines do.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::shown;
use crate::gate::{Judgement, State, Verdict, verdict};
use crate::ui::app::{Tone, View};
use crate::ui::keys;
use crate::ui::theme::{Hue, Theme};

pub(super) fn draw_status(app: &View<'_>, theme: &Theme, f: &mut Frame, area: Rect) {
    let line = match &app.status {
        Some((text, Tone::Refused)) => Line::from(Span::styled(
            format!(" ✘ {}", shown(app, text)),
            theme.fg(Hue::NoGo),
        )),
        Some((text, Tone::Info)) => Line::from(format!(" {}", shown(app, text))),
        None => Line::from(""),
    };
    f.render_widget(Paragraph::new(line), area);
}

pub(super) fn draw_keys(app: &View<'_>, judged: &[Judgement], f: &mut Frame, area: Rect) {
    if app.demo {
        let hint = format!(
            " DEMO · next: {} · ? all keys · q quit",
            demo_next_step(app, judged)
        );
        f.render_widget(
            Paragraph::new(hint).style(Style::default().add_modifier(Modifier::BOLD)),
            area,
        );
        return;
    }
    // From the key map, as the help overlay is: the bar cannot offer a
    // key the handler does not take.
    let entries: Vec<String> = keys::bar(app.read_only, app.state().started())
        .into_iter()
        .map(|(_, key, word)| format!("{key} {word}"))
        .collect();
    let keys = if app.read_only {
        format!(" READ-ONLY viewer · {}", entries.join(" · "))
    } else {
        format!(" {}", entries.join(" · "))
    };
    f.render_widget(
        Paragraph::new(keys).style(Style::default().add_modifier(Modifier::DIM)),
        area,
    );
}

/// The demo's guide: the one thing to try next, read off the launch as it
/// stands, so a first-time viewer walks the rollout without the README.
fn demo_next_step(app: &View<'_>, judged: &[Judgement]) -> String {
    let phase = app.phase();
    let next = app.layout().phases.get(app.phase_index() + 1);
    let pending = judged.iter().any(|j| j.state == State::Pending);
    let v = verdict(phase.gates.iter().zip(judged.iter()));
    match app.state().rollback_status() {
        Some(crate::launch::RollbackStatus::Failed) => {
            return "ROLLBACK FAILED — r retries it; the output pane shows why".into();
        }
        Some(crate::launch::RollbackStatus::Running) => {
            return "rolling back — the output pane shows the command as it runs".into();
        }
        Some(crate::launch::RollbackStatus::Done) => {
            return "rolled back — q quits and prints how to read the record (`gonogo log`)".into();
        }
        None => {}
    }
    if app.state().hold.is_some() {
        return "on hold — h resumes".into();
    }
    if !app.state().started() {
        return format!(
            "NOT STARTED — a starts the launch (enters {})",
            app.layout().phases[0].title
        );
    }
    // Red for a reason the fault explains, not an unchecked checklist.
    let red =
        phase.gates.iter().zip(judged).any(|(g, j)| {
            j.state == State::NoGo && Some(g.signal_id.as_str()) != app.checklist_id()
        });
    if app.demo_fault && red {
        return "a gate is red — r rolls back (type the word), f clears the fault".into();
    }
    if app.demo_fault {
        return "fault on (5% errors) — watch the error gate; f clears it".into();
    }
    let open_items = app.checklist_items().iter().any(|(_, done)| !done);
    if open_items
        && phase
            .gates
            .iter()
            .any(|g| Some(g.signal_id.as_str()) == app.checklist_id())
    {
        return "Tab to the checklist, space checks each item".into();
    }
    if let Some(role) = phase
        .signoff
        .iter()
        .find(|r| app.state().signed(r).is_none())
    {
        return format!("s signs off {} as {role}", phase.title);
    }
    if pending {
        return "the canary soaks: gates must hold for their window — or f injects a fault".into();
    }
    match (v, next) {
        (Verdict::Go, Some(n)) => format!("every gate GO — a advances to {}", n.title),
        (Verdict::Go, None) => "fully rolled out — f injects a fault, r rolls back".into(),
        _ => "f injects a fault (5% errors), r rolls back".into(),
    }
}
