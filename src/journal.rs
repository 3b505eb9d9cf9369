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
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
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
        }
    }
}

impl std::error::Error for JournalError {}

impl From<rusqlite::Error> for JournalError {
    fn from(e: rusqlite::Error) -> Self {
        JournalError::Sql(e.to_string())
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

impl Journal {
    /// Opens (creating 0600 if new) the journal of launch `launch_id`.
    ///
    /// # Errors
    /// When the file cannot be created or opened, or belongs to another launch.
    pub fn open(path: &Path, launch_id: &str) -> Result<Journal, JournalError> {
        let open_err =
            |e: &dyn std::fmt::Display| JournalError::Open(path.to_path_buf(), e.to_string());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(&e))?;
        }
        // Create it 0600 ourselves; an existing file keeps its permissions,
        // so a team can share a group-writable journal.
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| open_err(&e))?;
        let conn = Connection::open(path).map_err(|e| open_err(&e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        set_wal(&conn)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        let journal = Journal {
            conn,
            path: path.to_path_buf(),
        };
        journal.bind_launch(launch_id)?;
        Ok(journal)
    }

    fn bind_launch(&self, launch_id: &str) -> Result<(), JournalError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('launch', ?1)",
            params![launch_id],
        )?;
        let found: String =
            self.conn
                .query_row("SELECT value FROM meta WHERE key = 'launch'", [], |r| {
                    r.get(0)
                })?;
        if found == launch_id {
            Ok(())
        } else {
            Err(JournalError::OtherLaunch {
                path: self.path.clone(),
                found,
                expected: launch_id.to_string(),
            })
        }
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
        let seq = last_seq + 1;
        let hash = chain_hash(&prev_hash, seq, &at_text, &entry.actor, &body, &gates);
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
        Ok(Event {
            seq,
            at,
            actor: entry.actor.clone(),
            kind: entry.kind.clone(),
            gates: entry.gates.clone(),
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

    /// Checks the hash chain. `Ok(n)`: n events, intact. `Err(problems)`:
    /// each problem names the event.
    ///
    /// # Errors
    /// The list of problems found.
    pub fn verify(&self) -> Result<usize, Vec<String>> {
        let mut problems = Vec::new();
        let rows: Vec<(i64, String, String, String, String, String, String)> = match self
            .conn
            .prepare("SELECT seq, at, actor, body, gates, prev_hash, hash FROM events ORDER BY seq")
            .and_then(|mut stmt| {
                stmt.query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })?
                .collect()
            }) {
            Ok(rows) => rows,
            Err(e) => return Err(vec![format!("cannot read events: {e}")]),
        };
        let mut prev = GENESIS.to_string();
        let mut expected_seq = 1;
        for (seq, at, actor, body, gates, prev_hash, hash) in &rows {
            if *seq != expected_seq {
                problems.push(format!(
                    "events #{expected_seq}..#{} are missing (deleted)",
                    seq - 1
                ));
            }
            if *prev_hash != prev {
                problems.push(format!("event #{seq} does not follow the event before it (an event was deleted or edited)"));
            }
            if chain_hash(prev_hash, *seq, at, actor, body, gates) != *hash {
                problems.push(format!("event #{seq} was edited after it was recorded"));
            }
            prev.clone_from(hash);
            expected_seq = seq + 1;
        }
        // AUTOINCREMENT remembers the highest seq ever used: a deleted tail shows.
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
        if problems.is_empty() {
            Ok(rows.len())
        } else {
            Err(problems)
        }
    }

    /// Records samples as evidence (the CLI acts and the launch record read
    /// them), dropping those older than `keep`.
    ///
    /// # Errors
    /// SQL errors.
    pub fn record_samples(
        &mut self,
        samples: &[(String, Sample)],
        keep: Duration,
    ) -> Result<(), JournalError> {
        if samples.is_empty() {
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
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<(String, String)> = tx
            .query_row(
                "SELECT holder, until FROM lease WHERE name = 'poll'",
                [],
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
                "INSERT INTO lease (name, holder, until) VALUES ('poll', ?1, ?2)
                 ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, until = excluded.until",
                params![holder, stamp(until)],
            )?;
        }
        tx.commit()?;
        Ok(ours)
    }

    /// Gives the lease up (on a clean exit) so another guard takes over at once.
    ///
    /// # Errors
    /// SQL errors.
    pub fn release_lease(&mut self, holder: &str) -> Result<(), JournalError> {
        self.conn.execute(
            "DELETE FROM lease WHERE name = 'poll' AND holder = ?1",
            params![holder],
        )?;
        Ok(())
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

fn chain_hash(prev: &str, seq: i64, at: &str, actor: &str, body: &str, gates: &str) -> String {
    let mut h = Sha256::new();
    for part in [prev, &seq.to_string(), at, actor, body, gates] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
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

    #[test]
    fn appends_replay_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let mut j = Journal::open(&path, "demo").unwrap();
        let e1 = j
            .append(&entry(
                EventKind::Noted {
                    text: "hello".into(),
                },
                None,
            ))
            .unwrap();
        let e2 = j
            .append(&entry(
                EventKind::Held {
                    reason: "wait".into(),
                },
                None,
            ))
            .unwrap();
        assert_eq!((e1.seq, e2.seq), (1, 2));
        let events = Journal::open(&path, "demo").unwrap().since(0).unwrap();
        assert_eq!(events, vec![e1, e2]);
        assert_eq!(j.verify(), Ok(2));
        assert_eq!(j.integrity().unwrap(), "ok");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn edits_and_deletions_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let mut j = Journal::open(&path, "demo").unwrap();
        for i in 0..4 {
            j.append(&entry(
                EventKind::Noted {
                    text: format!("n{i}"),
                },
                None,
            ))
            .unwrap();
        }
        let raw = Connection::open(&path).unwrap();
        raw.execute("UPDATE events SET actor = 'mallory' WHERE seq = 2", [])
            .unwrap();
        let problems = j.verify().unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p == "event #2 was edited after it was recorded"),
            "{problems:?}"
        );
        raw.execute("UPDATE events SET actor = 'alice' WHERE seq = 2", [])
            .unwrap();
        assert_eq!(j.verify(), Ok(4));
        raw.execute("DELETE FROM events WHERE seq = 3", []).unwrap();
        let problems = j.verify().unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("#3..#3 are missing")),
            "{problems:?}"
        );
        raw.execute("DELETE FROM events WHERE seq = 4", []).unwrap();
        let problems = j.verify().unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("deleted from the end")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_claim_is_won_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let mut a = Journal::open(&path, "demo").unwrap();
        let mut b = Journal::open(&path, "demo").unwrap();
        let kind = EventKind::Noted { text: "x".into() };
        assert!(a.append(&entry(kind.clone(), Some("rollback:0"))).is_ok());
        assert!(matches!(
            b.append(&entry(kind, Some("rollback:0"))),
            Err(JournalError::Claimed(_))
        ));
        assert_eq!(b.last_seq().unwrap(), 1);
    }

    #[test]
    fn one_process_holds_the_polling_lease_until_it_lapses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let mut a = Journal::open(&path, "demo").unwrap();
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
    }

    #[test]
    fn a_journal_belongs_to_one_launch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        Journal::open(&path, "demo").unwrap();
        let err = Journal::open(&path, "other").err().unwrap();
        assert!(
            err.to_string()
                .contains("belongs to launch `demo`, not `other`"),
            "{err}"
        );
    }
}
