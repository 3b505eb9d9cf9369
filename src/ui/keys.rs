//! The one key map: every key of the screen's normal mode, what it does,
//! when it may, and how the help overlay and the key bar name it.
//!
//! [`MAP`] feeds all three readers of the keys — the key handler
//! ([`lookup`], in `app.rs`), the help overlay ([`help_lines`]) and the key
//! bar ([`bar`]) — so a key cannot be bound without a help line, nor shown
//! in the bar without being bound. Typed prompts read their keys as text
//! and are not part of the map.

use crossterm::event::KeyCode;
use crossterm::event::KeyCode::{Char, Down, End, PageDown, PageUp, Tab, Up};

/// What a key asks the screen to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Help,
    /// Advance to the next phase; on a launch not started, start it.
    Advance,
    /// Advance past gates that are not GO (a typed reason).
    Override,
    Sign,
    Revoke,
    /// Hold (a typed reason), or resume when held.
    Hold,
    Rollback,
    /// Arm or disarm auto-rollback (a typed reason).
    Arm,
    Note,
    /// Adopt the edited layout file.
    Adopt,
    /// Check or uncheck the selected checklist item.
    CheckItem,
    FocusNext,
    /// Down a row; in a scrolling pane, towards the newest line.
    Down,
    /// Up a row; in a scrolling pane, back from the newest line.
    Up,
    PageUp,
    PageDown,
    /// In a scrolling pane: follow the newest line again.
    Follow,
    Presenter,
    /// Demo only: inject or clear a fault in the demo service.
    DemoFault,
    Quit,
}

/// When a key does something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// Only in `gonogo demo`; elsewhere the key is not bound.
    Demo,
    /// It changes the launch: a read-only screen refuses it, saying
    /// "cannot {verb}: this screen is read-only".
    Mutating(&'static str),
}

/// A binding's line in the help overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Help {
    /// Its own line: the keys as named there, and what they do.
    Line(&'static str, &'static str),
    /// Described on the line of the binding above (`j k ↑ ↓`: one line for
    /// down and up).
    Above,
}

/// Where the key bar shows a binding: the key as shown there and its word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bar {
    /// Not in the key bar; the help overlay has it.
    No,
    /// On the read-only viewer's bar.
    Viewer(&'static str, &'static str),
    /// On an operator's bar: the word before the launch starts (`None`:
    /// not shown then), and the word once it has.
    Operator(&'static str, Option<&'static str>, &'static str),
    /// On every bar: among the viewer's keys, after an operator's.
    Every(&'static str, &'static str),
}

/// One entry of the key map.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys that fire it (modifiers aside: `A` is `A`).
    pub keys: &'static [KeyCode],
    pub action: Action,
    pub when: When,
    pub help: Help,
    pub bar: Bar,
}

/// Every key of normal mode, in the help overlay's order.
pub const MAP: &[Binding] = &[
    Binding {
        keys: &[Char('?')],
        action: Action::Help,
        when: When::Always,
        help: Help::Line("?", "this help (any key closes it)"),
        bar: Bar::Every("?", "help"),
    },
    Binding {
        keys: &[Char('a')],
        action: Action::Advance,
        when: When::Mutating("advance"),
        help: Help::Line(
            "a",
            "advance to the next phase (on a launch NOT STARTED: start it)",
        ),
        bar: Bar::Operator("a", Some("start"), "advance"),
    },
    Binding {
        keys: &[Char('A')],
        action: Action::Override,
        when: When::Mutating("advance"),
        help: Help::Line(
            "A",
            "advance past gates that are not GO (typed reason, recorded as a waiver)",
        ),
        bar: Bar::Operator("A", None, "override"),
    },
    Binding {
        keys: &[Char('s')],
        action: Action::Sign,
        when: When::Mutating("sign"),
        help: Help::Line("s", "sign off the current phase for your role"),
        bar: Bar::Operator("s", None, "sign"),
    },
    Binding {
        keys: &[Char('x')],
        action: Action::Revoke,
        when: When::Mutating("revoke"),
        help: Help::Line("x", "revoke your sign-off"),
        bar: Bar::Operator("x", None, "revoke"),
    },
    Binding {
        keys: &[Char('h')],
        action: Action::Hold,
        when: When::Mutating("hold"),
        help: Help::Line("h", "hold (typed reason) / resume"),
        bar: Bar::Operator("h", Some("hold"), "hold"),
    },
    Binding {
        keys: &[Char('r')],
        action: Action::Rollback,
        when: When::Mutating("roll back"),
        help: Help::Line("r", "roll back (type the confirm word)"),
        bar: Bar::Operator("r", Some("rollback"), "rollback"),
    },
    Binding {
        keys: &[Char('d')],
        action: Action::Arm,
        when: When::Mutating("arm or disarm"),
        help: Help::Line("d", "arm / disarm auto-rollback (typed reason)"),
        bar: Bar::Operator("d", Some("arm"), "arm"),
    },
    Binding {
        keys: &[Char('n')],
        action: Action::Note,
        when: When::Mutating("note"),
        help: Help::Line("n", "add a note to the record"),
        bar: Bar::Operator("n", Some("note"), "note"),
    },
    Binding {
        keys: &[Char('L')],
        action: Action::Adopt,
        when: When::Mutating("adopt the layout"),
        help: Help::Line(
            "L",
            "adopt the edited layout file (owners only; journaled with the diff)",
        ),
        bar: Bar::No,
    },
    Binding {
        keys: &[Char(' ')],
        action: Action::CheckItem,
        when: When::Mutating("check an item"),
        help: Help::Line("space", "check / uncheck the selected checklist item"),
        bar: Bar::Operator("space", Some("check"), "check"),
    },
    Binding {
        keys: &[Tab],
        action: Action::FocusNext,
        when: When::Always,
        help: Help::Line("tab", "focus the next pane"),
        bar: Bar::Viewer("tab", "focus"),
    },
    Binding {
        keys: &[Char('j'), Down],
        action: Action::Down,
        when: When::Always,
        help: Help::Line("j k ↑ ↓", "move; in the output pane, scroll"),
        bar: Bar::Viewer("j/k", "move"),
    },
    Binding {
        keys: &[Char('k'), Up],
        action: Action::Up,
        when: When::Always,
        help: Help::Above,
        bar: Bar::No,
    },
    Binding {
        keys: &[PageUp],
        action: Action::PageUp,
        when: When::Always,
        help: Help::Line(
            "PgUp PgDn",
            "scroll the output pane a page; End follows new output",
        ),
        bar: Bar::No,
    },
    Binding {
        keys: &[PageDown],
        action: Action::PageDown,
        when: When::Always,
        help: Help::Above,
        bar: Bar::No,
    },
    Binding {
        keys: &[End],
        action: Action::Follow,
        when: When::Always,
        help: Help::Above,
        bar: Bar::No,
    },
    Binding {
        keys: &[Char('p')],
        action: Action::Presenter,
        when: When::Always,
        help: Help::Line("p", "presenter mode"),
        bar: Bar::Viewer("p", "presenter"),
    },
    Binding {
        keys: &[Char('f')],
        action: Action::DemoFault,
        when: When::Demo,
        help: Help::Line("f", "demo only: inject / clear a fault in the demo service"),
        bar: Bar::No,
    },
    Binding {
        keys: &[Char('q')],
        action: Action::Quit,
        when: When::Always,
        help: Help::Line("q", "quit"),
        bar: Bar::Every("q", "quit"),
    },
];

/// The binding `code` fires in normal mode, if any (`f` only in the demo).
pub fn lookup(code: KeyCode, demo: bool) -> Option<&'static Binding> {
    MAP.iter()
        .filter(|b| demo || b.when != When::Demo)
        .find(|b| b.keys.contains(&code))
}

/// The help overlay's lines: the keys as named, and what they do.
pub fn help_lines() -> impl Iterator<Item = (&'static str, &'static str)> {
    MAP.iter().filter_map(|b| match b.help {
        Help::Line(keys, what) => Some((keys, what)),
        Help::Above => None,
    })
}

/// The key bar's entries for this screen, in order: each binding shown and
/// its (key, word). A viewer sees what it may use; an operator the acts,
/// then help and quit.
pub fn bar(read_only: bool, started: bool) -> Vec<(&'static Binding, &'static str, &'static str)> {
    let shown = |b: &'static Binding| match b.bar {
        Bar::No => None,
        Bar::Viewer(key, word) | Bar::Every(key, word) => read_only.then_some((b, key, word)),
        Bar::Operator(key, before, after) if !read_only => {
            let word = if started { Some(after) } else { before };
            word.map(|w| (b, key, w))
        }
        Bar::Operator(..) => None,
    };
    let mut entries: Vec<_> = MAP.iter().filter_map(shown).collect();
    if !read_only {
        entries.extend(MAP.iter().filter_map(|b| match b.bar {
            Bar::Every(key, word) => Some((b, key, word)),
            _ => None,
        }));
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action there is: the match fails to compile when one is added
    /// and not listed here.
    fn every_action() -> Vec<Action> {
        use Action::*;
        let all = vec![
            Help, Advance, Override, Sign, Revoke, Hold, Rollback, Arm, Note, Adopt, CheckItem,
            FocusNext, Down, Up, PageUp, PageDown, Follow, Presenter, DemoFault, Quit,
        ];
        for a in &all {
            match a {
                Help | Advance | Override | Sign | Revoke | Hold | Rollback | Arm | Note
                | Adopt | CheckItem | FocusNext | Down | Up | PageUp | PageDown | Follow
                | Presenter | DemoFault | Quit => {}
            }
        }
        all
    }

    /// How the help overlay would name one key.
    fn name(code: KeyCode) -> String {
        match code {
            Char(' ') => "space".into(),
            Char(c) => c.to_string(),
            Tab => "tab".into(),
            Down => "↓".into(),
            Up => "↑".into(),
            PageUp => "PgUp".into(),
            PageDown => "PgDn".into(),
            End => "End".into(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn every_action_is_bound_once_and_has_a_help_line() {
        for action in every_action() {
            let bound: Vec<_> = MAP.iter().filter(|b| b.action == action).collect();
            assert_eq!(bound.len(), 1, "{action:?} is bound {} times", bound.len());
        }
        assert!(matches!(MAP[0].help, Help::Line(..)));
        // Each key is named on its binding's help line (or the line above).
        let mut line = ("", "");
        for b in MAP {
            if let Help::Line(keys, what) = b.help {
                line = (keys, what);
            }
            for &k in b.keys {
                let n = name(k);
                assert!(
                    line.0.split(' ').any(|w| w == n) || line.1.contains(&n),
                    "{n} ({:?}) is not named on its help line {line:?}",
                    b.action
                );
            }
        }
    }

    #[test]
    fn no_key_fires_two_actions() {
        for (i, b) in MAP.iter().enumerate() {
            for k in b.keys {
                for other in &MAP[i + 1..] {
                    assert!(
                        !other.keys.contains(k),
                        "{k:?} is bound to {:?} and {:?}",
                        b.action,
                        other.action
                    );
                }
            }
        }
    }

    #[test]
    fn the_key_bar_shows_only_keys_the_handler_takes() {
        for read_only in [false, true] {
            for started in [false, true] {
                let entries = bar(read_only, started);
                assert!(!entries.is_empty());
                for (b, key, word) in entries {
                    assert!(!word.is_empty());
                    // The key shown is one the handler looks up, and it
                    // finds this very binding.
                    let code = b.keys[0];
                    assert!(key.starts_with(&name(code)), "{key} for {:?}", b.action);
                    let found = lookup(code, false).map(|f| f.action);
                    assert_eq!(found, Some(b.action), "{key}");
                    // A viewer's bar offers nothing it would refuse.
                    if read_only {
                        assert!(!matches!(b.when, When::Mutating(_)), "{key}");
                    }
                }
            }
        }
    }

    #[test]
    fn demo_keys_are_bound_only_in_the_demo() {
        assert!(lookup(Char('f'), false).is_none());
        assert_eq!(
            lookup(Char('f'), true).map(|b| b.action),
            Some(Action::DemoFault)
        );
    }
}
