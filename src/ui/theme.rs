//! Colours by meaning, at the depth the terminal says it has.
//!
//! Hues are the Okabe–Ito set (bluish green, vermillion, yellow, sky blue,
//! reddish purple, orange), told apart under the common colour-vision
//! deficiencies; and every state also carries a glyph and a word, so
//! nothing rests on colour alone.

use ratatui::style::{Color, Style};

/// How many colours the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// `NO_COLOR` or `TERM=dumb`: attributes (bold, reverse) only.
    None,
    /// Terminals known to lack the 256-colour palette (the Linux console).
    Ansi16,
    Ansi256,
    /// Only when `COLORTERM` says `truecolor` or `24bit`.
    TrueColor,
}

impl Depth {
    /// Reads the depth from the environment (`env` looks a variable up).
    pub fn detect(env: impl Fn(&str) -> Option<String>) -> Depth {
        let term = env("TERM").unwrap_or_default();
        if env("NO_COLOR").is_some_and(|v| !v.is_empty()) || term == "dumb" {
            return Depth::None;
        }
        if matches!(
            env("COLORTERM")
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("truecolor" | "24bit")
        ) {
            return Depth::TrueColor;
        }
        // Consoles whose terminfo has 8 or 16 colours; everything else in
        // use today (xterm*, tmux*, screen*, rxvt*, …) has 256.
        if matches!(
            term.as_str(),
            "linux" | "vt100" | "vt102" | "vt220" | "ansi" | "cons25" | "sun"
        ) {
            return Depth::Ansi16;
        }
        Depth::Ansi256
    }
}

/// What a colour says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hue {
    Go,
    NoGo,
    Unknown,
    Pending,
    Stale,
    /// Waived gates, ROLLED BACK.
    Waived,
    Hold,
    /// Badges such as READ-ONLY.
    Info,
}

impl Hue {
    /// (truecolor, nearest xterm-256 index, 16-colour fallback).
    fn shades(self) -> ((u8, u8, u8), u8, Color) {
        match self {
            Hue::Go => ((0x00, 0x9E, 0x73), 36, Color::Green),
            Hue::NoGo => ((0xD5, 0x5E, 0x00), 166, Color::Red),
            Hue::Unknown => ((0xF0, 0xE4, 0x42), 221, Color::Yellow),
            Hue::Pending => ((0x56, 0xB4, 0xE9), 74, Color::Cyan),
            Hue::Stale => ((0x8A, 0x8A, 0x8A), 245, Color::DarkGray),
            Hue::Waived => ((0xCC, 0x79, 0xA7), 175, Color::Magenta),
            Hue::Hold => ((0xE6, 0x9F, 0x00), 178, Color::Yellow),
            Hue::Info => ((0x56, 0xB4, 0xE9), 74, Color::Cyan),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub depth: Depth,
}

impl Theme {
    pub fn color(&self, hue: Hue) -> Option<Color> {
        let ((r, g, b), indexed, named) = hue.shades();
        match self.depth {
            Depth::None => None,
            Depth::Ansi16 => Some(named),
            Depth::Ansi256 => Some(Color::Indexed(indexed)),
            Depth::TrueColor => Some(Color::Rgb(r, g, b)),
        }
    }

    /// Foreground in `hue`; plain under [`Depth::None`].
    pub fn fg(&self, hue: Hue) -> Style {
        match self.color(hue) {
            Some(c) => Style::default().fg(c),
            None => Style::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(vars: &[(&str, &str)]) -> Depth {
        Depth::detect(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_string())
        })
    }

    #[test]
    fn depth_follows_the_environment() {
        assert_eq!(detect(&[("TERM", "xterm-256color")]), Depth::Ansi256);
        assert_eq!(detect(&[("TERM", "screen")]), Depth::Ansi256);
        assert_eq!(detect(&[]), Depth::Ansi256);
        assert_eq!(
            detect(&[("TERM", "xterm-256color"), ("COLORTERM", "truecolor")]),
            Depth::TrueColor
        );
        assert_eq!(detect(&[("COLORTERM", "24bit")]), Depth::TrueColor);
        // Some terminals set COLORTERM to their own name: not a promise.
        assert_eq!(
            detect(&[("TERM", "xterm"), ("COLORTERM", "gnome-terminal")]),
            Depth::Ansi256
        );
        assert_eq!(detect(&[("TERM", "linux")]), Depth::Ansi16);
        assert_eq!(
            detect(&[
                ("TERM", "xterm-256color"),
                ("COLORTERM", "truecolor"),
                ("NO_COLOR", "1")
            ]),
            Depth::None
        );
        // NO_COLOR counts only when non-empty (no-color.org).
        assert_eq!(detect(&[("NO_COLOR", "")]), Depth::Ansi256);
        assert_eq!(
            detect(&[("TERM", "dumb"), ("COLORTERM", "truecolor")]),
            Depth::None
        );
    }

    #[test]
    fn each_depth_paints_in_its_own_kind_of_colour() {
        let at = |depth| Theme { depth }.color(Hue::NoGo);
        assert_eq!(at(Depth::None), None);
        assert_eq!(at(Depth::Ansi16), Some(Color::Red));
        assert_eq!(at(Depth::Ansi256), Some(Color::Indexed(166)));
        assert_eq!(at(Depth::TrueColor), Some(Color::Rgb(0xD5, 0x5E, 0x00)));
    }
}
