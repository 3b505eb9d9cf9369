//! The validated launch plan. Every id is resolved, every threshold is in
//! its signal's unit, every relative path is anchored at the layout's
//! directory: code that holds a [`Layout`] never re-checks it.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json_path::JsonPath;

use super::template::Template;
use crate::unit::{Threshold, Unit, format_duration};

#[derive(Debug, Clone)]
pub struct Layout {
    /// The layout file as given.
    pub path: PathBuf,
    /// Its directory: relative paths resolve against this.
    pub dir: PathBuf,
    pub launch: Launch,
    /// Role → OS users allowed to sign it. `None`: anyone may sign any role.
    pub roles: Option<Vec<(String, Vec<String>)>>,
    pub signals: Vec<Signal>,
    pub phases: Vec<Phase>,
    pub rollback: Option<Rollback>,
    pub notify: Notify,
    pub screen: Option<Screen>,
    /// The text it was read from: what the journal pins.
    pub source: std::sync::Arc<str>,
    /// sha256 of `source`, hex.
    pub source_digest: String,
    /// Commands of this layout that are not in the operator's own trusted
    /// copy of it, and so are never run here (see [`Layout::distrust`]).
    /// Empty for a layout read from a trusted file.
    pub distrusted: Distrusted,
    /// The programs and files it names, where (see
    /// [`super::check_needs`]).
    pub needs: Vec<super::Needed>,
}

/// Where a command sits in a layout.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum CommandPlace {
    /// A `kind = "command"` signal, by id.
    Signal(String),
    /// A phase's `on_enter`, by phase id.
    OnEnter(String),
    Rollback,
}

impl std::fmt::Display for CommandPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandPlace::Signal(id) => write!(f, "signal {id}"),
            CommandPlace::OnEnter(id) => write!(f, "the on_enter of {id}"),
            CommandPlace::Rollback => f.write_str("the rollback"),
        }
    }
}

/// The commands a pinned layout holds that the operator's trusted file
/// does not, and the words that say why they do not run.
#[derive(Debug, Clone, Default)]
pub struct Distrusted {
    pub places: Vec<CommandPlace>,
    pub why: String,
}

impl Layout {
    /// Every command in the layout, where it sits.
    pub fn commands(&self) -> Vec<(CommandPlace, &[String])> {
        let mut all = Vec::new();
        for s in &self.signals {
            if let Probe::Command(c) = &s.probe {
                all.push((CommandPlace::Signal(s.id.clone()), c.argv.as_slice()));
            }
        }
        for p in &self.phases {
            if let Some(argv) = &p.on_enter {
                all.push((CommandPlace::OnEnter(p.id.clone()), argv.as_slice()));
            }
        }
        if let Some(rb) = &self.rollback {
            all.push((CommandPlace::Rollback, rb.run.as_slice()));
        }
        all
    }

    /// Marks the commands of this (pinned) layout that `trusted` — the
    /// operator's own layout file, which passed the trusted-layout rule —
    /// does not hold at the same place with the same argv, run from the
    /// same directory. A command comes from the journal, which others can
    /// write; it runs here only if this user's own text says it.
    pub fn distrust(&mut self, trusted: &Layout) {
        let theirs = trusted.commands();
        let same_dir = same_dir(&self.dir, &trusted.dir);
        let places: Vec<CommandPlace> = self
            .commands()
            .into_iter()
            .filter(|(place, argv)| {
                !same_dir || !theirs.iter().any(|(p, a)| p == place && a == argv)
            })
            .map(|(place, _)| place)
            .collect();
        let why = format!(
            "the pinned layout differs from your trusted copy {}: pull it (`gonogo pull {}`), or an owner adopts yours",
            trusted.path.display(),
            trusted.path.display()
        );
        for s in &mut self.signals {
            if let Probe::Command(c) = &mut s.probe {
                let place = CommandPlace::Signal(s.id.clone());
                c.refused = places
                    .contains(&place)
                    .then(|| format!("{place} not run: {why}"));
            }
        }
        self.distrusted = Distrusted { why, places };
    }

    /// Why the command at `place` may not run here, if it may not.
    pub fn command_refusal(&self, place: &CommandPlace) -> Option<String> {
        self.distrusted
            .places
            .contains(place)
            .then(|| format!("{place} not run: {}", self.distrusted.why))
    }
}

fn same_dir(a: &std::path::Path, b: &std::path::Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

impl Layout {
    /// sha256 of the text, hex: the pinned layout's identity.
    pub fn digest(&self) -> &str {
        &self.source_digest
    }

    /// Who may adopt a changed layout: `[launch] owners`, else `creator`
    /// (the user who created the journal).
    pub fn may_adopt(&self, user: &str, creator: Option<&str>) -> bool {
        owners_allow(self.launch.owners.as_deref(), creator, user)
    }

    /// Whether `actor` may act as `role` (sign it, revoke another's
    /// sign-off of it); the refusal says who may.
    ///
    /// # Errors
    /// Why not, in words.
    pub fn may_act_as(&self, actor: &str, role: &str) -> Result<(), String> {
        roles_allow(self.roles.as_deref(), actor, role)
    }
}

/// Whether `user` may adopt a changed layout: one of `owners`, else the
/// journal's `creator`.
pub fn owners_allow(owners: Option<&[String]>, creator: Option<&str>, user: &str) -> bool {
    match owners {
        Some(owners) => owners.iter().any(|o| o == user || o == "*"),
        None => creator.is_some_and(|c| c == user),
    }
}

/// Who may adopt, in the words of a refusal: `owners: ana, ben`, or `the
/// owner is the journal's creator, ana`.
pub fn owners_words(owners: Option<&[String]>, creator: Option<&str>) -> String {
    match owners {
        Some(o) => format!("owners: {}", o.join(", ")),
        None => format!(
            "the owner is the journal's creator, {}",
            creator.unwrap_or("unknown")
        ),
    }
}

/// Whether `actor` may act as `role` under `roles` (`None`: anyone).
///
/// # Errors
/// Why not, in words.
pub fn roles_allow(
    roles: Option<&[(String, Vec<String>)]>,
    actor: &str,
    role: &str,
) -> Result<(), String> {
    let Some(roles) = roles else {
        return Ok(());
    };
    match roles.iter().find(|(r, _)| r == role) {
        None => Err(format!("the layout defines no role {role}")),
        Some((_, users)) if users.iter().any(|u| u == actor || u == "*") => Ok(()),
        Some((_, users)) => Err(format!(
            "{actor} is not in role {role} ({role}: {})",
            users.join(", ")
        )),
    }
}

impl Layout {
    pub fn signal(&self, id: &str) -> Option<&Signal> {
        self.signals.iter().find(|s| s.id == id)
    }

    pub fn signal_index(&self, id: &str) -> Option<usize> {
        self.signals.iter().position(|s| s.id == id)
    }

    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }

    pub fn phase_index(&self, id: &str) -> Option<usize> {
        self.phases.iter().position(|p| p.id == id)
    }

    /// The longest window any gate or trigger keeps on a signal: history
    /// must cover at least this much for judgement to be exact.
    pub fn longest_window(&self, signal: usize) -> Duration {
        let gates = self.phases.iter().flat_map(|p| p.gates.iter());
        let triggers = self.rollback.iter().flat_map(|r| r.triggers.iter());
        gates
            .chain(triggers)
            .filter(|g| g.signal == signal)
            .filter_map(|g| g.window)
            .max()
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct Launch {
    pub name: String,
    pub id: String,
    pub t0: Option<DateTime<Utc>>,
    pub journal: Option<PathBuf>,
    /// OS users who may adopt a changed layout into the journal. `None`:
    /// the user who created the journal.
    pub owners: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Signal {
    pub id: String,
    /// `id#digest` of its definition: what its samples are recorded and
    /// read under, so a changed definition starts with no evidence.
    pub key: String,
    pub probe: Probe,
    pub every: Duration,
    pub timeout: Duration,
    pub stale_after: Duration,
    pub unit: Unit,
    /// `depends_on`: the signals this one cannot be trusted without, by
    /// index, as written.
    pub depends_on: Vec<usize>,
    /// Every signal this one depends on, directly or not, deepest first
    /// (a root before what depends on it), each once: the first of them
    /// that is down names the root cause. Resolved once at validation;
    /// the layout has no cycles.
    pub upstream: Vec<usize>,
}

impl Signal {
    /// Whether this signal reports up/down (so `up = …` fits it).
    pub fn has_health(&self) -> bool {
        matches!(
            self.probe,
            Probe::Http(_) | Probe::Command(_) | Probe::Tcp(_) | Probe::Tls(_)
        )
    }

    /// Whether this signal's values can be strings (so `one_of` and a
    /// string `equals` fit it): only JSON can say `"UP"`.
    pub fn has_text(&self) -> bool {
        matches!(self.probe, Probe::Json(_))
    }

    pub fn kind(&self) -> &'static str {
        self.probe.kind()
    }
}

#[derive(Debug, Clone)]
pub enum Probe {
    Http(HttpProbe),
    Json(JsonProbe),
    Prometheus(PrometheusProbe),
    Command(CommandProbe),
    Checklist(ChecklistSource),
    Tcp(Address),
    Tls(TlsProbe),
    Dns(DnsProbe),
}

impl Probe {
    pub const KINDS: [&'static str; 8] = [
        "http",
        "json",
        "prometheus",
        "command",
        "checklist",
        "tcp",
        "tls",
        "dns",
    ];

    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Http(_) => "http",
            Probe::Json(_) => "json",
            Probe::Prometheus(_) => "prometheus",
            Probe::Command(_) => "command",
            Probe::Checklist(_) => "checklist",
            Probe::Tcp(_) => "tcp",
            Probe::Tls(_) => "tls",
            Probe::Dns(_) => "dns",
        }
    }

    /// A one-line description for the signals pane, free of secrets
    /// (templates are shown as written, never expanded).
    pub fn describe(&self) -> String {
        match self {
            Probe::Http(p) => format!("GET {}", p.url),
            Probe::Json(p) => format!("{} {}", p.url, p.path_text),
            Probe::Prometheus(p) => p.query.clone(),
            Probe::Command(p) => p.argv.join(" "),
            Probe::Checklist(ChecklistSource::Path(p)) => p.display().to_string(),
            Probe::Checklist(ChecklistSource::Url(u)) => u.to_string(),
            Probe::Checklist(ChecklistSource::Items(items)) => {
                format!("{} inline items", items.len())
            }
            Probe::Tcp(a) => a.to_string(),
            Probe::Tls(p) if p.server_name == p.address.host => p.address.to_string(),
            Probe::Tls(p) => format!("{} as {}", p.address, p.server_name),
            Probe::Dns(p) => match p.server {
                Some(s) => format!("{} {} @{s}", p.record.name(), p.name),
                None => format!("{} {}", p.record.name(), p.name),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpProbe {
    pub url: Template,
    /// Statuses that count as up; empty means any 2xx.
    pub expect_status: Vec<u16>,
    pub headers: Vec<(String, Template)>,
}

#[derive(Debug, Clone)]
pub struct JsonProbe {
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    pub path: JsonPath,
    pub path_text: String,
}

#[derive(Debug, Clone)]
pub struct PrometheusProbe {
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    pub query: String,
}

#[derive(Debug, Clone)]
pub struct CommandProbe {
    /// argv with argv\[0\] anchored at the layout directory when it has a `/`.
    pub argv: Vec<String>,
    pub dir: PathBuf,
    /// Set when the command is not in the operator's trusted copy: why it
    /// is not run (the signal reads UNKNOWN with it).
    pub refused: Option<String>,
}

/// `host:port` as written for a tcp or tls signal (IPv6 in brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[derive(Debug, Clone)]
pub struct TlsProbe {
    pub address: Address,
    /// The name the certificate must be valid for.
    pub server_name: String,
    /// PEM file of the roots to trust instead of the system's, anchored
    /// at the layout directory.
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct DnsProbe {
    /// Looked up as written, fully qualified: no search domains.
    pub name: String,
    pub record: RecordKind,
    /// The server to ask; `None`: the system's (`/etc/resolv.conf`).
    pub server: Option<std::net::SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    A,
    Aaaa,
    Cname,
}

impl RecordKind {
    pub const NAMES: [&'static str; 3] = ["A", "AAAA", "CNAME"];

    pub fn parse(s: &str) -> Option<RecordKind> {
        Some(match s {
            "A" => RecordKind::A,
            "AAAA" => RecordKind::Aaaa,
            "CNAME" => RecordKind::Cname,
            _ => return None,
        })
    }

    /// A record of this type as it is compared: an address parsed and
    /// printed back (`2001:db8::1` however it was written), a name in lower
    /// case without its trailing dot. `None`: not a record of this type.
    pub fn canonical(self, s: &str) -> Option<String> {
        match self {
            RecordKind::A => s.parse::<std::net::Ipv4Addr>().ok().map(|a| a.to_string()),
            RecordKind::Aaaa => s.parse::<std::net::Ipv6Addr>().ok().map(|a| a.to_string()),
            RecordKind::Cname => canonical_name(s),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RecordKind::A => "A",
            RecordKind::Aaaa => "AAAA",
            RecordKind::Cname => "CNAME",
        }
    }
}

/// A domain name in lower case without its trailing dot, if it is one:
/// labels of letters, digits, `-` and `_` (a leading `*` label too), 1–63
/// bytes each, 253 in all.
pub fn canonical_name(s: &str) -> Option<String> {
    let name = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
    let fits = |(i, label): (usize, &str)| {
        (1..=63).contains(&label.len())
            && (label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                || (i == 0 && label == "*"))
    };
    (!name.is_empty() && name.len() <= 253 && name.split('.').enumerate().all(fits)).then_some(name)
}

#[derive(Debug, Clone)]
pub enum ChecklistSource {
    Path(PathBuf),
    Url(Template),
    Items(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Phase {
    pub id: String,
    pub title: String,
    pub signoff: Vec<String>,
    pub timebox: Option<Duration>,
    pub soak: Option<Duration>,
    pub on_enter: Option<Vec<String>>,
    pub gates: Vec<Gate>,
}

/// A condition on one signal: a phase gate or a rollback trigger.
#[derive(Debug, Clone)]
pub struct Gate {
    /// Index into [`Layout::signals`].
    pub signal: usize,
    pub signal_id: String,
    pub condition: Condition,
    pub window: Option<Duration>,
    pub blocking: bool,
    pub name: Option<String>,
    /// What a rollback trigger does when it fires (gates: always
    /// [`Then::Rollback`], never read).
    pub then: Then,
}

/// What a rollback trigger does when its breach holds for its window:
/// `then = "rollback"` (the default) or `then = "hold"`, a pause for a
/// person that a hold trigger takes on its own, once per breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Then {
    #[default]
    Rollback,
    Hold,
}

impl Then {
    pub const NAMES: [&'static str; 2] = ["rollback", "hold"];
}

impl Gate {
    /// The name shown for the gate: its own, or its condition in words.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("{} {}", self.signal_id, self.condition_text()),
        }
    }

    /// `< 500ms for 5m`, `up`, `complete`.
    pub fn condition_text(&self) -> String {
        let base = self.condition.to_string();
        match self.window {
            Some(w) => format!("{base} for {}", format_duration(w)),
            None => base,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Below(Threshold),
    Above(Threshold),
    AtMost(Threshold),
    AtLeast(Threshold),
    Equals(Threshold),
    /// `equals = "UP"`: the value is this string, exactly.
    EqualsText(String),
    /// `one_of = ["UP", "DEGRADED"]`: the value is one of these strings.
    OneOf(Vec<String>),
    /// `resolves_to = [...]`: the DNS answer set is exactly this set
    /// (canonical and sorted, as [`crate::signal::Outcome::Answers`]).
    ResolvesTo(Vec<String>),
    Up(bool),
    Complete(bool),
}

impl Condition {
    pub const KEYS: [&'static str; 9] = [
        "below",
        "above",
        "at_most",
        "at_least",
        "equals",
        "one_of",
        "resolves_to",
        "up",
        "complete",
    ];

    /// Whether `v` satisfies a numeric condition; `None` for up/complete.
    pub fn holds_for(&self, v: f64) -> Option<bool> {
        Some(match self {
            Condition::Below(t) => v < t.value,
            Condition::Above(t) => v > t.value,
            Condition::AtMost(t) => v <= t.value,
            Condition::AtLeast(t) => v >= t.value,
            Condition::Equals(t) => v == t.value,
            Condition::EqualsText(_)
            | Condition::OneOf(_)
            | Condition::ResolvesTo(_)
            | Condition::Up(_)
            | Condition::Complete(_) => return None,
        })
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Condition::Below(t) => write!(f, "< {t}"),
            Condition::Above(t) => write!(f, "> {t}"),
            Condition::AtMost(t) => write!(f, "≤ {t}"),
            Condition::AtLeast(t) => write!(f, "≥ {t}"),
            Condition::Equals(t) => write!(f, "= {t}"),
            Condition::EqualsText(s) => write!(f, "= {s:?}"),
            Condition::OneOf(set) => {
                let quoted: Vec<String> = set.iter().map(|s| format!("{s:?}")).collect();
                write!(f, "one of {}", quoted.join(", "))
            }
            Condition::ResolvesTo(set) if set.is_empty() => f.write_str("resolves to nothing"),
            Condition::ResolvesTo(set) => write!(f, "resolves to {}", set.join(", ")),
            Condition::Up(true) => f.write_str("up"),
            Condition::Up(false) => f.write_str("down"),
            Condition::Complete(true) => f.write_str("complete"),
            Condition::Complete(false) => f.write_str("incomplete"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rollback {
    pub run: Vec<String>,
    pub timeout: Duration,
    pub confirm: String,
    /// Index of the phase from which auto-rollback is armed.
    pub auto_from: Option<usize>,
    pub triggers: Vec<Gate>,
    /// How many rollback triggers must hold at once; hold triggers never
    /// count toward it.
    pub quorum: usize,
    /// Auto-rollback fires even while the journal is offline, without the
    /// claim that makes it once-only across guards (spooled, recorded on
    /// reconnect).
    pub offline_auto: bool,
}

impl Rollback {
    /// The triggers that roll back (not the hold triggers), by index.
    pub fn rollback_triggers(&self) -> impl Iterator<Item = (usize, &Gate)> {
        self.triggers
            .iter()
            .enumerate()
            .filter(|(_, t)| t.then == Then::Rollback)
    }

    /// The `then = "hold"` triggers, by index.
    pub fn hold_triggers(&self) -> impl Iterator<Item = (usize, &Gate)> {
        self.triggers
            .iter()
            .enumerate()
            .filter(|(_, t)| t.then == Then::Hold)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Notify {
    pub desktop: bool,
    pub terminal: bool,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            desktop: true,
            terminal: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Screen {
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone)]
pub struct Row {
    /// Share of the height, in percent.
    pub height: u16,
    pub panes: Vec<Pane>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pane {
    Phases,
    Gates,
    Signoffs,
    Signals,
    Checklist(String),
    Chart(String),
    Log,
    Output,
}

impl Pane {
    pub const NAMES: [&'static str; 8] = [
        "phases",
        "gates",
        "signoffs",
        "signals",
        "checklist:",
        "chart:",
        "log",
        "output",
    ];
}
