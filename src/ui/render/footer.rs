//! The bottom lines: the status line (the last act's outcome or refusal,
//! wrapped onto as many lines as it takes) and the key bar (in the demo, a
//! guide to the next step instead; while auto-rollback or a hold trigger
//! counts down, the count). The key bar's words come from the key map
//! ([`crate::ui::keys`]), as the help overlay's lines do.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Seen;
use super::text::{shown, wrap};
use crate::gate::{State, TriggerState, Verdict};
use crate::text::cut_to;
use crate::ui::app::{Tone, View};
use crate::ui::keys;
use crate::ui::theme::{Hue, Theme};

/// The status line's text, wrapped to `width` in at most `max` lines: a
/// refusal is read whole, however long its reason.
pub(super) fn status_lines(app: &View<'_>, width: u16, max: usize) -> Vec<String> {
    let Some((text, tone)) = &app.status else {
        return Vec::new();
    };
    let lead = match tone {
        Tone::Refused => " ✘ ",
        Tone::Info => " ",
    };
    let indent = " ".repeat(lead.chars().count());
    let room = usize::from(width).saturating_sub(lead.chars().count());
    wrap(&shown(app, text), room, max)
        .into_iter()
        .enumerate()
        .map(|(k, l)| format!("{}{l}", if k == 0 { lead } else { &indent }))
        .collect()
}

pub(super) fn draw_status(
    app: &View<'_>,
    theme: &Theme,
    lines: Vec<String>,
    f: &mut Frame,
    area: Rect,
) {
    let style = match &app.status {
        Some((_, Tone::Refused)) => theme.fg(Hue::NoGo),
        _ => Style::default(),
    };
    let lines: Vec<Line> = lines.into_iter().map(Line::from).collect();
    f.render_widget(Paragraph::new(lines).style(style), area);
}

/// Time left before auto-rollback fires: while it is armed and enough
/// rollback triggers (its quorum) are in breach, the quorum-th soonest of
/// their windows. `Some(ZERO)`: it is firing.
fn auto_rollback_in(app: &View<'_>) -> Option<Duration> {
    let rb = app.layout().rollback.as_ref()?;
    if !crate::guard::armed(app.layout(), app.state()) || app.state().rollback_status().is_some() {
        return None;
    }
    // The runtime's states say which triggers hold; only those are judged
    // again at the screen's `now`, so the count runs between samples.
    // Hold triggers never count toward the quorum.
    let mut left: Vec<Duration> = rb
        .rollback_triggers()
        .map(|(i, _)| i)
        .filter(|&i| {
            matches!(
                app.live.trigger_state(i),
                Some(TriggerState::Holding { .. } | TriggerState::Fired)
            )
        })
        .filter_map(|i| match app.live.judge_trigger(i, app.now)?.state {
            TriggerState::Holding { remaining } => Some(remaining),
            TriggerState::Fired => Some(Duration::ZERO),
            TriggerState::Clear | TriggerState::Blind => None,
        })
        .collect();
    let quorum = rb.quorum.max(1);
    if left.len() < quorum {
        return None;
    }
    left.sort_unstable();
    left.get(quorum - 1).copied()
}

/// Time left before a hold trigger puts the launch on hold, and which:
/// the soonest of the running hold triggers whose breach no person has
/// seen yet (a resumed breach holds no more). `Some(ZERO)`: holding now.
fn hold_in(app: &View<'_>) -> Option<(Duration, String)> {
    let rb = app.layout().rollback.as_ref()?;
    if !crate::guard::holds_armed(app.layout(), app.state()) {
        return None;
    }
    rb.hold_triggers()
        .filter(|(i, _)| {
            matches!(
                app.live.trigger_state(*i),
                Some(TriggerState::Holding { .. } | TriggerState::Fired)
            )
        })
        .filter_map(|(i, t)| {
            let j = app.live.judge_trigger(i, app.now)?;
            if crate::guard::breach_seen(app.state(), &j) {
                return None;
            }
            let left = match j.state {
                TriggerState::Holding { remaining } => remaining,
                TriggerState::Fired => Duration::ZERO,
                TriggerState::Clear | TriggerState::Blind => return None,
            };
            let what = t
                .name
                .clone()
                .unwrap_or_else(|| format!("{} {}", t.signal_id, t.condition));
            Some((left, what))
        })
        .min_by_key(|(left, _)| *left)
}

/// `⏸ hold in 40s (webhook_queue > 500)`, rounded up as the rollback's.
fn hold_words(left: Duration, what: &str) -> String {
    if left.is_zero() {
        return format!("⏸ holding ({what})");
    }
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    format!(
        "⏸ hold in {} ({what})",
        crate::unit::format_seconds(Duration::from_secs(secs))
    )
}

/// `auto-rollback in 9s` (whole seconds, rounded up: it never says 0s
/// before it fires).
fn countdown_words(left: Duration) -> String {
    if left.is_zero() {
        return "⟲ auto-rollback firing".into();
    }
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    format!(
        "⟲ auto-rollback in {}",
        crate::unit::format_seconds(Duration::from_secs(secs))
    )
}

pub(super) fn draw_keys(app: &View<'_>, theme: &Theme, seen: &Seen, f: &mut Frame, area: Rect) {
    let width = usize::from(area.width);
    if let Some(left) = auto_rollback_in(app) {
        // The one thing that matters now: the rollback is coming, and
        // what the operator can still do before it does.
        let mut spans = vec![Span::styled(
            format!(" {}", countdown_words(left)),
            theme.state(State::NoGo).add_modifier(Modifier::BOLD),
        )];
        let rest = if app.read_only {
            " · ? help · q quit"
        } else {
            " · r roll back now · d disarm · ? help · q quit"
        };
        let used = spans[0].content.chars().count();
        spans.push(Span::raw(
            cut_to(rest, width.saturating_sub(used)).into_owned(),
        ));
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    if let Some((left, what)) = hold_in(app) {
        // A hold is coming: say so, and what the operator can do first.
        let mut spans = vec![Span::styled(
            cut_to(&format!(" {}", hold_words(left, &what)), width).into_owned(),
            theme.fg(Hue::Hold).add_modifier(Modifier::BOLD),
        )];
        let rest = if app.read_only {
            " · ? help · q quit"
        } else {
            " · h hold · r roll back · ? help · q quit"
        };
        let used = spans[0].content.chars().count();
        spans.push(Span::raw(
            cut_to(rest, width.saturating_sub(used)).into_owned(),
        ));
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    if app.demo.is_some() {
        let step = demo_next_step(app, seen);
        let full = format!(" DEMO · next: {step} · ? all keys · q quit");
        let hint = if full.chars().count() <= width {
            full
        } else {
            cut_to(&format!(" DEMO · next: {step}"), width).into_owned()
        };
        f.render_widget(
            Paragraph::new(hint).style(Style::default().add_modifier(Modifier::BOLD)),
            area,
        );
        return;
    }
    // From the key map, as the help overlay is: the bar cannot offer a
    // key the handler does not take.
    // Without a checklist there is nothing for `space` to check.
    let checklist = app.checklist_id().is_some();
    let entries: Vec<String> = keys::bar(app.read_only, app.state().started())
        .into_iter()
        .filter(|(b, _, _)| checklist || b.action != keys::Action::CheckItem)
        .map(|(_, key, word)| format!("{key} {word}"))
        .collect();
    let lead = if app.read_only {
        " READ-ONLY viewer · "
    } else {
        " "
    };
    f.render_widget(
        Paragraph::new(fit_entries(lead, &entries, width))
            .style(Style::default().add_modifier(Modifier::DIM)),
        area,
    );
}

/// The key bar in `width` columns: when the keys do not all fit, those
/// that do, then `…` and the last two (help and quit), so the way to
/// every key and the way out are always on screen.
fn fit_entries(lead: &str, entries: &[String], width: usize) -> String {
    let all = format!("{lead}{}", entries.join(" · "));
    if all.chars().count() <= width {
        return all;
    }
    let tail_from = entries.len().saturating_sub(2);
    let tail = format!(" · … · {}", entries[tail_from..].join(" · "));
    let mut out = lead.to_string();
    for (k, e) in entries[..tail_from].iter().enumerate() {
        let sep = if k == 0 { "" } else { " · " };
        if out.chars().count() + sep.len() + e.chars().count() + tail.chars().count() > width {
            break;
        }
        out.push_str(sep);
        out.push_str(e);
    }
    out.push_str(&tail);
    cut_to(&out, width).into_owned()
}

/// The demo's guide: the one thing to try next, read off the launch as it
/// stands, so a first-time viewer walks the rollout without the README.
fn demo_next_step(app: &View<'_>, seen: &Seen) -> String {
    let phase = app.phase();
    let next = app.layout().phases.get(app.phase_index() + 1);
    let pending = (0..phase.gates.len()).any(|i| seen.state(i) == Some(State::Pending));
    let v = seen.verdict(app);
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
    let red = phase.gates.iter().enumerate().any(|(i, g)| {
        seen.state(i) == Some(State::NoGo) && Some(g.signal_id.as_str()) != app.checklist_id()
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
        .find(|r| app.state().signed(r).is_none_or(|s| !s.counts()))
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
