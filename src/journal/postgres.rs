//! The team journal: many launches in one PostgreSQL database.
//!
//! The same promises as the SQLite file, kept by the server: a commit is
//! durable when it returns (`synchronous_commit` as the DBA set it, `on`
//! by default); appends of one launch serialise on its row in `launches`
//! (`SELECT … FOR UPDATE`), so the chain never forks; claims are a UNIQUE
//! constraint; leases are judged on the server's clock, so machines whose
//! clocks disagree still agree on who polls. Every commit that adds an
//! event or samples sends `NOTIFY gonogo, '<launch>'`, which every other
//! process on the launch hears at once ([`Store::wakeups`]).
//!
//! The client is tokio-postgres, driven by one small runtime of its own:
//! the journal's API is synchronous (the product calls it from
//! `block_in_place` and from plain threads), and a nested tokio runtime
//! cannot be blocked on from inside another. Every call is bounded
//! ([`OP_TIMEOUT`]): a database that stops answering makes the journal
//! OFFLINE, never a frozen screen.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, Client};

use super::{Entry, JournalError, Location, RawSample, Row, SampleQuery, Store, columns};

mod connect;

/// The schema version this gonogo writes. A database at a newer version
/// is refused: its tables may mean things this build does not know. One
/// at an older version is read, and written only once its owner upgrades
/// it (`gonogo journal setup`): version 1 let operators write the tables.
pub const SCHEMA_VERSION: i32 = 2;

/// The notification channel; the payload is the launch id.
const CHANNEL: &str = "gonogo";

/// How long one call to the database may take before the journal is
/// OFFLINE.
const OP_TIMEOUT: Duration = Duration::from_secs(5);

/// How often an offline journal tries the database again.
const RETRY: Duration = Duration::from_secs(1);

/// Each schema version's statements, applied in order in one transaction.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE gonogo.launches (
    launch     TEXT PRIMARY KEY,
    chain      SMALLINT NOT NULL,
    high       BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE gonogo.events (
    launch    TEXT NOT NULL REFERENCES gonogo.launches (launch),
    seq       BIGINT NOT NULL,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    body      TEXT NOT NULL,
    gates     TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    claim     TEXT,
    PRIMARY KEY (launch, seq),
    CONSTRAINT events_claim UNIQUE (launch, claim)
);
CREATE TABLE gonogo.samples (
    id      BIGSERIAL PRIMARY KEY,
    launch  TEXT NOT NULL,
    signal  TEXT NOT NULL,
    at      TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX samples_launch_at ON gonogo.samples (launch, at);
CREATE INDEX samples_launch_id ON gonogo.samples (launch, id);
CREATE TABLE gonogo.leases (
    launch TEXT NOT NULL,
    name   TEXT NOT NULL,
    holder TEXT NOT NULL,
    until  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (launch, name)
);
",
    // Version 2: operators write only through these functions, which run
    // with the schema owner's rights and stamp who acted (`session_user`, as
    // the server authenticated it), when (the server's clock) and the chain;
    // they may read every table and write none. Samples record who polled
    // them, and a poll lease who holds it.
    r#"
ALTER TABLE gonogo.samples ADD COLUMN polled_by TEXT NOT NULL DEFAULT '';
ALTER TABLE gonogo.leases ADD COLUMN held_by TEXT NOT NULL DEFAULT '';

CREATE FUNCTION gonogo.stamp(t TIMESTAMPTZ) RETURNS TEXT
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- `Row::hash` in SQL: SHA-256 over each part followed by a NUL byte.
CREATE FUNCTION gonogo.chain_hash(parts TEXT[]) RETURNS TEXT
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT encode(sha256(string_agg(convert_to(p, 'UTF8') || decode('00', 'hex'),
                                    ''::BYTEA ORDER BY i)), 'hex')
    FROM unnest(parts) WITH ORDINALITY AS t(p, i)
$$;

CREATE FUNCTION gonogo.append(p_launch TEXT, p_kind TEXT, p_body TEXT, p_gates TEXT,
                              p_claim TEXT)
RETURNS TABLE (o_seq BIGINT, o_at TEXT, o_actor TEXT, o_prev TEXT, o_hash TEXT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_chain SMALLINT;
    v_seq BIGINT;
    v_prev TEXT;
    v_at TEXT;
    v_actor TEXT := session_user;
    v_claim TEXT;
    v_hash TEXT;
BEGIN
    -- The launch's row is the lock every append of it takes: one chain.
    SELECT l.chain INTO v_chain FROM gonogo.launches l WHERE l.launch = p_launch FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no launch % in this journal', p_launch USING ERRCODE = 'no_data_found';
    END IF;
    IF (p_body::JSONB ->> 'type') IS DISTINCT FROM p_kind THEN
        RAISE EXCEPTION 'an event of kind % whose body says otherwise', p_kind
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_claim IS NOT NULL AND EXISTS (
        SELECT 1 FROM gonogo.events e WHERE e.launch = p_launch AND e.claim = p_claim
    ) THEN
        RAISE EXCEPTION 'already claimed: %', p_claim USING ERRCODE = 'unique_violation';
    END IF;
    SELECT e.seq, e.hash INTO v_seq, v_prev FROM gonogo.events e
        WHERE e.launch = p_launch ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        v_seq := 0;
        v_prev := 'genesis';
    END IF;
    v_seq := v_seq + 1;
    v_at := gonogo.stamp(clock_timestamp());
    v_claim := CASE WHEN p_claim IS NULL THEN '-' ELSE '+' || p_claim END;
    IF v_chain >= 3 THEN
        v_hash := gonogo.chain_hash(ARRAY['v3', p_launch, v_prev, v_seq::TEXT, v_at, v_actor,
                                          p_kind, p_body, p_gates, v_claim]);
    ELSE
        v_hash := gonogo.chain_hash(ARRAY['v2', v_prev, v_seq::TEXT, v_at, v_actor,
                                          p_kind, p_body, p_gates, v_claim]);
    END IF;
    INSERT INTO gonogo.events (launch, seq, at, actor, kind, body, gates, prev_hash, hash, claim)
        VALUES (p_launch, v_seq, v_at, v_actor, p_kind, p_body, p_gates, v_prev, v_hash, p_claim);
    UPDATE gonogo.launches SET high = GREATEST(high, v_seq) WHERE launch = p_launch;
    PERFORM pg_notify('gonogo', p_launch);
    RETURN QUERY SELECT v_seq, v_at, v_actor, v_prev, v_hash;
END
$$;

-- A new launch and its first event, together: no launch without one.
CREATE FUNCTION gonogo.create_launch(p_launch TEXT, p_kind TEXT, p_body TEXT, p_gates TEXT)
RETURNS BOOLEAN
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO gonogo.launches (launch, chain) VALUES (p_launch, 3)
        ON CONFLICT (launch) DO NOTHING;
    IF NOT FOUND THEN
        RETURN FALSE;
    END IF;
    PERFORM gonogo.append(p_launch, p_kind, p_body, p_gates, NULL);
    RETURN TRUE;
END
$$;

-- Samples as evidence: who polled them, and never in the server's future.
CREATE FUNCTION gonogo.record_samples(p_launch TEXT, p_signals TEXT[], p_ats TEXT[],
                                      p_outcomes TEXT[], p_keep_ms FLOAT8)
RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_now TIMESTAMPTZ := clock_timestamp();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM gonogo.launches l WHERE l.launch = p_launch) THEN
        RAISE EXCEPTION 'no launch % in this journal', p_launch USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO gonogo.samples (launch, signal, at, outcome, polled_by)
        SELECT p_launch, t.s, gonogo.stamp(LEAST(t.a::TIMESTAMPTZ, v_now)), t.o, session_user
        FROM unnest(p_signals, p_ats, p_outcomes) AS t(s, a, o);
    DELETE FROM gonogo.samples
        WHERE launch = p_launch
          AND at < gonogo.stamp(v_now - p_keep_ms * INTERVAL '1 millisecond');
    PERFORM pg_notify('gonogo', p_launch);
END
$$;

-- Judged on the server's clock: taken when free, lapsed or already ours
-- (the same holder, authenticated as the same user).
CREATE FUNCTION gonogo.hold_lease(p_launch TEXT, p_name TEXT, p_holder TEXT, p_ms FLOAT8)
RETURNS BOOLEAN
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO gonogo.leases AS l (launch, name, holder, until, held_by)
        VALUES (p_launch, p_name, p_holder, now() + p_ms * INTERVAL '1 millisecond',
                session_user)
        ON CONFLICT (launch, name) DO UPDATE
            SET holder = excluded.holder, until = excluded.until, held_by = excluded.held_by
            WHERE (l.holder = excluded.holder AND l.held_by = excluded.held_by)
               OR l.until < now();
    RETURN FOUND;
END
$$;

CREATE FUNCTION gonogo.release_lease(p_launch TEXT, p_name TEXT, p_holder TEXT)
RETURNS VOID
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM gonogo.leases
        WHERE launch = p_launch AND name = p_name AND holder = p_holder
          AND held_by = session_user
$$;

-- Version 1's README granted operators INSERT, UPDATE and DELETE on the
-- tables: whoever holds them loses them (the owner keeps its own).
DO $$
DECLARE
    r RECORD;
BEGIN
    FOR r IN
        SELECT DISTINCT a.grantee
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.relnamespace = 'gonogo'::REGNAMESPACE
          AND a.grantee <> c.relowner
          AND a.privilege_type NOT IN ('SELECT')
    LOOP
        EXECUTE format(
            'REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA gonogo FROM %s CASCADE',
            CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE r.grantee::REGROLE::TEXT END);
        EXECUTE format(
            'REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA gonogo FROM %s CASCADE',
            CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE r.grantee::REGROLE::TEXT END);
    END LOOP;
END
$$;
REVOKE ALL ON SCHEMA gonogo FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA gonogo FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA gonogo FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA gonogo FROM PUBLIC;
"#,
];

/// The runtime that drives every connection's socket: one small thread
/// for the process, whatever else runs.
fn driver() -> Result<&'static tokio::runtime::Runtime, String> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("gonogo-journal")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the journal's connection thread: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Runs `f` to its end on this thread, bounded by `bound`; `None` when
/// the database did not answer in time (or no driver runs).
fn run<F: Future>(f: F, bound: Duration) -> Option<F::Output> {
    let _in = driver().ok()?.enter();
    futures_executor::block_on(tokio::time::timeout(bound, f)).ok()
}

/// One live connection and what its driver saw.
struct Conn {
    client: Client,
    /// Why the connection ended, once it has.
    lost: Arc<Mutex<Option<String>>>,
}

impl Conn {
    fn lost(&self) -> Option<String> {
        self.lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Why a database call failed: the server or the connection said so, or
/// the journal's own rules did (a claim taken).
enum OpError {
    Pg(tokio_postgres::Error),
    Journal(JournalError),
}

impl From<tokio_postgres::Error> for OpError {
    fn from(e: tokio_postgres::Error) -> Self {
        OpError::Pg(e)
    }
}

impl From<JournalError> for OpError {
    fn from(e: JournalError) -> Self {
        OpError::Journal(e)
    }
}

/// One call's work on the connection.
type Op<'c, T> = std::pin::Pin<Box<dyn Future<Output = Result<T, OpError>> + 'c>>;

/// What a failed call means.
enum Failure {
    /// The connection is gone or silent: offline.
    Lost(String),
    /// The database answered with an error.
    Db(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.as_db_error().is_some() {
            Failure::Db(e)
        } else {
            Failure::Lost(connect::reason(&e))
        }
    }
}

pub struct Postgres {
    at: Location,
    launch: String,
    chain: u8,
    read_only: bool,
    target: connect::Target,
    conn: Mutex<Option<Conn>>,
    /// Why the database cannot be used now, and when to try again.
    offline: Mutex<Option<(String, Instant)>>,
    /// A reconnection under way in the background.
    redial: Mutex<Option<std::sync::mpsc::Receiver<Result<Conn, String>>>>,
    wake: watch::Sender<u64>,
    /// The database user the server authenticated: who acts.
    identity: String,
    /// Set when the process stops: a database that does not answer at
    /// once is not waited for (a lease lapses by itself).
    hurry: std::sync::atomic::AtomicBool,
}

/// How long a call may take once the process is stopping.
const HURRIED: Duration = Duration::from_millis(300);

impl Postgres {
    /// Opens launch `launch_id`'s journal in the database, creating the
    /// launch (with `first`) when missing. `Ok((_, true))` when this call
    /// created the launch.
    ///
    /// # Errors
    /// An unreachable or refusing database; a schema missing, older than
    /// this gonogo writes (its owner upgrades it) or newer.
    pub fn open_or_create(
        at: &Location,
        launch_id: &str,
        first: &Entry,
    ) -> Result<(Postgres, bool), JournalError> {
        let mut pg = Postgres::connect(at, launch_id, false)?;
        pg.require_schema()?;
        let (kind, body, gates) = columns(first)?;
        // The server stamps the creator, like every later actor.
        let created = pg.with(|c| {
            let (launch, kind, body, gates) = (
                launch_id.to_string(),
                kind.clone(),
                body.clone(),
                gates.clone(),
            );
            Box::pin(async move {
                Ok(c.query_one(
                    "SELECT gonogo.create_launch($1, $2, $3, $4)",
                    &[&launch, &kind, &body, &gates],
                )
                .await?
                .get::<_, bool>(0))
            })
        })?;
        pg.chain = pg.read_chain()?.unwrap_or(super::CHAIN);
        Ok((pg, created))
    }

    /// Opens launch `launch_id`'s existing journal.
    ///
    /// # Errors
    /// No such launch; an unreachable or refusing database; for writing,
    /// a schema older than this gonogo writes; a newer one.
    pub fn open(at: &Location, launch_id: &str, read_only: bool) -> Result<Postgres, JournalError> {
        let mut pg = Postgres::connect(at, launch_id, read_only)?;
        if read_only {
            match pg.schema_version()? {
                None => return Err(JournalError::Missing(at.clone())),
                Some(v) => refuse_newer(at, v)?,
            }
        } else {
            pg.require_schema()?;
        }
        match pg.read_chain()? {
            Some(chain) => pg.chain = chain,
            None => return Err(JournalError::Missing(at.clone())),
        }
        Ok(pg)
    }

    /// Makes launch `launch_id` in the database holding `rows` as they are
    /// (sealed elsewhere with `chain`): a launch copied here, whole or
    /// not at all. Writing rows as they are is the schema owner's right
    /// alone. `Ok(false)` when the database already has that launch.
    ///
    /// # Errors
    /// An unreachable or refusing database, a schema not current, a user
    /// who does not own it.
    pub fn create_with(
        at: &Location,
        launch_id: &str,
        rows: &[Row],
        chain: u8,
    ) -> Result<bool, JournalError> {
        let pg = Postgres::connect(at, launch_id, false)?;
        pg.require_schema()?;
        // One transaction, in batches; bounded by its size, not by one
        // call's bound (a million events take a while).
        let bound =
            OP_TIMEOUT + Duration::from_millis(u64::try_from(rows.len()).unwrap_or(u64::MAX) / 5);
        pg.with_bound(bound, |c| {
            let rows = rows.to_vec();
            let launch = launch_id.to_string();
            Box::pin(async move {
                let tx = c.transaction().await?;
                let high = rows.last().map_or(0, |r| r.seq);
                let made = tx
                    .execute(
                        "INSERT INTO gonogo.launches (launch, chain, high) VALUES ($1, $2, $3)
                         ON CONFLICT (launch) DO NOTHING",
                        &[&launch, &i16::from(chain), &high],
                    )
                    .await?;
                if made == 1 {
                    for batch in rows.chunks(COPY_BATCH) {
                        insert_rows(&tx, &launch, batch).await?;
                    }
                    notify(&tx, &launch).await?;
                }
                tx.commit().await?;
                Ok(made == 1)
            })
        })
        .map_err(|e| match e {
            JournalError::Unreachable(_, why) if why.contains("permission denied") => {
                JournalError::Open(
                    at.clone(),
                    format!(
                        "{}: a launch is copied into the database, rows as they are, by the owner of its gonogo schema (the user who ran `gonogo journal setup`)",
                        why.split(" (").next().unwrap_or(&why)
                    ),
                )
            }
            other => other,
        })
    }

    fn connect(at: &Location, launch_id: &str, read_only: bool) -> Result<Postgres, JournalError> {
        let Location::Postgres(url) = at else {
            return Err(JournalError::Open(
                at.clone(),
                "not a postgres:// URL".into(),
            ));
        };
        let target = connect::Target::parse(url)
            .map_err(|why| JournalError::Unreachable(at.clone(), why))?;
        let (wake, _) = watch::channel(0);
        let pg = Postgres {
            at: at.clone(),
            launch: launch_id.to_string(),
            chain: super::CHAIN,
            read_only,
            target,
            conn: Mutex::new(None),
            offline: Mutex::new(None),
            redial: Mutex::new(None),
            wake,
            identity: String::new(),
            hurry: std::sync::atomic::AtomicBool::new(false),
        };
        let conn = pg
            .dial()
            .map_err(|why| JournalError::Unreachable(at.clone(), why))?;
        *pg.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(conn);
        let mut pg = pg;
        pg.identity = pg.with(|c| {
            Box::pin(async move {
                Ok(c.query_one("SELECT session_user::TEXT", &[])
                    .await?
                    .get::<_, String>(0))
            })
        })?;
        // On the server's timeline from the first act on.
        if let Ok(Some(offset)) = pg.clock_offset() {
            crate::clock::set_offset(offset);
        }
        Ok(pg)
    }

    /// A new connection, listening for the launch's notifications.
    fn dial(&self) -> Result<Conn, String> {
        dial(self.target.clone(), self.wake.clone(), self.launch.clone())
    }

    /// A connection to use again after one was lost: the first attempt
    /// is made at once (a blip costs nothing), later ones in the
    /// background, at most once a [`RETRY`], so a database that does not
    /// answer at all (a cut network) never holds the caller for a connect
    /// timeout on every call. `Err(why)` while offline.
    fn reconnect(&self, just_lost: bool) -> Result<Conn, String> {
        let mut redial = self
            .redial
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if just_lost && redial.is_none() {
            let dialled = self.dial();
            if let Err(why) = &dialled {
                self.set_offline(why.clone());
            }
            return dialled;
        }
        if let Some(rx) = redial.as_ref() {
            match rx.try_recv() {
                Ok(Ok(conn)) => {
                    *redial = None;
                    return Ok(conn);
                }
                Ok(Err(why)) => {
                    *redial = None;
                    self.set_offline(why.clone());
                    return Err(why);
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => return Err(self.why_offline()),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => *redial = None,
            }
        }
        let due = self
            .offline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .is_none_or(|(_, next)| Instant::now() >= *next);
        if due {
            let (tx, rx) = std::sync::mpsc::channel();
            let (target, wake, launch) =
                (self.target.clone(), self.wake.clone(), self.launch.clone());
            let spawned = std::thread::Builder::new()
                .name("gonogo-redial".into())
                .spawn(move || {
                    let dialled = dial(target, wake.clone(), launch);
                    let back = dialled.is_ok();
                    if tx.send(dialled).is_ok() && back {
                        // Back: whoever waits for news picks it up now.
                        wake.send_modify(|c| *c = c.wrapping_add(1));
                    }
                });
            if spawned.is_ok() {
                *redial = Some(rx);
            }
            let why = self.why_offline();
            self.set_offline(why);
        }
        Err(self.why_offline())
    }

    fn why_offline(&self) -> String {
        self.offline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map_or_else(|| "reconnecting".to_string(), |(why, _)| why.clone())
    }

    /// Runs `op` on the connection, reconnecting first when it was lost
    /// (at most once a [`RETRY`]). A lost or silent connection makes the
    /// journal OFFLINE with the reason; a serialization failure or
    /// deadlock is retried.
    fn with<T, F>(&self, op: F) -> Result<T, JournalError>
    where
        F: for<'c> Fn(&'c mut Client) -> Op<'c, T>,
    {
        self.with_bound(OP_TIMEOUT, op)
    }

    /// [`Postgres::with`], for a call that may take up to `bound`.
    fn with_bound<T, F>(&self, bound: Duration, op: F) -> Result<T, JournalError>
    where
        F: for<'c> Fn(&'c mut Client) -> Op<'c, T>,
    {
        let hurried = self.hurry.load(std::sync::atomic::Ordering::Relaxed);
        let bound = if hurried { bound.min(HURRIED) } else { bound };
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if hurried && guard.as_ref().is_none_or(|c| c.lost().is_some()) {
            return Err(JournalError::Offline(
                "stopping; the database was not reachable".into(),
            ));
        }
        let mut just_lost = false;
        if let Some(why) = guard.as_ref().and_then(Conn::lost) {
            *guard = None;
            just_lost = true;
            self.set_offline(why);
        }
        if guard.is_none() {
            match self.reconnect(just_lost) {
                Ok(conn) => {
                    *guard = Some(conn);
                    *self
                        .offline
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                    // Back: catch up on whatever happened meanwhile.
                    self.wake.send_modify(|c| *c = c.wrapping_add(1));
                }
                Err(why) => return Err(JournalError::Offline(why)),
            }
        }
        let Some(conn) = guard.as_mut() else {
            return Err(JournalError::Offline("not connected".into()));
        };
        // Contended appends under SERIALIZABLE (a DBA's default) fail
        // often: retried with a growing, jittered pause, for as long as one
        // call may take.
        let retry_until = Instant::now() + OP_TIMEOUT;
        let mut tries: u32 = 0;
        loop {
            tries += 1;
            let failure = match run(op(&mut conn.client), bound) {
                Some(Ok(v)) => return Ok(v),
                Some(Err(OpError::Journal(journal))) => return Err(journal),
                Some(Err(OpError::Pg(e))) => Failure::from(e),
                None => Failure::Lost(format!(
                    "the database did not answer within {} s",
                    bound.as_secs()
                )),
            };
            match failure {
                Failure::Db(e)
                    if Instant::now() < retry_until
                        && matches!(
                            e.code(),
                            Some(
                                &SqlState::T_R_SERIALIZATION_FAILURE
                                    | &SqlState::T_R_DEADLOCK_DETECTED
                            )
                        ) =>
                {
                    let ceiling = 2u64.saturating_pow(tries.min(6)).min(64);
                    std::thread::sleep(Duration::from_millis(fastrand::u64(1..=ceiling)));
                }
                Failure::Db(e) => return Err(connect::db_error(&self.at, &e)),
                Failure::Lost(why) => {
                    *guard = None;
                    self.set_offline(why.clone());
                    return Err(JournalError::Offline(why));
                }
            }
        }
    }

    fn set_offline(&self, why: String) {
        let mut offline = self
            .offline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *offline = Some((why, Instant::now() + RETRY));
    }

    /// The schema's version, `None` before any gonogo used the database.
    fn schema_version(&self) -> Result<Option<i32>, JournalError> {
        self.with(|c| {
            Box::pin(async move {
                let exists: bool = c
                    .query_one(
                        "SELECT to_regclass('gonogo.schema_version') IS NOT NULL",
                        &[],
                    )
                    .await?
                    .get(0);
                if !exists {
                    return Ok(None);
                }
                let v: Option<i32> = c
                    .query_one("SELECT max(version) FROM gonogo.schema_version", &[])
                    .await?
                    .get(0);
                Ok(v)
            })
        })
    }

    /// Refuses to write a database whose schema is missing, older than
    /// this gonogo writes, or newer: its owner sets it up or upgrades it.
    fn require_schema(&self) -> Result<(), JournalError> {
        match self.schema_version()? {
            None => Err(JournalError::Open(
                self.at.clone(),
                "the database has no gonogo schema: its owner runs `gonogo journal setup URL` once, and `gonogo journal grant URL ROLE` for each operator".into(),
            )),
            Some(v) if v < SCHEMA_VERSION => Err(JournalError::Open(
                self.at.clone(),
                format!(
                    "its gonogo schema is version {v}, which lets operators write the tables directly (any event, under any name): its owner upgrades it with `gonogo journal setup URL`; until then it is read only"
                ),
            )),
            Some(v) => refuse_newer(&self.at, v),
        }
    }

    /// Brings the schema to [`SCHEMA_VERSION`], once across every process
    /// (an advisory lock), or refuses a newer one: `gonogo journal setup`,
    /// run by the user who is to own it. `Ok(Some(v))`: upgraded from
    /// version `v` (0: made).
    fn migrate(&mut self) -> Result<Option<i32>, JournalError> {
        if let Some(v) = self.schema_version()? {
            refuse_newer(&self.at, v)?;
            if v == SCHEMA_VERSION {
                return Ok(None);
            }
        }
        let at = self.at.clone();
        self.with(|c| {
            let at = at.clone();
            Box::pin(async move {
                let tx = c.transaction().await?;
                tx.execute("SELECT pg_advisory_xact_lock(474701)", &[])
                    .await?;
                tx.batch_execute(
                    "CREATE SCHEMA IF NOT EXISTS gonogo;
                     CREATE TABLE IF NOT EXISTS gonogo.schema_version (
                         version    INTEGER PRIMARY KEY,
                         applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                         by_gonogo  TEXT NOT NULL
                     );",
                )
                .await?;
                let v: Option<i32> = tx
                    .query_one("SELECT max(version) FROM gonogo.schema_version", &[])
                    .await?
                    .get(0);
                let v = v.unwrap_or(0);
                refuse_newer(&at, v)?;
                for (i, sql) in MIGRATIONS
                    .iter()
                    .enumerate()
                    .skip(usize::try_from(v).unwrap_or(0))
                {
                    tx.batch_execute(sql).await?;
                    let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
                    tx.execute(
                        "INSERT INTO gonogo.schema_version (version, by_gonogo) VALUES ($1, $2)",
                        &[&version, &env!("CARGO_PKG_VERSION")],
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(Some(v))
            })
        })
    }

    /// Who owns the gonogo schema.
    fn schema_owner(&self) -> Result<String, JournalError> {
        self.with(|c| {
            Box::pin(async move {
                Ok(c.query_one(
                    "SELECT nspowner::REGROLE::TEXT FROM pg_namespace WHERE nspname = 'gonogo'",
                    &[],
                )
                .await?
                .get::<_, String>(0))
            })
        })
    }

    /// The launch's chain version, `None` when the database has no such
    /// launch.
    fn read_chain(&self) -> Result<Option<u8>, JournalError> {
        let launch = self.launch.clone();
        self.with(|c| {
            let launch = launch.clone();
            Box::pin(async move {
                let row = c
                    .query_opt(
                        "SELECT chain FROM gonogo.launches WHERE launch = $1",
                        &[&launch],
                    )
                    .await?;
                Ok(row.map(|r| u8::try_from(r.get::<_, i16>(0)).unwrap_or(2)))
            })
        })
    }

    fn refuse_read_only(&self) -> Result<(), JournalError> {
        if self.read_only {
            return Err(JournalError::Sql(
                "this journal was opened read-only".into(),
            ));
        }
        Ok(())
    }
}

/// `gonogo journal setup`: see [`super::Journal::setup`].
pub fn setup(at: &Location) -> Result<String, JournalError> {
    let mut pg = Postgres::connect(at, "", false)?;
    let done = pg.migrate().map_err(|e| match e {
        JournalError::Unreachable(_, why) if why.contains("permission denied") => JournalError::Open(
            at.clone(),
            format!(
                "{}: the gonogo schema is set up by the user who is to own it (with CREATE on the database), and upgraded by its owner",
                why.split(" (").next().unwrap_or(&why)
            ),
        ),
        other => other,
    })?;
    let owner = &pg.identity;
    Ok(match done {
        None => format!(
            "the gonogo schema is at version {SCHEMA_VERSION} already; owned by {}",
            pg.schema_owner()?
        ),
        Some(0) => format!(
            "made the gonogo schema (version {SCHEMA_VERSION}), owned by {owner}: give each operator's database role what it needs with `gonogo journal grant URL ROLE`"
        ),
        Some(v) => format!(
            "upgraded the gonogo schema from version {v} to {SCHEMA_VERSION}, owned by {owner}: operators now write only through its functions, which stamp who acted (run `gonogo journal grant URL ROLE` for each operator's role)"
        ),
    })
}

/// `gonogo journal grant`: see [`super::Journal::grant`].
pub fn grant(at: &Location, role: &str) -> Result<String, JournalError> {
    let pg = Postgres::connect(at, "", false)?;
    pg.require_schema()?;
    let role = role.to_string();
    let granted = pg.with(|c| {
        let role = role.clone();
        Box::pin(async move {
            let tx = c.transaction().await?;
            let quoted: Option<String> = tx
                .query_opt(
                    "SELECT quote_ident(rolname) FROM pg_roles WHERE rolname = $1",
                    &[&role],
                )
                .await?
                .map(|r| r.get(0));
            let Some(quoted) = quoted else {
                return Ok(false);
            };
            tx.batch_execute(&format!(
                "GRANT USAGE ON SCHEMA gonogo TO {quoted};
                 GRANT SELECT ON ALL TABLES IN SCHEMA gonogo TO {quoted};
                 GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA gonogo TO {quoted};"
            ))
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    });
    match granted {
        Ok(true) => Ok(format!(
            "{role} may now read the launches and act on them; every event it appends is stamped {role}, by the server"
        )),
        Ok(false) => Err(JournalError::Open(
            at.clone(),
            format!(
                "there is no database role {role:?}: create it first (`CREATE ROLE {role} LOGIN`)"
            ),
        )),
        Err(JournalError::Unreachable(_, why)) if why.contains("permission denied") => {
            Err(JournalError::Open(
                at.clone(),
                format!(
                    "{}: grants are given by the owner of the gonogo schema (the user who ran `gonogo journal setup`)",
                    why.split(" (").next().unwrap_or(&why)
                ),
            ))
        }
        Err(e) => Err(e),
    }
}

/// The launches the database holds, oldest first.
pub fn launches(at: &Location) -> Result<Vec<String>, JournalError> {
    let pg = Postgres::connect(at, "", true)?;
    match pg.schema_version()? {
        None => return Ok(Vec::new()),
        Some(v) => refuse_newer(at, v)?,
    }
    pg.with(|c| {
        Box::pin(async move {
            let rows = c
                .query(
                    "SELECT launch FROM gonogo.launches ORDER BY created_at, launch",
                    &[],
                )
                .await?;
            Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
        })
    })
}

/// A new connection to `target`, listening for `launch`'s notifications
/// (each bumps `wake`), driven on the journal's runtime.
fn dial(target: connect::Target, wake: watch::Sender<u64>, launch: String) -> Result<Conn, String> {
    let lost = Arc::new(Mutex::new(None));
    let lost_by_driver = Arc::clone(&lost);
    let dialled = driver()?.spawn(async move {
        let (client, mut connection) = target.connect().await?;
        // The connection's socket is driven here, for as long as it
        // lives; notifications for this launch wake the runtime.
        tokio::spawn(async move {
            let why = loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(n))) => {
                        if n.payload() == launch {
                            wake.send_modify(|c| *c = c.wrapping_add(1));
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break connect::reason(&e),
                    None => break "the database closed the connection".to_string(),
                }
            };
            *lost_by_driver
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(why);
            // Whoever waits for news learns the journal went offline.
            wake.send_modify(|c| *c = c.wrapping_add(1));
        });
        Ok::<_, String>(client)
    });
    let client = match run(dialled, OP_TIMEOUT) {
        Some(Ok(Ok(client))) => client,
        Some(Ok(Err(why))) => return Err(why),
        Some(Err(e)) => return Err(format!("the connection attempt failed: {e}")),
        None => {
            return Err(format!("no answer within {} s", OP_TIMEOUT.as_secs()));
        }
    };
    match run(
        client.batch_execute(&format!("LISTEN {CHANNEL}")),
        OP_TIMEOUT,
    ) {
        Some(Ok(())) => Ok(Conn { client, lost }),
        Some(Err(e)) => Err(connect::reason(&e)),
        None => Err(format!("no answer within {} s", OP_TIMEOUT.as_secs())),
    }
}

fn refuse_newer(at: &Location, found: i32) -> Result<(), JournalError> {
    if found > SCHEMA_VERSION {
        return Err(JournalError::Unreachable(
            at.clone(),
            format!(
                "its gonogo schema is version {found}, newer than this gonogo {} knows (version {SCHEMA_VERSION}): upgrade gonogo on this machine",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    Ok(())
}

/// How many copied rows go in one statement.
const COPY_BATCH: usize = 5_000;

/// Inserts rows sealed elsewhere, as they are, in one statement.
async fn insert_rows(
    tx: &tokio_postgres::Transaction<'_>,
    launch: &str,
    rows: &[Row],
) -> Result<(), OpError> {
    let col = |f: fn(&Row) -> String| rows.iter().map(f).collect::<Vec<String>>();
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let claims: Vec<Option<String>> = rows.iter().map(|r| r.claim.clone()).collect();
    tx.execute(
        "INSERT INTO gonogo.events
             (launch, seq, at, actor, kind, body, gates, prev_hash, hash, claim)
         SELECT $1, * FROM unnest($2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                                  $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[])",
        &[
            &launch,
            &seqs,
            &col(|r| r.at.clone()),
            &col(|r| r.actor.clone()),
            &col(|r| r.kind.clone()),
            &col(|r| r.body.clone()),
            &col(|r| r.gates.clone()),
            &col(|r| r.prev_hash.clone()),
            &col(|r| r.hash.clone()),
            &claims,
        ],
    )
    .await?;
    Ok(())
}

async fn notify(tx: &tokio_postgres::Transaction<'_>, launch: &str) -> Result<(), OpError> {
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &launch])
        .await?;
    Ok(())
}

impl Store for Postgres {
    fn location(&self) -> &Location {
        &self.at
    }

    fn launch(&self) -> &str {
        &self.launch
    }

    fn chain(&self) -> u8 {
        self.chain
    }

    fn append(&mut self, entry: &Entry) -> Result<Row, JournalError> {
        self.refuse_read_only()?;
        let launch = self.launch.clone();
        let (kind, body, gates) = columns(entry)?;
        self.with(|c| {
            let (launch, kind, body, gates, claim) = (
                launch.clone(),
                kind.clone(),
                body.clone(),
                gates.clone(),
                entry.claim.clone(),
            );
            Box::pin(async move {
                // The server seals it: its number, its time on the
                // server's clock, who the server says acted, the chain.
                let stamped = c
                    .query_one(
                        "SELECT o_seq, o_at, o_actor, o_prev, o_hash
                         FROM gonogo.append($1, $2, $3, $4, $5)",
                        &[&launch, &kind, &body, &gates, &claim],
                    )
                    .await;
                let r = match stamped {
                    Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                        return Err(JournalError::Claimed(claim.unwrap_or_default()).into());
                    }
                    other => other?,
                };
                Ok(Row {
                    seq: r.get(0),
                    at: r.get(1),
                    actor: r.get(2),
                    kind,
                    body,
                    gates,
                    claim,
                    prev_hash: r.get(3),
                    hash: r.get(4),
                })
            })
        })
    }

    fn rows_after(&self, seq: i64) -> Result<Vec<Row>, JournalError> {
        let launch = self.launch.clone();
        self.with(|c| {
            let launch = launch.clone();
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT seq, at, actor, kind, body, gates, claim, prev_hash, hash
                         FROM gonogo.events WHERE launch = $1 AND seq > $2 ORDER BY seq",
                        &[&launch, &seq],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| Row {
                        seq: r.get(0),
                        at: r.get(1),
                        actor: r.get(2),
                        kind: r.get(3),
                        body: r.get(4),
                        gates: r.get(5),
                        claim: r.get(6),
                        prev_hash: r.get(7),
                        hash: r.get(8),
                    })
                    .collect())
            })
        })
    }

    fn last_seq(&self) -> Result<i64, JournalError> {
        let launch = self.launch.clone();
        self.with(|c| {
            let launch = launch.clone();
            Box::pin(async move {
                Ok(c.query_one(
                    "SELECT COALESCE(MAX(seq), 0)::BIGINT FROM gonogo.events WHERE launch = $1",
                    &[&launch],
                )
                .await?
                .get(0))
            })
        })
    }

    fn highest_seq(&self) -> Option<i64> {
        let launch = self.launch.clone();
        self.with(|c| {
            let launch = launch.clone();
            Box::pin(async move {
                Ok(c.query_opt(
                    "SELECT high FROM gonogo.launches WHERE launch = $1",
                    &[&launch],
                )
                .await?
                .map(|r| r.get::<_, i64>(0)))
            })
        })
        .ok()
        .flatten()
    }

    fn storage_problems(&self) -> Vec<String> {
        match self.schema_version() {
            Ok(Some(_)) => Vec::new(),
            Ok(None) => vec!["the database has no gonogo schema".into()],
            Err(e) => vec![format!("cannot read the database: {e}")],
        }
    }

    fn integrity(&self) -> Result<String, JournalError> {
        self.with(|c| {
            Box::pin(async move {
                c.simple_query("SELECT 1").await?;
                Ok("ok".to_string())
            })
        })
    }

    fn record_samples(
        &mut self,
        samples: &[(&str, String, String)],
        keep: Duration,
    ) -> Result<(), JournalError> {
        self.refuse_read_only()?;
        let launch = self.launch.clone();
        let signals: Vec<String> = samples.iter().map(|s| s.0.to_string()).collect();
        let ats: Vec<String> = samples.iter().map(|s| s.1.clone()).collect();
        let outcomes: Vec<String> = samples.iter().map(|s| s.2.clone()).collect();
        let keep_ms = keep.as_secs_f64() * 1000.0;
        self.with(|c| {
            let (launch, signals, ats, outcomes) = (
                launch.clone(),
                signals.clone(),
                ats.clone(),
                outcomes.clone(),
            );
            Box::pin(async move {
                c.execute(
                    "SELECT gonogo.record_samples($1, $2, $3, $4, $5)",
                    &[&launch, &signals, &ats, &outcomes, &keep_ms],
                )
                .await?;
                Ok(())
            })
        })
    }

    fn samples(&self, query: SampleQuery) -> Result<Vec<RawSample>, JournalError> {
        let launch = self.launch.clone();
        self.with(|c| {
            let launch = launch.clone();
            Box::pin(async move {
                // The lease decides whose samples count: the poller's (as
                // the server authenticated it), and our own.
                let rows = match query {
                    SampleQuery::Since(t) => {
                        c.query(
                            "SELECT id, signal, at, outcome FROM gonogo.samples s
                             WHERE launch = $1 AND at >= $2 AND (polled_by = session_user
                                OR polled_by IN (SELECT held_by FROM gonogo.leases
                                                 WHERE launch = $1 AND name = 'poll'))
                             ORDER BY at",
                            &[&launch, &super::stamp(t)],
                        )
                        .await?
                    }
                    SampleQuery::After(id) => {
                        c.query(
                            "SELECT id, signal, at, outcome FROM gonogo.samples s
                             WHERE launch = $1 AND id > $2 AND (polled_by = session_user
                                OR polled_by IN (SELECT held_by FROM gonogo.leases
                                                 WHERE launch = $1 AND name = 'poll'))
                             ORDER BY id",
                            &[&launch, &id],
                        )
                        .await?
                    }
                };
                Ok(rows
                    .iter()
                    .map(|r| RawSample {
                        id: r.get(0),
                        signal: r.get(1),
                        at: r.get(2),
                        outcome: r.get(3),
                    })
                    .collect())
            })
        })
    }

    fn last_sample_id(&self) -> Result<i64, JournalError> {
        let launch = self.launch.clone();
        self.with(|c| {
            let launch = launch.clone();
            Box::pin(async move {
                Ok(c.query_one(
                    "SELECT COALESCE(MAX(id), 0)::BIGINT FROM gonogo.samples WHERE launch = $1",
                    &[&launch],
                )
                .await?
                .get(0))
            })
        })
    }

    fn hold_lease(
        &mut self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, JournalError> {
        self.refuse_read_only()?;
        let launch = self.launch.clone();
        let ms = ttl.as_secs_f64() * 1000.0;
        self.with(|c| {
            let (launch, name, holder) = (launch.clone(), name.to_string(), holder.to_string());
            Box::pin(async move {
                let (launch, name, holder) = (&launch, &name, &holder);
                Ok(c.query_one(
                    "SELECT gonogo.hold_lease($1, $2, $3, $4)",
                    &[launch, name, holder, &ms],
                )
                .await?
                .get::<_, bool>(0))
            })
        })
    }

    fn release_lease(&mut self, name: &str, holder: &str) -> Result<(), JournalError> {
        if self.read_only {
            return Ok(());
        }
        let launch = self.launch.clone();
        self.with(|c| {
            let (launch, name, holder) = (launch.clone(), name.to_string(), holder.to_string());
            Box::pin(async move {
                let (launch, name, holder) = (&launch, &name, &holder);
                c.execute(
                    "SELECT gonogo.release_lease($1, $2, $3)",
                    &[launch, name, holder],
                )
                .await?;
                Ok(())
            })
        })
    }

    fn lease(&self, name: &str) -> Result<Option<(String, DateTime<Utc>)>, JournalError> {
        let launch = self.launch.clone();
        let row = self.with(|c| {
            let (launch, name) = (launch.clone(), name.to_string());
            Box::pin(async move {
                let (launch, name) = (&launch, &name);
                Ok(c.query_opt(
                    "SELECT holder, EXTRACT(EPOCH FROM (until - now()))::FLOAT8
                     FROM gonogo.leases WHERE launch = $1 AND name = $2",
                    &[launch, name],
                )
                .await?
                .map(|r| (r.get::<_, String>(0), r.get::<_, f64>(1))))
            })
        })?;
        // The server said how long is left; on this machine's clock that
        // ends here, whatever the two clocks read.
        Ok(row.map(|(holder, left)| {
            let left = chrono::Duration::milliseconds((left * 1000.0) as i64);
            (holder, crate::clock::now() + left)
        }))
    }

    fn wakeups(&self) -> Option<watch::Receiver<u64>> {
        Some(self.wake.subscribe())
    }

    fn identity(&self) -> &str {
        &self.identity
    }

    fn hurry(&self) {
        self.hurry.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn clock_offset(&self) -> Result<Option<chrono::Duration>, JournalError> {
        // The server's reading is taken to sit midway through the round
        // trip; of three tries the shortest trip errs least.
        let mut best: Option<(chrono::Duration, chrono::Duration)> = None;
        for _ in 0..3 {
            let sent = Utc::now();
            let epoch: f64 = self.with(|c| {
                Box::pin(async move {
                    Ok(
                        c.query_one("SELECT EXTRACT(EPOCH FROM clock_timestamp())::FLOAT8", &[])
                            .await?
                            .get::<_, f64>(0),
                    )
                })
            })?;
            let back = Utc::now();
            #[allow(clippy::cast_possible_truncation)]
            let Some(server) = DateTime::<Utc>::from_timestamp_micros((epoch * 1e6).round() as i64)
            else {
                continue;
            };
            let trip = back - sent;
            let offset = server - (sent + trip / 2);
            if best.is_none_or(|(t, _)| trip < t) {
                best = Some((trip, offset));
            }
        }
        Ok(best.map(|(_, offset)| offset))
    }

    fn offline(&self) -> Option<String> {
        let lost = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .and_then(Conn::lost);
        lost.or_else(|| {
            self.offline
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
                .map(|(why, _)| why.clone())
        })
    }
}
