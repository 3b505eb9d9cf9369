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
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::{App, Focus, View};
use super::theme::{Hue, Theme};
use crate::gate::{State, Verdict};

/// Smallest screen the full layout fits.
pub const MIN_SIZE: (u16, u16) = (80, 24);

impl Theme {
    fn state(&self, s: State) -> Style {
        match s {
            State::Go => self.fg(Hue::Go),
            State::NoGo => self.fg(Hue::NoGo).add_modifier(Modifier::BOLD),
            State::Pending => self.fg(Hue::Pending),
            State::Unknown => self.fg(Hue::Unknown),
            // Blocks like UNKNOWN; the glyph and word tell them apart.
            State::Blocked => self.fg(Hue::Unknown).add_modifier(Modifier::BOLD),
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
    let header_rows = if app.presenter {
        header::PRESENTER_HEADER
    } else {
        2
    };
    // A long refusal takes the lines it needs, down to the body's least:
    // the operator reads the whole reason, not its first eighty columns.
    let status_room = area.height.saturating_sub(header_rows + 1 + BODY_MIN + 1);
    let status = footer::status_lines(app, area.width, usize::from(status_room.max(1)));
    let status_rows = u16::try_from(status.len())
        .unwrap_or(u16::MAX)
        .clamp(1, status_room.max(1));
    let [header_area, timeline_area, body, status_area, keys_area] = Split::vertical([
        Constraint::Length(header_rows),
        Constraint::Length(1),
        Constraint::Min(BODY_MIN),
        Constraint::Length(status_rows),
        Constraint::Length(1),
    ])
    .areas(area);
    let shown = match app.layout().screen.as_ref().filter(|s| !s.rows.is_empty()) {
        Some(screen) => panes::draw_custom(app, &theme, screen, f, body),
        None => draw_default(app, &theme, f, body),
    };
    let seen = Seen::new(app, &shown);
    header::draw_header(app, &theme, seen.verdict(app), f, header_area);
    header::draw_timeline(app, &theme, f, timeline_area);
    footer::draw_status(app, &theme, status, f, status_area);
    footer::draw_keys(app, &theme, &seen, f, keys_area);
    modals::draw(app, f, area);
}

/// Rows the body keeps whatever else wants room.
const BODY_MIN: u16 = 10;

/// The default screen's body: gates over sign-offs, checklist and journal
/// (and command output when there is some). Returns the states of the
/// gates shown in words.
fn draw_default(app: &View<'_>, theme: &Theme, f: &mut Frame, body: Rect) -> Vec<(usize, State)> {
    // The gates take what they need, up to a little over half the body;
    // the panes below get the rest.
    let share = body.height * 55 / 100;
    // Room the gates do not need goes to charts of the numbers they
    // judge; presenter mode gives the charts more of the screen.
    let specs = charts::specs(app);
    let room = if specs.is_empty() {
        share
    } else if app.presenter {
        (body.height * 2 / 3).max(share)
    } else {
        share
    };
    let need = gates::rows_needed(app, body.width, room);
    let (gates_rows, chart_rows) = if room.saturating_sub(need) >= charts::MIN_ROWS {
        (need, room - need)
    } else {
        (need.min(share), 0)
    };
    let [top, chart_area, bottom] = Split::vertical([
        Constraint::Length(gates_rows),
        Constraint::Length(chart_rows),
        Constraint::Min(0),
    ])
    .areas(body);
    if chart_rows > 0 {
        charts::draw_charts(app, theme, &specs, f, chart_area);
    }
    let shown = gates::draw_gates(app, theme, f, top);
    // No checklist signal in the layout: its pane would only ever be
    // empty, so the others get the room.
    let (left, right) = match app.checklist_id() {
        Some(id) => {
            let [left, middle, right] = Split::horizontal([
                Constraint::Percentage(28),
                Constraint::Percentage(30),
                Constraint::Percentage(42),
            ])
            .areas(bottom);
            panes::draw_checklist(app, theme, Some(id), f, middle);
            (left, right)
        }
        None => {
            let [left, right] =
                Split::horizontal([Constraint::Percentage(35), Constraint::Percentage(65)])
                    .areas(bottom);
            (left, right)
        }
    };
    gates::draw_signoffs(app, theme, f, left);
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
    shown
}

/// What this frame says of each gate of the phase: as a pane showed it in
/// words, else as the runtime last judged it. The verdict and the demo's
/// guide read it, so they never contradict the rows on screen.
pub(super) struct Seen {
    states: Vec<Option<State>>,
}

impl Seen {
    fn new(app: &View<'_>, shown: &[(usize, State)]) -> Seen {
        let mut states: Vec<Option<State>> = (0..app.phase().gates.len())
            .map(|i| app.live.gate_state(i))
            .collect();
        for &(i, s) in shown {
            if let Some(slot) = states.get_mut(i) {
                *slot = Some(s);
            }
        }
        Seen { states }
    }

    pub(super) fn state(&self, i: usize) -> Option<State> {
        self.states.get(i).copied().flatten()
    }

    /// The phase's verdict over its blocking gates.
    pub(super) fn verdict(&self, app: &View<'_>) -> Verdict {
        app.phase()
            .gates
            .iter()
            .zip(&self.states)
            .filter(|(g, _)| g.blocking)
            .map(|(_, s)| s.map_or(Verdict::Unknown, State::verdict))
            .max()
            .unwrap_or(Verdict::Go)
    }
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
