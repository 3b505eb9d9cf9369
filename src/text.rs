//! Text gonogo did not write itself — operators' notes and reasons,
//! endpoints' bodies and errors, commands' output — on its way to a
//! terminal, a file, the journal or another program (SPEC §5).
//!
//! Two dangers, one gate:
//!
//! - **Terminal injection.** A note, an endpoint's error or a command's
//!   output may carry escape sequences: `ESC ] 52 ; c ; … BEL` writes the
//!   reader's clipboard, CSI sequences move the cursor or clear the screen,
//!   the C1 forms (U+009B for CSI, U+009D for OSC) do the same in one
//!   character, and bidi overrides (U+202E) make text read differently from
//!   what it says. [`clean`] removes every escape sequence whole (not only
//!   its ESC byte, so no `]52;c;…` remnant is left), every other control
//!   character (C0, DEL, C1) and the invisible bidi and zero-width
//!   characters.
//! - **Secrets.** A value that came from `${VAR}` (a header's token, a
//!   password in a URL) may be echoed back by an endpoint (a Prometheus 400
//!   quoting the `Authorization` header) or by a command (one that prints
//!   its environment). [`clean`] replaces every such value, and its
//!   percent-encoded and JSON-escaped forms, with [`REDACTED`].
//!
//! The set of secrets is process-wide ([`Secrets::install`]): filled from
//! the layout's templates once the layout and its variables are known
//! (`Secrets::from_layout`, beside the templates in `layout/secrets.rs`), and
//! by [`remember`] whenever a template is expanded (a layout edited live may
//! name new variables). A value stays secret for the life of the process.
//!
//! Values shorter than [`MIN_SECRET_CHARS`] are never redacted: replacing
//! every `1`, `eu` or `200` would wreck every number and word on screen,
//! and a secret that short protects nothing anyway.
//!
//! Both happen at the source (every sample a probe returns, every line and
//! tail of a command) and again at every sink (the printers of `check`,
//! `watch`, `log` and the acts, the screen, notifications), so a path one
//! of them misses is still covered by the other. Cleaning is idempotent.
//!
//! Why not `strip-ansi-escapes`: it drops tabs, works on bytes rather than
//! `&str`, and leaves the UTF-8 encoded C1 introducers (U+009B, U+009D) to
//! the parser's mood. The state machine here is small and says what it does.
//!
//! Two text primitives live here too, so that this module depends on
//! nothing else in gonogo and everything may depend on it: [`cut`] quotes
//! what was typed in a message (at most [`QUOTE_CHARS`]), and
//! [`percent_encode`] puts a `${VAR}` value into a URL — one of the forms
//! a secret is then looked for in.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::{PoisonError, RwLock};

/// What a secret is replaced with.
pub const REDACTED: &str = "‹redacted›";

/// Values shorter than this (in characters) are not redacted; see the
/// module header.
pub const MIN_SECRET_CHARS: usize = 4;

/// One line of outside text, safe to print: escape sequences and control
/// characters removed (tab, CR and LF become spaces), bidi and zero-width
/// characters removed, secrets redacted.
pub fn clean(s: &str) -> Cow<'_, str> {
    tidy(s, Mode::Line)
}

/// Like [`clean`], for text of several lines (a command's output tail, a
/// whole report): line feeds and tabs are kept, a CR before a LF is
/// dropped, a lone CR (which would let a line overwrite itself) too.
pub fn clean_block(s: &str) -> Cow<'_, str> {
    tidy(s, Mode::Block)
}

/// `s` with every installed secret replaced by [`REDACTED`]; nothing else
/// changed.
pub fn redact(s: &str) -> Cow<'_, str> {
    installed().redact(s)
}

/// Makes `value` a secret for the rest of the process (with its encoded
/// forms). Cheap when it already is one.
pub fn remember(value: &str) {
    if !Secrets::worth_hiding(value) {
        return;
    }
    {
        let set = installed();
        if set.values.iter().chain(&set.public).any(|v| v == value) {
            return;
        }
    }
    let mut set = INSTALLED.write().unwrap_or_else(PoisonError::into_inner);
    set.add(value);
}

/// Serialized JSON with every string in it cleaned (newlines kept, as
/// `\n`), leaving the layout of the document as it was. Text that is not
/// JSON is cleaned as a block.
pub fn clean_json(json: &str) -> Cow<'_, str> {
    let needs = json.chars().any(|c| c == '\\' || !is_plain(c, Mode::Block))
        || !installed().needles.is_empty();
    if !needs {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..start]);
        let body = &rest[start + 1..];
        // The closing quote: the first one not escaped by a backslash.
        let mut end = None;
        let mut escaped = false;
        for (i, b) in body.bytes().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            return Cow::Owned(clean_block(json).into_owned());
        };
        let literal = &rest[start..start + end + 2];
        match serde_json::from_str::<String>(literal) {
            Ok(s) => {
                let cleaned = clean_block(&s);
                match serde_json::to_string(cleaned.as_ref()) {
                    Ok(q) => out.push_str(&q),
                    Err(_) => out.push_str("\"\""),
                }
            }
            Err(_) => return Cow::Owned(clean_block(json).into_owned()),
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Cow::Owned(clean_block(&out).into_owned())
}

/// How many bytes at the end of `bytes` could be the start of a secret
/// (a proper prefix of one), at most `max`: a stream cut there would split
/// the secret, so the caller carries them over to the next piece.
pub fn unfinished_secret(bytes: &[u8], max: usize) -> usize {
    let set = installed();
    let mut keep = 0;
    for needle in &set.needles {
        let n = needle.as_bytes();
        let longest = (n.len() - 1).min(bytes.len()).min(max);
        for k in (keep + 1..=longest).rev() {
            if bytes.ends_with(&n[..k]) {
                keep = k;
                break;
            }
        }
    }
    keep
}

/// The length in bytes of the longest installed secret form.
pub fn longest_secret() -> usize {
    installed().needles.first().map_or(0, String::len)
}

/// A set of secret values and the forms they may be echoed in.
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    /// The values as given.
    values: Vec<String>,
    /// Every form to replace, longest first (so a value's longer encoded
    /// form is replaced before the value inside it).
    needles: Vec<String>,
    /// Values known to be no secret ([`publish`]): never added.
    public: Vec<String>,
}

static INSTALLED: RwLock<Secrets> = RwLock::new(Secrets {
    values: Vec::new(),
    needles: Vec::new(),
    public: Vec::new(),
});

/// Declares `value` no secret for the rest of the process, even when a
/// `${VAR}` supplies it: an address gonogo made and prints itself (the
/// demo service on 127.0.0.1) is the operator's to see. Presenter mode
/// still hides URLs and hosts on a shared screen.
pub fn publish(value: &str) {
    let mut set = INSTALLED.write().unwrap_or_else(PoisonError::into_inner);
    set.public.push(value.to_string());
    let values = std::mem::take(&mut set.values);
    set.needles.clear();
    for v in values.iter().filter(|v| *v != value) {
        set.add(v);
    }
}

fn installed() -> std::sync::RwLockReadGuard<'static, Secrets> {
    INSTALLED.read().unwrap_or_else(PoisonError::into_inner)
}

impl Secrets {
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// Adds these secrets to the process-wide set every [`clean`] uses.
    pub fn install(self) {
        let mut set = INSTALLED.write().unwrap_or_else(PoisonError::into_inner);
        for v in &self.values {
            set.add(v);
        }
    }

    fn worth_hiding(value: &str) -> bool {
        value.trim().chars().count() >= MIN_SECRET_CHARS
            // It would be found again inside its own replacement.
            && !REDACTED.contains(value)
    }

    /// Adds `value` and its encoded forms (unless it is too short to hide).
    pub fn add(&mut self, value: &str) {
        if !Self::worth_hiding(value)
            || self.values.iter().any(|v| v == value)
            || self.public.iter().any(|v| v == value)
        {
            return;
        }
        self.values.push(value.to_string());
        for form in forms(value) {
            if !self.needles.contains(&form) && !REDACTED.contains(form.as_str()) {
                self.needles.push(form);
            }
        }
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `s` with every form of every secret replaced by [`REDACTED`].
    pub fn redact<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let mut out: Cow<'a, str> = Cow::Borrowed(s);
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = Cow::Owned(out.replace(n.as_str(), REDACTED));
            }
        }
        out
    }
}

/// Percent-encodes every byte but the unreserved ones of RFC 3986
/// (`A-Z a-z 0-9 - . _ ~`), so the value is one opaque piece of a URL
/// wherever it lands: path segment, query name or value, fragment.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The longest value quoted in a message, in characters: enough to
/// recognise it, never a megabyte of it.
pub const QUOTE_CHARS: usize = 60;

/// `s` cut to [`QUOTE_CHARS`] characters, ending in `…` when cut.
pub fn cut(s: &str) -> Cow<'_, str> {
    cut_to(s, QUOTE_CHARS)
}

/// `s` cut to `max` characters, ending in `…` when cut.
pub fn cut_to(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some(_) => {
            let end = s
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(0, |(i, _)| i);
            Cow::Owned(format!("{}…", &s[..end]))
        }
    }
}

/// The forms a value may be echoed in: as is, percent-encoded (both hex
/// cases, and form-encoded with `+` for spaces), JSON-escaped (with `\/`
/// and with `\uXXXX` for non-ASCII, as some encoders write them).
fn forms(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    let pct = percent_encode(value);
    out.push(lower_hex(&pct));
    out.push(pct);
    out.push(form_encode(value));
    for ascii in [false, true] {
        let json = json_escape(value, ascii);
        out.push(json.replace('/', "\\/"));
        out.push(json);
    }
    out.dedup();
    out
}

/// `%2F` → `%2f`, leaving the text between escapes alone.
fn lower_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut left = 0;
    for c in s.chars() {
        if c == '%' {
            left = 2;
            out.push(c);
        } else if left > 0 {
            left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `application/x-www-form-urlencoded`, as a query built by a form or by
/// `url`'s `query_pairs_mut` encodes it.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// The inside of a JSON string literal for `s`.
fn json_escape(s: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || (ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Line,
    Block,
}

/// Redacts, strips, and redacts again: a secret split by an escape
/// sequence is whole once the sequence is gone.
fn tidy(s: &str, mode: Mode) -> Cow<'_, str> {
    let secrets = installed();
    match secrets.redact(s) {
        Cow::Borrowed(_) => match strip(s, mode) {
            Cow::Borrowed(_) => Cow::Borrowed(s),
            Cow::Owned(stripped) => Cow::Owned(secrets.redact(&stripped).into_owned()),
        },
        Cow::Owned(redacted) => {
            let stripped = strip(&redacted, mode);
            Cow::Owned(secrets.redact(&stripped).into_owned())
        }
    }
}

/// Characters that pass [`strip`] untouched.
fn is_plain(c: char, mode: Mode) -> bool {
    if c == '\n' || c == '\t' {
        return mode == Mode::Block;
    }
    !c.is_control() && !is_invisible(c)
}

/// Bidi controls and zero-width characters: invisible, and able to make
/// text read differently from what it says. (The zero-width joiners that
/// emoji and some scripts need are kept.)
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Where [`strip`] is in an escape sequence.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seq {
    Ground,
    /// After ESC.
    Esc,
    /// ESC, then intermediates (`ESC ( B`, `ESC # 8`).
    EscInter,
    /// CSI parameters and intermediates, until a final byte.
    Csi,
    /// An OSC, DCS, SOS, PM or APC string, until BEL or ST.
    Str,
    /// ESC inside a string: `\` ends it (ST).
    StrEsc,
}

/// Removes escape sequences whole (CSI, OSC, DCS, SOS, PM, APC; 7-bit and
/// C1 forms), other control characters and invisible characters. A line
/// feed, CAN or SUB ends any sequence, as does the end of the text: an
/// unterminated OSC never swallows the lines after it.
fn strip(s: &str, mode: Mode) -> Cow<'_, str> {
    if s.chars().all(|c| is_plain(c, mode)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut seq = Seq::Ground;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '\n' | '\u{18}' | '\u{1a}') {
            seq = Seq::Ground;
        }
        seq = step(seq, c, &mut out, mode, chars.peek().copied());
    }
    Cow::Owned(out)
}

fn step(seq: Seq, c: char, out: &mut String, mode: Mode, next: Option<char>) -> Seq {
    match seq {
        Seq::Ground => match c {
            '\u{1b}' => Seq::Esc,
            '\u{9b}' => Seq::Csi,
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => Seq::Str,
            _ => {
                emit(c, out, mode, next);
                Seq::Ground
            }
        },
        Seq::Esc => match c {
            '[' => Seq::Csi,
            ']' | 'P' | 'X' | '^' | '_' => Seq::Str,
            ' '..='/' => Seq::EscInter,
            '0'..='~' => Seq::Ground,
            _ => step(Seq::Ground, c, out, mode, next),
        },
        Seq::EscInter => match c {
            ' '..='/' => Seq::EscInter,
            '0'..='~' => Seq::Ground,
            _ => step(Seq::Ground, c, out, mode, next),
        },
        Seq::Csi => match c {
            '0'..='?' | ' '..='/' => Seq::Csi,
            '@'..='~' => Seq::Ground,
            '\u{1b}' => Seq::Esc,
            // A terminal would act on a C0 control here and carry on.
            c if c.is_control() && u32::from(c) < 0x20 => Seq::Csi,
            _ => step(Seq::Ground, c, out, mode, next),
        },
        Seq::Str => match c {
            '\u{7}' | '\u{9c}' => Seq::Ground,
            '\u{1b}' => Seq::StrEsc,
            _ => Seq::Str,
        },
        Seq::StrEsc => match c {
            '\\' => Seq::Ground,
            _ => step(Seq::Esc, c, out, mode, next),
        },
    }
}

/// Writes one character outside any sequence.
fn emit(c: char, out: &mut String, mode: Mode, next: Option<char>) {
    match (c, mode) {
        ('\t' | '\n', Mode::Block) => out.push(c),
        ('\t' | '\n', Mode::Line) => out.push(' '),
        ('\r', Mode::Line) if next != Some('\n') => out.push(' '),
        _ if c.is_control() || is_invisible(c) => {}
        _ => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAD: &[char] = &[
        '\u{1b}', '\u{7}', '\u{9b}', '\u{9d}', '\u{202e}', '\u{2066}',
    ];

    #[test]
    fn escape_sequences_go_whole() {
        assert_eq!(clean("a\x1b]52;c;aGk=\x07b"), "ab");
        assert_eq!(clean("a\x1b]0;title\x1b\\b"), "ab");
        assert_eq!(clean("\x1b[31mred\x1b[0m done"), "red done");
        assert_eq!(clean("x\u{9b}2Jy"), "xy");
        assert_eq!(clean("x\u{9d}52;c;aGk=\u{9c}y"), "xy");
        assert_eq!(clean("x\x1bP+q544e\x1b\\y"), "xy");
        assert_eq!(clean("x\x1b(By\x1b7z"), "xyz");
        assert_eq!(clean("a\u{202e}b\u{2066}c\u{200b}d\u{feff}"), "abcd");
        assert_eq!(clean("a\x7fb\u{85}c\x00d"), "abcd");
        // Joiners that emoji and scripts need stay.
        assert_eq!(clean("👨\u{200d}👩"), "👨\u{200d}👩");
    }

    #[test]
    fn a_published_value_is_shown_whatever_names_it() {
        // Installed first (the layout's variables), then published, then
        // expanded again: never redacted from then on.
        let url = "http://127.0.0.1:47123";
        remember(url);
        assert_eq!(
            redact(&format!("GET {url}/healthz")),
            format!("GET {REDACTED}/healthz")
        );
        publish(url);
        remember(url);
        assert_eq!(
            redact(&format!("GET {url}/healthz")),
            format!("GET {url}/healthz")
        );
        // Other secrets stay secret.
        remember("s3cr3t-token-for-publish-test");
        assert_eq!(redact("s3cr3t-token-for-publish-test"), REDACTED);
    }

    #[test]
    fn lines_and_blocks() {
        assert_eq!(clean("a\tb\nc\r\nd\re"), "a b c d e");
        assert_eq!(clean_block("a\tb\nc\r\nd\re"), "a\tb\nc\nde");
        // An unterminated OSC ends at the line break, not the end of text.
        assert_eq!(clean_block("one\x1b]52;c;aGk=\ntwo"), "one\ntwo");
        assert_eq!(clean("tail\x1b]0;never ends"), "tail");
        // A lone ESC before text does not eat a multi-byte character.
        assert_eq!(clean("\x1bé"), "é");
    }

    #[test]
    fn plain_text_is_borrowed_and_cleaning_is_idempotent() {
        assert!(matches!(clean("GO 12.5 ms ✔"), Cow::Borrowed(_)));
        for s in [
            "a\x1b]52;c;aGk=\x07b",
            "\u{9b}\u{9b}x\x1b\x1b[m",
            "\x1b\\\x1b]\x07",
            "ok",
        ] {
            let once = clean(s).into_owned();
            assert_eq!(clean(&once), once, "{s:?}");
            assert!(!once.contains(BAD), "{s:?} → {once:?}");
        }
    }

    #[test]
    fn secrets_and_their_encodings_are_redacted() {
        let mut s = Secrets::new();
        s.add("s3cr3t/tok en&x=é");
        s.add("abc"); // too short to hide
        s.add("redacted"); // inside the marker itself
        let r = |t: &str| s.redact(t).into_owned();
        assert_eq!(r("Bearer s3cr3t/tok en&x=é!"), "Bearer ‹redacted›!");
        assert_eq!(r("q=s3cr3t%2Ftok%20en%26x%3D%C3%A9"), "q=‹redacted›");
        assert_eq!(r("q=s3cr3t%2ftok%20en%26x%3d%c3%a9"), "q=‹redacted›");
        assert_eq!(r("q=s3cr3t%2Ftok+en%26x%3D%C3%A9"), "q=‹redacted›");
        assert_eq!(
            r(r#"{"a":"s3cr3t\/tok en&x=\u00e9"}"#),
            r#"{"a":"‹redacted›"}"#
        );
        assert_eq!(r("abc 123 redacted"), "abc 123 redacted");
    }

    #[test]
    fn json_strings_are_cleaned_in_place() {
        let json = r#"{"note": "a\u001b]52;c;aGk=\u0007b", "n": 1, "q": "say \"hi\"\n"}"#;
        assert_eq!(
            clean_json(json),
            r#"{"note": "ab", "n": 1, "q": "say \"hi\"\n"}"#
        );
        let c1 = "{\"x\": \"\u{9b}31mred \u{202e}txt\"}";
        assert_eq!(clean_json(c1), r#"{"x": "red txt"}"#);
        assert_eq!(clean_json("not json \x1b[2J"), "not json ");
    }

    #[test]
    fn percent_and_form_encoding() {
        assert_eq!(form_encode("a b&c~"), "a+b%26c%7E");
        assert_eq!(json_escape("é\"\u{1}", true), "\\u00e9\\\"\\u0001");
    }
}
