//! The header and the phase timeline: the launch's name, phase k/n, the
//! T-/T+ clock and the overall verdict in glyph and word (big letters in
//! presenter mode), then every phase in order with the time in the
//! current one; in the demo, the demo service's address. Kept apart because it is
//! the one region that reads the launch state as a whole.

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::shown;
use crate::gate::{State, Verdict};
use crate::text::cut_to;
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
    let armed = armed_words(app);
    let armed = armed.as_str();
    if app.presenter {
        draw_presenter_header(app, word, style, armed, f, area);
        return;
    }
    let width = usize::from(area.width);
    // The verdict is what the header is for: the launch's name and the
    // phase's title give way to it, each ending in `…` when cut.
    let label = phase_label(app);
    let clock = clock(app);
    let read_only = if app.read_only { " READ-ONLY" } else { "" };
    let offline = if app.journal_offline.is_some() {
        " JOURNAL OFFLINE"
    } else {
        ""
    };
    // This machine's clock off the journal server's: judged on the
    // server's time, but the operator should know (and fix NTP).
    let skew = crate::clock::badge()
        .map(|b| format!(" {b}"))
        .unwrap_or_default();
    let fixed = [" ", " · ", " · ", " · ", word, read_only, offline, &skew]
        .iter()
        .chain([&*clock].iter())
        .map(|s| s.chars().count())
        .sum::<usize>();
    let name = &app.layout().launch.name;
    let (name, label) = share(name, &label, width.saturating_sub(fixed));
    let mut first = vec![
        Span::styled(
            format!(" {name} "),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("· {label} · {clock} · ")),
        Span::styled(word, style),
    ];
    if app.read_only {
        first.push(Span::styled(read_only, theme.fg(Hue::Info)));
    }
    if app.journal_offline.is_some() {
        first.push(Span::raw(" "));
        first.push(Span::styled(
            offline.trim_start(),
            theme
                .state(State::NoGo)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ));
    }
    if !skew.is_empty() {
        first.push(Span::raw(" "));
        first.push(Span::styled(
            skew.trim_start().to_string(),
            theme.state(State::Unknown).add_modifier(Modifier::BOLD),
        ));
    }
    let mut second = format!(" {armed}");
    // Why the journal is gone, first: what the operator can and cannot do
    // depends on it.
    if let Some(why) = &app.journal_offline {
        second = format!(
            " journal offline: {} · acts refused, rollback runs and is spooled · {armed}",
            shown(app, why)
        );
    }
    // A launch that may not proceed says why, beside the word that says
    // so: never a bare ROLLED BACK or HOLD.
    if let Some(rb) = &app.state().rolled_back {
        second.push_str(&format!(" · by {}: {}", rb.by, shown(app, &rb.reason)));
    } else if let Some(h) = &app.state().hold {
        second.push_str(&format!(" · held by {}: {}", h.by, shown(app, &h.reason)));
    }
    second.push_str(&format!(" · operator {}", app.actor));
    if let Some(url) = &app.demo {
        // The demo service is the operator's own, on 127.0.0.1: where to
        // send a fault by hand, beside the `f` key.
        second.push_str(&format!(" · demo service {url}"));
        let curl = format!(" · curl -X POST {url}/faults/errors?rate=0.05");
        if second.chars().count() + curl.chars().count() <= width {
            second.push_str(&curl);
        }
    }
    let second = Line::from(cut_to(&second, width).into_owned());
    f.render_widget(Paragraph::new(vec![Line::from(first), second]), area);
}

/// `a` and `b` in `room` columns together: each whole when both fit, else
/// `b` keeps at least half (it says where the launch is), `a` the rest.
fn share<'a>(a: &'a str, b: &'a str, room: usize) -> (Cow<'a, str>, Cow<'a, str>) {
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la + lb <= room {
        return (Cow::Borrowed(a), Cow::Borrowed(b));
    }
    let keep_b = lb.min((room / 2).max(room.saturating_sub(la)));
    (cut_to(a, room - keep_b), cut_to(b, keep_b))
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
    // The verdict whole; the context after it ends in `…` when cut.
    let mut rest = format!(
        " {} · {} · {armed}",
        app.layout().launch.name,
        phase_label(app)
    );
    if !show_clock {
        rest.push_str(&format!(" · {}", clock(app)));
    }
    if app.read_only {
        rest.push_str(" · READ-ONLY");
    }
    if app.journal_offline.is_some() {
        rest.push_str(" · JOURNAL OFFLINE");
    }
    if let Some(b) = crate::clock::badge() {
        rest.push_str(&format!(" · {b}"));
    }
    let verdict = format!(" {word} ");
    let room = usize::from(info.width).saturating_sub(verdict.chars().count());
    let spans = vec![
        Span::styled(verdict, strong.add_modifier(Modifier::REVERSED)),
        Span::raw(cut_to(&rest, room).into_owned()),
    ];
    f.render_widget(Paragraph::new(Line::from(spans)), info);
}

/// The clock in big letters: T-/T+ when the launch has a T0, else the
/// UTC time of day.
fn big_clock(app: &View<'_>) -> String {
    countdown(app).unwrap_or_else(|| app.now.format("%H:%M:%S").to_string())
}

/// Every phase in order, the current one with the time spent in it,
/// running. When they do not all fit, the current and the last phase
/// always show, then the first and the current one's neighbours; the
/// rest are condensed to `…` (`✔ Preflight … ▶ Canary 50% 4m12s … · Full`).
pub(super) fn draw_timeline(app: &View<'_>, theme: &Theme, f: &mut Frame, area: Rect) {
    let current = app.phase_index();
    let phases = &app.layout().phases;
    let stayed = app
        .live
        .entered()
        .map(|at| crate::unit::format_seconds((app.now - at).to_std().unwrap_or_default()));
    let items: Vec<(String, Style)> = phases
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (mark, style) = match i.cmp(&current) {
                // Left past gates that were not GO: waived, never shown as
                // passed.
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
            let text = match (&stayed, i == current) {
                (Some(d), true) => format!("{mark} {} {d}", p.title),
                _ => format!("{mark} {}", p.title),
            };
            (text, style)
        })
        .collect();
    let room = usize::from(area.width).saturating_sub(1);
    let keep = condensed(&items, current, room);
    let mut spans = vec![Span::raw(" ")];
    let mut used = 0;
    let mut last_kept: Option<usize> = None;
    for (i, (text, style)) in items.iter().enumerate() {
        if !keep[i] {
            continue;
        }
        match last_kept {
            Some(k) => {
                spans.push(Span::raw(if k + 1 == i { " ─ " } else { " … " }));
                used += 3;
            }
            None if i > 0 => {
                spans.push(Span::raw("… "));
                used += 2;
            }
            None => {}
        }
        // Even the current and the last alone may be too wide: each then
        // ends in `…`, the current keeping the larger share.
        let left = room.saturating_sub(used);
        let text = cut_to(text, left);
        used += text.chars().count();
        spans.push(Span::styled(text.into_owned(), *style));
        last_kept = Some(i);
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Which phases the timeline shows in `room` columns (see
/// [`draw_timeline`]).
fn condensed(items: &[(String, Style)], current: usize, room: usize) -> Vec<bool> {
    let n = items.len();
    let width = |keep: &[bool]| {
        let mut w = 0;
        let mut prev = false;
        for (k, (text, _)) in items.iter().enumerate() {
            if keep[k] {
                // ` ─ ` or ` … ` between, `… ` before a first one cut.
                if prev {
                    w += 3;
                } else if k > 0 {
                    w += 2;
                }
                w += text.chars().count();
                prev = true;
            }
        }
        w
    };
    let mut keep = vec![true; n];
    if width(&keep) <= room {
        return keep;
    }
    keep = vec![false; n];
    keep[current] = true;
    keep[n - 1] = true;
    let mut wanted = vec![0];
    for d in 1..n {
        wanted.extend(
            [current.checked_sub(d), Some(current + d).filter(|&i| i < n)]
                .into_iter()
                .flatten(),
        );
    }
    for i in wanted {
        if keep[i] {
            continue;
        }
        keep[i] = true;
        if width(&keep) > room {
            keep[i] = false;
        }
    }
    keep
}

/// `auto-rollback ARMED`, `off`, or — when a rollback trigger cannot see
/// (its signal is UNKNOWN or stale) — `auto-rollback BLIND (signal: why)`:
/// armed on paper, but it cannot fire on what it does not see.
fn armed_words(app: &View<'_>) -> String {
    if !crate::guard::armed(app.layout(), app.state()) {
        return "auto-rollback off".into();
    }
    let blind = app.layout().rollback.as_ref().and_then(|rb| {
        rb.rollback_triggers().find_map(|(i, t)| {
            matches!(
                app.live.trigger_state(i),
                Some(crate::gate::TriggerState::Blind)
            )
            .then(|| {
                let why = app
                    .live
                    .judge_trigger(i, app.now)
                    .map(|j| j.reason)
                    .unwrap_or_default();
                let why = why.strip_prefix("blind: ").unwrap_or(&why);
                format!("{}: {}", t.signal_id, shown(app, why))
            })
        })
    });
    match blind {
        Some(b) => format!("auto-rollback BLIND ({b})"),
        None => "auto-rollback ARMED".into(),
    }
}
