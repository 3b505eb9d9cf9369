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
use super::text::{shown, with_more, wrap};
use crate::gate::State;
use crate::layout::{Pane, Screen};
use crate::text::cut_to;
use crate::ui::app::{Focus, View};
use crate::ui::theme::{Hue, Theme};

/// The `[screen]` rows of the layout: each row a share of the height,
/// its panes side by side.
/// Returns the states of the gates a gates pane showed in words.
pub(super) fn draw_custom(
    app: &View<'_>,
    theme: &Theme,
    screen: &Screen,
    f: &mut Frame,
    area: Rect,
) -> Vec<(usize, State)> {
    let mut seen = Vec::new();
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
            seen.extend(draw_pane(app, theme, pane, f, *cell));
        }
    }
    seen
}

/// One named pane into `area`; every pane copes with any size, even 0×0.
fn draw_pane(
    app: &View<'_>,
    theme: &Theme,
    pane: &Pane,
    f: &mut Frame,
    area: Rect,
) -> Vec<(usize, State)> {
    match pane {
        Pane::Gates => return draw_gates(app, theme, f, area),
        Pane::Phases => draw_phase_list(app, theme, f, area),
        Pane::Signoffs => draw_signoffs(app, theme, f, area),
        Pane::Signals => draw_signals(app, f, area),
        Pane::Checklist(id) => draw_checklist(app, theme, Some(id), f, area),
        Pane::Chart(id) => super::charts::draw_signal(app, theme, id, f, area),
        Pane::Log => draw_log(app, f, area),
        Pane::Output => draw_output(app, f, area),
    }
    Vec::new()
}

fn draw_phase_list(app: &View<'_>, theme: &Theme, f: &mut Frame, area: Rect) {
    let current = app.phase_index();
    let width = usize::from(area.width.saturating_sub(2));
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
                Span::raw(cut_to(&p.title, width.saturating_sub(7)).into_owned()),
            ])
        })
        .collect();
    let lines = with_more(lines, usize::from(area.height.saturating_sub(2)), width);
    f.render_widget(Paragraph::new(lines).block(pane(" Phases ", false)), area);
}

/// Every signal with its latest value. Presenter mode hides where signals
/// come from (URLs, hosts, queries): it is for a shared screen.
fn draw_signals(app: &View<'_>, f: &mut Frame, area: Rect) {
    let width = usize::from(area.width.saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    for (i, s) in app.layout().signals.iter().enumerate() {
        let latest = app
            .board()
            .latest(i)
            .map_or_else(|| "no data yet".to_string(), |x| x.outcome.display(s.unit));
        let latest = shown(app, &latest);
        let line = format!("{} · {latest}", s.id);
        lines.push(Line::from(cut_to(&line, width).into_owned()));
        if !app.presenter {
            let source = format!("  {} {}", s.kind(), s.probe.describe());
            lines.push(
                Line::from(cut_to(&shown(app, &source), width).into_owned())
                    .style(Style::default().add_modifier(Modifier::DIM)),
            );
        }
    }
    let lines = with_more(lines, usize::from(area.height.saturating_sub(2)), width);
    f.render_widget(Paragraph::new(lines).block(pane(" Signals ", false)), area);
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
    let focused = app.focus == Focus::Checklist;
    let width = usize::from(area.width.saturating_sub(2));
    let height = usize::from(area.height.saturating_sub(2));
    // More items than rows: the cursor's in view, and a last line counts
    // the rest.
    let (start, end) = window(items.len(), height, focused.then_some(app.cursor));
    let mut lines: Vec<Line> = items[start..end]
        .iter()
        .enumerate()
        .map(|(k, (text, checked))| {
            let mark = if *checked {
                Span::styled("[x] ", theme.fg(Hue::Go))
            } else {
                Span::raw("[ ] ")
            };
            let text = shown(app, text);
            let text = cut_to(&text, width.saturating_sub(4)).into_owned();
            let line = Line::from(vec![mark, Span::raw(text)]);
            if focused && app.cursor == start + k {
                line.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                line
            }
        })
        .collect();
    let hidden = items.len() - (end - start);
    if hidden > 0 {
        let open = items[..start]
            .iter()
            .chain(&items[end..])
            .filter(|(_, checked)| !checked)
            .count();
        let more = format!("+{hidden} more ({open} open)");
        lines.push(Line::from(cut_to(&more, width).into_owned()));
    }
    f.render_widget(
        Paragraph::new(lines).block(pane(&cut_to(&title, width), focused)),
        area,
    );
}

/// Rows `start..end` of `len` to show in `height` lines: all when they
/// fit; else one line is kept for a count of the rest, and the rows run
/// down to the cursor once it is past the first screenful.
fn window(len: usize, height: usize, cursor: Option<usize>) -> (usize, usize) {
    if len <= height {
        return (0, len);
    }
    let rows = height.saturating_sub(1).max(1).min(len);
    let cursor = cursor.unwrap_or(0).min(len - 1);
    let start = (cursor + 1).saturating_sub(rows);
    (start, start + rows)
}

/// The journal tail, newest at the bottom; an event too long for one line
/// continues on up to three more, ending in `…` if still cut. Scrolled back when focused (k/j).
pub(super) fn draw_log(app: &View<'_>, f: &mut Frame, area: Rect) {
    let height = area.height.saturating_sub(2) as usize;
    let width = usize::from(area.width.saturating_sub(2));
    const STAMP: usize = 9;
    let end = app.log.len().saturating_sub(app.log_scroll);
    let mut lines: Vec<Line> = Vec::new();
    for (e, summary) in app.log[..end].iter().rev() {
        if lines.len() >= height {
            break;
        }
        let text = shown(app, summary);
        let mut parts = wrap(&text, width.saturating_sub(STAMP), 4).into_iter();
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
        Paragraph::new(lines).block(pane(&cut_to(&title, width), app.focus == Focus::Log)),
        area,
    );
}

/// Output of `on_enter` and rollback commands as they print it: the newest
/// lines that fit, or older ones when scrolled back (focus it, j/k).
pub(super) fn draw_output(app: &View<'_>, f: &mut Frame, area: Rect) {
    let height = area.height.saturating_sub(2) as usize;
    let end = app.output.len().saturating_sub(app.output_scroll);
    let start = end.saturating_sub(height);
    let width = usize::from(area.width.saturating_sub(2));
    let lines: Vec<Line> = app.output[start..end]
        .iter()
        .map(|l| Line::from(cut_to(&shown(app, l), width).into_owned()))
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
        Paragraph::new(lines).block(pane(&cut_to(&title, width), app.focus == Focus::Output)),
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
                        let _ = draw_pane(
                            v,
                            &Theme {
                                depth: crate::ui::theme::Depth::TrueColor,
                            },
                            pane,
                            f,
                            area,
                        );
                    })
                })
                .unwrap();
            }
        }
    }
}
