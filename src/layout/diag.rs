//! Layout errors as the operator reads them: `file:line:col: message`.
//!
//! Every validation problem becomes one [`Diagnostic`]; the loader collects
//! all of them before giving up, so one `validate` run shows everything
//! wrong with a layout instead of making the operator fix errors one by one.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a layout file, located to the character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters (not bytes).
    pub col: usize,
    pub message: String,
    /// A suggestion such as ``did you mean `every`?``.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn at(file: &Path, src: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, col) = line_col(src, offset);
        Diagnostic {
            file: file.to_path_buf(),
            line,
            col,
            message: message.into(),
            hint: None,
        }
    }

    #[must_use]
    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// All the problems found in one layout, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// 1-based line and character column of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(src, offset.min(src.len()));
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// ``did you mean `x`?`` when a known name is close enough to what was typed.
pub fn did_you_mean<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    known
        .into_iter()
        .map(|k| {
            let mut score = strsim::jaro_winkler(typed, k);
            // One slip (a swapped, missing or extra letter) in a name of 3+
            // letters: `fro` for `for`, which Jaro-Winkler scores low.
            if k.chars().count() >= 3 && strsim::osa_distance(typed, k) <= 1 {
                score = score.max(0.85);
            }
            (score, k)
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("did you mean `{k}`?"))
}

/// Collects diagnostics for one source file.
pub(crate) struct Sink<'s> {
    pub file: &'s Path,
    pub src: &'s str,
    pub errors: Vec<Diagnostic>,
}

impl<'s> Sink<'s> {
    pub fn new(file: &'s Path, src: &'s str) -> Self {
        Sink {
            file,
            src,
            errors: Vec::new(),
        }
    }

    pub fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        self.error_hint(span, message, None);
    }

    /// The span of byte `offset` of a string value's text, when the value
    /// is written without escapes up to there (so the column points at the
    /// very character); otherwise the whole value's span.
    pub fn inside(&self, span: &Range<usize>, text: &str, offset: usize) -> Range<usize> {
        let Some(raw) = self.src.get(span.clone()) else {
            return span.clone();
        };
        let Some(delim) = ["\"\"\"", "'''", "\"", "'"]
            .into_iter()
            .find(|d| raw.starts_with(d))
        else {
            return span.clone();
        };
        let mut body_start = delim.len();
        if delim.len() == 3 {
            // A newline right after `"""` is not part of the text.
            let body = &raw[body_start..];
            if body.starts_with("\r\n") {
                body_start += 2;
            } else if body.starts_with('\n') {
                body_start += 1;
            }
        }
        match text.get(..offset) {
            Some(prefix) if raw[body_start..].starts_with(prefix) => {
                let at = span.start + body_start + offset;
                at..at + 1
            }
            _ => span.clone(),
        }
    }

    pub fn error_hint(
        &mut self,
        span: &Range<usize>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        // Messages quote what the operator wrote; a newline or escape code in
        // there must not break the one-line-per-error output.
        let message = one_line(&message.into());
        let hint = hint.map(|h| one_line(&h));
        self.errors
            .push(Diagnostic::at(self.file, self.src, span.start, message).with_hint(hint));
    }
}

/// Control characters shown escaped (`\n`, `\u{1b}`), everything else as is.
fn one_line(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let src = "a = 1\nnamé = \"x\"\n";
        let off = src.find('=').unwrap();
        assert_eq!(line_col(src, off), (1, 3));
        let off2 = src.rfind('=').unwrap();
        assert_eq!(line_col(src, off2), (2, 6));
    }

    #[test]
    fn quoted_control_characters_stay_on_one_line() {
        let src = "every = \"5\\nm\"\n";
        let mut sink = Sink::new(Path::new("x.toml"), src);
        sink.error(&(8..14), "`every` is not a duration: `5\nm`\u{1b}[31m");
        let shown = sink.errors[0].to_string();
        assert_eq!(
            shown,
            "x.toml:1:9: `every` is not a duration: `5\\nm`\\u{1b}[31m"
        );
    }

    #[test]
    fn suggestions_only_when_close() {
        assert_eq!(
            did_you_mean("evry", ["every", "url", "kind"]),
            Some("did you mean `every`?".into())
        );
        assert_eq!(did_you_mean("zzz", ["every", "url"]), None);
        assert_eq!(
            did_you_mean("fro", ["for", "name", "signal"]),
            Some("did you mean `for`?".into())
        );
    }
}
