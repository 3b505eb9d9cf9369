//! Drawing: `render(&App, &mut Frame)` only reads. Every state carries a
//! glyph and a word, so nothing depends on colour alone; colours come from
//! [`super::theme`], colour-blind-safe, and vanish under `NO_COLOR`.
//!
//! This file composes the screen from its regions, one file each under
//! `render/`: `header` (verdict, clock, timeline), `gates` (gates and
//! sign-offs), `panes` (checklist, journal, output, signals, charts, custom
//! rows), `footer` (status line, key bar) and `modals` (help, prompts);
//! `text` shapes outside text for all of them.

mod charts;
mod footer;
mod gates;
mod header;
mod modals;
mod panes;
mod text;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as Split};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::{App, Focus, View};
use super::theme::{Hue, Theme};
use crate::gate::{State, verdict};

/// Smallest screen the full layout fits.
pub const MIN_SIZE: (u16, u16) = (80, 24);

impl Theme {
    fn state(&self, s: State) -> Style {
        match s {
            State::Go => self.fg(Hue::Go),
            State::NoGo => self.fg(Hue::NoGo).add_modifier(Modifier::BOLD),
            State::Pending => self.fg(Hue::Pending),
            State::Unknown => self.fg(Hue::Unknown),
            State::Stale => self.fg(Hue::Stale),
        }
    }
}

/// Draws the whole screen for `app` into `f`.
pub fn render(app: &App, f: &mut Frame) {
    app.view(|v| draw(v, f));
}

fn draw(app: &View<'_>, f: &mut Frame) {
    let area = f.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let msg = format!(
            "terminal too small ({}×{}, needs {}×{}) — q quits",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        );
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let theme = Theme { depth: app.colors };
    let [header_area, timeline_area, body, status_area, keys_area] = Split::vertical([
        Constraint::Length(if app.presenter {
            header::PRESENTER_HEADER
        } else {
            2
        }),
        Constraint::Length(1),
        Constraint::Min(10),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    // Words only for the gates a pane can show: no pane is taller than the
    // body. The verdict counts every gate: those judged here, and the rest
    // as the runtime last judged them.
    let shown = usize::from(body.height);
    let judged = app.judged_first(shown);
    let gates = &app.phase().gates;
    let v = verdict(gates.iter().zip(judged.iter())).max(
        (judged.len()..gates.len())
            .filter(|&i| gates[i].blocking)
            .filter_map(|i| app.live.gate_state(i))
            .map(crate::gate::State::verdict)
            .max()
            .unwrap_or(crate::gate::Verdict::Go),
    );
    header::draw_header(app, &theme, v, f, header_area);
    header::draw_timeline(app, &theme, f, timeline_area);
    if let Some(screen) = app.layout().screen.as_ref().filter(|s| !s.rows.is_empty()) {
        panes::draw_custom(app, &theme, &judged, screen, f, body);
        footer::draw_status(app, &theme, f, status_area);
        footer::draw_keys(app, &judged, f, keys_area);
        modals::draw(app, f, area);
        return;
    }
    // Room the gates do not need goes to charts of the numbers they
    // judge; presenter mode gives the charts more of the screen.
    let specs = charts::specs(app);
    let mut top_rows = body.height * 55 / 100;
    let mut chart_rows = 0;
    if !specs.is_empty() {
        let need = gates::rows_needed(app);
        let room = if app.presenter {
            (body.height * 2 / 3).max(top_rows)
        } else {
            top_rows
        };
        if room.saturating_sub(need) >= charts::MIN_ROWS {
            chart_rows = room - need;
            top_rows = need;
        }
    }
    let [top, chart_area, bottom] = Split::vertical([
        Constraint::Length(top_rows),
        Constraint::Length(chart_rows),
        Constraint::Min(0),
    ])
    .areas(body);
    if chart_rows > 0 {
        charts::draw_charts(app, &theme, &specs, f, chart_area);
    }
    gates::draw_gates(app, &theme, &judged, f, top);
    let [left, middle, right] = Split::horizontal([
        Constraint::Percentage(28),
        Constraint::Percentage(30),
        Constraint::Percentage(42),
    ])
    .areas(bottom);
    gates::draw_signoffs(app, &theme, f, left);
    panes::draw_checklist(app, &theme, app.checklist_id(), f, middle);
    if app.output.is_empty() {
        panes::draw_log(app, f, right);
    } else {
        // A running command or a focused output pane gets the room.
        let output_share = if app.running.is_empty() && app.focus != Focus::Output {
            50
        } else {
            70
        };
        let [log, output] = Split::vertical([
            Constraint::Percentage(100 - output_share),
            Constraint::Percentage(output_share),
        ])
        .areas(right);
        panes::draw_log(app, f, log);
        panes::draw_output(app, f, output);
    }
    footer::draw_status(app, &theme, f, status_area);
    footer::draw_keys(app, &judged, f, keys_area);
    modals::draw(app, f, area);
}

/// A bordered pane with its title; bold borders when it has the focus.
fn pane(title: &str, focused: bool) -> Block<'_> {
    let b = Block::default().borders(Borders::ALL).title(title);
    if focused {
        b.border_style(Style::default().add_modifier(Modifier::BOLD))
    } else {
        b
    }
}
