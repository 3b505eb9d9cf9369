//! The header and the phase timeline: the launch's name, phase k/n, the
//! T-/T+ clock and the overall verdict in glyph and word (big letters in
//! presenter mode), then every phase in order. Kept apart because it is
//! the one region that reads the launch state as a whole.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::gate::{State, Verdict};
use crate::ui::app::View;
use crate::ui::theme::{Hue, Theme};

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

pub(super) fn draw_header(app: &View<'_>, theme: &Theme, v: Verdict, f: &mut Frame, area: Rect) {
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
            Verdict::Pending => (
                "… PENDING",
                theme.state(State::Pending).add_modifier(Modifier::BOLD),
            ),
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
pub(super) const PRESENTER_HEADER: u16 = 5;

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

pub(super) fn draw_timeline(app: &View<'_>, theme: &Theme, f: &mut Frame, area: Rect) {
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
