//! Drawing: `render(&App, &mut Frame)` only reads. Every state carries a
//! glyph and a word, so nothing depends on colour alone; colours come from
//! [`super::theme`], colour-blind-safe, and vanish under `NO_COLOR`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};

use super::app::{App, Focus, Mode, PromptKind, Tone, View};
use super::theme::{Hue, Theme};
use crate::gate::{State, Verdict, verdict};
use crate::unit::format_duration;

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
    let [header, timeline, body, status, keys] = Split::vertical([
        Constraint::Length(if app.presenter { PRESENTER_HEADER } else { 2 }),
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
    if let Some(screen) = app.layout().screen.as_ref().filter(|s| !s.rows.is_empty()) {
        draw_custom(app, &theme, &judged, screen, f, body);
        draw_status(app, &theme, f, status);
        draw_keys(app, &judged, f, keys);
        draw_modal(app, f, area);
        return;
    }
    draw_gates(app, &theme, &judged, f, top);
    let [left, middle, right] = Split::horizontal([
        Constraint::Percentage(28),
        Constraint::Percentage(30),
        Constraint::Percentage(42),
    ])
    .areas(bottom);
    draw_signoffs(app, &theme, f, left);
    draw_checklist(app, &theme, app.checklist_id(), f, middle);
    if app.output.is_empty() {
        draw_log(app, f, right);
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
        draw_log(app, f, log);
        draw_output(app, f, output);
    }
    draw_status(app, &theme, f, status);
    draw_keys(app, &judged, f, keys);
    draw_modal(app, f, area);
}

fn draw_modal(app: &View<'_>, f: &mut Frame, area: Rect) {
    match &app.mode {
        Mode::Help => draw_help(f, area),
        Mode::Prompt(p) => draw_prompt(app, &p.kind, &p.input, f, area),
        Mode::Normal => {}
    }
}

/// T-/T+ from the launch's T0, if it has one.
fn countdown(app: &View<'_>) -> Option<String> {
    let t0 = app.layout().launch.t0?;
    let (sign, d) = if app.now < t0 {
        ("T-", t0 - app.now)
    } else {
        ("T+", app.now - t0)
    };
    let secs = d.num_seconds().unsigned_abs();
    Some(format!(
        "{sign}{:02}:{:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    ))
}

fn clock(app: &View<'_>) -> String {
    let now = app.now.format("%H:%M:%SZ").to_string();
    match countdown(app) {
        Some(c) => format!("{c} · {now}"),
        None => now,
    }
}

fn draw_header(app: &View<'_>, theme: &Theme, v: Verdict, f: &mut Frame, area: Rect) {
    use crate::launch::RollbackStatus;
    let (word, style) = if let Some(status) = app.state().rollback_status() {
        match status {
            RollbackStatus::Done => (
                "⟲ ROLLED BACK",
                theme.fg(Hue::Waived).add_modifier(Modifier::BOLD),
            ),
            RollbackStatus::Running => (
                "⟲ ROLLING BACK",
                theme.fg(Hue::Waived).add_modifier(Modifier::BOLD),
            ),
            // Nothing is known to be rolled back: as loud as the screen gets.
            RollbackStatus::Failed => (
                "✘ ROLLBACK FAILED",
                theme
                    .state(State::NoGo)
                    .add_modifier(Modifier::BOLD | Modifier::REVERSED),
            ),
        }
    } else if app.state().hold.is_some() {
        ("⏸ HOLD", theme.fg(Hue::Hold).add_modifier(Modifier::BOLD))
    } else if !app.state().started() {
        (
            "○ NOT STARTED",
            theme.fg(Hue::Info).add_modifier(Modifier::BOLD),
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
    let armed = if crate::guard::armed(app.layout(), app.state()) {
        "auto-rollback ARMED"
    } else {
        "auto-rollback off"
    };
    let mut first = vec![
        launch_name(app),
        Span::raw(format!("· {} · {} · ", phase_label(app), clock(app))),
        Span::styled(word, style),
    ];
    if app.read_only {
        first.push(Span::styled(" READ-ONLY", theme.fg(Hue::Info)));
    }
    let second = Line::from(format!(" {armed} · operator {}", app.actor));
    if app.presenter {
        draw_presenter_header(app, word, style, armed, f, area);
        return;
    }
    f.render_widget(Paragraph::new(vec![Line::from(first), second]), area);
}

fn launch_name(app: &View<'_>) -> Span<'static> {
    Span::styled(
        format!(" {} ", app.layout().launch.name),
        Style::default().add_modifier(Modifier::BOLD),
    )
}

/// `phase k/n Title`.
fn phase_label(app: &View<'_>) -> String {
    format!(
        "phase {}/{} {}",
        app.phase_index() + 1,
        app.layout().phases.len(),
        app.phase().title
    )
}

/// Rows the presenter header takes: big letters four rows tall, then one
/// line of context.
const PRESENTER_HEADER: u16 = 5;

/// For a shared screen: the verdict and the clock in big letters, readable
/// across a room or a shrunk video call; nothing that names a host or a
/// header value. The line under them carries the glyph and word too.
fn draw_presenter_header(
    app: &View<'_>,
    word: &str,
    style: Style,
    armed: &str,
    f: &mut Frame,
    area: Rect,
) {
    use tui_big_text::{BigText, PixelSize};
    let [big, info] = Split::vertical([Constraint::Length(4), Constraint::Length(1)]).areas(area);
    // The word without its glyph: the 8×8 font has letters, not ✔ ✘.
    let verdict = word.split_once(' ').map_or(word, |(_, w)| w).to_string();
    let time = big_clock(app);
    let chars = |s: &str| s.chars().count() as u16;
    let (verdict_w, clock_w) = (chars(&verdict), chars(&time));
    // Each 8×8 glyph is 8 columns wide in half-height pixels, 4 in
    // quadrants: the verdict gets the larger size when it fits, the clock
    // whatever room is left, else it joins the line below.
    let size = |w: u16, room: u16| {
        if w * 8 + 2 <= room {
            Some((PixelSize::HalfHeight, 8))
        } else if w * 4 + 2 <= room {
            Some((PixelSize::Quadrant, 4))
        } else {
            None
        }
    };
    let (pixel, per_char) = size(verdict_w, big.width).unwrap_or((PixelSize::Quadrant, 4));
    let [left, right] = Split::horizontal([
        Constraint::Length(verdict_w * per_char + 2),
        Constraint::Min(0),
    ])
    .areas(big);
    let clock_size = size(clock_w, right.width);
    let show_clock = clock_size.is_some();
    let strong = style.add_modifier(Modifier::BOLD);
    f.render_widget(
        BigText::builder()
            .pixel_size(pixel)
            .style(strong)
            .lines(vec![Line::from(verdict)])
            .build(),
        left,
    );
    if let Some((pixel, _)) = clock_size {
        f.render_widget(
            BigText::builder()
                .pixel_size(pixel)
                .style(Style::default().add_modifier(Modifier::BOLD))
                .right_aligned()
                .lines(vec![Line::from(time)])
                .build(),
            right,
        );
    }
    let mut spans = vec![
        Span::styled(format!(" {word} "), strong.add_modifier(Modifier::REVERSED)),
        launch_name(app),
        Span::raw(format!("· {} · {armed}", phase_label(app))),
    ];
    if !show_clock {
        spans.push(Span::raw(format!(" · {}", clock(app))));
    }
    if app.read_only {
        spans.push(Span::raw(" · READ-ONLY"));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), info);
}

/// The clock in big letters: T-/T+ when the launch has a T0, else the
/// UTC time of day.
fn big_clock(app: &View<'_>) -> String {
    countdown(app).unwrap_or_else(|| app.now.format("%H:%M:%S").to_string())
}

fn draw_timeline(app: &View<'_>, theme: &Theme, f: &mut Frame, area: Rect) {
    let current = app.phase_index();
    let mut spans = vec![Span::raw(" ")];
    for (i, p) in app.layout().phases.iter().enumerate() {
        let (mark, style) = match i.cmp(&current) {
            // Left past gates that were not GO: waived, never shown as passed.
            std::cmp::Ordering::Less if app.state().waivers.contains_key(&p.id) => {
                ("⚠ WAIVED", theme.fg(Hue::Waived))
            }
            std::cmp::Ordering::Less => ("✔", theme.fg(Hue::Go)),
            std::cmp::Ordering::Equal => (
                "▶",
                Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED),
            ),
            std::cmp::Ordering::Greater => ("·", Style::default()),
        };
        spans.push(Span::styled(format!("{mark} {}", p.title), style));
        if i + 1 < app.layout().phases.len() {
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
    app: &View<'_>,
    theme: &Theme,
    judged: &[crate::gate::Judgement],
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

/// For presenter mode: `text` with URLs, IP addresses and `host:port`s
/// replaced, so a shared screen does not show where things run. Words
/// are judged with their surrounding punctuation (quotes, brackets, a
/// trailing colon or comma) set aside.
pub(crate) fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    fn hidden(word: &str) -> Option<&'static str> {
        let core = word.trim_matches(|c: char| "\"'()[]<>{},;".contains(c));
        let core = core.trim_end_matches([':', '.']);
        if core.contains("://") {
            return Some("‹url›");
        }
        let (host, port) = match core.rsplit_once(':') {
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, true),
            _ => (core, false),
        };
        let labels: Vec<&str> = host.split('.').collect();
        let ipv4 = labels.len() == 4
            && labels
                .iter()
                .all(|l| !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()));
        let named = port
            && (host == "localhost"
                || (labels.len() >= 2
                    && labels.iter().all(|l| {
                        !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    })));
        (ipv4 || named).then_some("‹host›")
    }
    if !text.split(' ').any(|w| hidden(w).is_some()) {
        return std::borrow::Cow::Borrowed(text);
    }
    let words: Vec<String> = text
        .split(' ')
        .map(|w| match hidden(w) {
            Some(mark) => {
                let lead: String = w.chars().take_while(|c| "\"'([<{".contains(*c)).collect();
                let trail: String = w
                    .chars()
                    .rev()
                    .take_while(|c| "\"')]>},;:".contains(*c))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("{lead}{mark}{trail}")
            }
            None => w.to_string(),
        })
        .collect();
    std::borrow::Cow::Owned(words.join(" "))
}

/// What the screen may show of `text` from outside (an endpoint, a
/// command, an operator): cleaned of escape sequences and secrets
/// ([`crate::text::clean`]), and on a shared screen without URLs and hosts.
fn shown<'a>(app: &View<'_>, text: &'a str) -> std::borrow::Cow<'a, str> {
    let clean = crate::text::clean(text);
    if !app.presenter {
        return clean;
    }
    match clean {
        std::borrow::Cow::Borrowed(t) => redact(t),
        std::borrow::Cow::Owned(t) => std::borrow::Cow::Owned(redact(&t).into_owned()),
    }
}

/// Greedy word wrap into at most `max_lines` lines of `width` columns;
/// the last line ends in `…` when text is left over.
fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        loop {
            let need = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
            if need <= width {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if line.is_empty() {
                // A word longer than the column: cut it.
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                lines.push(head);
                if word.is_empty() {
                    break;
                }
            } else {
                lines.push(std::mem::take(&mut line));
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            let keep: String = last.chars().take(width.saturating_sub(1)).collect();
            *last = format!("{keep}…");
        }
    }
    lines
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

fn draw_signoffs(app: &View<'_>, theme: &Theme, f: &mut Frame, area: Rect) {
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

/// The `[screen]` rows of the layout: each row a share of the height,
/// its panes side by side.
fn draw_custom(
    app: &View<'_>,
    theme: &Theme,
    judged: &[crate::gate::Judgement],
    screen: &crate::layout::Screen,
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
pub(crate) fn draw_pane(
    app: &View<'_>,
    theme: &Theme,
    judged: &[crate::gate::Judgement],
    pane: &crate::layout::Pane,
    f: &mut Frame,
    area: Rect,
) {
    use crate::layout::Pane;
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
        let latest = app.board().latest(i).map_or_else(
            || "no data yet".to_string(),
            |x| match &x.outcome {
                crate::signal::Outcome::Number(v) => s.unit.format(*v),
                crate::signal::Outcome::Health { up, detail, .. } => {
                    format!("{} ({detail})", if *up { "up" } else { "down" })
                }
                crate::signal::Outcome::Checklist(c) => format!("{}/{} done", c.done(), c.total()),
                crate::signal::Outcome::Unknown(r) => format!("? {r}"),
            },
        );
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

fn draw_checklist(app: &View<'_>, theme: &Theme, id: Option<&str>, f: &mut Frame, area: Rect) {
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
fn draw_log(app: &View<'_>, f: &mut Frame, area: Rect) {
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
fn draw_output(app: &View<'_>, f: &mut Frame, area: Rect) {
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

fn draw_status(app: &View<'_>, theme: &Theme, f: &mut Frame, area: Rect) {
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

fn draw_keys(app: &View<'_>, judged: &[crate::gate::Judgement], f: &mut Frame, area: Rect) {
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
    let keys = if app.read_only {
        " READ-ONLY viewer · ? help · tab focus · j/k move · p presenter · q quit"
    } else if !app.state().started() {
        " a start · h hold · r rollback · d arm · n note · space check · ? help · q quit"
    } else {
        " a advance · A override · s sign · x revoke · h hold · r rollback · d arm · n note · space check · ? help · q quit"
    };
    f.render_widget(
        Paragraph::new(keys).style(Style::default().add_modifier(Modifier::DIM)),
        area,
    );
}

/// The demo's guide: the one thing to try next, read off the launch as it
/// stands, so a first-time viewer walks the rollout without the README.
fn demo_next_step(app: &View<'_>, judged: &[crate::gate::Judgement]) -> String {
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
    (
        "a",
        "advance to the next phase (on a launch NOT STARTED: start it)",
    ),
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
    (
        "L",
        "adopt the edited layout file (owners only; journaled with the diff)",
    ),
    ("space", "check / uncheck the selected checklist item"),
    ("tab", "focus the next pane"),
    ("j k ↑ ↓", "move; in the output pane, scroll"),
    (
        "PgUp PgDn",
        "scroll the output pane a page; End follows new output",
    ),
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

fn draw_prompt(app: &View<'_>, kind: &PromptKind, input: &str, f: &mut Frame, area: Rect) {
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
    text.push(Line::from(format!("> {}▏", crate::text::clean(input))));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        r,
    );
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    #[test]
    fn presenter_redacts_urls_and_hosts() {
        use super::redact;
        assert_eq!(
            redact("cannot connect to http://10.0.0.5:8080/healthz: refused"),
            "cannot connect to ‹url›: refused"
        );
        assert_eq!(
            redact("db (db1.prod.internal:5432) and 192.168.1.20 down"),
            "db (‹host›) and ‹host› down"
        );
        assert_eq!(redact("'localhost:9090',"), "'‹host›',");
        // Not hosts: versions, ratios, clock times, plain words.
        for keep in [
            "v2.1 at 14:00:05 with 0.5% errors",
            "error_rate < 1% for 20s",
            "1.2.3",
        ] {
            assert_eq!(redact(keep), keep);
        }
    }

    #[test]
    fn reasons_wrap_on_words_and_say_when_cut() {
        use super::wrap;
        assert_eq!(
            wrap("passing for 8s of 20s; 12s to go", 14, 3),
            ["passing for 8s", "of 20s; 12s to", "go"]
        );
        assert_eq!(wrap("abcdefghij", 4, 3), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("one two three four", 3, 2), ["one", "tw…"]);
        assert!(wrap("", 10, 3).is_empty());
        assert_eq!(wrap("x", 0, 1), ["x"]);
    }

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
