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

use super::{Entry, JournalError, Location, RawSample, Row, SampleQuery, Store, seal};

mod connect;

/// The schema version this gonogo writes. A database at a newer version
/// is refused: its tables may mean things this build does not know.
pub const SCHEMA_VERSION: i32 = 1;

/// The notification channel; the payload is the launch id.
const CHANNEL: &str = "gonogo";

/// How long one call to the database may take before the journal is
/// OFFLINE.
const OP_TIMEOUT: Duration = Duration::from_secs(5);

/// How often an offline journal tries the database again.
const RETRY: Duration = Duration::from_secs(1);

/// Each schema version's statements, applied in order in one transaction.
const MIGRATIONS: &[&str] = &["
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
"];

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

/// Runs `f` to its end on this thread, bounded by [`OP_TIMEOUT`]; `None`
/// when the database did not answer in time (or no driver runs).
fn run<F: Future>(f: F) -> Option<F::Output> {
    let _in = driver().ok()?.enter();
    futures_executor::block_on(tokio::time::timeout(OP_TIMEOUT, f)).ok()
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
}

impl Postgres {
    /// Opens launch `launch_id`'s journal in the database, creating the
    /// schema and the launch (with `first`) when missing. `Ok((_, true))`
    /// when this call created the launch.
    ///
    /// # Errors
    /// An unreachable or refusing database, a newer schema.
    pub fn open_or_create(
        at: &Location,
        launch_id: &str,
        first: &Entry,
    ) -> Result<(Postgres, bool), JournalError> {
        let mut pg = Postgres::connect(at, launch_id, false)?;
        pg.migrate()?;
        // The creator is who the server says, like every later actor.
        let first = &Entry {
            actor: pg.identity.clone(),
            ..first.clone()
        };
        let created = pg.with(|c| {
            let first = first.clone();
            let launch = launch_id.to_string();
            Box::pin(async move {
                let tx = c.transaction().await?;
                let made = tx
                    .execute(
                        "INSERT INTO gonogo.launches (launch, chain) VALUES ($1, 2)
                         ON CONFLICT (launch) DO NOTHING",
                        &[&launch],
                    )
                    .await?;
                if made == 1 {
                    let row = seal(&first, 2, None, server_now(&tx).await?)?;
                    insert(&tx, &launch, &row).await?;
                    notify(&tx, &launch).await?;
                }
                tx.commit().await?;
                Ok(made == 1)
            })
        })?;
        pg.chain = pg.read_chain()?.unwrap_or(2);
        Ok((pg, created))
    }

    /// Opens launch `launch_id`'s existing journal.
    ///
    /// # Errors
    /// No such launch; an unreachable or refusing database, a newer schema.
    pub fn open(at: &Location, launch_id: &str, read_only: bool) -> Result<Postgres, JournalError> {
        let mut pg = Postgres::connect(at, launch_id, read_only)?;
        if read_only {
            match pg.schema_version()? {
                None => return Err(JournalError::Missing(at.clone())),
                Some(v) => refuse_newer(at, v)?,
            }
        } else {
            pg.migrate()?;
        }
        match pg.read_chain()? {
            Some(chain) => pg.chain = chain,
            None => return Err(JournalError::Missing(at.clone())),
        }
        Ok(pg)
    }

    /// Makes launch `launch_id` in the database holding `rows` as they are
    /// (sealed elsewhere with `chain`): a launch copied here. `Ok(false)`
    /// when the database already has that launch.
    ///
    /// # Errors
    /// An unreachable or refusing database, a newer schema.
    pub fn create_with(
        at: &Location,
        launch_id: &str,
        rows: &[Row],
        chain: u8,
    ) -> Result<bool, JournalError> {
        let mut pg = Postgres::connect(at, launch_id, false)?;
        pg.migrate()?;
        pg.with(|c| {
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
                    for row in &rows {
                        insert(&tx, &launch, row).await?;
                    }
                    notify(&tx, &launch).await?;
                }
                tx.commit().await?;
                Ok(made == 1)
            })
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
            chain: 2,
            read_only,
            target,
            conn: Mutex::new(None),
            offline: Mutex::new(None),
            redial: Mutex::new(None),
            wake,
            identity: String::new(),
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
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
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
            let failure = match run(op(&mut conn.client)) {
                Some(Ok(v)) => return Ok(v),
                Some(Err(OpError::Journal(journal))) => return Err(journal),
                Some(Err(OpError::Pg(e))) => Failure::from(e),
                None => Failure::Lost(format!(
                    "the database did not answer within {} s",
                    OP_TIMEOUT.as_secs()
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

    /// Brings the schema to [`SCHEMA_VERSION`], once across every process
    /// (an advisory lock), or refuses a newer one.
    fn migrate(&mut self) -> Result<(), JournalError> {
        if let Some(v) = self.schema_version()? {
            refuse_newer(&self.at, v)?;
            if v == SCHEMA_VERSION {
                return Ok(());
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
                Ok(())
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
    let client = match run(dialled) {
        Some(Ok(Ok(client))) => client,
        Some(Ok(Err(why))) => return Err(why),
        Some(Err(e)) => return Err(format!("the connection attempt failed: {e}")),
        None => {
            return Err(format!("no answer within {} s", OP_TIMEOUT.as_secs()));
        }
    };
    match run(client.batch_execute(&format!("LISTEN {CHANNEL}"))) {
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

async fn insert(
    tx: &tokio_postgres::Transaction<'_>,
    launch: &str,
    row: &Row,
) -> Result<(), OpError> {
    tx.execute(
        "INSERT INTO gonogo.events
             (launch, seq, at, actor, kind, body, gates, prev_hash, hash, claim)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &launch,
            &row.seq,
            &row.at,
            &row.actor,
            &row.kind,
            &row.body,
            &row.gates,
            &row.prev_hash,
            &row.hash,
            &row.claim,
        ],
    )
    .await?;
    Ok(())
}

/// The database server's clock, now.
async fn server_now(tx: &tokio_postgres::Transaction<'_>) -> Result<DateTime<Utc>, OpError> {
    let micros: i64 = tx
        .query_one(
            "SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT",
            &[],
        )
        .await?
        .get(0);
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| JournalError::Sql(format!("the server's clock reads {micros} µs")).into())
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

    fn chain(&self) -> u8 {
        self.chain
    }

    fn append(&mut self, entry: &Entry) -> Result<Row, JournalError> {
        self.refuse_read_only()?;
        let launch = self.launch.clone();
        let chain = self.chain;
        self.with(|c| {
            let launch = launch.clone();
            let entry = entry.clone();
            Box::pin(async move {
                let entry = &entry;
                let tx = c.transaction().await?;
                // The launch's row is the lock every append of it takes:
                // one chain, no fork, whatever the isolation level.
                tx.execute(
                    "SELECT 1 FROM gonogo.launches WHERE launch = $1 FOR UPDATE",
                    &[&launch],
                )
                .await?;
                if let Some(claim) = &entry.claim {
                    let taken = tx
                        .query_opt(
                            "SELECT seq FROM gonogo.events WHERE launch = $1 AND claim = $2",
                            &[&launch, claim],
                        )
                        .await?;
                    if taken.is_some() {
                        return Err(JournalError::Claimed(claim.clone()).into());
                    }
                }
                let last = tx
                    .query_opt(
                        "SELECT seq, hash FROM gonogo.events WHERE launch = $1
                         ORDER BY seq DESC LIMIT 1",
                        &[&launch],
                    )
                    .await?
                    .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)));
                // The server's clock, one for every machine on the launch:
                // the record's times agree with its order, whatever a
                // laptop's clock says.
                let row = seal(entry, chain, last, server_now(&tx).await?)?;
                match insert(&tx, &launch, &row).await {
                    Err(OpError::Pg(e)) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                        let claim = row.claim.clone().unwrap_or_default();
                        return Err(JournalError::Claimed(claim).into());
                    }
                    other => other?,
                }
                tx.execute(
                    "UPDATE gonogo.launches SET high = GREATEST(high, $2) WHERE launch = $1",
                    &[&launch, &row.seq],
                )
                .await?;
                notify(&tx, &launch).await?;
                tx.commit().await?;
                Ok(row)
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
        horizon: DateTime<Utc>,
    ) -> Result<(), JournalError> {
        self.refuse_read_only()?;
        let launch = self.launch.clone();
        let signals: Vec<String> = samples.iter().map(|s| s.0.to_string()).collect();
        let ats: Vec<String> = samples.iter().map(|s| s.1.clone()).collect();
        let outcomes: Vec<String> = samples.iter().map(|s| s.2.clone()).collect();
        let horizon = super::stamp(horizon);
        self.with(|c| {
            let (launch, signals, ats, outcomes, horizon) = (
                launch.clone(),
                signals.clone(),
                ats.clone(),
                outcomes.clone(),
                horizon.clone(),
            );
            Box::pin(async move {
                let (launch, signals, ats, outcomes, horizon) =
                    (&launch, &signals, &ats, &outcomes, &horizon);
                let tx = c.transaction().await?;
                tx.execute(
                    "INSERT INTO gonogo.samples (launch, signal, at, outcome)
                     SELECT $1, * FROM unnest($2::TEXT[], $3::TEXT[], $4::TEXT[])",
                    &[launch, signals, ats, outcomes],
                )
                .await?;
                tx.execute(
                    "DELETE FROM gonogo.samples WHERE launch = $1 AND at < $2",
                    &[launch, horizon],
                )
                .await?;
                notify(&tx, launch).await?;
                tx.commit().await?;
                Ok(())
            })
        })
    }

    fn samples(&self, query: SampleQuery) -> Result<Vec<RawSample>, JournalError> {
        let launch = self.launch.clone();
        self.with(|c| {
            let launch = launch.clone();
            Box::pin(async move {
                let rows = match query {
                    SampleQuery::Since(t) => {
                        c.query(
                            "SELECT id, signal, at, outcome FROM gonogo.samples
                             WHERE launch = $1 AND at >= $2 ORDER BY at",
                            &[&launch, &super::stamp(t)],
                        )
                        .await?
                    }
                    SampleQuery::After(id) => {
                        c.query(
                            "SELECT id, signal, at, outcome FROM gonogo.samples
                             WHERE launch = $1 AND id > $2 ORDER BY id",
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
                // Judged on the server's clock, in one statement: taken
                // when free, lapsed or already ours.
                let won = c
                    .query_opt(
                        "INSERT INTO gonogo.leases (launch, name, holder, until)
                         VALUES ($1, $2, $3, now() + $4 * INTERVAL '1 millisecond')
                         ON CONFLICT (launch, name) DO UPDATE
                            SET holder = excluded.holder, until = excluded.until
                            WHERE gonogo.leases.holder = excluded.holder
                               OR gonogo.leases.until < now()
                         RETURNING holder",
                        &[launch, name, holder, &ms],
                    )
                    .await?;
                Ok(won.is_some())
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
                    "DELETE FROM gonogo.leases WHERE launch = $1 AND name = $2 AND holder = $3",
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
            (holder, Utc::now() + left)
        }))
    }

    fn wakeups(&self) -> Option<watch::Receiver<u64>> {
        Some(self.wake.subscribe())
    }

    fn identity(&self) -> Option<&str> {
        Some(&self.identity)
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
