//! Shaping outside text for the screen: what may be shown of it
//! ([`shown`]: cleaned, and redacted of URLs and hosts in presenter mode)
//! and how it fits a column ([`wrap`]: on words, ending in `…` when cut).
//! Every pane draws outside text through these, so none forgets to.

use std::borrow::Cow;

use crate::ui::app::View;

/// For presenter mode: `text` with URLs, IP addresses and `host:port`s
/// replaced, so a shared screen does not show where things run. Words
/// are judged with their surrounding punctuation (quotes, brackets, a
/// trailing colon or comma) set aside.
fn redact(text: &str) -> Cow<'_, str> {
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
        return Cow::Borrowed(text);
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
    Cow::Owned(words.join(" "))
}

/// What the screen may show of `text` from outside (an endpoint, a
/// command, an operator): cleaned of escape sequences and secrets
/// ([`crate::text::clean`]), and on a shared screen without URLs and hosts.
pub(super) fn shown<'a>(app: &View<'_>, text: &'a str) -> Cow<'a, str> {
    let clean = crate::text::clean(text);
    if !app.presenter {
        return clean;
    }
    match clean {
        Cow::Borrowed(t) => redact(t),
        Cow::Owned(t) => Cow::Owned(redact(&t).into_owned()),
    }
}

/// Greedy word wrap into at most `max_lines` lines of `width` columns;
/// the last line ends in `…` when text is left over.
pub(super) fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
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

/// `lines` in `height` rows: when there are more, the last row says how
/// many more there are instead of cutting them off silently.
pub(super) fn with_more<'a>(
    mut lines: Vec<ratatui::text::Line<'a>>,
    height: usize,
    width: usize,
) -> Vec<ratatui::text::Line<'a>> {
    if lines.len() > height && height > 0 {
        let more = lines.len() - (height - 1);
        lines.truncate(height - 1);
        let note = format!("+{more} more lines…");
        lines.push(ratatui::text::Line::from(
            crate::text::cut_to(&note, width).into_owned(),
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::{redact, wrap};

    #[test]
    fn presenter_redacts_urls_and_hosts() {
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
        assert_eq!(
            wrap("passing for 8s of 20s; 12s to go", 14, 3),
            ["passing for 8s", "of 20s; 12s to", "go"]
        );
        assert_eq!(wrap("abcdefghij", 4, 3), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("one two three four", 3, 2), ["one", "tw…"]);
        assert!(wrap("", 10, 3).is_empty());
        assert_eq!(wrap("x", 0, 1), ["x"]);
    }
}
