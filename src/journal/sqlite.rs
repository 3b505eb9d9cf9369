//! The embedded journal: one SQLite file per launch.
//!
//! Durable before acknowledged: WAL with `synchronous = FULL`, so once an
//! append returns, the event survives `kill -9` and power loss. Writes run
//! in `BEGIN IMMEDIATE` transactions, so processes sharing the file
//! serialise; the `claim` column's UNIQUE constraint decides races.
//!
//! A journal file is its owner's alone: whoever can write the file can
//! write any event under any name, so only the owner writes it, and a file
//! (or its `-wal`/`-shm`), or a directory, that another user can write or
//! owns is refused for every act ([`check_ours`]). Anyone who may read it
//! still reads it. A team shares a launch on PostgreSQL, whose server
//! stamps who acted.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::{
    CHAIN, Entry, JournalError, Location, RawSample, Row, SampleQuery, Store, seal, stamp,
};

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

/// SQLite's write-ahead log beside the journal.
fn wal_file(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// SQLite's other files beside the journal, which hold its events too.
fn companions(path: &Path) -> [PathBuf; 3] {
    ["-wal", "-shm", "-journal"].map(|suffix| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    })
}

/// The name of user `uid`, or `uid N`.
fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => format!("uid {uid}"),
    }
}

/// Refuses to write the journal at `path` unless this user alone can:
/// the file and its companions ours and writable by no one else, in a
/// directory no one else can write (where another user could swap the
/// file, or plant its `-wal` before SQLite makes one). Whoever can write
/// a journal file can write any event under any name, so a file shared
/// between users would make every actor a claim.
fn check_ours(path: &Path, at: &Location) -> Result<(), JournalError> {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    let fix = "a journal file is written by its owner alone (a team shares a launch on PostgreSQL, see the README); others read it with `gonogo log` or `gonogo check`";
    let refuse = |why: String| JournalError::NotOurs(at.clone(), format!("{why}: {fix}"));
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir_meta =
        std::fs::metadata(dir).map_err(|e| JournalError::Open(at.clone(), e.to_string()))?;
    if dir_meta.mode() & 0o022 != 0 {
        return Err(refuse(format!(
            "its directory {} is writable by other users (mode {:04o}), who could replace it",
            dir.display(),
            dir_meta.mode() & 0o7777
        )));
    }
    if dir_meta.uid() != me && dir_meta.uid() != 0 {
        return Err(refuse(format!(
            "its directory {} belongs to {}, who could replace it",
            dir.display(),
            user_name(dir_meta.uid())
        )));
    }
    let mut files = vec![path.to_path_buf()];
    files.extend(companions(path));
    for file in files {
        let meta = match std::fs::symlink_metadata(&file) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(JournalError::Open(at.clone(), e.to_string())),
        };
        if meta.uid() != me {
            return Err(refuse(format!(
                "{} belongs to {}, not to {}",
                file.display(),
                user_name(meta.uid()),
                user_name(me)
            )));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(refuse(format!(
                "{} is writable by other users (mode {:04o}; `chmod 600` it if that was a mistake)",
                file.display(),
                meta.mode() & 0o7777
            )));
        }
    }
    Ok(())
}

/// Removes what a `kill -9` in the middle of making a journal left beside
/// `path` (`.NAME.new-PID-RAND`, with SQLite's own files): ours, and its
/// maker gone.
fn clean_leftovers(path: &Path) {
    use std::os::unix::fs::MetadataExt;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.new-", name.to_string_lossy());
    let me = nix::unistd::geteuid().as_raw();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        // EPERM: alive, another user's.
        let alive = pid > 0
            && !matches!(
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
                Err(nix::errno::Errno::ESRCH)
            );
        let ours = entry.metadata().is_ok_and(|m| m.uid() == me && m.is_file());
        if ours && !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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
fn inspect(path: &Path, at: &Location) -> Result<bool, JournalError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(JournalError::Open(at.clone(), e.to_string())),
    };
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(JournalError::NotAFile(
            at.clone(),
            "it is a directory".into(),
        ));
    }
    if !kind.is_file() {
        return Err(JournalError::NotAFile(
            at.clone(),
            "it is not a regular file (a device, pipe or socket)".into(),
        ));
    }
    if meta.len() == 0 {
        // Every journal is created whole, with its first event, before it
        // appears under its name: an empty one was truncated.
        return Err(JournalError::Damaged(
            at.clone(),
            "the file is empty (0 bytes): truncated, or not a journal".into(),
        ));
    }
    Ok(true)
}

pub struct Sqlite {
    conn: Connection,
    at: Location,
    launch: String,
    chain: u8,
    /// The file's owner, who alone writes it: who acts.
    owner: String,
}

impl Sqlite {
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
        at: &Location,
        launch_id: &str,
        first: &Entry,
    ) -> Result<(Sqlite, bool), JournalError> {
        if inspect(path, at)? {
            return Ok((Sqlite::open(path, at, launch_id)?, false));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| JournalError::Open(at.clone(), e.to_string()))?;
        }
        check_ours(path, at)?;
        clean_leftovers(path);
        let created = Sqlite::create(path, at, launch_id, Seed::First(first))?;
        Ok((Sqlite::open(path, at, launch_id)?, created))
    }

    /// Makes a new journal at `path` holding `rows` as they are (sealed
    /// elsewhere with `chain`): a launch copied here. `Ok(false)` when a
    /// journal is already there.
    ///
    /// # Errors
    /// When the path cannot be a journal or the file cannot be made.
    pub fn create_with(
        path: &Path,
        at: &Location,
        launch_id: &str,
        rows: &[Row],
        chain: u8,
    ) -> Result<bool, JournalError> {
        if inspect(path, at)? {
            return Ok(false);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| JournalError::Open(at.clone(), e.to_string()))?;
        }
        check_ours(path, at)?;
        clean_leftovers(path);
        Sqlite::create(path, at, launch_id, Seed::Rows(rows, chain))
    }

    /// Builds a new journal beside `path` and links it into place unless
    /// another process got there first. `Ok(true)`: ours is in place.
    fn create(
        path: &Path,
        at: &Location,
        launch_id: &str,
        seed: Seed<'_>,
    ) -> Result<bool, JournalError> {
        let open_err = |e: &dyn std::fmt::Display| JournalError::Open(at.clone(), e.to_string());
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
        // The creator's alone, whatever the umask: see `check_ours`.
        let mode = 0o600;
        let built = (|| -> Result<(), JournalError> {
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&tmp)
                .map_err(|e| open_err(&e))?;
            {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(mode))
                    .map_err(|e| open_err(&e))?;
            }
            let conn = Connection::open(&tmp).map_err(|e| open_err(&e))?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.execute_batch(SCHEMA)?;
            let chain = match seed {
                Seed::First(_) => CHAIN,
                Seed::Rows(_, chain) => chain,
            };
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('launch', ?1), ('chain', ?2)",
                params![launch_id, chain.to_string()],
            )?;
            let mut journal = Sqlite {
                conn,
                at: Location::File(tmp.clone()),
                launch: launch_id.to_string(),
                chain,
                owner: user_name(nix::unistd::geteuid().as_raw()),
            };
            match seed {
                Seed::First(first) => {
                    journal.append(first)?;
                }
                Seed::Rows(rows, _) => journal.insert_rows(rows)?,
            }
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
    pub fn open(path: &Path, at: &Location, launch_id: &str) -> Result<Sqlite, JournalError> {
        if !inspect(path, at)? {
            return Err(JournalError::Missing(at.clone()));
        }
        check_ours(path, at)?;
        clean_leftovers(path);
        let open_err = |e: &dyn std::fmt::Display| JournalError::Open(at.clone(), e.to_string());
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_err(&e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let damaged = |e: JournalError| match e {
            JournalError::Corrupt(why) => JournalError::Damaged(at.clone(), why),
            other => other,
        };
        set_wal(&conn).map_err(|e| damaged(e.into()))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // SQLite made its `-wal` and `-shm` by now, or opened ones already
        // there: another user's planted between the check and the open is
        // caught here.
        check_ours(path, at)?;
        let mut journal = Sqlite {
            conn,
            at: at.clone(),
            launch: launch_id.to_string(),
            chain: 1,
            owner: user_name(nix::unistd::geteuid().as_raw()),
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
    pub fn open_read_only(
        path: &Path,
        at: &Location,
        launch_id: &str,
    ) -> Result<Sqlite, JournalError> {
        if !inspect(path, at)? {
            return Err(JournalError::Missing(at.clone()));
        }
        let open_err = |e: &dyn std::fmt::Display| JournalError::Open(at.clone(), e.to_string());
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
        let owner = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(path).map_or_else(|_| "unknown".into(), |m| user_name(m.uid()))
        };
        let mut journal = Sqlite {
            conn,
            at: at.clone(),
            launch: launch_id.to_string(),
            chain: 1,
            owner,
        };
        journal.chain = journal.check_launch(launch_id).map_err(|e| match e {
            JournalError::Corrupt(why) => JournalError::Damaged(at.clone(), why),
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
                    self.at.clone(),
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
                self.at.clone(),
                "it names no launch: not a gonogo journal, or its meta table was emptied".into(),
            ));
        };
        if found != launch_id {
            return Err(JournalError::OtherLaunch {
                path: self.at.clone(),
                found,
                expected: launch_id.to_string(),
            });
        }
        match get("chain").as_deref().map(str::parse::<u8>) {
            None => Ok(1),
            Some(Ok(chain)) if (1..=CHAIN).contains(&chain) => Ok(chain),
            Some(_) => Err(JournalError::Damaged(
                self.at.clone(),
                format!(
                    "its chain version {:?} is not one this gonogo {} knows (1 to {CHAIN}): a newer gonogo made it",
                    get("chain").unwrap_or_default(),
                    env!("CARGO_PKG_VERSION")
                ),
            )),
        }
    }

    /// Inserts rows sealed elsewhere, as they are (a copied launch).
    fn insert_rows(&mut self, rows: &[Row]) -> Result<(), JournalError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(INSERT_EVENT)?;
            for r in rows {
                insert.execute(params![
                    r.seq,
                    r.at,
                    r.actor,
                    r.kind,
                    r.body,
                    r.gates,
                    r.prev_hash,
                    r.hash,
                    r.claim
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// The launch a journal file belongs to.
pub fn launches(path: &Path, at: &Location) -> Result<Vec<String>, JournalError> {
    if !inspect(path, at)? {
        return Err(JournalError::Missing(at.clone()));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| JournalError::Open(at.clone(), e.to_string()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let launch: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'launch'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| JournalError::Damaged(at.clone(), format!("not a gonogo journal ({e})")))?;
    match launch {
        Some(l) => Ok(vec![l]),
        None => Err(JournalError::Damaged(
            at.clone(),
            "it names no launch: not a gonogo journal, or its meta table was emptied".into(),
        )),
    }
}

/// What a new journal starts with.
enum Seed<'a> {
    /// Its first event, sealed here.
    First(&'a Entry),
    /// A whole record sealed elsewhere, with its chain version.
    Rows(&'a [Row], u8),
}

const INSERT_EVENT: &str =
    "INSERT INTO events (seq, at, actor, kind, body, gates, prev_hash, hash, claim)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

impl Store for Sqlite {
    fn location(&self) -> &Location {
        &self.at
    }

    fn launch(&self) -> &str {
        &self.launch
    }

    fn chain(&self) -> u8 {
        self.chain
    }

    fn identity(&self) -> &str {
        &self.owner
    }

    fn append(&mut self, entry: &Entry) -> Result<Row, JournalError> {
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
        let last: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let row = seal(
            entry,
            &self.owner,
            (&self.launch, self.chain),
            last,
            crate::clock::now(),
        )?;
        tx.execute(
            INSERT_EVENT,
            params![
                row.seq,
                row.at,
                row.actor,
                row.kind,
                row.body,
                row.gates,
                row.prev_hash,
                row.hash,
                row.claim
            ],
        )?;
        tx.commit()?;
        Ok(row)
    }

    fn rows_after(&self, seq: i64) -> Result<Vec<Row>, JournalError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, actor, kind, body, gates, claim, prev_hash, hash
             FROM events WHERE seq > ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![seq], |r| {
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
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn last_seq(&self) -> Result<i64, JournalError> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?)
    }

    fn highest_seq(&self) -> Option<i64> {
        // AUTOINCREMENT remembers the highest seq ever used.
        self.conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten()
    }

    fn storage_problems(&self) -> Vec<String> {
        match self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0))
        {
            Ok(ok) if ok == "ok" => Vec::new(),
            Ok(why) => vec![format!("the database file is damaged: {why}")],
            Err(e) => vec![format!("the database file is damaged: {e}")],
        }
    }

    fn integrity(&self) -> Result<String, JournalError> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    fn record_samples(
        &mut self,
        samples: &[(&str, String, String)],
        keep: Duration,
    ) -> Result<(), JournalError> {
        let horizon =
            crate::clock::now() - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert =
                tx.prepare_cached("INSERT INTO samples (signal, at, outcome) VALUES (?1, ?2, ?3)")?;
            for (signal, at, outcome) in samples {
                insert.execute(params![signal, at, outcome])?;
            }
        }
        tx.execute("DELETE FROM samples WHERE at < ?1", params![stamp(horizon)])?;
        tx.commit()?;
        Ok(())
    }

    fn samples(&self, query: SampleQuery) -> Result<Vec<RawSample>, JournalError> {
        let (sql, param): (&str, Box<dyn rusqlite::ToSql>) = match query {
            SampleQuery::Since(t) => (
                "SELECT id, signal, at, outcome FROM samples WHERE at >= ?1 ORDER BY at",
                Box::new(stamp(t)),
            ),
            SampleQuery::After(id) => (
                "SELECT id, signal, at, outcome FROM samples WHERE id > ?1 ORDER BY id",
                Box::new(id),
            ),
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map([param], |r| {
            Ok(RawSample {
                id: r.get(0)?,
                signal: r.get(1)?,
                at: r.get(2)?,
                outcome: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn last_sample_id(&self) -> Result<i64, JournalError> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM samples", [], |r| r.get(0))?)
    }

    fn hold_lease(
        &mut self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, JournalError> {
        let now = crate::clock::now();
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

    fn release_lease(&mut self, name: &str, holder: &str) -> Result<(), JournalError> {
        self.conn.execute(
            "DELETE FROM lease WHERE name = ?1 AND holder = ?2",
            params![name, holder],
        )?;
        Ok(())
    }

    fn lease(&self, name: &str) -> Result<Option<(String, DateTime<Utc>)>, JournalError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Journal;
    use crate::launch::{EventKind, GateSnapshot};
    use crate::signal::Sample;

    fn entry(kind: EventKind, claim: Option<&str>) -> Entry {
        Entry {
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
        let at = crate::clock::now();
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
            Connection::open(dir.path().join("j.sqlite"))
                .unwrap()
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

    /// A journal others can write, or that another user owns, is refused
    /// for writing (its record could not say who acted) and still read;
    /// so is one in a directory others can write.
    #[test]
    fn a_journal_others_can_write_is_refused_and_still_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        fresh(&path);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660)).unwrap();
        let err = Journal::open(&path, "demo").err().unwrap();
        assert!(
            matches!(err, JournalError::NotOurs(..)) && err.to_string().contains("mode 0660"),
            "{err}"
        );
        assert!(Journal::open_read_only(&path, "demo").is_ok());
        // SQLite gave the reader's `-shm` the file's mode then: both fixed.
        for f in std::iter::once(path.clone()).chain(companions(&path)) {
            let _ = std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600));
        }
        Journal::open(&path, "demo").unwrap();
        // A planted `-wal` beside it.
        let wal = wal_file(&path);
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = Journal::open(&path, "demo").err().unwrap();
        assert!(
            err.to_string().contains("-wal is writable by other users"),
            "{err}"
        );
        std::fs::remove_file(&wal).unwrap();
        if nix::unistd::geteuid().is_root() {
            std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
            let err = Journal::open(&path, "demo").err().unwrap();
            assert!(err.to_string().contains("belongs to"), "{err}");
            std::os::unix::fs::chown(&path, Some(0), None).unwrap();
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        for err in [
            Journal::open(&path, "demo").err().unwrap(),
            Journal::open_or_create(&dir.path().join("new.sqlite"), "demo", &note("x"))
                .err()
                .unwrap(),
        ] {
            assert!(err.to_string().contains("writable by other users"), "{err}");
        }
        assert!(!dir.path().join("new.sqlite").exists());
        assert!(Journal::open_read_only(&path, "demo").is_ok());
    }

    /// What a `kill -9` mid-creation left is gone on the next open; a
    /// live maker's is left alone.
    #[test]
    fn leftover_temp_files_are_cleaned_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        fresh(&path);
        let dead = dir.path().join(format!(".j.sqlite.new-{}-1", i32::MAX - 7));
        let live = dir
            .path()
            .join(format!(".j.sqlite.new-{}-2", std::process::id()));
        std::fs::write(&dead, vec![0u8; 4096]).unwrap();
        std::fs::write(&live, b"x").unwrap();
        Journal::open(&path, "demo").unwrap();
        assert!(!dead.exists());
        assert!(live.exists());
    }

    #[test]
    fn a_new_journal_is_its_creators_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        fresh(&path);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
