//! The panes a layout's `[screen]` rows may name (phases, gates,
//! sign-offs, signals, a checklist, a chart, the journal, command output)
//! and the custom-row composition itself. Every pane copes with any area,
//! even 0×0, so a layout cannot crash the screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::gates::{draw_gates, draw_signoffs};
use super::pane;
use super::text::{shown, wrap};
use crate::gate::Judgement;
use crate::layout::{Pane, Screen};
use crate::ui::app::{Focus, View};
use crate::ui::theme::{Hue, Theme};

/// The `[screen]` rows of the layout: each row a share of the height,
/// its panes side by side.
pub(super) fn draw_custom(
    app: &View<'_>,
    theme: &Theme,
    judged: &[Judgement],
    screen: &Screen,
    f: &mut Frame,
    area: Rect,
) {
    let rows =
        Split::vertical(screen.rows.iter().map(|r| Constraint::Percentage(r.height))).split(area);
    for (row, row_area) in screen.rows.iter().zip(rows.iter()) {
        if row.panes.is_empty() {
            continue;
        }
        let share = 100 / u16::try_from(row.panes.len()).unwrap_or(1).max(1);
        let cells = Split::horizontal(row.panes.iter().map(|_| Constraint::Percentage(share)))
            .split(*row_area);
        for (pane, cell) in row.panes.iter().zip(cells.iter()) {
            draw_pane(app, theme, judged, pane, f, *cell);
        }
    }
}

/// One named pane into `area`; every pane copes with any size, even 0×0.
fn draw_pane(
    app: &View<'_>,
    theme: &Theme,
    judged: &[Judgement],
    pane: &Pane,
    f: &mut Frame,
    area: Rect,
) {
    match pane {
        Pane::Phases => draw_phase_list(app, theme, f, area),
        Pane::Gates => draw_gates(app, theme, judged, f, area),
        Pane::Signoffs => draw_signoffs(app, theme, f, area),
        Pane::Signals => draw_signals(app, f, area),
        Pane::Checklist(id) => draw_checklist(app, theme, Some(id), f, area),
        Pane::Chart(id) => draw_chart(app, id, f, area),
        Pane::Log => draw_log(app, f, area),
        Pane::Output => draw_output(app, f, area),
    }
}

fn draw_phase_list(app: &View<'_>, theme: &Theme, f: &mut Frame, area: Rect) {
    let current = app.phase_index();
    let lines: Vec<Line> = app
        .layout()
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (mark, style) = match i.cmp(&current) {
                std::cmp::Ordering::Less => ("✔ done", theme.fg(Hue::Go)),
                std::cmp::Ordering::Equal => {
                    ("▶ now ", Style::default().add_modifier(Modifier::BOLD))
                }
                std::cmp::Ordering::Greater => ("· next", Style::default()),
            };
            Line::from(vec![
                Span::styled(format!("{mark} "), style),
                Span::raw(p.title.clone()),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(pane(" Phases ", false)), area);
}

/// Every signal with its latest value. Presenter mode hides where signals
/// come from (URLs, hosts, queries): it is for a shared screen.
fn draw_signals(app: &View<'_>, f: &mut Frame, area: Rect) {
    let mut lines: Vec<Line> = Vec::new();
    for (i, s) in app.layout().signals.iter().enumerate() {
        let latest = app
            .board()
            .latest(i)
            .map_or_else(|| "no data yet".to_string(), |x| x.outcome.display(s.unit));
        let latest = shown(app, &latest);
        lines.push(Line::from(format!("{} · {latest}", s.id)));
        if !app.presenter {
            lines.push(
                Line::from(format!("  {} {}", s.kind(), s.probe.describe()))
                    .style(Style::default().add_modifier(Modifier::DIM)),
            );
        }
    }
    f.render_widget(Paragraph::new(lines).block(pane(" Signals ", false)), area);
}

/// A signal's recent numeric history as a sparkline.
fn draw_chart(app: &View<'_>, id: &str, f: &mut Frame, area: Rect) {
    let Some(i) = app.board().index_of(id) else {
        return;
    };
    let values: Vec<f64> = app
        .board()
        .samples(i)
        .iter()
        .filter_map(|s| match &s.outcome {
            crate::signal::Outcome::Number(v) => Some(*v),
            crate::signal::Outcome::Health {
                latency: Some(l), ..
            } => Some(l.as_secs_f64() * 1000.0),
            _ => None,
        })
        .collect();
    let hi = values.iter().copied().fold(0.0_f64, f64::max);
    let data: Vec<u64> = values
        .iter()
        .map(|v| {
            if hi > 0.0 {
                (v / hi * 100.0).round().max(0.0) as u64
            } else {
                0
            }
        })
        .collect();
    let unit = app.layout().signals[i].unit;
    let title = match values.last() {
        Some(v) => format!(" {id} {} (max {}) ", unit.format(*v), unit.format(hi)),
        None => format!(" {id}: no data yet "),
    };
    let width = usize::from(area.width.saturating_sub(2));
    let start = data.len().saturating_sub(width);
    f.render_widget(
        ratatui::widgets::Sparkline::default()
            .data(&data[start..])
            .block(pane(&title, false)),
        area,
    );
}

pub(super) fn draw_checklist(
    app: &View<'_>,
    theme: &Theme,
    id: Option<&str>,
    f: &mut Frame,
    area: Rect,
) {
    let items = id.map(|id| app.items_of(id)).unwrap_or_default();
    let done = items.iter().filter(|i| i.1).count();
    let title = match id {
        Some(id) => format!(" {id} {done}/{} ", items.len()),
        None => " Checklist ".into(),
    };
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .map(|(i, (text, checked))| {
            let mark = if *checked {
                Span::styled("[x] ", theme.fg(Hue::Go))
            } else {
                Span::raw("[ ] ")
            };
            let line = Line::from(vec![mark, Span::raw(shown(app, text).into_owned())]);
            if app.focus == Focus::Checklist && app.cursor == i {
                line.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                line
            }
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(pane(&title, app.focus == Focus::Checklist)),
        area,
    );
}

/// The journal tail, newest at the bottom; an event too long for one line
/// continues on a second. Scrolled back when focused (k/j).
pub(super) fn draw_log(app: &View<'_>, f: &mut Frame, area: Rect) {
    let height = area.height.saturating_sub(2) as usize;
    let width = usize::from(area.width.saturating_sub(2));
    const STAMP: usize = 9;
    let end = app.log.len().saturating_sub(app.log_scroll);
    let mut lines: Vec<Line> = Vec::new();
    for e in app.log[..end].iter().rev() {
        if lines.len() >= height {
            break;
        }
        let summary = e.summary();
        let text = shown(app, &summary);
        let mut parts = wrap(&text, width.saturating_sub(STAMP), 2).into_iter();
        let first = format!(
            "{} {}",
            e.at.format("%H:%M:%S"),
            parts.next().unwrap_or_default()
        );
        let mut entry = vec![Line::from(first)];
        entry.extend(parts.map(|p| Line::from(format!("{:STAMP$}{p}", ""))));
        // Only whole entries, so the top line always has its time.
        if lines.len() + entry.len() > height {
            break;
        }
        // Newest first while collecting; each entry keeps its own order.
        lines.extend(entry.into_iter().rev());
    }
    lines.reverse();
    let title = if app.log_scroll > 0 {
        format!(
            " Journal · scrolled back {} events, End follows ",
            app.log_scroll
        )
    } else {
        " Journal ".to_string()
    };
    f.render_widget(
        Paragraph::new(lines).block(pane(&title, app.focus == Focus::Log)),
        area,
    );
}

/// Output of `on_enter` and rollback commands as they print it: the newest
/// lines that fit, or older ones when scrolled back (focus it, j/k).
pub(super) fn draw_output(app: &View<'_>, f: &mut Frame, area: Rect) {
    let height = area.height.saturating_sub(2) as usize;
    let end = app.output.len().saturating_sub(app.output_scroll);
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = app.output[start..end]
        .iter()
        .map(|l| Line::from(shown(app, l).into_owned()))
        .collect();
    let mut title = match app.running.first() {
        Some(argv) => format!(
            " Command output · running {} ",
            argv.first().map_or("", String::as_str)
        ),
        None => " Command output ".to_string(),
    };
    if app.output_scroll > 0 {
        title.push_str(&format!(
            "· scrolled back {} lines, End follows ",
            app.output_scroll
        ));
    }
    f.render_widget(
        Paragraph::new(lines).block(pane(&title, app.focus == Focus::Output)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::layout::Rect;

    use super::{Theme, draw_pane};
    use crate::layout::Pane;
    use crate::ui::app::App;

    #[test]
    fn every_pane_survives_a_zero_and_a_one_by_one_area() {
        let layout =
            crate::layout::parse(Path::new("layouts/demo.toml"), crate::demo::LAYOUT).unwrap();
        let app = App::new(
            Arc::new(layout),
            "alice".into(),
            Utc.with_ymd_and_hms(2026, 2, 5, 14, 0, 0).unwrap(),
        );
        let judged = app.view(|v| v.judged());
        let panes = [
            Pane::Phases,
            Pane::Gates,
            Pane::Signoffs,
            Pane::Signals,
            Pane::Checklist("preflight".into()),
            Pane::Chart("p95".into()),
            Pane::Log,
            Pane::Output,
        ];
        let mut t = Terminal::new(TestBackend::new(4, 4)).unwrap();
        for pane in &panes {
            for area in [
                Rect::new(0, 0, 0, 0),
                Rect::new(1, 1, 1, 1),
                Rect::new(0, 0, 4, 1),
            ] {
                t.draw(|f| {
                    app.view(|v| {
                        draw_pane(
                            v,
                            &Theme {
                                depth: crate::ui::theme::Depth::TrueColor,
                            },
                            &judged,
                            pane,
                            f,
                            area,
                        )
                    })
                })
                .unwrap();
            }
        }
    }
}
