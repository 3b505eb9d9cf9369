//! What opens over the screen: the help overlay (every key) and the
//! typed prompts (reason, note, sign-as, the rollback confirm word), each
//! naming exactly what will happen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::ui::app::{App, Mode, PromptKind};

pub(super) fn draw(app: &App, f: &mut Frame, area: Rect) {
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

const HELP: &[(&str, &str)] = &[
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
    text.push(Line::from(format!("> {}▏", crate::text::clean(input))));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        r,
    );
}
