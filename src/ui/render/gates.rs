//! The gates pane and the sign-off poll: what the launch waits on. Each
//! gate's state in glyph and word, its condition, live value, trend
//! sparkline, age of data and the reason (wrapped, never cut silently);
//! each required role signed by whom and when, or waiting.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::pane;
use super::text::{shown, wrap};
use crate::gate::Judgement;
use crate::ui::app::{Focus, View};
use crate::ui::theme::{Hue, Theme};
use crate::unit::format_seconds;

fn age(d: Option<Duration>) -> String {
    d.map_or_else(|| "—".into(), format_seconds)
}

pub(super) fn draw_gates(
    app: &View<'_>,
    theme: &Theme,
    judged: &[Judgement],
    f: &mut Frame,
    area: Rect,
) {
    let phase = app.phase();
    let waived = app.state().waivers.get(&phase.id);
    struct Cells {
        state: (String, Style),
        name: String,
        condition: String,
        value: String,
        reason: String,
    }
    let cells: Vec<Cells> = phase
        .gates
        .iter()
        .zip(judged)
        .map(|(g, j)| {
            let is_waived = waived.is_some_and(|(w, _)| w.contains(&g.label()));
            let state = if is_waived {
                ("⚠ WAIVED".to_string(), theme.fg(Hue::Waived))
            } else {
                (
                    format!("{} {}", j.state.glyph(), j.state.word()),
                    theme.state(j.state),
                )
            };
            let mut name = g.name.clone().unwrap_or_else(|| g.signal_id.clone());
            if !g.blocking {
                name.push_str(" (advisory)");
            }
            Cells {
                state,
                name,
                condition: g.condition_text(),
                value: shown(app, j.value.as_deref().unwrap_or("—")).into_owned(),
                // It already says how long a running window has left.
                reason: shown(app, &j.reason).into_owned(),
            }
        })
        .collect();
    // Columns as wide as their widest entry (within bounds), so the reason
    // — what an operator reads first on a NO-GO — gets the rest, and
    // wraps onto a second and third line rather than being cut.
    let fit = |w: Option<usize>, header: &str, max: usize| {
        w.unwrap_or(0).max(header.len()).min(max) as u16
    };
    // Under 100 columns the trend goes: the reason matters more.
    const TREND: usize = 4;
    let trend = area.width >= 100;
    let mut widths = vec![
        11,
        fit(
            cells.iter().map(|c| c.name.chars().count()).max(),
            "GATE",
            28,
        ),
        fit(
            cells.iter().map(|c| c.condition.chars().count()).max(),
            "CONDITION",
            22,
        ),
        fit(
            cells.iter().map(|c| c.value.chars().count()).max(),
            "VALUE",
            22,
        ),
        10,
        5,
    ];
    if !trend {
        widths.remove(TREND);
    }
    let used: u16 = widths.iter().sum::<u16>() + widths.len() as u16;
    let reason_w = area.width.saturating_sub(2).saturating_sub(used).max(10);
    let rows: Vec<Row> = cells
        .into_iter()
        .zip(&phase.gates)
        .enumerate()
        .map(|(i, (c, g))| {
            let reason = wrap(&c.reason, usize::from(reason_w), 3);
            let height = reason.len().max(1) as u16;
            let mut cells = vec![
                Cell::from(Span::styled(c.state.0, c.state.1)),
                Cell::from(c.name),
                Cell::from(c.condition),
                Cell::from(c.value),
                Cell::from(spark(app, g.signal)),
                Cell::from(age(judged[i].age)),
                Cell::from(reason.into_iter().map(Line::from).collect::<Vec<_>>()),
            ];
            if !trend {
                cells.remove(TREND);
            }
            let row = Row::new(cells).height(height);
            if app.focus == Focus::Gates && app.cursor == i {
                row.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                row
            }
        })
        .collect();
    let mut constraints: Vec<Constraint> = widths.iter().map(|&w| Constraint::Length(w)).collect();
    constraints.push(Constraint::Min(10));
    let table = Table::new(rows, constraints)
        .header(
            Row::new(
                [
                    "STATE",
                    "GATE",
                    "CONDITION",
                    "VALUE",
                    "TREND",
                    "AGE",
                    "REASON",
                ]
                .into_iter()
                .enumerate()
                .filter(|&(i, _)| trend || i != TREND)
                .map(|(_, h)| h),
            )
            .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(pane(" Gates ", app.focus == Focus::Gates));
    f.render_widget(table, area);
}

/// A sparkline of the signal's recent numeric values.
fn spark(app: &View<'_>, signal: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let values: Vec<f64> = app
        .board()
        .samples(signal)
        .iter()
        .rev()
        .take(10)
        .filter_map(|s| match &s.outcome {
            crate::signal::Outcome::Number(v) => Some(*v),
            crate::signal::Outcome::Health {
                latency: Some(l), ..
            } => Some(l.as_secs_f64()),
            _ => None,
        })
        .collect();
    if values.is_empty() {
        return String::new();
    }
    let (lo, hi) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    values
        .iter()
        .rev()
        .map(|v| {
            if (hi - lo).abs() < f64::EPSILON {
                BARS[3]
            } else {
                let i = ((v - lo) / (hi - lo) * 7.0).round();
                BARS[(i.clamp(0.0, 7.0)) as usize]
            }
        })
        .collect()
}

fn short(t: DateTime<Utc>) -> String {
    t.format("%H:%M").to_string()
}

pub(super) fn draw_signoffs(app: &View<'_>, theme: &Theme, f: &mut Frame, area: Rect) {
    let phase = app.phase();
    let mut lines: Vec<Line> = phase
        .signoff
        .iter()
        .map(|role| match app.state().signed(role) {
            Some(s) => Line::from(vec![
                Span::styled("✔ ", theme.fg(Hue::Go)),
                Span::raw(format!("{role}: {} {}", shown(app, &s.user), short(s.at))),
            ]),
            None => Line::from(vec![
                Span::styled("… ", theme.fg(Hue::Pending)),
                Span::raw(format!("{role}: waiting")),
            ]),
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from("no sign-off needed"));
    }
    if let Some(h) = &app.state().hold {
        lines.push(Line::from(Span::styled(
            format!("⏸ HOLD by {}: {}", h.by, shown(app, &h.reason)),
            theme.fg(Hue::Hold),
        )));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(pane(" Sign-off ", false)),
        area,
    );
}

/// Rows the gates pane needs to show every gate of the phase: the
/// borders, the header row and one row per gate.
pub(super) fn rows_needed(app: &View<'_>) -> u16 {
    u16::try_from(app.phase().gates.len()).map_or(u16::MAX, |n| n.saturating_add(3))
}
