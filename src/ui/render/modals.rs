//! What opens over the screen: the help overlay (every key, from the key
//! map) and the typed prompts (reason, note, sign-as, the rollback confirm
//! word), each naming exactly what will happen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::text::wrap;

use crate::ui::app::{Mode, PromptKind, View};
use crate::ui::keys;

pub(super) fn draw(app: &View<'_>, f: &mut Frame, area: Rect) {
    match &app.mode {
        Mode::Help => draw_help(f, area),
        Mode::Prompt(p) => draw_prompt(app, &p.kind, &p.input, f, area),
        Mode::Normal => {}
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

/// Every key from the key map the handler reads, what it does wrapped
/// under itself rather than cut at the box's edge.
fn draw_help(f: &mut Frame, area: Rect) {
    const KEYS: usize = 10;
    let w = area.width.min(78);
    let room = usize::from(w.saturating_sub(2)).saturating_sub(KEYS + 1);
    let mut lines: Vec<Line> = Vec::new();
    for (k, what) in keys::help_lines() {
        for (n, part) in wrap(what, room, usize::MAX).into_iter().enumerate() {
            let key = if n == 0 { k } else { "" };
            lines.push(Line::from(format!(" {key:<KEYS$}{part}")));
        }
    }
    let inner = usize::from(area.height.saturating_sub(2));
    if lines.len() > inner {
        lines.truncate(inner.saturating_sub(1));
        lines.push(Line::from(" … (a taller terminal shows every key)"));
    }
    let r = centered(area, w, lines.len() as u16 + 2);
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
        PromptKind::Quit => (
            " Quit? ",
            format!(
                "This screen may be the launch's only guard: quitting stops auto-rollback and the hold triggers. Keep one running with `gonogo watch {}` in another pane.\nType `quit` and Enter to close; Esc keeps the screen.",
                app.layout().path.display()
            ),
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
    let w = area.width.min(70);
    let room = usize::from(w.saturating_sub(2));
    let mut text: Vec<Line> = explain
        .lines()
        .flat_map(|l| wrap(l, room, usize::MAX))
        .map(Line::from)
        .collect();
    // The input line always shows: what explains it gives way, saying so.
    let most = usize::from(area.height.saturating_sub(4)).max(1);
    if text.len() > most {
        text.truncate(most - 1);
        text.push(Line::from("…"));
    }
    text.push(Line::from(""));
    // The end of what was typed stays in view, however long it gets.
    let input = crate::text::clean(input);
    let typed: Vec<char> = input.chars().collect();
    let fits = room.saturating_sub(4).max(1);
    let tail: String = if typed.len() > fits {
        std::iter::once('…')
            .chain(typed[typed.len() + 1 - fits..].iter().copied())
            .collect()
    } else {
        input.into_owned()
    };
    text.push(Line::from(format!("> {tail}▏")));
    let h = (text.len() as u16 + 2).max(7);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(title)),
        r,
    );
}
