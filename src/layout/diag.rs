//! Layout errors as the operator reads them: `file:line:col: message`.
//!
//! Every validation problem becomes one [`Diagnostic`]; the loader collects
//! all of them before giving up, so one `validate` run shows everything
//! wrong with a layout instead of making the operator fix errors one by one.

use std::cell::OnceCell;
use std::collections::BinaryHeap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::text::cut_to;
pub use crate::text::{QUOTE_CHARS, cut};

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

/// Messages and hints are cut at this many characters, whatever they quote.
const MAX_MESSAGE_CHARS: usize = 400;

/// Errors shown for one layout; past this, one line says how many more.
/// (A layout with thousands of errors is one mistake repeated: the first
/// ones tell the operator what it is.)
pub const MAX_SHOWN: usize = 500;

/// Names compared in did-you-mean suggestions, over a whole validation:
/// enough for every typo in a hand-written layout, and a bound on the work
/// for a generated one with thousands of names and thousands of typos.
const SUGGESTION_BUDGET: usize = 100_000;

/// Names longer than this are never suggested or matched (no id is that
/// long, and comparing long strings costs their product).
const MAX_SUGGESTED_LEN: usize = 64;

/// ``did you mean `x`?`` when a known name is close enough to what was typed.
pub fn did_you_mean<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    if typed.len() > MAX_SUGGESTED_LEN {
        return None;
    }
    known
        .into_iter()
        .filter(|k| k.len() <= MAX_SUGGESTED_LEN)
        .map(|k| (likeness(typed, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("did you mean `{k}`?"))
}

fn likeness(typed: &str, known: &str) -> f64 {
    let mut score = strsim::jaro_winkler(typed, known);
    // One slip (a swapped, missing or extra letter) in a name of 3+
    // letters: `fro` for `for`, which Jaro-Winkler scores low.
    if known.chars().count() >= 3 && strsim::osa_distance(typed, known) <= 1 {
        score = score.max(0.85);
    }
    score
}

/// An error waiting for its line and column, which are worked out for all
/// errors at once, in one pass over the text, when validation finishes.
#[derive(Debug, PartialEq, Eq)]
struct Pending {
    offset: usize,
    /// Order of reporting: errors at one place keep it.
    seq: usize,
    message: String,
    hint: Option<String>,
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.offset, self.seq).cmp(&(other.offset, other.seq))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Collects diagnostics for one source file.
///
/// Linear whatever the input: errors get their line and column in one
/// sweep at the end (not a scan from the top each), only the first
/// [`MAX_SHOWN`] in file order are kept, and suggestions share one budget.
pub(crate) struct Sink<'s> {
    pub file: &'s Path,
    pub src: &'s str,
    /// The first errors in file order: a max-heap, so the last one is the
    /// one dropped when there are too many.
    kept: BinaryHeap<Pending>,
    /// Errors reported, kept or not.
    reported: usize,
    /// Where the first error not kept is.
    first_dropped: Option<usize>,
    /// Byte offsets of every `\n`, built on first use.
    newlines: OnceCell<Vec<usize>>,
    suggestions_left: usize,
}

impl<'s> Sink<'s> {
    pub fn new(file: &'s Path, src: &'s str) -> Self {
        Sink {
            file,
            src,
            kept: BinaryHeap::new(),
            reported: 0,
            first_dropped: None,
            newlines: OnceCell::new(),
            suggestions_left: SUGGESTION_BUDGET,
        }
    }

    pub fn is_clean(&self) -> bool {
        self.reported == 0
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
        self.reported += 1;
        let offset = span.start.min(self.src.len());
        if self.kept.len() >= MAX_SHOWN
            && self.kept.peek().is_some_and(|last| last.offset <= offset)
        {
            self.dropped(offset);
            return;
        }
        // Messages quote what the operator wrote; a newline or escape code in
        // there must not break the one-line-per-error output, nor a
        // megabyte-long value make a megabyte-long line.
        let message = cut_to(&one_line(&message.into()), MAX_MESSAGE_CHARS).into_owned();
        let hint = hint.map(|h| cut_to(&one_line(&h), MAX_MESSAGE_CHARS).into_owned());
        self.kept.push(Pending {
            offset,
            seq: self.reported,
            message,
            hint,
        });
        if self.kept.len() > MAX_SHOWN
            && let Some(last) = self.kept.pop()
        {
            self.dropped(last.offset);
        }
    }

    fn dropped(&mut self, offset: usize) {
        self.first_dropped = Some(self.first_dropped.map_or(offset, |o| o.min(offset)));
    }

    /// The 1-based line of a byte offset, without scanning from the top.
    pub fn line_of(&self, offset: usize) -> usize {
        let newlines = self.newlines.get_or_init(|| {
            self.src
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect()
        });
        newlines.partition_point(|&nl| nl < offset) + 1
    }

    /// ``did you mean `x`?`` as [`did_you_mean`], within the budget shared
    /// by the whole validation.
    pub fn suggest<'a>(
        &mut self,
        typed: &str,
        known: impl IntoIterator<Item = &'a str>,
    ) -> Option<String> {
        if typed.len() > MAX_SUGGESTED_LEN || self.suggestions_left == 0 {
            return None;
        }
        let left = &mut self.suggestions_left;
        let known = known.into_iter().take_while(|_| {
            let go = *left > 0;
            *left = left.saturating_sub(1);
            go
        });
        did_you_mean(typed, known)
    }

    /// Every error kept, in file order, located; and one line saying how
    /// many more there are, if any.
    pub fn finish(self) -> Diagnostics {
        let mut sweep = Sweep {
            src: self.src,
            pos: 0,
            line: 1,
            col: 1,
        };
        let mut out: Vec<Diagnostic> = Vec::with_capacity(self.kept.len() + 1);
        for p in self.kept.into_sorted_vec() {
            let (line, col) = sweep.to(p.offset);
            out.push(Diagnostic {
                file: self.file.to_path_buf(),
                line,
                col,
                message: p.message,
                hint: p.hint,
            });
        }
        let shown = out.len();
        out.dedup();
        if let Some(at) = self.first_dropped {
            let more = self.reported - shown;
            let (line, col) = sweep.to(at);
            out.push(Diagnostic {
                file: self.file.to_path_buf(),
                line,
                col,
                message: format!(
                    "{more} more error{} from here on, not shown",
                    if more == 1 { "" } else { "s" }
                ),
                hint: Some("fix the ones above and validate again".into()),
            });
        }
        Diagnostics(out)
    }
}

/// Line and column of ascending offsets, in one pass over the text.
struct Sweep<'s> {
    src: &'s str,
    pos: usize,
    line: usize,
    col: usize,
}

impl Sweep<'_> {
    fn to(&mut self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.src, offset.min(self.src.len()));
        if offset < self.pos {
            return line_col(self.src, offset);
        }
        let chunk = &self.src[self.pos..offset];
        match chunk.rfind('\n') {
            Some(last) => {
                self.line += chunk.bytes().filter(|b| *b == b'\n').count();
                self.col = chunk[last + 1..].chars().count() + 1;
            }
            None => self.col += chunk.chars().count(),
        }
        self.pos = offset;
        (self.line, self.col)
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
        let shown = sink.finish().0[0].to_string();
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
