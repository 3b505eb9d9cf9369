//! The layout file: a launch plan in TOML (SPEC §2).
//!
//! Loading is parse, then validate into a richer type: the `toml` crate
//! parses into a spanned tree, [`reader`] walks it strictly, and this module
//! turns it into a [`Layout`] whose ids are resolved and thresholds are in
//! their signal's unit. Every problem found is kept with its location, so a
//! broken layout is reported in full, in one go.

pub mod diag;
pub mod model;
mod reader;
mod secrets;
pub mod template;
pub mod trust;

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::{DeTable, DeValue};

pub use diag::{Diagnostic, Diagnostics};
pub use model::*;
pub use template::Template;

use diag::{Sink, cut};
use reader::{Table, Value, as_array, as_bool, as_integer, as_str, as_string_list, as_table};

use crate::unit::{Threshold, Unit};

const DEFAULT_EVERY: Duration = Duration::from_secs(5);
const MAX_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_ROLLBACK_TIMEOUT: Duration = Duration::from_secs(600);

/// What a duration key accepts, as the operator reads it in an error.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    /// The shortest accepted, if longer than zero, and how it is written.
    min: Option<(Duration, &'static str)>,
    max: Duration,
    max_text: &'static str,
    /// Why, in a few words, for the hint.
    why: &'static str,
}

/// One poll or one command: `every`, a signal's `timeout`, the rollback's
/// `timeout` — at most a day. A signal polled less often, or a command
/// allowed to run longer, is not launch-day work.
const POLL: Bounds = Bounds {
    min: None,
    max: Duration::from_secs(24 * 3600),
    max_text: "24h",
    why: "a poll or a command gets a day at most",
};

/// `every` is also at least 100 ms: polling faster would spin a core and
/// hammer the endpoint (the bar is 1,000 signals every second).
const EVERY: Bounds = Bounds {
    min: Some((Duration::from_millis(100), "100ms")),
    why: "a signal is polled at most 10 times a second and at least daily",
    ..POLL
};

/// A span of the launch: a `for` window, `stale_after`, `soak`, `timebox`
/// — at most 365 days; a launch plan is not longer than a year, so more is
/// a typo (`"1000d"` for `"100d"`).
///
/// Together the bounds keep every sum the engine makes small: the longest,
/// the history a signal keeps (`for + stale_after + every`), is about two
/// years, and `3 × every` is three days — far inside `Duration`, chrono's
/// `TimeDelta` (±292 million years), a `DateTime` (±262,000 years from
/// now) and `Instant::now() + d`, so none of them can overflow or panic.
const SPAN: Bounds = Bounds {
    min: None,
    max: Duration::from_secs(365 * 24 * 3600),
    max_text: "365d",
    why: "windows, staleness, soaks and timeboxes span a year at most",
};

/// Why a layout could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    Io(PathBuf, std::io::Error),
    /// Someone other than root or the operator can change the layout (or a
    /// directory above it), and layouts run commands: see [`trust`].
    Untrusted(Box<trust::Untrusted>),
    Invalid(Diagnostics),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io(p, e) => write!(f, "{}: cannot read layout: {e}", p.display()),
            LoadError::Untrusted(u) => u.fmt(f),
            LoadError::Invalid(d) => d.fmt(f),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads and validates a layout file — only a trusted one (see [`trust`]).
/// Every command loads its layout here, and so does the screen's live
/// reload.
pub fn load(path: &Path) -> Result<Layout, LoadError> {
    load_with_text(path).map(|(layout, _)| layout)
}

/// [`load`], and the very text that was checked and validated: what to
/// pin or digest, with no second read that could see another file.
pub fn load_with_text(path: &Path) -> Result<(Layout, String), LoadError> {
    let read = trust::read(path)?;
    let dir = anchor_dir(path, &read.real_path);
    let layout = validate(path, dir, &read.text).map_err(LoadError::Invalid)?;
    Ok((layout, read.text))
}

/// Where a loaded layout's relative paths resolve: the real directory of
/// the file the trust check covered, absolute. So `./rollback.sh` means
/// the script beside the layout whatever the working directory (and a
/// symlink in an open directory cannot make it mean one beside the link),
/// and the path shown is the path run.
fn anchor_dir(given: &Path, real: &Path) -> PathBuf {
    real.parent()
        .map_or_else(|| dir_of(given), Path::to_path_buf)
}

/// `id#digest`: what a signal's samples are recorded under. The digest
/// covers its whole definition (kind, URL, query, path, command, timing,
/// unit), so evidence taken for one definition never counts for another:
/// an adopt that changes a signal restarts its windows in every process.
fn signal_key(
    id: &str,
    probe: &Probe,
    timing: (Duration, Duration, Duration),
    unit: Unit,
) -> String {
    use sha2::Digest;
    let definition = format!("{probe:?}|{timing:?}|{unit:?}");
    let digest = sha2::Sha256::digest(definition.as_bytes());
    let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{id}#{short}")
}

/// What `validate` finds missing on this machine among the programs and
/// files `layout` names (read from `src`): each a `file:line:col` error
/// with the fix. A rollback script that is not there fails at the worst
/// moment; here it fails before the launch.
///
/// # Errors
/// The problems found.
pub fn check_needs(layout: &Layout, src: &str) -> Result<(), Diagnostics> {
    use std::os::unix::fs::PermissionsExt;
    let mut sink = Sink::new(&layout.path, src);
    for n in &layout.needs {
        if !n.program {
            if !Path::new(&n.what).is_file() {
                sink.error_hint(
                    &n.span,
                    format!("checklist file {} does not exist", n.what),
                    Some("create it, or fix `path`: a relative path is beside the layout".into()),
                );
            }
            continue;
        }
        let runnable = |p: &Path| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        };
        if n.what.contains('/') {
            let p = Path::new(&n.what);
            if !p.exists() {
                sink.error_hint(
                    &n.span,
                    format!("`{}` program {} does not exist", n.key, n.what),
                    Some("create it, or fix the path: a relative path is beside the layout".into()),
                );
            } else if !runnable(p) {
                sink.error_hint(
                    &n.span,
                    format!("`{}` program {} is not executable", n.key, n.what),
                    Some(format!("chmod +x {}", n.what)),
                );
            }
        } else {
            let found = std::env::var_os("PATH").is_some_and(|path| {
                std::env::split_paths(&path).any(|d| runnable(&d.join(&n.what)))
            });
            if !found {
                sink.error_hint(
                    &n.span,
                    format!("`{}` program {} is not on PATH", n.key, n.what),
                    Some("install it, or give its path: ./bin/… is beside the layout".into()),
                );
            }
        }
    }
    if sink.is_clean() {
        Ok(())
    } else {
        Err(sink.finish())
    }
}

/// The directory of a layout path as given (`.` for a bare file name).
fn dir_of(path: &Path) -> PathBuf {
    path.parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Validates layout text; `path` names it in errors and anchors relative paths.
pub fn parse(path: &Path, src: &str) -> Result<Layout, Diagnostics> {
    validate(path, dir_of(path), src)
}

fn validate(path: &Path, dir: PathBuf, src: &str) -> Result<Layout, Diagnostics> {
    let mut sink = Sink::new(path, src);
    if src.len() > trust::MAX_LAYOUT_BYTES {
        sink.error(
            &(0..0),
            format!(
                "the layout is {} KiB; a layout is at most {} KiB",
                src.len() / 1024,
                trust::MAX_LAYOUT_BYTES / 1024
            ),
        );
        return Err(sink.finish());
    }
    let (root, syntax) = DeTable::parse_recoverable(src);
    if !syntax.is_empty() {
        for e in syntax {
            let span = e.span().unwrap_or(0..0);
            let mut message = e.message().trim().replace('\n', "; ");
            if message == "duplicate key"
                && let Some(key) = src.get(span.clone()).map(str::trim)
                && !key.is_empty()
                && !key.contains('\n')
            {
                message = format!(
                    "duplicate key `{}`: each key may appear once per table",
                    cut(key)
                );
            }
            sink.error(&span, message);
        }
        return Err(sink.finish());
    }
    let root_span = root.span();
    let root = root.into_inner();
    let mut v = Validator {
        sink,
        dir,
        declared: Names::default(),
        phases_declared: Names::default(),
        signal_at: HashMap::new(),
        roles: None,
        depends_on: HashMap::new(),
        needs: Vec::new(),
    };
    let layout = v.layout(path, &root, root_span).map(|mut l| {
        use sha2::Digest;
        l.needs = std::mem::take(&mut v.needs);
        l.source = std::sync::Arc::from(src);
        l.source_digest = sha2::Sha256::digest(src.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        l
    });
    if v.sink.is_clean() {
        layout.ok_or_else(|| Diagnostics(Vec::new()))
    } else {
        Err(v.sink.finish())
    }
}

/// Names in the order written, with a set to look them up in constant
/// time: validation stays linear with thousands of them.
#[derive(Default)]
struct Names {
    order: Vec<String>,
    set: HashSet<String>,
}

impl Names {
    /// Adds `name`; false when it was already there.
    fn add(&mut self, name: &str) -> bool {
        let new = self.set.insert(name.to_string());
        if new {
            self.order.push(name.to_string());
        }
        new
    }

    fn has(&self, name: &str) -> bool {
        self.set.contains(name)
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }

    /// "declared phases: a, b, c" — the names to pick from, when none is close.
    fn list(&self, what: &str) -> Option<String> {
        let first: Vec<String> = self
            .order
            .iter()
            .take(8)
            .map(|n| format!("`{}`", diag::cut(n)))
            .collect();
        match self.order.len() {
            0 => None,
            1..=8 => Some(format!("declared {what}: {}", first.join(", "))),
            n => Some(format!(
                "declared {what}: {}, … ({n} in all)",
                first.join(", ")
            )),
        }
    }
}

struct Validator<'s> {
    sink: Sink<'s>,
    dir: PathBuf,
    /// Every signal id declared, valid or not: a gate naming a declared but
    /// broken signal is not reported again as "unknown signal".
    declared: Names,
    /// Every phase id declared, valid phase or not (same reason).
    phases_declared: Names,
    /// Valid signal id → index into the layout's signals.
    signal_at: HashMap<String, usize>,
    /// The roles `[roles]` defines, when it is there.
    roles: Option<Names>,
    /// Each valid signal's `depends_on` as written, resolved once every
    /// signal id is known.
    depends_on: HashMap<String, Vec<toml::Spanned<String>>>,
    /// Every program and file the layout names, where: what `validate`
    /// looks for on this machine.
    needs: Vec<Needed>,
}

/// A program (argv\[0\]) or a checklist file a layout names, and where.
#[derive(Debug, Clone)]
pub struct Needed {
    pub key: &'static str,
    /// As resolved: a path beside the layout, or a bare name for `PATH`.
    pub what: String,
    pub program: bool,
    pub span: Range<usize>,
}

/// A cycle through `start` by `depends_on`, as the path from `start` back
/// to it (`a → b → a`), if there is one.
fn cycle_from(signals: &[Signal], start: usize) -> Option<Vec<usize>> {
    // Depth-first with an explicit path; each signal is entered once.
    let mut seen = vec![false; signals.len()];
    let mut path = vec![start];
    let mut next = vec![0usize];
    seen[start] = true;
    while let (Some(&at), Some(k)) = (path.last(), next.last_mut()) {
        let Some(&d) = signals[at].depends_on.get(*k) else {
            path.pop();
            next.pop();
            continue;
        };
        *k += 1;
        if d == start {
            path.push(start);
            return Some(path);
        }
        if !seen[d] {
            seen[d] = true;
            path.push(d);
            next.push(0);
        }
    }
    None
}

/// Everything `i` depends on, post-order: a root comes before what
/// depends on it. The graph is acyclic here.
fn deepest_first(signals: &[Signal], i: usize, out: &mut Vec<usize>) {
    for &d in &signals[i].depends_on {
        if !out.contains(&d) {
            deepest_first(signals, d, out);
            out.push(d);
        }
    }
}

/// "a json", "an http".
/// "`key` fits KINDS signals; `id` is a KIND signal": a comparison on a
/// signal kind it does not apply to.
fn misfit(key: &str, kinds: &str, signal: &Signal) -> String {
    format!(
        "`{key}` fits {kinds} signals; `{}` is {} signal",
        cut(&signal.id),
        with_article(signal.kind())
    )
}

fn with_article(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) || word.starts_with("http") {
        "an"
    } else {
        "a"
    };
    format!("{article} {word}")
}

/// Whether a tls signal could check a certificate against this name.
fn rustls_name_ok(s: &str) -> bool {
    tokio_rustls::rustls::pki_types::ServerName::try_from(s).is_ok()
}

/// Whether a trigger, as written, says `then = "hold"` (valid or not
/// otherwise): counted apart from the rollback quorum.
fn is_hold_trigger(v: &DeValue<'_>) -> bool {
    let DeValue::Table(t) = v else {
        return false;
    };
    t.iter().any(|(k, v)| {
        k.get_ref() == "then" && matches!(v.get_ref(), DeValue::String(s) if s == "hold")
    })
}

/// The longest id: a launch id names its journal file (`ID.sqlite`, and
/// `.ID.sqlite.new-PID-RAND` while it is made), which must fit a file
/// name's 255 bytes; and every id is shown on a screen line.
const MAX_ID: usize = 64;

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Validator<'_> {
    fn layout(&mut self, path: &Path, root: &DeTable<'_>, span: Range<usize>) -> Option<Layout> {
        let mut top = Table::new(root, span.clone(), "the layout");
        let launch = match top.get("launch") {
            Some(v) => self.launch(v, path),
            None => {
                self.sink.error(
                    &(0..0),
                    "missing `[launch]` table (it needs at least `name`)",
                );
                None
            }
        };
        let roles = top.get("roles").and_then(|v| self.roles(v));
        self.roles = roles.as_ref().map(|r| {
            let mut names = Names::default();
            for (role, _) in r {
                names.add(role);
            }
            names
        });
        let signals = match top.get("signals") {
            Some(v) => self.signals(v),
            None => {
                self.sink.error(
                    &(0..0),
                    "missing `[signals]`: a launch needs at least one signal",
                );
                Vec::new()
            }
        };
        self.signal_at = signals
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        let mut signals = signals;
        self.dependencies(&mut signals);
        let phases = match top.get("phases") {
            Some(v) => self.phases(v, &signals),
            None => {
                self.sink.error(
                    &(0..0),
                    "missing `[[phases]]`: a launch needs at least one phase",
                );
                Vec::new()
            }
        };
        let rollback = top
            .get("rollback")
            .and_then(|v| self.rollback(v, &signals, &phases));
        let notify = top
            .get("notify")
            .map_or(Some(Notify::default()), |v| self.notify(v));
        let screen = top.get("screen").and_then(|v| self.screen(v, &signals));
        top.finish(&mut self.sink);
        Some(Layout {
            path: path.to_path_buf(),
            dir: self.dir.clone(),
            launch: launch?,
            roles,
            signals,
            phases,
            rollback,
            notify: notify?,
            screen,
            source: std::sync::Arc::default(),
            source_digest: String::new(),
            distrusted: model::Distrusted::default(),
            needs: Vec::new(),
        })
    }

    fn table<'t, 'i>(
        &mut self,
        v: &'t Value<'i>,
        key: &str,
        what: String,
    ) -> Option<Table<'t, 'i>> {
        as_table(&mut self.sink, v, key).map(|t| Table::new(t, v.span(), what))
    }

    fn string(&mut self, t: &mut Table<'_, '_>, key: &'static str) -> Option<String> {
        let v = t.get(key)?;
        as_str(&mut self.sink, v, key).map(str::to_string)
    }

    fn required_string(
        &mut self,
        t: &mut Table<'_, '_>,
        key: &'static str,
    ) -> Option<(String, Range<usize>)> {
        match t.get(key) {
            Some(v) => {
                let s = as_str(&mut self.sink, v, key)?;
                if s.trim().is_empty() {
                    self.sink
                        .error(&v.span(), format!("`{key}` must not be empty"));
                    return None;
                }
                Some((s.to_string(), v.span()))
            }
            None => {
                let span = t.span.clone();
                self.sink
                    .error(&span, format!("{} is missing `{key}`", t.what));
                None
            }
        }
    }

    fn bool_or(&mut self, t: &mut Table<'_, '_>, key: &'static str, default: bool) -> Option<bool> {
        match t.get(key) {
            Some(v) => as_bool(&mut self.sink, v, key),
            None => Some(default),
        }
    }

    /// A duration within `bounds`. The error names the key, the bound and
    /// the value as written (cut).
    fn duration(
        &mut self,
        t: &mut Table<'_, '_>,
        key: &'static str,
        bounds: Bounds,
    ) -> Result<Option<Duration>, ()> {
        let Some(v) = t.get(key) else { return Ok(None) };
        let example = "write e.g. \"90s\", \"5m\", \"1h30m\"";
        let DeValue::String(s) = v.get_ref() else {
            self.sink.error_hint(
                &v.span(),
                format!(
                    "`{key}` must be a duration string, found {}",
                    reader::type_name(v.get_ref())
                ),
                Some(example.into()),
            );
            return Err(());
        };
        let lead = s.len() - s.trim_start().len();
        let trimmed = s.trim();
        match humantime::parse_duration(trimmed) {
            Ok(d) if d.is_zero() => {
                self.sink
                    .error(&v.span(), format!("`{key}` must be longer than zero"));
                Err(())
            }
            Ok(d) if d > bounds.max => {
                self.sink.error_hint(
                    &v.span(),
                    format!(
                        "`{key}` must be at most {}, found `{}`",
                        bounds.max_text,
                        cut(trimmed)
                    ),
                    Some(bounds.why.into()),
                );
                Err(())
            }
            Ok(d) => match bounds.min {
                Some((min, min_text)) if d < min => {
                    self.sink.error_hint(
                        &v.span(),
                        format!(
                            "`{key}` must be at least {min_text}, found `{}`",
                            cut(trimmed)
                        ),
                        Some(bounds.why.into()),
                    );
                    Err(())
                }
                _ => Ok(Some(d)),
            },
            Err(e) => {
                use humantime::DurationError as E;
                let shown = cut(trimmed);
                let (at, detail) = match &e {
                    E::InvalidCharacter(i) => {
                        match trimmed.get(*i..).and_then(|r| r.chars().next()) {
                            Some(c) => (Some(*i), format!("unexpected `{c}` in `{shown}`")),
                            None => (None, format!("`{shown}` ends too early")),
                        }
                    }
                    E::NumberExpected(i) => (Some(*i), format!("expected a number in `{shown}`")),
                    E::UnknownUnit { start, unit, .. } if unit.is_empty() => {
                        (Some(*start), format!("`{shown}` has no unit"))
                    }
                    E::UnknownUnit { start, unit, .. } => (
                        Some(*start),
                        format!("unknown unit `{}` in `{shown}`", cut(unit)),
                    ),
                    E::NumberOverflow => {
                        // Too large to count, or a fraction finer than a
                        // nanosecond ("0.5ns"): a small number with a point.
                        let number: String = trimmed
                            .chars()
                            .take_while(|c| c.is_ascii_digit() || *c == '.')
                            .collect();
                        let fine =
                            number.contains('.') && number.parse::<f64>().is_ok_and(|n| n < 1e9);
                        let message = if fine {
                            format!("`{key}` cannot be finer than 1ns, found `{shown}`")
                        } else {
                            format!(
                                "`{key}` must be at most {}, found `{shown}`",
                                bounds.max_text
                            )
                        };
                        self.sink
                            .error_hint(&v.span(), message, Some(bounds.why.into()));
                        return Err(());
                    }
                    E::Empty => (None, "the text is empty".to_string()),
                };
                let span = match at {
                    Some(i) => self.sink.inside(&v.span(), s, lead + i),
                    None => v.span(),
                };
                self.sink.error_hint(
                    &span,
                    format!("`{key}` is not a duration: {detail}"),
                    Some(example.into()),
                );
                Err(())
            }
        }
    }

    fn argv(&mut self, v: &Value<'_>, key: &str) -> Option<Vec<String>> {
        let list = as_string_list(&mut self.sink, v, key)?;
        let hint = Some(
            "an argv list such as [\"./check.sh\", \"--primary\"], run without a shell".into(),
        );
        if list.is_empty() {
            self.sink.error_hint(
                &v.span(),
                format!("`{key}` is empty: it must name a program to run"),
                hint,
            );
            return None;
        }
        if list[0].get_ref().trim().is_empty() {
            self.sink.error_hint(
                &list[0].span(),
                format!("`{key}` must start with a program name, not an empty string"),
                hint,
            );
            return None;
        }
        let span = list[0].span();
        let mut argv: Vec<String> = list.into_iter().map(toml::Spanned::into_inner).collect();
        argv[0] = self.anchor_program(&argv[0]);
        self.needs.push(Needed {
            key: if key == "on_enter" { "on_enter" } else { "run" },
            what: argv[0].clone(),
            program: true,
            span,
        });
        Some(argv)
    }

    /// argv\[0\] with a `/` is a path: anchor it at the layout directory.
    fn anchor_program(&self, program: &str) -> String {
        if program.contains('/') && Path::new(program).is_relative() {
            // `./bin/rb.sh` is `DIR/bin/rb.sh`, not `DIR/./bin/rb.sh`.
            let tail: PathBuf = Path::new(program)
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect();
            self.dir.join(tail).to_string_lossy().into_owned()
        } else {
            program.to_string()
        }
    }

    fn anchor(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_relative() {
            self.dir.join(path)
        } else {
            path.to_path_buf()
        }
    }

    fn launch(&mut self, v: &Value<'_>, path: &Path) -> Option<Launch> {
        let mut t = self.table(v, "launch", "`[launch]`".into())?;
        let name = self.required_string(&mut t, "name");
        let t0 = match t.get("t0") {
            None => Ok(None),
            Some(v) => {
                let text = match v.get_ref() {
                    DeValue::String(s) => Some(s.to_string()),
                    DeValue::Datetime(d) => Some(d.to_string()),
                    _ => None,
                };
                match text.as_deref().map(chrono::DateTime::parse_from_rfc3339) {
                    Some(Ok(t)) => Ok(Some(t.with_timezone(&chrono::Utc))),
                    _ => {
                        let found = match &text {
                            Some(t) => format!("`{}`", cut(t)),
                            None => reader::type_name(v.get_ref()).to_string(),
                        };
                        self.sink.error_hint(
                            &v.span(),
                            format!("`t0` must be an RFC 3339 time with a zone, found {found}"),
                            Some("write e.g. \"2026-02-05T14:00:00Z\" or \"2026-02-05T15:00:00+01:00\"".into()),
                        );
                        Err(())
                    }
                }
            }
        };
        let id = match t.get("id") {
            Some(v) => {
                let s = as_str(&mut self.sink, v, "id");
                match s {
                    Some(s) if valid_id(s) => Some(s.to_string()),
                    Some(s) => {
                        self.sink.error(
                            &v.span(),
                            format!(
                                "`id` `{}` may use only letters, digits, `-`, `_` and `.`, at most 64 of them",
                                cut(s)
                            ),
                        );
                        None
                    }
                    None => None,
                }
            }
            None => Some(path.file_stem().map_or_else(
                || "launch".to_string(),
                |s| s.to_string_lossy().into_owned(),
            )),
        };
        // A `postgres://` URL is a database, not a path beside the layout.
        // The layout's text is pinned in the journal: a password written
        // into it would be recorded, so only a `${VAR}` may stand there.
        let journal_span = t.get("journal").map(toml::Spanned::span);
        let journal = self.string(&mut t, "journal").and_then(|p| {
            if !crate::journal::location::is_url(&p) {
                return Some(self.anchor(&p));
            }
            if crate::journal::location::literal_password(&p) {
                self.sink.error_hint(
                    &journal_span.clone().unwrap_or_default(),
                    "`journal` holds a database password in clear, which the journal would record with the layout",
                    Some("write `${VAR}` in its place, or leave it out for PGPASSWORD or ~/.pgpass".into()),
                );
                return None;
            }
            Some(PathBuf::from(p))
        });
        let owners = match t.get("owners") {
            None => Ok(None),
            Some(v) => match as_string_list(&mut self.sink, v, "owners") {
                Some(list) if list.is_empty() => {
                    self.sink.error_hint(
                        &v.span(),
                        "`owners` is empty: nobody could adopt a change to this layout",
                        Some("list the OS users who may adopt layout changes, e.g. owners = [\"alice\"], or leave `owners` out (the journal's creator owns it)".into()),
                    );
                    Err(())
                }
                Some(list) => Ok(Some(
                    list.into_iter().map(|u| u.get_ref().clone()).collect(),
                )),
                None => Err(()),
            },
        };
        t.finish(&mut self.sink);
        Some(Launch {
            name: name?.0,
            id: id?,
            t0: t0.ok()?,
            journal,
            owners: owners.ok()?,
        })
    }

    fn roles(&mut self, v: &Value<'_>) -> Option<Vec<(String, Vec<String>)>> {
        let t = as_table(&mut self.sink, v, "roles")?;
        let mut roles = Vec::new();
        for (role, users) in t {
            let users = as_string_list(&mut self.sink, users, role.get_ref())?;
            if users.is_empty() {
                self.sink.error(
                    &role.span(),
                    format!(
                        "role `{}` lists no users, so nobody could sign it",
                        cut(role.get_ref())
                    ),
                );
            }
            roles.push((
                role.get_ref().to_string(),
                users.into_iter().map(toml::Spanned::into_inner).collect(),
            ));
        }
        Some(roles)
    }

    fn signals(&mut self, v: &Value<'_>) -> Vec<Signal> {
        let Some(t) = as_table(&mut self.sink, v, "signals") else {
            return Vec::new();
        };
        if t.is_empty() {
            self.sink.error(
                &v.span(),
                "`[signals]` is empty: a launch needs at least one signal",
            );
        }
        let mut out = Vec::new();
        for k in t.keys() {
            self.declared.add(k.get_ref());
        }
        for (id, body) in t {
            let id_text = id.get_ref().to_string();
            if !valid_id(&id_text) {
                self.sink.error(
                    &id.span(),
                    format!(
                        "signal id `{}` may use only letters, digits, `-`, `_` and `.`, at most 64 of them",
                        cut(&id_text)
                    ),
                );
            }
            if let Some(s) = self.signal(&id_text, body) {
                out.push(s);
            }
        }
        out
    }

    fn signal(&mut self, id: &str, v: &Value<'_>) -> Option<Signal> {
        let mut t = self.table(v, id, format!("signal `{}`", cut(id)))?;
        let kind_v = t.get("kind");
        let kind = match kind_v {
            None => {
                self.sink.error_hint(
                    &t.span,
                    format!("signal `{}` is missing `kind`", cut(id)),
                    Some(format!("one of {}", Probe::KINDS.join(", "))),
                );
                // Still check the keys every signal shares.
                let _ = self.timing(&mut t);
                for key in [
                    "url",
                    "path",
                    "query",
                    "run",
                    "items",
                    "headers",
                    "unit",
                    "expect_status",
                    "address",
                    "server_name",
                    "ca",
                    "name",
                    "type",
                    "server",
                    "depends_on",
                ] {
                    let _ = t.get(key);
                }
                t.finish(&mut self.sink);
                return None;
            }
            Some(k) => as_str(&mut self.sink, k, "kind")?.to_string(),
        };
        if !Probe::KINDS.contains(&kind.as_str()) {
            let span = kind_v.map(toml::Spanned::span).unwrap_or_default();
            let hint = self.sink.suggest(&kind, Probe::KINDS);
            self.sink.error_hint(
                &span,
                format!("unknown signal kind `{}`", cut(&kind)),
                hint.or_else(|| Some(format!("one of {}", Probe::KINDS.join(", ")))),
            );
            return None;
        }
        t.what = format!("{kind} signal `{}`", cut(id));
        let timing = self.timing(&mut t);
        if let Some(v) = t.get("depends_on")
            && let Some(names) = as_string_list(&mut self.sink, v, "depends_on")
        {
            self.depends_on.insert(id.to_string(), names);
        }
        let default_unit = match kind.as_str() {
            "http" | "tcp" => Unit::Ms,
            "checklist" => Unit::Count,
            "tls" => Unit::Days,
            _ => Unit::None,
        };
        let unit = if kind == "checklist" || kind == "dns" {
            Some(default_unit)
        } else {
            self.unit(&mut t, &kind, default_unit)
        };
        let probe = match kind.as_str() {
            "http" => self.http(&mut t),
            "json" => self.json(&mut t),
            "prometheus" => self.prometheus(&mut t),
            "command" => self.command(&mut t),
            "tcp" => self.address(&mut t).map(Probe::Tcp),
            "tls" => self.tls(&mut t),
            "dns" => self.dns(&mut t),
            _ => self.checklist(&mut t),
        };
        t.finish(&mut self.sink);
        let (every, timeout, stale_after) = timing?;
        let (probe, unit) = (probe?, unit?);
        let key = signal_key(id, &probe, (every, timeout, stale_after), unit);
        Some(Signal {
            id: id.to_string(),
            key,
            probe,
            every,
            timeout,
            stale_after,
            unit,
            depends_on: Vec::new(),
            upstream: Vec::new(),
        })
    }

    /// Resolves every `depends_on`: unknown ids, a signal naming itself
    /// and cycles are errors (a cycle would leave no root to blame and
    /// block its members for ever), then each signal's `upstream`.
    fn dependencies(&mut self, signals: &mut [Signal]) {
        let written = std::mem::take(&mut self.depends_on);
        for (i, s) in signals.iter_mut().enumerate() {
            let Some(names) = written.get(&s.id) else {
                continue;
            };
            for name in names {
                let span = name.span();
                let name = name.get_ref();
                match self.signal_at.get(name.as_str()) {
                    Some(&d) if d == i => self.sink.error_hint(
                        &span,
                        format!("signal `{}` depends on itself", cut(name)),
                        Some("remove it from its own `depends_on`".into()),
                    ),
                    Some(&d) => {
                        if !s.depends_on.contains(&d) {
                            s.depends_on.push(d);
                        }
                    }
                    None if self.declared.has(name) => {}
                    None => {
                        let hint = self
                            .sink
                            .suggest(name, self.declared.iter())
                            .or_else(|| self.declared.list("signals"));
                        self.sink.error_hint(
                            &span,
                            format!("`depends_on` names unknown signal `{}`", cut(name)),
                            hint,
                        );
                    }
                }
            }
        }
        // Cycles, each reported once, where its first member (in file
        // order) names the next.
        let mut reported: HashSet<usize> = HashSet::new();
        for start in 0..signals.len() {
            if reported.contains(&start) {
                continue;
            }
            if let Some(cycle) = cycle_from(signals, start) {
                let next = signals[cycle[1]].id.as_str();
                let span = written
                    .get(&signals[start].id)
                    .and_then(|names| names.iter().find(|n| n.get_ref() == next))
                    .map(toml::Spanned::span)
                    .unwrap_or_default();
                let path: Vec<&str> = cycle.iter().map(|&k| signals[k].id.as_str()).collect();
                self.sink.error_hint(
                    &span,
                    format!("`depends_on` goes round in a cycle: {}", path.join(" → ")),
                    Some("a cycle has no root to blame; remove one of its links".into()),
                );
                reported.extend(cycle);
            }
        }
        if !reported.is_empty() {
            for s in signals.iter_mut() {
                s.depends_on.clear();
            }
            return;
        }
        for i in 0..signals.len() {
            let mut upstream = Vec::new();
            deepest_first(signals, i, &mut upstream);
            signals[i].upstream = upstream;
        }
    }

    fn timing(&mut self, t: &mut Table<'_, '_>) -> Option<(Duration, Duration, Duration)> {
        let every = self.duration(t, "every", EVERY);
        let timeout = self.duration(t, "timeout", POLL);
        let stale = self.duration(t, "stale_after", SPAN);
        let every = every.ok()?.unwrap_or(DEFAULT_EVERY);
        let timeout = timeout.ok()?.unwrap_or_else(|| every.min(MAX_TIMEOUT));
        let stale = stale.ok()?.unwrap_or(every * 3);
        Some((every, timeout, stale))
    }

    fn unit(&mut self, t: &mut Table<'_, '_>, kind: &str, default: Unit) -> Option<Unit> {
        let Some(v) = t.get("unit") else {
            return Some(default);
        };
        let s = as_str(&mut self.sink, v, "unit")?;
        let Some(unit) = Unit::parse(s) else {
            let hint = self.sink.suggest(s, Unit::NAMES);
            self.sink.error_hint(
                &v.span(),
                format!("unknown unit `{}`", cut(s)),
                hint.or_else(|| Some(format!("one of {}", Unit::NAMES.join(", ")))),
            );
            return None;
        };
        let fixed = match kind {
            "http" | "tcp" => Some((Unit::Ms, "its latency in `ms`")),
            "tls" => Some((Unit::Days, "the `days` its certificate has left")),
            _ => None,
        };
        if let Some((only, what)) = fixed
            && unit != only
        {
            self.sink.error(
                &v.span(),
                format!(
                    "{}'s value is {what}; its unit cannot be changed",
                    with_article(&format!("{kind} signal"))
                ),
            );
            return None;
        }
        Some(unit)
    }

    fn url(
        &mut self,
        t: &mut Table<'_, '_>,
        key: &'static str,
        required: bool,
    ) -> Option<Template> {
        let Some(v) = t.get(key) else {
            if required {
                let span = t.span.clone();
                self.sink
                    .error(&span, format!("{} is missing `{key}`", t.what));
            }
            return None;
        };
        let s = as_str(&mut self.sink, v, key)?;
        let template = match Template::parse(s) {
            Ok(t) => t,
            Err((at, msg)) => {
                let span = self.sink.inside(&v.span(), s, at);
                self.sink.error(&span, format!("`{key}`: {msg}"));
                return None;
            }
        };
        if !template.has_vars() {
            match reqwest::Url::parse(s) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                // `localhost:9090` parses, as scheme `localhost`.
                Ok(_) if !s.contains("://") => {
                    self.scheme_less(&v.span(), key, s);
                    return None;
                }
                Ok(u) => {
                    self.sink.error(
                        &v.span(),
                        format!(
                            "`{key}` must be an http:// or https:// URL, not `{}:`",
                            cut(u.scheme())
                        ),
                    );
                    return None;
                }
                Err(_) if !s.contains("://") => {
                    self.scheme_less(&v.span(), key, s);
                    return None;
                }
                Err(e) => {
                    self.sink.error(
                        &v.span(),
                        format!("`{key}` is not a valid URL: `{}` ({e})", cut(s)),
                    );
                    return None;
                }
            }
        }
        Some(template)
    }

    /// A URL written without `scheme://`: say so, and show it fixed.
    fn scheme_less(&mut self, span: &Range<usize>, key: &str, s: &str) {
        let lower = s.to_ascii_lowercase();
        let scheme = ["https", "http"]
            .into_iter()
            .find(|p| lower.starts_with(p) && lower[p.len()..].starts_with([':', '/']));
        let (message, hint) = match scheme {
            Some(scheme) => {
                let rest = cut(s[scheme.len()..].trim_start_matches([':', '/']));
                (
                    format!(
                        "`{key}` is not a full URL: `{}` needs `://` after `{scheme}`",
                        cut(s)
                    ),
                    format!("write it as \"{scheme}://{rest}\""),
                )
            }
            None => {
                let s = cut(s);
                (
                    format!("`{key}` is not a full URL: `{s}` has no scheme"),
                    format!("write it as \"https://{s}\" or \"http://{s}\""),
                )
            }
        };
        self.sink.error_hint(span, message, Some(hint));
    }

    fn headers(&mut self, t: &mut Table<'_, '_>) -> Option<Vec<(String, Template)>> {
        let Some(v) = t.get("headers") else {
            return Some(Vec::new());
        };
        let table = as_table(&mut self.sink, v, "headers")?;
        let mut out = Vec::new();
        let mut ok = true;
        for (name, value) in table {
            if reqwest::header::HeaderName::from_bytes(name.get_ref().as_bytes()).is_err() {
                self.sink.error(
                    &name.span(),
                    format!("`{}` is not a valid header name", cut(name.get_ref())),
                );
                ok = false;
                continue;
            }
            let Some(s) = as_str(&mut self.sink, value, name.get_ref()) else {
                ok = false;
                continue;
            };
            match Template::parse(s) {
                Ok(tpl) => out.push((name.get_ref().to_string(), tpl)),
                Err((at, msg)) => {
                    let span = self.sink.inside(&value.span(), s, at);
                    self.sink
                        .error(&span, format!("header `{}`: {msg}", cut(name.get_ref())));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn http(&mut self, t: &mut Table<'_, '_>) -> Option<Probe> {
        let url = self.url(t, "url", true);
        let headers = self.headers(t);
        let expect = match t.get("expect_status") {
            None => Some(Vec::new()),
            Some(v) => self.statuses(v),
        };
        Some(Probe::Http(HttpProbe {
            url: url?,
            expect_status: expect?,
            headers: headers?,
        }))
    }

    fn statuses(&mut self, v: &Value<'_>) -> Option<Vec<u16>> {
        let items = as_array(&mut self.sink, v, "expect_status")?;
        let mut out = Vec::new();
        for item in items {
            let n = as_integer(&mut self.sink, item, "expect_status")?;
            match u16::try_from(n) {
                Ok(code) if (100..=599).contains(&code) => out.push(code),
                _ => {
                    self.sink.error(
                        &item.span(),
                        format!("`expect_status` must list HTTP statuses (100–599), found {n}"),
                    );
                    return None;
                }
            }
        }
        if out.is_empty() {
            self.sink.error(
                &v.span(),
                "`expect_status` is empty; leave it out to accept any 2xx",
            );
            return None;
        }
        Some(out)
    }

    fn json(&mut self, t: &mut Table<'_, '_>) -> Option<Probe> {
        let url = self.url(t, "url", true);
        let headers = self.headers(t);
        let path = match t.get("path") {
            None => {
                let span = t.span.clone();
                self.sink.error_hint(
                    &span,
                    format!("{} is missing `path`", t.what),
                    Some("an RFC 9535 JSONPath such as \"$.queue.pending\"".into()),
                );
                None
            }
            Some(v) => {
                let s = as_str(&mut self.sink, v, "path")?;
                match serde_json_path::JsonPath::parse(s) {
                    Ok(p) => Some((p, s.to_string())),
                    Err(e) => {
                        let span = self.sink.inside(&v.span(), s, e.position());
                        let detail = match e.message() {
                            "parser error" | "empty error" => String::new(),
                            m => format!(": {}", cut(m)),
                        };
                        let near = s.get(e.position()..).filter(|r| !r.is_empty());
                        let near = near.map_or_else(
                            || " at its end".to_string(),
                            |r| format!(" at `{}`", r.chars().take(12).collect::<String>()),
                        );
                        self.sink.error_hint(
                            &span,
                            format!(
                                "`path` is not a valid JSONPath: `{}` fails{near}{detail}",
                                cut(s)
                            ),
                            Some("RFC 9535 syntax, e.g. \"$.queue.pending\" or \"$['queue']['pending']\"".into()),
                        );
                        None
                    }
                }
            }
        };
        let (path, path_text) = path?;
        Some(Probe::Json(JsonProbe {
            url: url?,
            headers: headers?,
            path,
            path_text,
        }))
    }

    fn prometheus(&mut self, t: &mut Table<'_, '_>) -> Option<Probe> {
        let url = self.url(t, "url", true);
        let headers = self.headers(t);
        let query = self.required_string(t, "query");
        Some(Probe::Prometheus(PrometheusProbe {
            url: url?,
            headers: headers?,
            query: query?.0,
        }))
    }

    fn command(&mut self, t: &mut Table<'_, '_>) -> Option<Probe> {
        let argv = match t.get("run") {
            Some(v) => self.argv(v, "run"),
            None => {
                let span = t.span.clone();
                self.sink.error_hint(
                    &span,
                    format!("{} is missing `run`", t.what),
                    Some("an argv list such as [\"./check.sh\", \"--primary\"]".into()),
                );
                None
            }
        };
        Some(Probe::Command(CommandProbe {
            argv: argv?,
            dir: self.dir.clone(),
            refused: None,
        }))
    }

    /// `address = "host:port"` of a tcp or tls signal.
    fn address(&mut self, t: &mut Table<'_, '_>) -> Option<Address> {
        let (s, span) = self.required_string(t, "address")?;
        let example = if t.what.starts_with("tls") {
            "checkout.example.com:443"
        } else {
            "db.internal:5432"
        };
        let fail = |sink: &mut Sink<'_>, message: String, hint: String| {
            sink.error_hint(&span, message, Some(hint));
            None
        };
        if s.contains("://") || s.contains('/') {
            return fail(
                &mut self.sink,
                format!("`address` is `host:port`, not a URL: `{}`", cut(&s)),
                format!("write e.g. \"{example}\""),
            );
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            match rest.split_once("]:") {
                Some((ip, port)) if ip.parse::<std::net::Ipv6Addr>().is_ok() => (ip, Some(port)),
                _ => {
                    return fail(
                        &mut self.sink,
                        format!("`address` `{}` is not `[IPv6]:port`", cut(&s)),
                        "write e.g. \"[2001:db8::1]:443\"".into(),
                    );
                }
            }
        } else {
            match s.rsplit_once(':') {
                Some((host, _)) if host.contains(':') => {
                    return fail(
                        &mut self.sink,
                        format!("`address` `{}`: an IPv6 address goes in brackets", cut(&s)),
                        "write e.g. \"[2001:db8::1]:443\"".into(),
                    );
                }
                Some((host, port)) => (host, Some(port)),
                None => (s.as_str(), None),
            }
        };
        let Some(port) = port else {
            return fail(
                &mut self.sink,
                format!("`address` `{}` has no port", cut(&s)),
                format!("write it as \"{}:<port>\", e.g. \"{example}\"", cut(&s)),
            );
        };
        let Some(port) = port.parse::<u16>().ok().filter(|p| *p != 0) else {
            return fail(
                &mut self.sink,
                format!("`address` `{}`: the port must be 1–65535", cut(&s)),
                format!("write e.g. \"{example}\""),
            );
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return fail(
                &mut self.sink,
                format!("`address` `{}` has no host", cut(&s)),
                format!("write e.g. \"{example}\""),
            );
        }
        Some(Address {
            host: host.to_string(),
            port,
        })
    }

    fn tls(&mut self, t: &mut Table<'_, '_>) -> Option<Probe> {
        let address = self.address(t);
        let server_name = match t.get("server_name") {
            None => None,
            Some(v) => {
                let s = as_str(&mut self.sink, v, "server_name")?;
                if rustls_name_ok(s) {
                    Some(s.to_string())
                } else {
                    self.sink.error_hint(
                        &v.span(),
                        format!("`server_name` `{}` is not a DNS name or an IP address", cut(s)),
                        Some("the name the certificate must be valid for, e.g. \"checkout.example.com\"".into()),
                    );
                    return None;
                }
            }
        };
        let ca = self.string(t, "ca").map(|p| self.anchor(&p));
        let address = address?;
        let server_name = server_name.unwrap_or_else(|| address.host.clone());
        Some(Probe::Tls(TlsProbe {
            address,
            server_name,
            ca,
        }))
    }

    fn dns(&mut self, t: &mut Table<'_, '_>) -> Option<Probe> {
        let name = self.required_string(t, "name").and_then(|(s, span)| {
            let name = canonical_name(s.trim());
            if name.is_none() {
                self.sink.error_hint(
                    &span,
                    format!("`name` `{}` is not a domain name", cut(&s)),
                    Some("write e.g. \"checkout.example.com\"".into()),
                );
            }
            name
        });
        let record = match t.get("type") {
            None => Some(RecordKind::A),
            Some(v) => as_str(&mut self.sink, v, "type").and_then(|s| {
                let kind = RecordKind::parse(s);
                if kind.is_none() {
                    let upper = s.to_ascii_uppercase();
                    let hint = if RecordKind::parse(&upper).is_some() {
                        Some(format!("did you mean `{upper}`?"))
                    } else {
                        Some(format!("one of {}", RecordKind::NAMES.join(", ")))
                    };
                    self.sink.error_hint(
                        &v.span(),
                        format!("unknown DNS record type `{}`", cut(s)),
                        hint,
                    );
                }
                kind
            }),
        };
        let server = match t.get("server") {
            None => Some(None),
            Some(v) => as_str(&mut self.sink, v, "server").and_then(|s| {
                let s = s.trim();
                let addr = s.parse::<std::net::SocketAddr>().ok().or_else(|| {
                    // A bare address means port 53, as `dig @10.0.0.53` does.
                    s.parse::<std::net::IpAddr>()
                        .ok()
                        .map(|ip| std::net::SocketAddr::new(ip, 53))
                });
                if addr.is_none() {
                    self.sink.error_hint(
                        &v.span(),
                        format!("`server` `{}` is not an IP address and port", cut(s)),
                        Some("write e.g. \"10.0.0.53:53\" or \"[2001:db8::53]:53\"; leave it out to use the system's resolver".into()),
                    );
                }
                addr.map(Some)
            }),
        };
        Some(Probe::Dns(DnsProbe {
            name: name?,
            record: record?,
            server: server?,
        }))
    }

    fn checklist(&mut self, t: &mut Table<'_, '_>) -> Option<Probe> {
        let path = t.get("path");
        let url = if t.has("url") {
            self.url(t, "url", false)
        } else {
            None
        };
        let url_given = t.has("url");
        let items = t.get("items");
        let given = [path.is_some(), url_given, items.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if given != 1 {
            let mut keys: Vec<(Range<usize>, &str)> = ["path", "url", "items"]
                .into_iter()
                .filter_map(|k| t.key_span(k).map(|s| (s, k)))
                .collect();
            keys.sort_by_key(|(s, _)| s.start);
            let span = keys
                .get(1)
                .map_or_else(|| t.span.clone(), |(s, _)| s.clone());
            let message = match keys.as_slice() {
                [(_, a), (_, b)] => format!("{} has both `{a}` and `{b}`", t.what),
                [] | [_] => format!("{} has no source", t.what),
                _ => format!("{} has `path`, `url` and `items`", t.what),
            };
            self.sink.error_hint(
                &span,
                message,
                Some("give exactly one of `path`, `url` or `items`".into()),
            );
            return None;
        }
        if let Some(v) = path {
            let p = as_str(&mut self.sink, v, "path")?;
            let anchored = self.anchor(p);
            self.needs.push(Needed {
                key: "path",
                what: anchored.display().to_string(),
                program: false,
                span: v.span(),
            });
            return Some(Probe::Checklist(ChecklistSource::Path(anchored)));
        }
        if let Some(v) = items {
            let list = as_string_list(&mut self.sink, v, "items")?;
            if list.is_empty() {
                self.sink
                    .error(&v.span(), "`items` is empty: list at least one item");
                return None;
            }
            return Some(Probe::Checklist(ChecklistSource::Items(
                list.into_iter().map(toml::Spanned::into_inner).collect(),
            )));
        }
        url.map(|u| Probe::Checklist(ChecklistSource::Url(u)))
    }

    fn phases(&mut self, v: &Value<'_>, signals: &[Signal]) -> Vec<Phase> {
        let Some(items) = as_array(&mut self.sink, v, "phases") else {
            return Vec::new();
        };
        if items.is_empty() {
            self.sink.error(
                &v.span(),
                "`phases` is empty: a launch needs at least one phase",
            );
        }
        let mut out: Vec<Phase> = Vec::new();
        // Ids as written, valid phase or not, so a duplicate is caught even
        // when either copy has other errors; with where each was first used.
        let mut first_use: HashMap<&str, usize> = HashMap::new();
        for item in items {
            let id = match item.get_ref() {
                DeValue::Table(t) => t.get("id").and_then(|v| match v.get_ref() {
                    DeValue::String(s) => Some((s.as_ref(), v.span())),
                    _ => None,
                }),
                _ => None,
            };
            let mut duplicate = false;
            if let Some((id, span)) = id {
                if let Some(&first) = first_use.get(id) {
                    let line = self.sink.line_of(first);
                    self.sink.error_hint(
                        &span,
                        format!("duplicate phase id `{}`", cut(id)),
                        Some(format!(
                            "first used on line {line}; phase ids must be unique"
                        )),
                    );
                    duplicate = true;
                } else {
                    first_use.insert(id, span.start);
                    self.phases_declared.add(id);
                }
            }
            let Some(p) = self.phase(item, signals) else {
                continue;
            };
            if !duplicate {
                out.push(p);
            }
        }
        out
    }

    fn phase(&mut self, v: &Value<'_>, signals: &[Signal]) -> Option<Phase> {
        let mut t = self.table(v, "phases", "a phase".into())?;
        let id = self.required_string(&mut t, "id");
        if let Some((id, span)) = &id {
            t.what = format!("phase `{}`", cut(id));
            if !valid_id(id) {
                self.sink.error(
                    span,
                    format!(
                        "phase id `{}` may use only letters, digits, `-`, `_` and `.`, at most 64 of them",
                        cut(id)
                    ),
                );
            }
        }
        let title = self.string(&mut t, "title");
        let signoff = match t.get("signoff") {
            None => Some(Vec::new()),
            Some(v) => self.signoff(v),
        };
        let timebox = self.duration(&mut t, "timebox", SPAN);
        let soak = self.duration(&mut t, "soak", SPAN);
        let on_enter = match t.get("on_enter") {
            None => Some(None),
            Some(v) => self.argv(v, "on_enter").map(Some),
        };
        let gates = match t.get("gates") {
            None => Some(Vec::new()),
            Some(v) => self.gates(v, signals, true),
        };
        t.finish(&mut self.sink);
        let id = id?.0;
        Some(Phase {
            title: title.unwrap_or_else(|| id.clone()),
            id,
            signoff: signoff?,
            timebox: timebox.ok()?,
            soak: soak.ok()?,
            on_enter: on_enter?,
            gates: gates?,
        })
    }

    fn signoff(&mut self, v: &Value<'_>) -> Option<Vec<String>> {
        let list = as_string_list(&mut self.sink, v, "signoff")?;
        let mut out = Names::default();
        for role in list {
            let name = role.get_ref();
            if let Some(roles) = &self.roles
                && !roles.has(name)
            {
                let hint = self.sink.suggest(name, roles.iter());
                self.sink.error_hint(
                    &role.span(),
                    format!(
                        "`signoff` names role `{}`, which `[roles]` does not define",
                        cut(name)
                    ),
                    hint,
                );
                continue;
            }
            if !out.add(name) {
                self.sink.error(
                    &role.span(),
                    format!("role `{}` is listed twice", cut(name)),
                );
            }
        }
        Some(out.order)
    }

    fn gates(&mut self, v: &Value<'_>, signals: &[Signal], is_gate: bool) -> Option<Vec<Gate>> {
        let key = if is_gate { "gates" } else { "triggers" };
        let items = as_array(&mut self.sink, v, key)?;
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            match self.gate(item, signals, is_gate) {
                Some(g) => out.push(g),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn gate(&mut self, v: &Value<'_>, signals: &[Signal], is_gate: bool) -> Option<Gate> {
        let noun = if is_gate { "gate" } else { "trigger" };
        let mut t = self.table(v, &format!("{noun}s"), format!("a {noun}"))?;
        let signal_v = t.get("signal");
        let signal = match signal_v {
            None => {
                let span = t.span.clone();
                self.sink
                    .error(&span, format!("a {noun} is missing `signal`"));
                None
            }
            Some(sv) => {
                let name = as_str(&mut self.sink, sv, "signal");
                if let Some(name) = name {
                    t.what = format!("the {noun} on `{}`", cut(name));
                }
                match name {
                    Some(name) => match self.signal_at.get(name) {
                        Some(&i) => Some(i),
                        None if self.declared.has(name) => None,
                        None => {
                            let hint = self
                                .sink
                                .suggest(name, self.declared.iter())
                                .or_else(|| self.declared.list("signals"));
                            self.sink.error_hint(
                                &sv.span(),
                                format!("unknown signal `{}`", cut(name)),
                                hint,
                            );
                            None
                        }
                    },
                    None => None,
                }
            }
        };
        let mut found: Vec<(&'static str, &Value<'_>, Range<usize>)> = Vec::new();
        for key in Condition::KEYS {
            if let Some(cv) = t.get(key) {
                found.push((key, cv, t.key_span(key).unwrap_or(cv.span())));
            }
        }
        // In the order written, so the message reads like the file.
        found.sort_by_key(|(_, _, at)| at.start);
        let window = self.duration(&mut t, "for", SPAN);
        let blocking = if is_gate {
            self.bool_or(&mut t, "blocking", true)
        } else {
            Some(true)
        };
        let name = self.string(&mut t, "name");
        // Only triggers take `then`; on a gate it stays an unknown key.
        let then = if is_gate {
            Some(Then::Rollback)
        } else {
            self.then(&mut t)
        };
        let span = t.span.clone();
        let what = t.what.clone();
        t.finish(&mut self.sink);
        let condition = match found.as_slice() {
            [] => {
                self.sink.error_hint(
                    &span,
                    format!("{what} needs a comparison"),
                    Some(format!("one of {}", Condition::KEYS.join(", "))),
                );
                None
            }
            [(key, cv, _)] => match signal {
                Some(i) => self.condition(key, cv, &signals[i]),
                None => {
                    // No signal to fit the threshold to, but the value's
                    // type can still be wrong: say so now, not next run.
                    match (*key, cv.get_ref()) {
                        ("up" | "complete", _) => {
                            let _ = as_bool(&mut self.sink, cv, key);
                        }
                        ("one_of" | "resolves_to", _) => {
                            let _ = as_string_list(&mut self.sink, cv, key);
                        }
                        (_, DeValue::String(_) | DeValue::Integer(_) | DeValue::Float(_)) => {}
                        (_, other) => self.sink.error(
                            &cv.span(),
                            format!(
                                "`{key}` must be a number or a string with a unit, found {}",
                                reader::type_name(other)
                            ),
                        ),
                    }
                    None
                }
            },
            [(first, _, _), (second, _, at), ..] => {
                self.sink.error_hint(
                    at,
                    format!("{what} has two comparisons, `{first}` and `{second}`"),
                    Some(format!(
                        "a {noun} takes exactly one; write one {noun} per comparison"
                    )),
                );
                None
            }
        };
        let signal = signal?;
        Some(Gate {
            signal,
            signal_id: signals[signal].id.clone(),
            condition: condition?,
            window: window.ok()?,
            blocking: blocking?,
            name,
            then: then?,
        })
    }

    /// A trigger's `then`: `"rollback"` (the default) or `"hold"`.
    fn then(&mut self, t: &mut Table<'_, '_>) -> Option<Then> {
        let Some(v) = t.get("then") else {
            return Some(Then::Rollback);
        };
        let s = as_str(&mut self.sink, v, "then")?;
        match s {
            "rollback" => Some(Then::Rollback),
            "hold" => Some(Then::Hold),
            other => {
                let hint = self
                    .sink
                    .suggest(other, Then::NAMES)
                    .or_else(|| Some("one of rollback (the default), hold".into()));
                self.sink.error_hint(
                    &v.span(),
                    format!("unknown trigger action `then = \"{}\"`", cut(other)),
                    hint,
                );
                None
            }
        }
    }

    fn condition(&mut self, key: &str, v: &Value<'_>, signal: &Signal) -> Option<Condition> {
        let checklist = matches!(signal.probe, Probe::Checklist(_));
        let dns = match &signal.probe {
            Probe::Dns(p) => Some(p.record),
            _ => None,
        };
        match key {
            "up" => {
                let b = as_bool(&mut self.sink, v, key)?;
                if !signal.has_health() {
                    self.sink.error(
                        &v.span(),
                        misfit("up", "http, command, tcp and tls", signal),
                    );
                    return None;
                }
                Some(Condition::Up(b))
            }
            "resolves_to" => {
                let list = as_string_list(&mut self.sink, v, key)?;
                let Some(record) = dns else {
                    self.sink
                        .error(&v.span(), misfit("resolves_to", "dns", signal));
                    return None;
                };
                let mut set = Vec::with_capacity(list.len());
                let mut ok = true;
                for item in &list {
                    match record.canonical(item.get_ref().trim()) {
                        Some(c) => set.push(c),
                        None => {
                            let what = match record {
                                RecordKind::A => "an IPv4 address",
                                RecordKind::Aaaa => "an IPv6 address",
                                RecordKind::Cname => "a domain name",
                            };
                            self.sink.error_hint(
                                &item.span(),
                                format!(
                                    "`resolves_to` lists `{}`, which is not {what}",
                                    cut(item.get_ref())
                                ),
                                Some(format!(
                                    "signal `{}` asks for {} records",
                                    cut(&signal.id),
                                    record.name()
                                )),
                            );
                            ok = false;
                        }
                    }
                }
                set.sort();
                set.dedup();
                ok.then_some(Condition::ResolvesTo(set))
            }
            _ if dns.is_some() => {
                self.sink.error(
                    &v.span(),
                    format!("a dns signal takes `resolves_to = [\"…\"]`, not `{key}`"),
                );
                None
            }
            "one_of" if !checklist => {
                let list = as_string_list(&mut self.sink, v, key)?;
                if !signal.has_text() {
                    self.sink.error_hint(
                        &v.span(),
                        format!(
                            "`one_of` compares strings, and `{}` is {} signal, whose values are numbers",
                            cut(&signal.id),
                            with_article(signal.kind())
                        ),
                        Some("strings come only from json signals".into()),
                    );
                    return None;
                }
                if list.is_empty() {
                    self.sink
                        .error(&v.span(), "`one_of` is empty, so the gate could never pass");
                    return None;
                }
                Some(Condition::OneOf(
                    list.into_iter().map(toml::Spanned::into_inner).collect(),
                ))
            }
            "complete" => {
                let b = as_bool(&mut self.sink, v, key)?;
                if !checklist {
                    self.sink
                        .error(&v.span(), misfit("complete", "checklist", signal));
                    return None;
                }
                Some(Condition::Complete(b))
            }
            _ => {
                if checklist {
                    self.sink.error(
                        &v.span(),
                        format!("a checklist signal takes `complete = true`, not `{key}`"),
                    );
                    return None;
                }
                if key == "equals"
                    && let DeValue::String(s) = v.get_ref()
                    && signal.has_text()
                {
                    // Quotes make a string, unless the signal has a unit
                    // and the text is a threshold in it ("500ms").
                    match Threshold::from_text(s, signal.unit) {
                        Ok(t) if signal.unit != Unit::None && t.value.is_finite() => {
                            return Some(Condition::Equals(t));
                        }
                        _ => return Some(Condition::EqualsText(s.to_string())),
                    }
                }
                let threshold = match v.get_ref() {
                    DeValue::String(s) => Threshold::from_text(s, signal.unit),
                    _ => match reader::number_text(v) {
                        Some(text) => Threshold::from_number(&text),
                        None => {
                            self.sink.error(
                                &v.span(),
                                format!(
                                    "`{key}` must be a number or a string with a unit, found {}",
                                    reader::type_name(v.get_ref())
                                ),
                            );
                            return None;
                        }
                    },
                };
                let threshold = match threshold {
                    Ok(t) => t,
                    Err(e) => {
                        // "what is wrong; how to fix it": the fix reads as a hint.
                        let (message, hint) = match e.0.split_once("; ") {
                            Some((m, h)) => (m, Some(h.to_string())),
                            None if key == "equals" => (
                                e.0.as_str(),
                                Some(format!(
                                    "strings compare only on json signals; `{}` is {} signal",
                                    cut(&signal.id),
                                    with_article(signal.kind())
                                )),
                            ),
                            None => (e.0.as_str(), None),
                        };
                        self.sink.error_hint(
                            &v.span(),
                            format!("`{key}` on signal `{}`: {message}", cut(&signal.id)),
                            hint,
                        );
                        return None;
                    }
                };
                if !threshold.value.is_finite() {
                    self.sink
                        .error(&v.span(), format!("`{key}` must be a finite number"));
                    return None;
                }
                Some(match key {
                    "below" => Condition::Below(threshold),
                    "above" => Condition::Above(threshold),
                    "at_most" => Condition::AtMost(threshold),
                    "at_least" => Condition::AtLeast(threshold),
                    _ => Condition::Equals(threshold),
                })
            }
        }
    }

    fn rollback(
        &mut self,
        v: &Value<'_>,
        signals: &[Signal],
        phases: &[Phase],
    ) -> Option<Rollback> {
        let mut t = self.table(v, "rollback", "`[rollback]`".into())?;
        let run = match t.get("run") {
            Some(v) => self.argv(v, "run"),
            None => {
                let span = t.span.clone();
                self.sink.error(
                    &span,
                    "`[rollback]` is missing `run` (the rollback command)",
                );
                None
            }
        };
        let timeout = self.duration(&mut t, "timeout", POLL);
        let confirm = match t.get("confirm") {
            None => Some("rollback".to_string()),
            Some(v) => match as_str(&mut self.sink, v, "confirm") {
                Some(s) if !s.trim().is_empty() && !s.contains(char::is_whitespace) => {
                    Some(s.to_string())
                }
                Some(_) => {
                    self.sink
                        .error(&v.span(), "`confirm` must be one word the operator types");
                    None
                }
                None => None,
            },
        };
        let auto_from_v = t.get("auto_from");
        let auto_from = match auto_from_v {
            None => Some(None),
            Some(av) => match as_str(&mut self.sink, av, "auto_from") {
                Some(id) => match phases.iter().position(|p| p.id == id) {
                    Some(i) => Some(Some(i)),
                    // Declared, but broken: that phase's errors say why.
                    None if self.phases_declared.has(id) => None,
                    None => {
                        let hint = self
                            .sink
                            .suggest(id, self.phases_declared.iter())
                            .or_else(|| self.phases_declared.list("phases"));
                        self.sink.error_hint(
                            &av.span(),
                            format!(
                                "`auto_from` names phase `{}`, which does not exist",
                                cut(id)
                            ),
                            hint,
                        );
                        None
                    }
                },
                None => None,
            },
        };
        let triggers_v = t.get("triggers");
        let triggers = match triggers_v {
            None => Some(Vec::new()),
            Some(tv) => self.gates(tv, signals, false),
        };
        let quorum_v = t.get("quorum");
        let quorum = match quorum_v {
            None => Some(1),
            Some(qv) => as_integer(&mut self.sink, qv, "quorum").and_then(|q| {
                usize::try_from(q).ok().filter(|q| *q >= 1).or_else(|| {
                    self.sink.error(&qv.span(), "`quorum` must be at least 1");
                    None
                })
            }),
        };
        // Firing without a claim risks two guards rolling back twice: only
        // when the layout says so.
        let offline_auto = self.bool_or(&mut t, "offline_auto", false);
        t.finish(&mut self.sink);
        // Count the triggers as written, valid or not: their own errors are
        // reported apart, and these checks still hold.
        let written = match triggers_v.map(toml::Spanned::get_ref) {
            None => Some((0, 0)),
            Some(DeValue::Array(a)) => {
                let holds = a.iter().filter(|v| is_hold_trigger(v.get_ref())).count();
                Some((a.len(), holds))
            }
            Some(_) => None,
        };
        if let (Some(q), Some((written, holds))) = (quorum, written) {
            // The quorum counts rollback triggers: a hold never rolls back.
            let rollbacks = written - holds;
            if q > rollbacks.max(1) {
                let span = quorum_v.map(toml::Spanned::span).unwrap_or_default();
                let noun = if holds > 0 {
                    "rollback trigger"
                } else {
                    "trigger"
                };
                let mut count = match rollbacks {
                    0 => format!("there are no {noun}s"),
                    1 => format!("there is only 1 {noun}"),
                    n => format!("there are only {n} {noun}s"),
                };
                if holds > 0 {
                    count.push_str(" (`then = \"hold\"` triggers do not count)");
                }
                self.sink.error(
                    &span,
                    format!("`quorum` is {q}, but {count}, so auto-rollback could never fire"),
                );
            }
            if written > 0 && auto_from_v.is_none() {
                let span = triggers_v.map(toml::Spanned::span).unwrap_or_default();
                self.sink.error_hint(
                    &span,
                    "`triggers` are set but `auto_from` is not, so auto-rollback would never be armed",
                    Some("add `auto_from = \"<phase id>\"`".into()),
                );
            }
        }
        Some(Rollback {
            run: run?,
            timeout: timeout.ok()?.unwrap_or(DEFAULT_ROLLBACK_TIMEOUT),
            confirm: confirm?,
            auto_from: auto_from?,
            triggers: triggers?,
            quorum: quorum?,
            offline_auto: offline_auto?,
        })
    }

    fn notify(&mut self, v: &Value<'_>) -> Option<Notify> {
        let mut t = self.table(v, "notify", "`[notify]`".into())?;
        let desktop = self.bool_or(&mut t, "desktop", true);
        let terminal = self.bool_or(&mut t, "terminal", true);
        t.finish(&mut self.sink);
        Some(Notify {
            desktop: desktop?,
            terminal: terminal?,
        })
    }

    fn screen(&mut self, v: &Value<'_>, signals: &[Signal]) -> Option<Screen> {
        let mut t = self.table(v, "screen", "`[screen]`".into())?;
        let rows_v = t.get("rows");
        t.finish(&mut self.sink);
        let rows_v = rows_v?;
        let items = as_array(&mut self.sink, rows_v, "rows")?;
        let mut rows = Vec::new();
        for item in items {
            let Some(mut rt) = self.table(item, "rows", "a screen row".into()) else {
                continue;
            };
            let height = match rt.get("height") {
                None => Some(100 / items.len().max(1) as u16),
                Some(hv) => {
                    match as_integer(&mut self.sink, hv, "height") {
                        Some(h) if (1..=100).contains(&h) => u16::try_from(h).ok(),
                        Some(h) => {
                            self.sink.error(
                            &hv.span(),
                            format!("`height` is a share of the screen in percent (1–100), found {h}"),
                        );
                            None
                        }
                        None => None,
                    }
                }
            };
            let panes = match rt.get("panes") {
                None => {
                    self.sink
                        .error(&item.span(), "a screen row is missing `panes`");
                    None
                }
                Some(pv) => self.panes(pv, signals),
            };
            rt.finish(&mut self.sink);
            if let (Some(height), Some(panes)) = (height, panes) {
                rows.push(Row { height, panes });
            }
        }
        Some(Screen { rows })
    }

    fn panes(&mut self, v: &Value<'_>, signals: &[Signal]) -> Option<Vec<Pane>> {
        let list = as_string_list(&mut self.sink, v, "panes")?;
        let mut out = Vec::new();
        for name in list {
            let s = name.get_ref().as_str();
            let pane = match s {
                "phases" => Some(Pane::Phases),
                "gates" => Some(Pane::Gates),
                "signoffs" => Some(Pane::Signoffs),
                "signals" => Some(Pane::Signals),
                "log" => Some(Pane::Log),
                "output" => Some(Pane::Output),
                _ => {
                    if let Some((kind, id)) = s.split_once(':') {
                        let sig = self.signal_at.get(id).map(|&i| &signals[i]);
                        // As quoted in messages.
                        let (shown, shown_id) = (cut(s), cut(id));
                        match (kind, sig) {
                            ("checklist", Some(sig))
                                if matches!(sig.probe, Probe::Checklist(_)) =>
                            {
                                Some(Pane::Checklist(id.to_string()))
                            }
                            ("checklist", Some(_)) => {
                                self.sink.error(
                                    &name.span(),
                                    format!(
                                        "pane `{shown}`: `{shown_id}` is not a checklist signal"
                                    ),
                                );
                                None
                            }
                            ("chart", Some(sig)) if !matches!(sig.probe, Probe::Checklist(_)) => {
                                Some(Pane::Chart(id.to_string()))
                            }
                            ("chart", Some(_)) => {
                                self.sink.error(
                                    &name.span(),
                                    format!("pane `{shown}`: a checklist has no chart"),
                                );
                                None
                            }
                            // Declared but broken: its own errors say why.
                            ("checklist" | "chart", None) if self.declared.has(id) => None,
                            ("checklist" | "chart", None) => {
                                let hint =
                                    self.sink.suggest(id, signals.iter().map(|x| x.id.as_str()));
                                self.sink.error_hint(
                                    &name.span(),
                                    format!("pane `{shown}` names unknown signal `{shown_id}`"),
                                    hint,
                                );
                                None
                            }
                            _ => {
                                self.unknown_pane(&name);
                                None
                            }
                        }
                    } else {
                        self.unknown_pane(&name);
                        None
                    }
                }
            };
            out.extend(pane);
        }
        Some(out)
    }

    fn unknown_pane(&mut self, name: &toml::Spanned<String>) {
        let hint = self.sink.suggest(name.get_ref(), Pane::NAMES);
        self.sink.error_hint(
            &name.span(),
            format!("unknown pane `{}`", cut(name.get_ref())),
            hint.or_else(|| Some(format!("one of {}", Pane::NAMES.join(", ")))),
        );
    }
}
