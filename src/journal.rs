//! The journal: an append-only event log, in an embedded SQLite file or a
//! PostgreSQL database a team shares.
//!
//! Every backend keeps the same promises, behind one [`Store`] trait: an
//! event is durable when [`Journal::append`] returns; appends serialise
//! across processes; each event carries the hash of the one before it
//! (`gonogo log --verify` finds an edited or deleted event); and a unique
//! `claim` lets exactly one process win a race such as "fire the rollback
//! for this breach". The chain's rule is written here, once, for every
//! backend ([`Row::hash`]; the PostgreSQL server computes the same in SQL),
//! so a launch copied between backends verifies on both.
//!
//! Who acted is never a value the writer supplies: the store stamps its
//! [`Store::identity`] on every event — the owner of a journal file (no
//! other user may write one), or the user a PostgreSQL server
//! authenticated, stamped by the server itself.

pub mod location;
mod postgres;
pub mod spool;
mod sqlite;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use sha2::{Digest, Sha256};

use crate::launch::{Event, EventKind, GateSnapshot};
use crate::signal::Sample;

pub use location::Location;

const GENESIS: &str = "genesis";

/// The lease of the one process that polls the endpoints.
const POLL_LEASE: &str = "poll";

#[derive(Debug)]
pub enum JournalError {
    Open(Location, String),
    Sql(String),
    /// Another process already made this claim.
    Claimed(String),
    /// The journal belongs to another launch.
    OtherLaunch {
        path: Location,
        found: String,
        expected: String,
    },
    /// No journal at this path (readers never create one).
    Missing(Location),
    /// The path is a directory, a device or something else a journal
    /// cannot be; refused before anything is created.
    NotAFile(Location, String),
    /// This user may not write the journal: another user owns it or can
    /// write it (or its directory), so its record could not say who acted.
    NotOurs(Location, String),
    /// The file is not a sound gonogo journal: empty, truncated, not a
    /// database, or its tables are gone.
    Damaged(Location, String),
    /// SQLite found the file corrupt while reading or writing it.
    Corrupt(String),
    /// The journal database cannot be reached or refuses us: down, a wrong
    /// password, no such database, a schema newer than this gonogo.
    Unreachable(Location, String),
    /// The journal database went away while in use: nothing was written.
    Offline(String),
}

impl JournalError {
    /// Whether the journal itself is broken (rather than busy, missing,
    /// or refusing a claim): `check` gives this its own exit code.
    pub fn is_damaged(&self) -> bool {
        matches!(self, JournalError::Damaged(..) | JournalError::Corrupt(_))
    }

    /// Whether the journal's database could not be reached (its own exit
    /// code, and JOURNAL OFFLINE on screen).
    pub fn is_unreachable(&self) -> bool {
        self.unreachable_reason().is_some()
    }

    /// Why the journal's database could not be reached, if that is what
    /// went wrong.
    pub fn unreachable_reason(&self) -> Option<&str> {
        match self {
            JournalError::Unreachable(_, why) | JournalError::Offline(why) => Some(why),
            _ => None,
        }
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
            JournalError::NotOurs(p, why) => {
                write!(f, "refusing to write journal {}: {why}", p.display())
            }
            JournalError::Damaged(p, why) => {
                write!(f, "journal {} is DAMAGED: {why}", p.display())
            }
            JournalError::Corrupt(e) => write!(f, "journal is DAMAGED: {e}"),
            JournalError::Unreachable(p, why) => {
                write!(f, "cannot reach journal {}: {why}", p.display())
            }
            JournalError::Offline(why) => write!(f, "JOURNAL OFFLINE: {why}"),
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

/// The chain new journals are sealed with (see [`Row::hash`]).
pub const CHAIN: u8 = 3;

/// What to append: the event before it has a sequence number, a time or
/// an actor (the store stamps those).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub kind: EventKind,
    pub gates: Vec<GateSnapshot>,
    /// A unique claim: the append fails with [`JournalError::Claimed`] if
    /// any process already appended an event with the same claim.
    pub claim: Option<String>,
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

/// Which samples to read.
#[derive(Debug, Clone, Copy)]
pub enum SampleQuery {
    /// Taken at or after this time, oldest first.
    Since(DateTime<Utc>),
    /// Recorded after this row id, in row order.
    After(i64),
}

/// A stored sample as the store hands it back: row id, signal, time and
/// outcome as text (decoded here, once, for every backend).
pub struct RawSample {
    pub id: i64,
    pub signal: String,
    pub at: String,
    pub outcome: String,
}

/// What a journal backend does. Each method is one transaction; the
/// product sees only [`Journal`].
pub trait Store: Send {
    fn location(&self) -> &Location;
    /// The launch this store holds.
    fn launch(&self) -> &str;
    /// How events are hashed (see [`Row::hash`]).
    fn chain(&self) -> u8;
    /// Appends `entry` as the next event: reads the last event, seals the
    /// new one with [`seal`], stores it, all in one transaction. Durable
    /// when it returns; [`JournalError::Claimed`] when the claim is taken.
    fn append(&mut self, entry: &Entry) -> Result<Row, JournalError>;
    /// Every stored event after `seq`, oldest first, as stored.
    fn rows_after(&self, seq: i64) -> Result<Vec<Row>, JournalError>;
    fn last_seq(&self) -> Result<i64, JournalError>;
    /// The highest sequence number ever handed out, which outlives a
    /// deleted tail (`None` when the store cannot tell).
    fn highest_seq(&self) -> Option<i64>;
    /// What the storage itself reports damaged (empty when sound).
    fn storage_problems(&self) -> Vec<String>;
    fn integrity(&self) -> Result<String, JournalError>;
    /// Stores samples (signal, time, outcome JSON) and drops those taken
    /// more than `keep` ago, in one transaction.
    fn record_samples(
        &mut self,
        samples: &[(&str, String, String)],
        keep: Duration,
    ) -> Result<(), JournalError>;
    fn samples(&self, query: SampleQuery) -> Result<Vec<RawSample>, JournalError>;
    fn last_sample_id(&self) -> Result<i64, JournalError>;
    /// Takes or renews lease `name` for `ttl` unless another holder's is
    /// still live. `Ok(true)`: we hold it.
    fn hold_lease(&mut self, name: &str, holder: &str, ttl: Duration)
    -> Result<bool, JournalError>;
    fn release_lease(&mut self, name: &str, holder: &str) -> Result<(), JournalError>;
    /// Who holds lease `name`, and until when on this machine's clock.
    fn lease(&self, name: &str) -> Result<Option<(String, DateTime<Utc>)>, JournalError>;
    /// A counter that moves when another process appends an event or
    /// records samples: the runtime looks at once instead of waiting for
    /// its next poll. `None`: this store has no push; poll it.
    fn wakeups(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
    /// Why the store cannot be written now (the database is gone), if so.
    fn offline(&self) -> Option<String> {
        None
    }
    /// Who acts, as an authority established it and as the store stamps
    /// it on every event: the owner of a journal file (the only user who
    /// may write it), a database's authenticated user.
    fn identity(&self) -> &str;
    /// The server's clock minus this machine's, measured now; `None` for
    /// a store whose clock is this machine's (a file).
    fn clock_offset(&self) -> Result<Option<chrono::Duration>, JournalError> {
        Ok(None)
    }
    /// The process is stopping: from now on no call waits long for a
    /// store that does not answer.
    fn hurry(&self) {}
}

/// An entry's stored columns: kind, body and gates, redacted.
///
/// # Errors
/// An event that cannot be serialised.
pub fn columns(entry: &Entry) -> Result<(String, String, String), JournalError> {
    let kind = kind_name(&entry.kind);
    let body = serde_json::to_string(&entry.kind).map_err(|e| JournalError::Sql(e.to_string()))?;
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
    Ok((kind, body, gates))
}

/// Seals `entry` as the event after `last` (its sequence number and
/// hash; `None` for the first) of launch `launch`, done by `actor` and
/// recorded `at`: the row a file store writes.
///
/// # Errors
/// An event that cannot be serialised.
pub fn seal(
    entry: &Entry,
    actor: &str,
    (launch, chain): (&str, u8),
    last: Option<(i64, String)>,
    at: DateTime<Utc>,
) -> Result<Row, JournalError> {
    let (last_seq, prev_hash) = last.unwrap_or((0, GENESIS.to_string()));
    // Stored to the microsecond: hand back exactly what a replay reads.
    let at = stamp(at.trunc_subsecs(6));
    let (kind, body, gates) = columns(entry)?;
    let mut row = Row {
        seq: last_seq + 1,
        at,
        actor: actor.to_string(),
        kind,
        body,
        gates,
        claim: entry.claim.clone(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = row.hash(chain, launch);
    Ok(row)
}

/// The event a stored row holds.
fn event_of(row: &Row) -> Result<Event, JournalError> {
    let seq = row.seq;
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        JournalError::Sql(format!("event #{seq}: unreadable {what}: {e}"))
    };
    Ok(Event {
        seq,
        at: DateTime::parse_from_rfc3339(&row.at)
            .map_err(|e| bad("time", &e))?
            .with_timezone(&Utc),
        actor: row.actor.clone(),
        kind: serde_json::from_str(&row.body).map_err(|e| bad("body", &e))?,
        gates: serde_json::from_str(&row.gates).map_err(|e| bad("gates", &e))?,
    })
}

/// Runs a journal call from async code: on a multi-thread runtime the
/// worker hands its other tasks over first (a database call may wait up
/// to its timeout, and the probes on this worker must not wait with it).
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// A launch's journal, whichever backend keeps it.
pub struct Journal {
    store: Box<dyn Store>,
}

impl Journal {
    /// Opens the journal of launch `launch_id` at `at`, creating it with
    /// `first` as its first event if there is none. No process ever sees
    /// a journal without its first event. `Ok((journal, true))` when this
    /// call created it.
    ///
    /// # Errors
    /// When the location cannot hold a journal, it is damaged, belongs to
    /// another launch, or cannot be reached or created.
    pub fn open_or_create(
        at: impl Into<Location>,
        launch_id: &str,
        first: &Entry,
    ) -> Result<(Journal, bool), JournalError> {
        let at = &at.into();
        let (store, created): (Box<dyn Store>, bool) = match at {
            Location::File(path) => {
                let (s, c) = sqlite::Sqlite::open_or_create(path, at, launch_id, first)?;
                (Box::new(s), c)
            }
            Location::Postgres(_) => {
                let (s, c) = postgres::Postgres::open_or_create(at, launch_id, first)?;
                (Box::new(s), c)
            }
        };
        Ok((Journal { store }, created))
    }

    /// Opens the existing journal of launch `launch_id` for reading and
    /// writing.
    ///
    /// # Errors
    /// When there is none, it is damaged, belongs to another launch or
    /// cannot be reached.
    pub fn open(at: impl Into<Location>, launch_id: &str) -> Result<Journal, JournalError> {
        let at = &at.into();
        let store: Box<dyn Store> = match at {
            Location::File(path) => Box::new(sqlite::Sqlite::open(path, at, launch_id)?),
            Location::Postgres(_) => Box::new(postgres::Postgres::open(at, launch_id, false)?),
        };
        Ok(Journal { store })
    }

    /// Opens the existing journal of launch `launch_id` only to read it:
    /// `log`, `check` and a read-only screen work on a journal the user
    /// may read but not write, and never change it.
    ///
    /// # Errors
    /// When there is none, it is damaged, belongs to another launch or
    /// cannot be reached.
    pub fn open_read_only(
        at: impl Into<Location>,
        launch_id: &str,
    ) -> Result<Journal, JournalError> {
        let at = &at.into();
        let store: Box<dyn Store> = match at {
            Location::File(path) => Box::new(sqlite::Sqlite::open_read_only(path, at, launch_id)?),
            Location::Postgres(_) => Box::new(postgres::Postgres::open(at, launch_id, true)?),
        };
        Ok(Journal { store })
    }

    /// Makes launch `launch_id` at `at` holding `rows` exactly as they
    /// were stored elsewhere, sealed with `chain` (`journal copy`).
    /// `Ok(false)`: `at` already holds that launch, and nothing changed.
    ///
    /// # Errors
    /// When `at` cannot hold a journal or cannot be reached.
    pub fn create_copy(
        at: &Location,
        launch_id: &str,
        rows: &[Row],
        chain: u8,
    ) -> Result<bool, JournalError> {
        match at {
            Location::File(path) => sqlite::Sqlite::create_with(path, at, launch_id, rows, chain),
            Location::Postgres(_) => postgres::Postgres::create_with(at, launch_id, rows, chain),
        }
    }

    /// Creates or upgrades the gonogo schema of the database at `at`, as
    /// the user the URL logs in as, who owns it from then on (`gonogo
    /// journal setup`). What was done, for the operator.
    ///
    /// # Errors
    /// Not a database URL; an unreachable or refusing database; a newer
    /// schema; a user who may not create or change it.
    pub fn setup(at: &Location) -> Result<String, JournalError> {
        match at {
            Location::File(_) => Err(JournalError::Open(
                at.clone(),
                "`journal setup` is for a PostgreSQL journal; a journal file is made by the first act on it".into(),
            )),
            Location::Postgres(_) => postgres::setup(at),
        }
    }

    /// Gives database role `role` exactly what an operator needs on the
    /// journal at `at`: read every table, write only through the
    /// functions that stamp who acted (`gonogo journal grant`).
    ///
    /// # Errors
    /// Not a database URL; no such role; a user who may not grant.
    pub fn grant(at: &Location, role: &str) -> Result<String, JournalError> {
        match at {
            Location::File(_) => Err(JournalError::Open(
                at.clone(),
                "`journal grant` is for a PostgreSQL journal; a journal file is written by its owner alone".into(),
            )),
            Location::Postgres(_) => postgres::grant(at, role),
        }
    }

    /// The launches a journal holds: one for a file, any number for a
    /// database.
    ///
    /// # Errors
    /// When there is no journal there, it is damaged or unreachable.
    pub fn launches(at: &Location) -> Result<Vec<String>, JournalError> {
        match at {
            Location::File(path) => sqlite::launches(path, at),
            Location::Postgres(_) => postgres::launches(at),
        }
    }

    pub fn location(&self) -> &Location {
        self.store.location()
    }

    /// Appends an event; it is durable when this returns.
    ///
    /// # Errors
    /// [`JournalError::Claimed`] when the claim is taken; storage errors.
    pub fn append(&mut self, entry: &Entry) -> Result<Event, JournalError> {
        let row = self.store.append(entry)?;
        // Hand back what was stored, redactions included.
        event_of(&row)
    }

    /// Events after `seq`, oldest first.
    ///
    /// # Errors
    /// Storage errors, or an event whose body cannot be read.
    pub fn since(&self, seq: i64) -> Result<Vec<Event>, JournalError> {
        self.store.rows_after(seq)?.iter().map(event_of).collect()
    }

    /// Every stored event as stored, oldest first (`journal copy`).
    ///
    /// # Errors
    /// Storage errors.
    pub fn rows(&self) -> Result<Vec<Row>, JournalError> {
        self.store.rows_after(0)
    }

    /// The newest sequence number (0 when empty): cheap, for change polling.
    ///
    /// # Errors
    /// Storage errors.
    pub fn last_seq(&self) -> Result<i64, JournalError> {
        self.store.last_seq()
    }

    /// How this journal's events are hashed.
    pub fn chain(&self) -> u8 {
        self.store.chain()
    }

    /// Checks the storage and the hash chain. `head` is a hash (or its first
    /// 8+ hex digits) the operator noted from an earlier record: a chain
    /// cut back before it is found even when what is left is consistent.
    ///
    /// # Errors
    /// Every problem found, each naming the event.
    pub fn verify(&self, head: Option<&str>) -> Result<Verified, Vec<String>> {
        let mut problems = self.store.storage_problems();
        let rows = match self.store.rows_after(0) {
            Ok(rows) => rows,
            Err(e) => {
                problems.push(format!("cannot read events: {e}"));
                return Err(problems);
            }
        };
        let chain = self.store.chain();
        problems.extend(chain_problems(
            &rows,
            (self.store.launch(), chain),
            self.store.highest_seq(),
            head,
        ));
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Verified {
            events: rows.len(),
            head: rows.last().map(|r| (r.seq, r.hash.clone())),
            chain,
        })
    }

    /// Records samples as evidence (the CLI acts and the launch record read
    /// them), dropping those older than `keep`.
    ///
    /// # Errors
    /// Storage errors.
    pub fn record_samples<'a>(
        &mut self,
        samples: impl IntoIterator<Item = (&'a str, &'a Sample)>,
        keep: Duration,
    ) -> Result<(), JournalError> {
        let mut rows = Vec::new();
        for (signal, sample) in samples {
            let outcome = serde_json::to_string(&sample.outcome)
                .map_err(|e| JournalError::Sql(e.to_string()))?;
            rows.push((
                signal,
                stamp(sample.at),
                crate::text::redact(&outcome).into_owned(),
            ));
        }
        if rows.is_empty() {
            return Ok(());
        }
        self.store.record_samples(&rows, keep)
    }

    /// Samples recorded at or after `since`, oldest first.
    ///
    /// # Errors
    /// Storage errors.
    pub fn samples_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, Sample)>, JournalError> {
        Ok(self.read_samples(SampleQuery::Since(since))?.1)
    }

    /// Samples recorded after row `after_id` (another process's polls), with
    /// the last row id seen: how a guard without the polling lease follows
    /// the one that has it.
    ///
    /// # Errors
    /// Storage errors.
    pub fn samples_after(
        &self,
        after_id: i64,
    ) -> Result<(i64, Vec<(String, Sample)>), JournalError> {
        let (last, samples) = self.read_samples(SampleQuery::After(after_id))?;
        Ok((last.max(after_id), samples))
    }

    /// Returns the highest row id read and the samples that still read.
    fn read_samples(
        &self,
        query: SampleQuery,
    ) -> Result<(i64, Vec<(String, Sample)>), JournalError> {
        let mut last = 0;
        let mut out = Vec::new();
        // A sample stamped ahead of now is no evidence: the clock that
        // stamped it is wrong (a file journal's writer on a fast clock), and
        // counted later it would fill a window with time that never passed.
        // The slack covers the error of measuring a server's clock.
        let ahead = crate::clock::now() + chrono::Duration::seconds(1);
        for raw in self.store.samples(query)? {
            last = last.max(raw.id);
            // A sample that no longer reads (a newer format) is skipped: it
            // is evidence, not a record, and polling will replace it.
            let (Ok(at), Ok(outcome)) = (
                DateTime::parse_from_rfc3339(&raw.at),
                serde_json::from_str(&raw.outcome),
            ) else {
                continue;
            };
            if at > ahead {
                continue;
            }
            out.push((
                raw.signal,
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
    /// Storage errors.
    pub fn last_sample_id(&self) -> Result<i64, JournalError> {
        self.store.last_sample_id()
    }

    /// Takes or renews the polling lease for `ttl`. Only one process polls
    /// the layout's endpoints; the others read its samples, and take over
    /// once its lease lapses (it died or hung). `Ok(true)`: we hold it.
    ///
    /// # Errors
    /// Storage errors.
    pub fn hold_lease(&mut self, holder: &str, ttl: Duration) -> Result<bool, JournalError> {
        self.store.hold_lease(POLL_LEASE, holder, ttl)
    }

    /// Gives the lease up (on a clean exit) so another guard takes over at once.
    ///
    /// # Errors
    /// Storage errors.
    pub fn release_lease(&mut self, holder: &str) -> Result<(), JournalError> {
        self.store.release_lease(POLL_LEASE, holder)
    }

    /// Takes or renews lease `name` for `ttl` unless another holder's is
    /// still live. `Ok(true)`: we hold it.
    ///
    /// # Errors
    /// Storage errors.
    pub fn hold_named_lease(
        &mut self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, JournalError> {
        self.store.hold_lease(name, holder, ttl)
    }

    /// Gives lease `name` up, if `holder` holds it.
    ///
    /// # Errors
    /// Storage errors.
    pub fn release_named_lease(&mut self, name: &str, holder: &str) -> Result<(), JournalError> {
        self.store.release_lease(name, holder)
    }

    /// Who holds lease `name`, and until when (possibly past).
    ///
    /// # Errors
    /// Storage errors.
    pub fn lease(&self, name: &str) -> Result<Option<(String, DateTime<Utc>)>, JournalError> {
        self.store.lease(name)
    }

    /// "ok" when the storage is sound.
    ///
    /// # Errors
    /// Storage errors.
    pub fn integrity(&self) -> Result<String, JournalError> {
        self.store.integrity()
    }

    /// See [`Store::wakeups`].
    pub fn wakeups(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.store.wakeups()
    }

    /// See [`Store::offline`].
    pub fn offline(&self) -> Option<String> {
        self.store.offline()
    }

    /// Who acts on this journal, as every event appended here records it:
    /// the file's owner, or the database user a PostgreSQL server
    /// authenticated. On a team journal the OS user is whatever a laptop
    /// says it is; the database's login is what the server checked.
    pub fn actor(&self) -> String {
        self.store.identity().to_string()
    }

    /// Stopping: calls from now on give up quickly on a store that does
    /// not answer (SIGTERM is obeyed within a second, whatever the
    /// database does).
    pub fn hurry(&self) {
        self.store.hurry();
    }

    /// Measures this machine's clock against the journal server's and
    /// puts the process on the server's timeline ([`crate::clock`]).
    /// Nothing to do for a file journal.
    ///
    /// # Errors
    /// The server could not be asked.
    pub fn measure_clock(&self) -> Result<(), JournalError> {
        if let Some(offset) = self.store.clock_offset()? {
            crate::clock::set_offset(offset);
        }
        Ok(())
    }
}

/// What is wrong with a chain of rows: gaps, broken links, edits, a cut
/// tail (against the highest sequence handed out, and the noted `head`).
fn chain_problems(
    rows: &[Row],
    (launch, chain): (&str, u8),
    highest: Option<i64>,
    head: Option<&str>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if rows.is_empty() && chain >= 2 {
        problems.push(
            "no events: every journal starts with its pinned layout, so events were deleted".into(),
        );
    }
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    for row in rows {
        let seq = row.seq;
        if seq != expected_seq {
            problems.push(format!(
                "events #{expected_seq}..#{} are missing (deleted)",
                seq - 1
            ));
        }
        if row.prev_hash != prev {
            problems.push(format!(
                "event #{seq} does not follow the event before it (an event was deleted or edited)"
            ));
        }
        if row.hash(chain, launch) != row.hash {
            problems.push(format!("event #{seq} was edited after it was recorded"));
        }
        prev.clone_from(&row.hash);
        expected_seq = seq + 1;
    }
    // The store remembers the highest seq ever used: a deleted tail shows,
    // unless that was edited too (hence `--head`).
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
    problems
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub body: String,
    pub gates: String,
    pub claim: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl Row {
    /// The hash a row of launch `launch` must carry: SHA-256 over its
    /// parts, each followed by a NUL byte, as hex. Version 3 covers the
    /// chain's version and the launch id, then every column (the claim's
    /// absence marked apart from an empty claim), so an event cannot move
    /// to another launch or be read under another rule; version 2, in
    /// journals made before, left out the version and launch; version 1
    /// also `kind` and `claim`. The PostgreSQL append function computes
    /// version 3 (and 2) in SQL: change both together.
    pub fn hash(&self, chain: u8, launch: &str) -> String {
        let seq = self.seq.to_string();
        let claim = match &self.claim {
            None => "-".to_string(),
            Some(c) => format!("+{c}"),
        };
        let columns = [
            self.prev_hash.as_str(),
            &seq,
            &self.at,
            &self.actor,
            &self.kind,
            &self.body,
            &self.gates,
            &claim,
        ];
        let parts: Vec<&str> = match chain {
            3.. => ["v3", launch].into_iter().chain(columns).collect(),
            2 => std::iter::once("v2").chain(columns).collect(),
            _ => vec![
                &self.prev_hash,
                &seq,
                &self.at,
                &self.actor,
                &self.body,
                &self.gates,
            ],
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
