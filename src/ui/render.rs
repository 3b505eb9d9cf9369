//! Drawing: `render(&App, &mut Frame)` only reads. Every state carries a
//! glyph and a word, so nothing depends on colour alone; colours are
//! blue/orange-leaning for colour-blind safety and vanish under `NO_COLOR`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, Wrap};

use super::app::{App, Focus, Mode, PromptKind, Tone};
use crate::gate::{State, Verdict, verdict};
use crate::unit::format_duration;

/// Smallest screen the full layout fits.
pub const MIN_SIZE: (u16, u16) = (80, 24);

struct Theme {
    on: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.on {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    fn state(&self, s: State) -> Style {
        match s {
            State::Go => self.fg(Color::Green),
            State::NoGo => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            State::Pending => self.fg(Color::Cyan),
            State::Unknown => self.fg(Color::Yellow),
            State::Stale => self.fg(Color::DarkGray),
        }
    }
}

pub fn render(app: &App, f: &mut Frame) {
    let area = f.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let msg = format!(
            "terminal too small ({}×{}, needs {}×{}) — q quits",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        );
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let theme = Theme { on: app.colors };
    let [header, timeline, body, status, keys] = Split::vertical([
        Constraint::Length(if app.presenter { 3 } else { 2 }),
        Constraint::Length(1),
        Constraint::Min(10),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let judged = app.judged();
    let v = verdict(app.phase().gates.iter().zip(judged.iter()));
    draw_header(app, &theme, v, f, header);
    draw_timeline(app, &theme, f, timeline);
    let [top, bottom] =
        Split::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
    draw_gates(app, &theme, &judged, f, top);
    let [left, middle, right] = Split::horizontal([
        Constraint::Percentage(28),
        Constraint::Percentage(30),
        Constraint::Percentage(42),
    ])
    .areas(bottom);
    draw_signoffs(app, &theme, f, left);
    draw_checklist(app, &theme, f, middle);
    if app.output.is_empty() {
        draw_log(app, f, right);
    } else {
        let [log, output] =
            Split::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(right);
        draw_log(app, f, log);
        draw_output(app, f, output);
    }
    draw_status(app, &theme, f, status);
    draw_keys(app, f, keys);
    match &app.mode {
        Mode::Help => draw_help(f, area),
        Mode::Prompt(p) => draw_prompt(app, &p.kind, &p.input, f, area),
        Mode::Normal => {}
    }
}

fn clock(app: &App) -> String {
    let now = app.now.format("%H:%M:%SZ").to_string();
    match app.layout.launch.t0 {
        Some(t0) => {
            let (sign, d) = if app.now < t0 {
                ("T-", t0 - app.now)
            } else {
                ("T+", app.now - t0)
            };
            let secs = d.num_seconds().unsigned_abs();
            format!(
                "{sign}{:02}:{:02}:{:02} · {now}",
                secs / 3600,
                (secs % 3600) / 60,
                secs % 60
            )
        }
        None => now,
    }
}

fn draw_header(app: &App, theme: &Theme, v: Verdict, f: &mut Frame, area: Rect) {
    let (word, style) = if app.state.rolled_back.is_some() {
        (
            "⟲ ROLLED BACK",
            theme.fg(Color::Magenta).add_modifier(Modifier::BOLD),
        )
    } else if app.state.hold.is_some() {
        (
            "⏸ HOLD",
            theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )
    } else {
        match v {
            Verdict::Go => ("✔ GO", theme.state(State::Go).add_modifier(Modifier::BOLD)),
            Verdict::NoGo => ("✘ NO-GO", theme.state(State::NoGo)),
            Verdict::Unknown => (
                "? UNKNOWN",
                theme.state(State::Unknown).add_modifier(Modifier::BOLD),
            ),
        }
    };
    let phase = app.phase();
    let armed = if crate::guard::armed(&app.layout, &app.state) {
        "auto-rollback ARMED"
    } else {
        "auto-rollback off"
    };
    let mut first = vec![
        Span::styled(
            format!(" {} ", app.layout.launch.name),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            "· phase {}/{} {} · {} · ",
            app.phase_index() + 1,
            app.layout.phases.len(),
            phase.title,
            clock(app)
        )),
        Span::styled(word, style),
    ];
    if app.read_only {
        first.push(Span::styled(" READ-ONLY", theme.fg(Color::Cyan)));
    }
    let second = Line::from(format!(" {armed} · operator {}", app.actor));
    if app.presenter {
        // For a shared screen: the verdict and the clock, large and
        // high-contrast; nothing that names a host or a header value.
        let banner = Line::from(vec![
            Span::styled(
                format!("   {word}   "),
                style.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            ),
            Span::styled(
                format!("  {}  ", clock(app)),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(" {} · {}", app.layout.launch.name, phase.title)),
        ]);
        f.render_widget(
            Paragraph::new(vec![Line::from(""), banner, Line::from("")]),
            area,
        );
        return;
    }
    f.render_widget(Paragraph::new(vec![Line::from(first), second]), area);
}

fn draw_timeline(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let current = app.phase_index();
    let mut spans = vec![Span::raw(" ")];
    for (i, p) in app.layout.phases.iter().enumerate() {
        let (mark, style) = match i.cmp(&current) {
            std::cmp::Ordering::Less => ("✔", theme.fg(Color::Green)),
            std::cmp::Ordering::Equal => (
                "▶",
                Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED),
            ),
            std::cmp::Ordering::Greater => ("·", Style::default()),
        };
        spans.push(Span::styled(format!("{mark} {}", p.title), style));
        if i + 1 < app.layout.phases.len() {
            spans.push(Span::raw(" ─ "));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn pane(title: &str, focused: bool) -> Block<'_> {
    let b = Block::default().borders(Borders::ALL).title(title);
    if focused {
        b.border_style(Style::default().add_modifier(Modifier::BOLD))
    } else {
        b
    }
}

fn age(d: Option<Duration>) -> String {
    d.map_or_else(
        || "—".into(),
        |d| format_duration(Duration::from_secs(d.as_secs())),
    )
}

fn draw_gates(
    app: &App,
    theme: &Theme,
    judged: &[crate::gate::Judgement],
    f: &mut Frame,
    area: Rect,
) {
    let phase = app.phase();
    let waived = app.state.waivers.get(&phase.id);
    let rows: Vec<Row> = phase
        .gates
        .iter()
        .zip(judged)
        .enumerate()
        .map(|(i, (g, j))| {
            let is_waived = waived.is_some_and(|(w, _)| w.contains(&g.label()));
            let (state, style) = if is_waived {
                ("⚠ WAIVED".to_string(), theme.fg(Color::Magenta))
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
            // The reason already says how long a running window has left.
            let reason = j.reason.clone();
            let row = Row::new(vec![
                Span::styled(state, style),
                Span::raw(name),
                Span::raw(g.condition_text()),
                Span::raw(j.value.clone().unwrap_or_else(|| "—".into())),
                Span::raw(spark(app, g.signal)),
                Span::raw(age(j.age)),
                Span::raw(reason),
            ]);
            if app.focus == Focus::Gates && app.cursor == i {
                row.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                row
            }
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(11),
            Constraint::Length(26),
            Constraint::Length(16),
            Constraint::Length(20),
            Constraint::Length(10),
            Constraint::Length(5),
            Constraint::Min(10),
        ],
    )
    .header(
        Row::new([
            "STATE",
            "GATE",
            "CONDITION",
            "VALUE",
            "TREND",
            "AGE",
            "REASON",
        ])
        .style(Style::default().add_modifier(Modifier::BOLD)),
    )
    .block(pane(" Gates ", app.focus == Focus::Gates));
    f.render_widget(table, area);
}

/// A sparkline of the signal's recent numeric values.
fn spark(app: &App, signal: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let values: Vec<f64> = app
        .board
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

fn draw_signoffs(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let phase = app.phase();
    let mut lines: Vec<Line> = phase
        .signoff
        .iter()
        .map(|role| match app.state.signed(role) {
            Some(s) => Line::from(vec![
                Span::styled("✔ ", theme.fg(Color::Green)),
                Span::raw(format!("{role}: {} {}", s.user, short(s.at))),
            ]),
            None => Line::from(vec![
                Span::styled("… ", theme.fg(Color::Yellow)),
                Span::raw(format!("{role}: waiting")),
            ]),
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from("no sign-off needed"));
    }
    if let Some(h) = &app.state.hold {
        lines.push(Line::from(Span::styled(
            format!("⏸ HOLD by {}: {}", h.by, h.reason),
            theme.fg(Color::Yellow),
        )));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(pane(" Sign-off ", false)),
        area,
    );
}

fn draw_checklist(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let items = app.checklist_items();
    let done = items.iter().filter(|i| i.1).count();
    let title = match app.checklist_id() {
        Some(id) => format!(" {id} {done}/{} ", items.len()),
        None => " Checklist ".into(),
    };
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .map(|(i, (text, checked))| {
            let mark = if *checked {
                Span::styled("[x] ", theme.fg(Color::Green))
            } else {
                Span::raw("[ ] ")
            };
            let line = Line::from(vec![mark, Span::raw(text.clone())]);
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

fn draw_log(app: &App, f: &mut Frame, area: Rect) {
    let height = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = app
        .log
        .iter()
        .rev()
        .take(height)
        .rev()
        .map(|e| Line::from(format!("{} {}", e.at.format("%H:%M:%S"), e.summary())))
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(pane(" Journal ", app.focus == Focus::Log)),
        area,
    );
}

/// Output of `on_enter` and rollback commands: the newest lines that fit.
fn draw_output(app: &App, f: &mut Frame, area: Rect) {
    let height = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = app
        .output
        .iter()
        .rev()
        .take(height)
        .rev()
        .map(|l| Line::from(l.clone()))
        .collect();
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane(" Command output ", false)),
        area,
    );
}

fn draw_status(app: &App, theme: &Theme, f: &mut Frame, area: Rect) {
    let line = match &app.status {
        Some((text, Tone::Refused)) => {
            Line::from(Span::styled(format!(" ✘ {text}"), theme.fg(Color::Red)))
        }
        Some((text, Tone::Info)) => Line::from(format!(" {text}")),
        None => Line::from(""),
    };
    f.render_widget(Paragraph::new(line), area);
}

fn draw_keys(app: &App, f: &mut Frame, area: Rect) {
    if app.demo {
        let hint = if app.demo_fault {
            " DEMO: fault ON (5% errors) — watch the error gate turn red; f clears it · r rolls back · ? all keys · q quit"
        } else {
            " DEMO: f injects a fault (5% errors) · Tab+space check items · a advance · s sign · r rolls back · ? keys · q quit"
        };
        f.render_widget(
            Paragraph::new(hint).style(Style::default().add_modifier(Modifier::BOLD)),
            area,
        );
        return;
    }
    let keys = if app.read_only {
        " READ-ONLY viewer · ? help · tab focus · j/k move · p presenter · q quit"
    } else {
        " a advance · A override · s sign · x revoke · h hold · r rollback · d arm · n note · space check · ? help · q quit"
    };
    f.render_widget(
        Paragraph::new(keys).style(Style::default().add_modifier(Modifier::DIM)),
        area,
    );
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub const HELP: &[(&str, &str)] = &[
    ("?", "this help (any key closes it)"),
    ("a", "advance to the next phase"),
    (
        "A",
        "advance past gates that are not GO (typed reason, recorded as a waiver)",
    ),
    ("s", "sign off the current phase for your role"),
    ("x", "revoke your sign-off"),
    ("h", "hold (typed reason) / resume"),
    ("r", "roll back (type the confirm word)"),
    ("d", "arm / disarm auto-rollback (typed reason)"),
    ("n", "add a note to the record"),
    ("space", "check / uncheck the selected checklist item"),
    ("tab", "focus the next pane"),
    ("j k ↑ ↓", "move"),
    ("p", "presenter mode"),
    ("f", "demo only: inject / clear a fault in the demo service"),
    ("q", "quit"),
];

fn draw_help(f: &mut Frame, area: Rect) {
    let r = centered(area, 78, HELP.len() as u16 + 2);
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| Line::from(format!(" {k:<8} {what}")))
        .collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Keys ")),
        r,
    );
}

fn draw_prompt(app: &App, kind: &PromptKind, input: &str, f: &mut Frame, area: Rect) {
    let (title, explain) = match kind {
        PromptKind::Override => (
            " Advance with override ",
            format!(
                "Advance from {} past every gate that is not GO; each is recorded as WAIVED with this reason.",
                app.phase().id
            ),
        ),
        PromptKind::Hold => (
            " Hold ",
            "Put the launch on hold: advance is refused until resumed. Reason:".into(),
        ),
        PromptKind::Note => (" Note ", "Add a note to the launch record:".into()),
        PromptKind::Arm => (
            " Arm auto-rollback ",
            "Re-arm auto-rollback. Reason:".into(),
        ),
        PromptKind::Disarm => (
            " Disarm auto-rollback ",
            "Disarm auto-rollback: triggers will not fire. Reason:".into(),
        ),
        PromptKind::Rollback { confirm, command } => (
            " ROLLBACK ",
            format!("This runs: {command}\nType `{confirm}` and Enter to roll back; Esc cancels."),
        ),
        PromptKind::Sign { roles } => (
            " Sign off ",
            roles
                .iter()
                .enumerate()
                .map(|(i, r)| format!("{} {r}", i + 1))
                .collect::<Vec<_>>()
                .join("   "),
        ),
    };
    let r = centered(area, 70, 7);
    let mut text: Vec<Line> = explain.lines().map(|l| Line::from(l.to_string())).collect();
    text.push(Line::from(""));
    text.push(Line::from(format!("> {input}▏")));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        r,
    );
}
