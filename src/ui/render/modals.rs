//! What opens over the screen: the help overlay (every key, from the key
//! map) and the typed prompts (reason, note, sign-as, the rollback confirm
//! word), each naming exactly what will happen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

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

/// Every key, one line each, from the key map the handler reads.
fn draw_help(f: &mut Frame, area: Rect) {
    let lines: Vec<Line> = keys::help_lines()
        .map(|(k, what)| Line::from(format!(" {k:<8} {what}")))
        .collect();
    let r = centered(area, 78, lines.len() as u16 + 2);
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
