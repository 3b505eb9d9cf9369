//! The journal: an append-only event log in an embedded SQLite database.
//!
//! Durable before acknowledged: WAL with `synchronous = FULL`, so once
//! [`Journal::append`] returns, the event survives `kill -9` and power loss.
//! Appends run in `BEGIN IMMEDIATE` transactions, so processes sharing the
//! file serialise; each event carries the hash of the one before it
//! (`gonogo log --verify` finds an edited or deleted event); and a `claim`
//! column with a UNIQUE constraint lets exactly one process win a race
//! such as "fire the rollback for this breach".

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use crate::launch::{Event, EventKind, GateSnapshot};
use crate::signal::Sample;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    body      TEXT NOT NULL,
    gates     TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    claim     TEXT UNIQUE
);
CREATE TABLE IF NOT EXISTS samples (
    id      INTEGER PRIMARY KEY,
    signal  TEXT NOT NULL,
    at      TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_at ON samples (at);
CREATE TABLE IF NOT EXISTS lease (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

const GENESIS: &str = "genesis";

/// The lease of the one process that polls the endpoints.
const POLL_LEASE: &str = "poll";

/// How long a process waits for another one holding the journal's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Switches the file to WAL (a no-op once it is). On a new file this needs
/// an exclusive lock, and SQLite answers BUSY at once, without its busy
/// handler, when another process is opening the same new file: so two
/// gonogo processes started together on a new journal would see one fail
/// with "database is locked". Retry instead, as the busy timeout would.
fn set_wal(conn: &Connection) -> Result<(), rusqlite::Error> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

#[derive(Debug)]
pub enum JournalError {
    Open(PathBuf, String),
    Sql(String),
    /// Another process already made this claim.
    Claimed(String),
    /// The journal belongs to another launch.
    OtherLaunch {
        path: PathBuf,
        found: String,
        expected: String,
    },
    /// No journal at this path (readers never create one).
    Missing(PathBuf),
    /// The path is a directory, a device or something else a journal
    /// cannot be; refused before anything is created.
    NotAFile(PathBuf, String),
    /// The file is not a sound gonogo journal: empty, truncated, not a
    /// database, or its tables are gone.
    Damaged(PathBuf, String),
    /// SQLite found the file corrupt while reading or writing it.
    Corrupt(String),
}

impl JournalError {
    /// Whether the journal itself is broken (rather than busy, missing,
    /// or refusing a claim): `check` gives this its own exit code.
    pub fn is_damaged(&self) -> bool {
        matches!(self, JournalError::Damaged(..) | JournalError::Corrupt(_))
    }
}

impl std::fmt::Display for JournalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalError::Open(p, e) => write!(f, "cannot open journal {}: {e}", p.display()),
            JournalError::Sql(e) => write!(f, "journal: {e}"),
            JournalError::Claimed(c) => write!(f, "already claimed: {c}"),
            JournalError::OtherLaunch {
                path,
                found,
                expected,
            } => write!(
                f,
                "journal {} belongs to launch `{found}`, not `{expected}`",
                path.display()
            ),
            JournalError::Missing(p) => {
                write!(
                    f,
                    "no journal at {} (nothing has been recorded)",
                    p.display()
                )
            }
            JournalError::NotAFile(p, what) => write!(
                f,
                "refusing journal {}: {what}; give the path of a journal file (`--journal FILE`)",
                p.display()
            ),
            JournalError::Damaged(p, why) => {
                write!(f, "journal {} is DAMAGED: {why}", p.display())
            }
            JournalError::Corrupt(e) => write!(f, "journal is DAMAGED: {e}"),
        }
    }
}

impl std::error::Error for JournalError {}

impl From<rusqlite::Error> for JournalError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                JournalError::Corrupt(e.to_string())
            }
            _ => JournalError::Sql(e.to_string()),
        }
    }
}

/// What to append: the event before it has a sequence number.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor: String,
    pub kind: EventKind,
    pub gates: Vec<GateSnapshot>,
    /// A unique claim: the append fails with [`JournalError::Claimed`] if
    /// any process already appended an event with the same claim.
    pub claim: Option<String>,
}

pub struct Journal {
    conn: Connection,
    path: PathBuf,
    /// How events are hashed: 2 covers every column; 1 (journals made
    /// before) left `kind` and `claim` out.
    chain: u8,
}

/// The default journal path: `$XDG_STATE_HOME/gonogo/<id>.sqlite`.
pub fn default_path(launch_id: &str) -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("gonogo").join(format!("{launch_id}.sqlite"))
}

/// SQLite's write-ahead log beside the journal.
fn wal_file(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// `path` for a `file:` URI: everything but unreserved characters and `/`
/// percent-encoded.
fn uri_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What is at `path`: `Ok(false)` nothing yet, `Ok(true)` a file that may
/// hold a journal, or why it cannot be one.
fn inspect(path: &Path) -> Result<bool, JournalError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(JournalError::Open(path.to_path_buf(), e.to_string())),
    };
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(JournalError::NotAFile(
            path.to_path_buf(),
            "it is a directory".into(),
        ));
    }
    if !kind.is_file() {
        return Err(JournalError::NotAFile(
            path.to_path_buf(),
            "it is not a regular file (a device, pipe or socket)".into(),
        ));
    }
    if meta.len() == 0 {
        // Every journal is created whole, with its first event, before it
        // appears under its name: an empty one was truncated.
        return Err(JournalError::Damaged(
            path.to_path_buf(),
            "the file is empty (0 bytes): truncated, or not a journal".into(),
        ));
    }
    Ok(true)
}

impl Journal {
    /// Opens the journal of launch `launch_id` at `path`, creating it if
    /// there is none, with `first` as its first event. A new journal is
    /// built under a temporary name and linked into place whole (0600),
    /// so no process ever sees a journal without its first event.
    /// `Ok((journal, true))` when this call created it.
    ///
    /// # Errors
    /// When the path cannot be a journal, the file is damaged or belongs to
    /// another launch, or cannot be created.
    pub fn open_or_create(
        path: &Path,
        launch_id: &str,
        first: &Entry,
    ) -> Result<(Journal, bool), JournalError> {
        if inspect(path)? {
            return Ok((Journal::open(path, launch_id)?, false));
        }
        let created = Journal::create(path, launch_id, first)?;
        Ok((Journal::open(path, launch_id)?, created))
    }

    /// Builds a new journal beside `path` and links it into place unless
    /// another process got there first. `Ok(true)`: ours is in place.
    fn create(path: &Path, launch_id: &str, first: &Entry) -> Result<bool, JournalError> {
        let open_err =
            |e: &dyn std::fmt::Display| JournalError::Open(path.to_path_buf(), e.to_string());
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| open_err(&e))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(
            ".{name}.new-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        // A team shares a launch through a setgid, group-writable directory
        // (`install -d -m 2770 -g launch /srv/launch`): a journal made
        // there is the group's to write. Anywhere else it is the creator's.
        let mode = std::fs::metadata(dir)
            .map(|m| {
                use std::os::unix::fs::PermissionsExt;
                let dir_mode = m.permissions().mode();
                if dir_mode & 0o2000 != 0 && dir_mode & 0o020 != 0 {
                    0o660
                } else {
                    0o600
                }
            })
            .unwrap_or(0o600);
        let built = (|| -> Result<(), JournalError> {
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&tmp)
                .map_err(|e| open_err(&e))?;
            // The umask may have taken bits the team needs.
            {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(mode))
                    .map_err(|e| open_err(&e))?;
            }
            let conn = Connection::open(&tmp).map_err(|e| open_err(&e))?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.execute_batch(SCHEMA)?;
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('launch', ?1), ('chain', '2')",
                params![launch_id],
            )?;
            let mut journal = Journal {
                conn,
                path: tmp.clone(),
                chain: 2,
            };
            journal.append(first)?;
            drop(journal);
            std::fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| open_err(&e))
        })();
        let placed = built.and_then(|()| match std::fs::hard_link(&tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(open_err(&e)),
        });
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::remove_file(tmp.with_extension("sqlite-journal"));
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        placed
    }

    /// Opens the existing journal of launch `launch_id` for reading and
    /// writing.
    ///
    /// # Errors
    /// When there is none, it is damaged, or it belongs to another launch.
    pub fn open(path: &Path, launch_id: &str) -> Result<Journal, JournalError> {
        if !inspect(path)? {
            return Err(JournalError::Missing(path.to_path_buf()));
        }
        let open_err =
            |e: &dyn std::fmt::Display| JournalError::Open(path.to_path_buf(), e.to_string());
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_err(&e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let damaged = |e: JournalError| match e {
            JournalError::Corrupt(why) => JournalError::Damaged(path.to_path_buf(), why),
            other => other,
        };
        set_wal(&conn).map_err(|e| damaged(e.into()))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let mut journal = Journal {
            conn,
            path: path.to_path_buf(),
            chain: 1,
        };
        journal.chain = journal.check_launch(launch_id).map_err(damaged)?;
        // Tables added since the journal was made.
        journal
            .conn
            .execute_batch(SCHEMA)
            .map_err(|e| damaged(e.into()))?;
        Ok(journal)
    }

    /// Opens the existing journal of launch `launch_id` only to read it:
    /// `log`, `check` and a read-only screen work on a journal the user
    /// may read but not write, and never change it.
    ///
    /// # Errors
    /// When there is none, it is damaged, or it belongs to another launch.
    pub fn open_read_only(path: &Path, launch_id: &str) -> Result<Journal, JournalError> {
        if !inspect(path)? {
            return Err(JournalError::Missing(path.to_path_buf()));
        }
        let open_err =
            |e: &dyn std::fmt::Display| JournalError::Open(path.to_path_buf(), e.to_string());
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(&e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // A WAL journal with no writer running has no -shm file, and a
        // reader who may not write the directory cannot create one. With no
        // -wal file either, every event is in the main file: read it as
        // is, without the shared-memory index.
        let probe = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        });
        if let Err(e) = probe
            && matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
            )
            && !wal_file(path).exists()
        {
            conn = Connection::open_with_flags(
                format!("file:{}?immutable=1", uri_path(path)),
                flags | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(|e| open_err(&e))?;
        }
        let mut journal = Journal {
            conn,
            path: path.to_path_buf(),
            chain: 1,
        };
        journal.chain = journal.check_launch(launch_id).map_err(|e| match e {
            JournalError::Corrupt(why) => JournalError::Damaged(path.to_path_buf(), why),
            other => other,
        })?;
        Ok(journal)
    }

    /// Checks the file is a gonogo journal of `launch_id`; returns its
    /// chain version.
    fn check_launch(&self, launch_id: &str) -> Result<u8, JournalError> {
        let meta: Vec<(String, String)> = match self
            .conn
            .prepare("SELECT key, value FROM meta")
            .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        {
            Ok(rows) => rows,
            Err(e)
                if e.sqlite_error_code().is_none() || e.to_string().contains("no such table") =>
            {
                return Err(JournalError::Damaged(
                    self.path.clone(),
                    format!("not a gonogo journal ({e})"),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let get = |k: &str| {
            meta.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let Some(found) = get("launch") else {
            return Err(JournalError::Damaged(
                self.path.clone(),
                "it names no launch: not a gonogo journal, or its meta table was emptied".into(),
            ));
        };
        if found != launch_id {
            return Err(JournalError::OtherLaunch {
                path: self.path.clone(),
                found,
                expected: launch_id.to_string(),
            });
        }
        Ok(if get("chain").as_deref() == Some("2") {
            2
        } else {
            1
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends an event; it is on disk when this returns.
    ///
    /// # Errors
    /// [`JournalError::Claimed`] when the claim is taken; SQL errors.
    pub fn append(&mut self, entry: &Entry) -> Result<Event, JournalError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(claim) = &entry.claim {
            let taken: Option<i64> = tx
                .query_row(
                    "SELECT seq FROM events WHERE claim = ?1",
                    params![claim],
                    |r| r.get(0),
                )
                .optional()?;
            if taken.is_some() {
                return Err(JournalError::Claimed(claim.clone()));
            }
        }
        let (last_seq, prev_hash): (i64, String) = tx
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((0, GENESIS.to_string()));
        // Stored to the microsecond: hand back exactly what a replay reads.
        let at = Utc::now().trunc_subsecs(6);
        let at_text = stamp(at);
        let kind = kind_name(&entry.kind);
        let body =
            serde_json::to_string(&entry.kind).map_err(|e| JournalError::Sql(e.to_string()))?;
        let gates =
            serde_json::to_string(&entry.gates).map_err(|e| JournalError::Sql(e.to_string()))?;
        // A `${VAR}` secret never reaches the record, even typed into a
        // note or echoed into a reason. The pinned layout is stored as
        // written: its text names variables, never their values, and its
        // digest must match it.
        let (body, gates) = if matches!(entry.kind, EventKind::LayoutPinned { .. }) {
            (body, crate::text::redact(&gates).into_owned())
        } else {
            (
                crate::text::redact(&body).into_owned(),
                crate::text::redact(&gates).into_owned(),
            )
        };
        let seq = last_seq + 1;
        let hash = Row {
            seq,
            at: at_text.clone(),
            actor: entry.actor.clone(),
            kind: kind.clone(),
            body: body.clone(),
            gates: gates.clone(),
            claim: entry.claim.clone(),
            prev_hash: prev_hash.clone(),
            hash: String::new(),
        }
        .hash(self.chain);
        tx.execute(
            "INSERT INTO events (seq, at, actor, kind, body, gates, prev_hash, hash, claim)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                seq,
                at_text,
                entry.actor,
                kind,
                body,
                gates,
                prev_hash,
                hash,
                entry.claim
            ],
        )?;
        tx.commit()?;
        // Hand back what was stored, redactions included.
        let bad = |e: serde_json::Error| JournalError::Sql(format!("event #{seq}: {e}"));
        Ok(Event {
            seq,
            at,
            actor: entry.actor.clone(),
            kind: serde_json::from_str(&body).map_err(bad)?,
            gates: serde_json::from_str(&gates).map_err(bad)?,
        })
    }

    /// Events after `seq`, oldest first.
    ///
    /// # Errors
    /// SQL errors, or an event whose body cannot be read.
    pub fn since(&self, seq: i64) -> Result<Vec<Event>, JournalError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, actor, body, gates FROM events WHERE seq > ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![seq], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at, actor, body, gates) = row?;
            let bad = |what: &str, e: &dyn std::fmt::Display| {
                JournalError::Sql(format!("event #{seq}: unreadable {what}: {e}"))
            };
            out.push(Event {
                seq,
                at: DateTime::parse_from_rfc3339(&at)
                    .map_err(|e| bad("time", &e))?
                    .with_timezone(&Utc),
                actor,
                kind: serde_json::from_str(&body).map_err(|e| bad("body", &e))?,
                gates: serde_json::from_str(&gates).map_err(|e| bad("gates", &e))?,
            });
        }
        Ok(out)
    }

    /// The newest sequence number (0 when empty): cheap, for change polling.
    ///
    /// # Errors
    /// SQL errors.
    pub fn last_seq(&self) -> Result<i64, JournalError> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?)
    }

    /// Checks the file and the hash chain. `head` is a hash (or its first
    /// 8+ hex digits) the operator noted from an earlier record: a chain
    /// cut back before it is found even when what is left is consistent.
    ///
    /// # Errors
    /// Every problem found, each naming the event.
    pub fn verify(&self, head: Option<&str>) -> Result<Verified, Vec<String>> {
        let mut problems = Vec::new();
        match self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0))
        {
            Ok(ok) if ok == "ok" => {}
            Ok(why) => problems.push(format!("the database file is damaged: {why}")),
            Err(e) => return Err(vec![format!("the database file is damaged: {e}")]),
        }
        let rows: Vec<Row> = match self
            .conn
            .prepare(
                "SELECT seq, at, actor, kind, body, gates, claim, prev_hash, hash
                 FROM events ORDER BY seq",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |r| {
                    Ok(Row {
                        seq: r.get(0)?,
                        at: r.get(1)?,
                        actor: r.get(2)?,
                        kind: r.get(3)?,
                        body: r.get(4)?,
                        gates: r.get(5)?,
                        claim: r.get(6)?,
                        prev_hash: r.get(7)?,
                        hash: r.get(8)?,
                    })
                })?
                .collect()
            }) {
            Ok(rows) => rows,
            Err(e) => {
                problems.push(format!("cannot read events: {e}"));
                return Err(problems);
            }
        };
        if rows.is_empty() && self.chain >= 2 {
            problems.push(
                "no events: every journal starts with its pinned layout, so events were deleted"
                    .into(),
            );
        }
        let mut prev = GENESIS.to_string();
        let mut expected_seq = 1;
        for row in &rows {
            let seq = row.seq;
            if seq != expected_seq {
                problems.push(format!(
                    "events #{expected_seq}..#{} are missing (deleted)",
                    seq - 1
                ));
            }
            if row.prev_hash != prev {
                problems.push(format!("event #{seq} does not follow the event before it (an event was deleted or edited)"));
            }
            if row.hash(self.chain) != row.hash {
                problems.push(format!("event #{seq} was edited after it was recorded"));
            }
            prev.clone_from(&row.hash);
            expected_seq = seq + 1;
        }
        // AUTOINCREMENT remembers the highest seq ever used: a deleted tail
        // shows, unless that table was edited too (hence `--head`).
        let highest: Option<i64> = self
            .conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten();
        if let Some(highest) = highest
            && highest >= expected_seq
        {
            problems.push(format!(
                "events #{expected_seq}..#{highest} are missing (deleted from the end)"
            ));
        }
        if let Some(head) = head {
            let head = head.trim().to_ascii_lowercase();
            if head.len() < 8 || !head.chars().all(|c| c.is_ascii_hexdigit()) {
                problems.push(format!(
                    "--head {head}: give the head hash as printed by `gonogo log` (at least 8 hex digits)"
                ));
            } else if !rows.iter().any(|r| r.hash.starts_with(&head)) {
                problems.push(format!(
                    "the head {head} recorded earlier is not in this journal: events were deleted from the end (or this is another journal)"
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Verified {
            events: rows.len(),
            head: rows.last().map(|r| (r.seq, r.hash.clone())),
            chain: self.chain,
        })
    }

    /// Records samples as evidence (the CLI acts and the launch record read
    /// them), dropping those older than `keep`.
    ///
    /// # Errors
    /// SQL errors.
    pub fn record_samples<'a>(
        &mut self,
        samples: impl IntoIterator<Item = (&'a str, &'a Sample)>,
        keep: Duration,
    ) -> Result<(), JournalError> {
        let mut samples = samples.into_iter().peekable();
        if samples.peek().is_none() {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert =
                tx.prepare_cached("INSERT INTO samples (signal, at, outcome) VALUES (?1, ?2, ?3)")?;
            for (signal, sample) in samples {
                let outcome = serde_json::to_string(&sample.outcome)
                    .map_err(|e| JournalError::Sql(e.to_string()))?;
                let outcome = crate::text::redact(&outcome);
                insert.execute(params![signal, stamp(sample.at), outcome])?;
            }
        }
        let horizon =
            Utc::now() - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
        tx.execute("DELETE FROM samples WHERE at < ?1", params![stamp(horizon)])?;
        tx.commit()?;
        Ok(())
    }

    /// Samples recorded at or after `since`, oldest first.
    ///
    /// # Errors
    /// SQL errors.
    pub fn samples_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, Sample)>, JournalError> {
        let (_, samples) = self.read_samples(
            "SELECT id, signal, at, outcome FROM samples WHERE at >= ?1 ORDER BY at",
            &stamp(since),
        )?;
        Ok(samples)
    }

    /// Samples recorded after row `after_id` (another process's polls), with
    /// the last row id seen: how a guard without the polling lease follows
    /// the one that has it.
    ///
    /// # Errors
    /// SQL errors.
    pub fn samples_after(
        &self,
        after_id: i64,
    ) -> Result<(i64, Vec<(String, Sample)>), JournalError> {
        let (last, samples) = self.read_samples(
            "SELECT id, signal, at, outcome FROM samples WHERE id > ?1 ORDER BY id",
            &after_id,
        )?;
        Ok((last.max(after_id), samples))
    }

    /// Runs a `SELECT id, signal, at, outcome` over samples; returns the
    /// highest row id read and the samples that still read.
    fn read_samples(
        &self,
        sql: &str,
        param: &dyn rusqlite::ToSql,
    ) -> Result<(i64, Vec<(String, Sample)>), JournalError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map([param], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut last = 0;
        let mut out = Vec::new();
        for row in rows {
            let (id, signal, at, outcome) = row?;
            last = last.max(id);
            // A sample that no longer reads (a newer format) is skipped: it
            // is evidence, not a record, and polling will replace it.
            let (Ok(at), Ok(outcome)) = (
                DateTime::parse_from_rfc3339(&at),
                serde_json::from_str(&outcome),
            ) else {
                continue;
            };
            out.push((
                signal,
                Sample {
                    at: at.with_timezone(&Utc),
                    outcome,
                },
            ));
        }
        Ok((last, out))
    }

    /// The newest sample row id (0 when none).
    ///
    /// # Errors
    /// SQL errors.
    pub fn last_sample_id(&self) -> Result<i64, JournalError> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM samples", [], |r| r.get(0))?)
    }

    /// Takes or renews the polling lease for `ttl`. Only one process polls
    /// the layout's endpoints; the others read its samples, and take over
    /// once its lease lapses (it died or hung). `Ok(true)`: we hold it.
    ///
    /// # Errors
    /// SQL errors.
    pub fn hold_lease(&mut self, holder: &str, ttl: Duration) -> Result<bool, JournalError> {
        self.hold_named_lease(POLL_LEASE, holder, ttl)
    }

    /// Gives the lease up (on a clean exit) so another guard takes over at once.
    ///
    /// # Errors
    /// SQL errors.
    pub fn release_lease(&mut self, holder: &str) -> Result<(), JournalError> {
        self.release_named_lease(POLL_LEASE, holder)
    }

    /// Takes or renews lease `name` for `ttl` unless another holder's is
    /// still live. `Ok(true)`: we hold it.
    ///
    /// # Errors
    /// SQL errors.
    pub fn hold_named_lease(
        &mut self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, JournalError> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<(String, String)> = tx
            .query_row(
                "SELECT holder, until FROM lease WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let ours = match &current {
            None => true,
            Some((h, _)) if h == holder => true,
            Some((_, u)) => {
                DateTime::parse_from_rfc3339(u).map_or(true, |u| u.with_timezone(&Utc) < now)
            }
        };
        if ours {
            tx.execute(
                "INSERT INTO lease (name, holder, until) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, until = excluded.until",
                params![name, holder, stamp(until)],
            )?;
        }
        tx.commit()?;
        Ok(ours)
    }

    /// Gives lease `name` up, if `holder` holds it.
    ///
    /// # Errors
    /// SQL errors.
    pub fn release_named_lease(&mut self, name: &str, holder: &str) -> Result<(), JournalError> {
        self.conn.execute(
            "DELETE FROM lease WHERE name = ?1 AND holder = ?2",
            params![name, holder],
        )?;
        Ok(())
    }

    /// Who holds lease `name`, and until when (possibly past).
    ///
    /// # Errors
    /// SQL errors.
    pub fn lease(&self, name: &str) -> Result<Option<(String, DateTime<Utc>)>, JournalError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT holder, until FROM lease WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(holder, until)| {
            let until = DateTime::parse_from_rfc3339(&until)
                .map_or(DateTime::<Utc>::MIN_UTC, |u| u.with_timezone(&Utc));
            (holder, until)
        }))
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    ///
    /// # Errors
    /// SQL errors.
    pub fn integrity(&self) -> Result<String, JournalError> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// What `verify` found: the count and the last event's hash, which the
/// launch record prints so a later `--verify --head` catches a cut tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub events: usize,
    pub head: Option<(i64, String)>,
    pub chain: u8,
}

/// One stored event, every column.
struct Row {
    seq: i64,
    at: String,
    actor: String,
    kind: String,
    body: String,
    gates: String,
    claim: Option<String>,
    prev_hash: String,
    hash: String,
}

impl Row {
    /// The hash a row must carry. Version 2 covers every column (the
    /// claim's absence is marked apart from an empty claim); version 1,
    /// in journals made before, left out `kind` and `claim`.
    fn hash(&self, chain: u8) -> String {
        let seq = self.seq.to_string();
        let claim = match &self.claim {
            None => "-".to_string(),
            Some(c) => format!("+{c}"),
        };
        let parts: Vec<&str> = if chain >= 2 {
            vec![
                "v2",
                &self.prev_hash,
                &seq,
                &self.at,
                &self.actor,
                &self.kind,
                &self.body,
                &self.gates,
                &claim,
            ]
        } else {
            vec![
                &self.prev_hash,
                &seq,
                &self.at,
                &self.actor,
                &self.body,
                &self.gates,
            ]
        };
        let mut h = Sha256::new();
        for part in parts {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The `type` tag of an event, for the `kind` column.
pub fn kind_name(kind: &EventKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str().map(str::to_string)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: EventKind, claim: Option<&str>) -> Entry {
        Entry {
            actor: "alice".into(),
            kind,
            gates: vec![GateSnapshot {
                gate: "api up".into(),
                state: "GO".into(),
                value: Some("up".into()),
            }],
            claim: claim.map(str::to_string),
        }
    }

    fn note(text: &str) -> Entry {
        entry(EventKind::Noted { text: text.into() }, None)
    }

    /// Evidence of every kind is kept as it was taken, and records written
    /// before strings, certificates and answer sets existed still read.
    #[test]
    fn samples_of_every_kind_read_back_and_old_records_still_read() {
        use crate::signal::Outcome;
        let dir = tempfile::tempdir().unwrap();
        let mut j = fresh(&dir.path().join("j.sqlite"));
        let at = Utc::now();
        let outcomes = [
            Outcome::Text("UP".into()),
            Outcome::Certificate {
                up: false,
                days: Some(-2.25),
                detail: "expired 2 days ago".into(),
            },
            Outcome::Certificate {
                up: false,
                days: None,
                detail: "connection refused".into(),
            },
            Outcome::Answers {
                records: vec!["203.0.113.7".into(), "203.0.113.8".into()],
                detail: String::new(),
            },
            Outcome::Answers {
                records: vec![],
                detail: "NXDOMAIN".into(),
            },
        ];
        let samples: Vec<Sample> = outcomes
            .iter()
            .map(|o| Sample {
                at,
                outcome: o.clone(),
            })
            .collect();
        j.record_samples(samples.iter().map(|s| ("s", s)), Duration::from_secs(3600))
            .unwrap();
        for old in [
            r#"{"number":12.5}"#,
            r#"{"health":{"up":true,"latency":{"secs":0,"nanos":12000000},"detail":"status 200 OK"}}"#,
            r#"{"unknown":"no data (empty vector)"}"#,
        ] {
            j.conn
                .execute(
                    "INSERT INTO samples (signal, at, outcome) VALUES ('old', ?1, ?2)",
                    params![stamp(at), old],
                )
                .unwrap();
        }
        let read = j.samples_since(at - chrono::Duration::seconds(1)).unwrap();
        let new: Vec<&Outcome> = read
            .iter()
            .filter(|(s, _)| s == "s")
            .map(|(_, x)| &x.outcome)
            .collect();
        assert_eq!(new, outcomes.iter().collect::<Vec<_>>());
        let old: Vec<&Outcome> = read
            .iter()
            .filter(|(s, _)| s == "old")
            .map(|(_, x)| &x.outcome)
            .collect();
        assert_eq!(old.len(), 3, "{read:?}");
        assert_eq!(old[0], &Outcome::Number(12.5));
    }

    /// A new journal whose first event is a note (in the product: the
    /// pinned layout).
    fn fresh(path: &Path) -> Journal {
        Journal::open_or_create(path, "demo", &note("first"))
            .unwrap()
            .0
    }

    #[test]
    fn appends_replay_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let mut j = fresh(&path);
        let e1 = j.append(&note("hello")).unwrap();
        let e2 = j
            .append(&entry(
                EventKind::Held {
                    reason: "wait".into(),
                },
                None,
            ))
            .unwrap();
        assert_eq!((e1.seq, e2.seq), (2, 3));
        let events = Journal::open(&path, "demo").unwrap().since(1).unwrap();
        assert_eq!(events, vec![e1, e2]);
        let v = j.verify(None).unwrap();
        assert_eq!((v.events, v.chain), (3, 2));
        assert_eq!(j.integrity().unwrap(), "ok");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Creating again opens what is there.
        let (again, created) = Journal::open_or_create(&path, "demo", &note("x")).unwrap();
        assert!(!created);
        assert_eq!(again.last_seq().unwrap(), 3);
    }

    #[test]
    fn edits_and_deletions_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let mut j = fresh(&path);
        for i in 0..4 {
            j.append(&note(&format!("n{i}"))).unwrap();
        }
        let raw = Connection::open(&path).unwrap();
        raw.execute("UPDATE events SET actor = 'mallory' WHERE seq = 2", [])
            .unwrap();
        let problems = j.verify(None).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p == "event #2 was edited after it was recorded"),
            "{problems:?}"
        );
        raw.execute("UPDATE events SET actor = 'alice' WHERE seq = 2", [])
            .unwrap();
        assert_eq!(j.verify(None).map(|v| v.events), Ok(5));
        let head = j.verify(None).unwrap().head.unwrap().1;
        raw.execute("DELETE FROM events WHERE seq = 3", []).unwrap();
        let problems = j.verify(None).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("#3..#3 are missing")),
            "{problems:?}"
        );
        raw.execute("DELETE FROM events WHERE seq >= 3", [])
            .unwrap();
        let problems = j.verify(None).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("deleted from the end")),
            "{problems:?}"
        );
        // Covering tracks: the sequence table too. Only the head the
        // operator noted down still tells.
        raw.execute(
            "UPDATE sqlite_sequence SET seq = 2 WHERE name = 'events'",
            [],
        )
        .unwrap();
        assert!(j.verify(None).is_ok(), "what is left is consistent");
        let problems = j.verify(Some(&head[..12])).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("is not in this journal: events were deleted from the end")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_chain_covers_the_kind_and_the_claim() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let mut j = fresh(&path);
        j.append(&entry(
            EventKind::Noted { text: "x".into() },
            Some("rollback:0"),
        ))
        .unwrap();
        let raw = Connection::open(&path).unwrap();
        for (edit, undo) in [
            (
                "UPDATE events SET kind = 'held' WHERE seq = 2",
                "UPDATE events SET kind = 'noted' WHERE seq = 2",
            ),
            (
                "UPDATE events SET claim = NULL WHERE seq = 2",
                "UPDATE events SET claim = 'rollback:0' WHERE seq = 2",
            ),
            (
                "UPDATE events SET claim = 'rollback:9' WHERE seq = 2",
                "UPDATE events SET claim = 'rollback:0' WHERE seq = 2",
            ),
        ] {
            raw.execute(edit, []).unwrap();
            let problems = j.verify(None).unwrap_err();
            assert!(
                problems
                    .iter()
                    .any(|p| p == "event #2 was edited after it was recorded"),
                "{edit}: {problems:?}"
            );
            raw.execute(undo, []).unwrap();
            assert!(j.verify(None).is_ok(), "{undo}");
        }
    }

    #[test]
    fn an_empty_or_foreign_file_is_damaged_and_a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.sqlite");
        std::fs::write(&empty, b"").unwrap();
        for err in [
            Journal::open(&empty, "demo").err().unwrap(),
            Journal::open_read_only(&empty, "demo").err().unwrap(),
            Journal::open_or_create(&empty, "demo", &note("x"))
                .err()
                .unwrap(),
        ] {
            assert!(err.is_damaged(), "{err}");
            assert!(err.to_string().contains("empty (0 bytes)"), "{err}");
        }
        assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0, "left as found");
        let text = dir.path().join("notes.txt");
        std::fs::write(
            &text,
            "not a database at all, just some words\n".repeat(200),
        )
        .unwrap();
        let err = Journal::open(&text, "demo").err().unwrap();
        assert!(err.is_damaged(), "{err}");
        let other = dir.path().join("other.sqlite");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x);")
            .unwrap();
        let err = Journal::open_read_only(&other, "demo").err().unwrap();
        assert!(err.is_damaged(), "{err}");
        assert!(err.to_string().contains("not a gonogo journal"), "{err}");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let err = Journal::open_or_create(&sub, "demo", &note("x"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("it is a directory"), "{err}");
        let err = Journal::open_or_create(Path::new("/dev/null"), "demo", &note("x"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 4, "nothing new was created: {entries:?}");
    }

    #[test]
    fn a_claim_is_won_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let mut a = fresh(&path);
        let mut b = Journal::open(&path, "demo").unwrap();
        let kind = EventKind::Noted { text: "x".into() };
        assert!(a.append(&entry(kind.clone(), Some("rollback:0"))).is_ok());
        assert!(matches!(
            b.append(&entry(kind, Some("rollback:0"))),
            Err(JournalError::Claimed(_))
        ));
        assert_eq!(b.last_seq().unwrap(), 2);
    }

    #[test]
    fn one_process_holds_the_polling_lease_until_it_lapses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let mut a = fresh(&path);
        let mut b = Journal::open(&path, "demo").unwrap();
        let ttl = Duration::from_millis(300);
        assert!(a.hold_lease("a", ttl).unwrap());
        assert!(!b.hold_lease("b", ttl).unwrap(), "a holds it");
        assert!(a.hold_lease("a", ttl).unwrap(), "renewal");
        std::thread::sleep(Duration::from_millis(400));
        assert!(b.hold_lease("b", ttl).unwrap(), "a lapsed: b takes over");
        assert!(!a.hold_lease("a", ttl).unwrap());
        b.release_lease("b").unwrap();
        assert!(a.hold_lease("a", ttl).unwrap(), "released: free at once");
        assert_eq!(a.lease("poll").unwrap().map(|l| l.0), Some("a".into()));
    }

    #[test]
    fn a_journal_belongs_to_one_launch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        fresh(&path);
        let err = Journal::open(&path, "other").err().unwrap();
        assert!(
            err.to_string()
                .contains("belongs to launch `demo`, not `other`"),
            "{err}"
        );
    }

    #[test]
    fn two_processes_creating_one_journal_make_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    Journal::open_or_create(&path, "demo", &note(&format!("creator {i}")))
                        .map(|(_, created)| created)
                        .unwrap()
                })
            })
            .collect();
        let created: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(created.iter().filter(|c| **c).count(), 1, "{created:?}");
        let j = Journal::open(&path, "demo").unwrap();
        assert_eq!(j.last_seq().unwrap(), 1, "one first event");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".new-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
