//! The demo service: a simulated production service on 127.0.0.1 for
//! demos and tests, with faults that can be injected over HTTP.
//!
//! A background task simulates traffic (about 200 requests/s) whose error
//! rate and latency drift slowly, and records it the way a real service
//! would: a Prometheus request counter by status code and a latency
//! histogram on `/metrics` (so `rate()` and `histogram_quantile()` work in
//! a real Prometheus), plus JSON summaries for `json` signals.
//!
//! Failed requests are spread evenly at the configured rate rather than
//! drawn at random, so the error rate a gate reads tracks the simulated one
//! closely even over a few hundred requests: a healthy service sits near
//! 0.04 % and stays clearly under a 0.1 % gate.
//!
//! Beside live traffic it simulates what a data cutover or migration is
//! judged on (the shipped `layouts/cutover.toml` and
//! `layouts/migration.toml` gate on these): backfilled tables, batch jobs,
//! validation counters and a staging queue. Everything is healthy until a
//! fault says otherwise.
//!
//! Endpoints:
//!
//! | endpoint | what it answers |
//! |---|---|
//! | `GET /healthz` | `ok` (200), or 503 when down; slowed by the latency fault |
//! | `GET /api/stats` | `{window_s, requests, requests_per_s, error_rate, latency_ms: {p50, p95, p99}}` over the last 30 s |
//! | `GET /api/queues` | `{webhook: {pending, failed}, staging: {pending}}` |
//! | `GET /api/tables` | row counts of the V2 tables: `{orders_v2: {rows}, customers_v2: {rows}, payments_v2: {rows}, invoices_v2: {rows}}`, growing slowly |
//! | `GET /api/jobs` | `{aggregation_dry_run: {status, completed_runs, last_duration_s}, batch_sync: {mode, degraded, lag_s}}` |
//! | `GET /api/validation` | `{schema_checks: {passed, failed, total}, row_count_mismatches, foreign_keys: {validated, total}, endpoints: {validated, total}, orphaned_references}` |
//! | `GET /metrics` | Prometheus text: `http_requests_total{code}`, `http_request_duration_seconds`, `queue_pending{queue}`, `table_rows{table}` |
//! | `GET /faults` | the faults in force, as JSON |
//!
//! Faults (`POST /faults/...`; each answers the faults now in force, or 400
//! with a usage line):
//!
//! | fault | effect |
//! |---|---|
//! | `errors?rate=R` | a further share R (0..1) of requests fail with 500 |
//! | `latency?ms=N` | every request, and `/healthz`, takes N ms longer |
//! | `down`, `up` | `/healthz` answers 503 and all traffic fails / back up |
//! | `queue?pending=N` | N more items stuck in the webhook queue |
//! | `webhooks?failed=N` | N failed webhook deliveries |
//! | `staging?pending=N` | N items waiting in the staging queue (default 0) |
//! | `tables?empty=T[,T…]` | those tables report 0 rows (a lost backfill) |
//! | `dryrun?seconds=N&completed=N` | the aggregation dry run's last duration and completed-run count (either or both) |
//! | `batchsync?degraded=1` | the batch-sync fallback is degraded (lagging); `=0` heals it |
//! | `validation?fk=N&endpoints=N&orphans=N&failed=N&mismatches=N` | validated foreign keys (of 32) and endpoints (of 324), orphaned references, failed schema checks, row-count mismatches (any subset) |
//! | `clear` | every fault off |

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::layout::{self, Diagnostics, Layout};

/// The shipped demo layout, built into the binary so `gonogo demo` works
/// from anywhere.
pub const LAYOUT: &str = include_str!("../layouts/demo.toml");

/// The demo layout, parsed (its URLs use `${DEMO_URL}`).
///
/// # Errors
/// Only if the shipped layout is broken, which a test prevents.
pub fn layout() -> Result<Layout, Diagnostics> {
    layout::parse(Path::new("layouts/demo.toml"), LAYOUT)
}

/// The demo layout as read from `file` (where it was written): its
/// commands run beside it.
pub fn layout_at(file: &Path) -> Result<Layout, Diagnostics> {
    layout::parse(file, LAYOUT)
}

const TICK: Duration = Duration::from_millis(100);
const REQUESTS_PER_TICK: usize = 20;
/// The span `/api/stats` summarises.
const STATS_WINDOW: Duration = Duration::from_secs(30);

type Labels = Vec<(String, String)>;

#[derive(Debug, Clone, Default, serde::Serialize)]
struct Faults {
    /// Extra share of requests that fail with 500.
    error_rate: f64,
    /// Extra latency on every request, and on `/healthz`.
    latency_ms: u64,
    /// `/healthz` answers 503 and traffic fails.
    down: bool,
    /// Extra items stuck in the webhook queue.
    queue_pending: u64,
    /// Failed webhook deliveries.
    webhook_failed: u64,
    /// Items waiting in the staging queue.
    staging_pending: u64,
    /// Tables whose rows are gone.
    empty_tables: Vec<String>,
    /// The aggregation dry run's last duration, when forced.
    dryrun_seconds: Option<u64>,
    /// Completed aggregation dry runs, when forced.
    dryrun_completed: Option<u64>,
    /// The batch-sync fallback is degraded.
    batchsync_degraded: bool,
    /// Validated foreign keys, when forced below the total.
    fk_validated: Option<u64>,
    /// Validated endpoints, when forced below the total.
    endpoints_validated: Option<u64>,
    orphaned_references: u64,
    schema_checks_failed: u64,
    row_count_mismatches: u64,
}

/// The V2 tables and their row counts when the service starts, with how
/// many rows live traffic adds per second.
const TABLES: [(&str, f64, f64); 4] = [
    ("orders_v2", 1_284_112.0, 30.0),
    ("customers_v2", 402_877.0, 4.0),
    ("payments_v2", 1_190_530.0, 28.0),
    ("invoices_v2", 655_204.0, 9.0),
];
/// Foreign keys the migration validates.
const FOREIGN_KEYS: u64 = 32;
/// API endpoints the migration validates against V2.
const ENDPOINTS: u64 = 324;
/// Schema checks in the validation suite.
const SCHEMA_CHECKS: u64 = 57;
/// A healthy aggregation dry run: 12m22s, three completed runs.
const DRYRUN_SECONDS: u64 = 742;
const DRYRUN_RUNS: u64 = 3;

struct Sim {
    started: Instant,
    faults: Faults,
    /// (when, latency ms, failed) for the stats window.
    recent: VecDeque<(Instant, f64, bool)>,
    webhook_pending: f64,
    /// Failures owed at the current error rate (see the module header).
    error_debt: f64,
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Histogram,
    queue: Family<Labels, Gauge>,
    rows: Family<Labels, Gauge>,
}

impl Sim {
    fn new() -> Sim {
        let mut registry = Registry::default();
        let requests = Family::<Labels, Counter>::default();
        let latency = Histogram::new([0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0]);
        let queue = Family::<Labels, Gauge>::default();
        registry.register(
            "http_requests",
            "Requests served, by status code",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Request latency",
            latency.clone(),
        );
        registry.register("queue_pending", "Items waiting, by queue", queue.clone());
        let rows = Family::<Labels, Gauge>::default();
        registry.register("table_rows", "Rows, by V2 table", rows.clone());
        Sim {
            started: Instant::now(),
            faults: Faults::default(),
            recent: VecDeque::new(),
            webhook_pending: 12.0,
            error_debt: 0.0,
            registry,
            requests,
            latency,
            queue,
            rows,
        }
    }

    /// Baseline error rate and median latency, drifting slowly.
    fn baseline(&self) -> (f64, f64) {
        let t = self.started.elapsed().as_secs_f64();
        let error = 0.0004 + 0.0003 * (t / 60.0).sin();
        let latency = 110.0 + 35.0 * (t / 45.0).sin();
        (error.max(0.0), latency)
    }

    fn simulate(&mut self, rng: &mut fastrand::Rng) {
        let (base_error, base_latency) = self.baseline();
        let now = Instant::now();
        for _ in 0..REQUESTS_PER_TICK {
            self.error_debt += base_error + self.faults.error_rate;
            let owed = self.error_debt >= 1.0;
            if owed {
                self.error_debt -= 1.0;
            }
            let failed = self.faults.down || owed;
            // Log-normal-ish latency around the drifting median.
            let spread = (normal(rng) * 0.35).exp();
            let ms = base_latency * spread + self.faults.latency_ms as f64;
            let code = if failed { "500" } else { "200" };
            self.requests
                .get_or_create(&vec![("code".to_string(), code.to_string())])
                .inc();
            self.latency.observe(ms / 1000.0);
            self.recent.push_back((now, ms, failed));
        }
        while self
            .recent
            .front()
            .is_some_and(|(at, _, _)| now.duration_since(*at) > STATS_WINDOW)
        {
            self.recent.pop_front();
        }
        // The webhook queue wanders between roughly 0 and 40.
        self.webhook_pending = (self.webhook_pending + normal(rng) * 1.5).clamp(0.0, 40.0);
        let labels = |q: &str| vec![("queue".to_string(), q.to_string())];
        self.queue
            .get_or_create(&labels("webhook"))
            .set(self.webhook_pending() as i64);
        self.queue
            .get_or_create(&labels("staging"))
            .set(gauge(self.faults.staging_pending));
        for (table, rows) in self.tables() {
            self.rows
                .get_or_create(&vec![("table".to_string(), table.to_string())])
                .set(gauge(rows));
        }
    }

    /// Row counts of the V2 tables now.
    fn tables(&self) -> Vec<(&'static str, u64)> {
        let t = self.started.elapsed().as_secs_f64();
        TABLES
            .iter()
            .map(|&(table, base, per_s)| {
                let empty = self.faults.empty_tables.iter().any(|e| e == table);
                (table, if empty { 0 } else { (base + per_s * t) as u64 })
            })
            .collect()
    }

    fn tables_json(&self) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = self
            .tables()
            .into_iter()
            .map(|(table, rows)| (table.to_string(), serde_json::json!({ "rows": rows })))
            .collect();
        serde_json::Value::Object(map)
    }

    fn queues_json(&self) -> serde_json::Value {
        serde_json::json!({
            "webhook": { "pending": self.webhook_pending(), "failed": self.faults.webhook_failed },
            "staging": { "pending": self.faults.staging_pending },
        })
    }

    fn jobs_json(&self) -> serde_json::Value {
        let f = &self.faults;
        let runs = f.dryrun_completed.unwrap_or(DRYRUN_RUNS);
        let (mode, lag_s) = if f.batchsync_degraded {
            ("degraded", 5400)
        } else {
            ("standby", 45)
        };
        serde_json::json!({
            "aggregation_dry_run": {
                "status": if runs == 0 { "never-completed" } else { "completed" },
                "completed_runs": runs,
                "last_duration_s": f.dryrun_seconds.unwrap_or(DRYRUN_SECONDS),
            },
            "batch_sync": {
                "mode": mode,
                "degraded": u8::from(f.batchsync_degraded),
                "lag_s": lag_s,
            },
        })
    }

    fn validation_json(&self) -> serde_json::Value {
        let f = &self.faults;
        serde_json::json!({
            "schema_checks": {
                "passed": SCHEMA_CHECKS - f.schema_checks_failed,
                "failed": f.schema_checks_failed,
                "total": SCHEMA_CHECKS,
            },
            "row_count_mismatches": f.row_count_mismatches,
            "foreign_keys": {
                "validated": f.fk_validated.unwrap_or(FOREIGN_KEYS),
                "total": FOREIGN_KEYS,
            },
            "endpoints": {
                "validated": f.endpoints_validated.unwrap_or(ENDPOINTS),
                "total": ENDPOINTS,
            },
            "orphaned_references": f.orphaned_references,
        })
    }

    fn webhook_pending(&self) -> u64 {
        self.webhook_pending.round() as u64 + self.faults.queue_pending
    }

    fn stats(&self) -> serde_json::Value {
        let n = self.recent.len();
        let failed = self.recent.iter().filter(|r| r.2).count();
        let mut lat: Vec<f64> = self.recent.iter().map(|r| r.1).collect();
        lat.sort_by(f64::total_cmp);
        let p = |q: f64| -> serde_json::Value {
            if lat.is_empty() {
                serde_json::Value::Null
            } else {
                let i = ((lat.len() as f64 * q).ceil() as usize).clamp(1, lat.len()) - 1;
                serde_json::json!((lat[i] * 10.0).round() / 10.0)
            }
        };
        serde_json::json!({
            "window_s": STATS_WINDOW.as_secs(),
            "requests": n,
            "requests_per_s": n as f64 / STATS_WINDOW.as_secs_f64(),
            "error_rate": if n == 0 { serde_json::Value::Null } else { serde_json::json!(failed as f64 / n as f64) },
            "latency_ms": { "p50": p(0.5), "p95": p(0.95), "p99": p(0.99) },
        })
    }
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A standard normal deviate (Box–Muller).
fn normal(rng: &mut fastrand::Rng) -> f64 {
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A running demo service.
pub struct Service {
    addr: SocketAddr,
    server: JoinHandle<()>,
    simulation: JoinHandle<()>,
}

impl Service {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends.
    pub async fn wait(mut self) {
        let _ = (&mut self.server).await;
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.server.abort();
        self.simulation.abort();
    }
}

/// Starts the demo service on `127.0.0.1:port` (0: any free port).
///
/// # Errors
/// When the port cannot be bound.
pub async fn serve(port: u16) -> std::io::Result<Service> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let sim = Arc::new(Mutex::new(Sim::new()));
    let simulation = {
        let sim = Arc::clone(&sim);
        tokio::spawn(async move {
            let mut rng = fastrand::Rng::new();
            let mut tick = tokio::time::interval(TICK);
            loop {
                tick.tick().await;
                lock(&sim).simulate(&mut rng);
            }
        })
    };
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let sim = Arc::clone(&sim);
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(Arc::clone(&sim), req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(Service {
        addr,
        server,
        simulation,
    })
}

fn lock(sim: &Mutex<Sim>) -> MutexGuard<'_, Sim> {
    // A panic while holding the lock leaves plain numbers behind; keep serving.
    sim.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    resp
}

fn json(status: StatusCode, v: &serde_json::Value) -> Response<Full<Bytes>> {
    reply(status, "application/json", v.to_string())
}

fn query_param(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.uri().query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

async fn handle(
    sim: Arc<Mutex<Sim>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let (delay, down) = {
        let s = lock(&sim);
        (Duration::from_millis(s.faults.latency_ms), s.faults.down)
    };
    let resp = match (req.method(), path.as_str()) {
        (&Method::GET, "/healthz") => {
            tokio::time::sleep(delay).await;
            if down {
                reply(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "down\n")
            } else {
                reply(StatusCode::OK, "text/plain", "ok\n")
            }
        }
        (&Method::GET, "/api/stats") => json(StatusCode::OK, &lock(&sim).stats()),
        (&Method::GET, "/api/queues") => json(StatusCode::OK, &lock(&sim).queues_json()),
        (&Method::GET, "/api/tables") => json(StatusCode::OK, &lock(&sim).tables_json()),
        (&Method::GET, "/api/jobs") => json(StatusCode::OK, &lock(&sim).jobs_json()),
        (&Method::GET, "/api/validation") => json(StatusCode::OK, &lock(&sim).validation_json()),
        (&Method::GET, "/metrics") => {
            let mut text = String::new();
            match encode(&mut text, &lock(&sim).registry) {
                Ok(()) => reply(
                    StatusCode::OK,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    text,
                ),
                Err(_) => reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain",
                    "encode failed\n",
                ),
            }
        }
        (&Method::GET, "/faults") => json(StatusCode::OK, &serde_json::json!(lock(&sim).faults)),
        (&Method::POST, p) if p.starts_with("/faults/") => {
            fault(&sim, &req, &p["/faults/".len()..])
        }
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    };
    Ok(resp)
}

/// The query's `name=value` pairs, in order.
fn query_pairs(req: &Request<Incoming>) -> Vec<(String, String)> {
    req.uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Applies each `name=N` of the query through `set`, which knows the names
/// it takes; `usage` is the answer to anything else, or to no parameters.
fn numeric_params(
    req: &Request<Incoming>,
    usage: &str,
    mut set: impl FnMut(&str, u64) -> Result<(), String>,
) -> Result<(), String> {
    let pairs = query_pairs(req);
    if pairs.is_empty() {
        return Err(usage.to_string());
    }
    for (k, v) in pairs {
        let n = v
            .parse::<u64>()
            .map_err(|_| format!("{k}={v} is not a whole number; {usage}"))?;
        set(&k, n)?;
    }
    Ok(())
}

fn at_most(name: &str, n: u64, max: u64) -> Result<u64, String> {
    if n <= max {
        Ok(n)
    } else {
        Err(format!("{name}={n}: there are only {max}"))
    }
}

const FAULTS: &str = "errors, latency, down, up, queue, webhooks, staging, tables, dryrun, batchsync, validation, clear";

fn fault(sim: &Mutex<Sim>, req: &Request<Incoming>, name: &str) -> Response<Full<Bytes>> {
    let bad = |msg: &str| reply(StatusCode::BAD_REQUEST, "text/plain", format!("{msg}\n"));
    let mut s = lock(sim);
    // Validate everything before changing anything: a rejected request
    // leaves the faults as they were.
    let mut f = s.faults.clone();
    match name {
        "errors" => match query_param(req, "rate").and_then(|r| r.parse::<f64>().ok()) {
            Some(r) if (0.0..=1.0).contains(&r) => f.error_rate = r,
            _ => return bad("errors needs ?rate=R with 0 <= R <= 1"),
        },
        "latency" => match query_param(req, "ms").and_then(|r| r.parse::<u64>().ok()) {
            Some(ms) if ms <= 60_000 => f.latency_ms = ms,
            _ => return bad("latency needs ?ms=N with N <= 60000"),
        },
        "down" => f.down = true,
        "up" => f.down = false,
        "queue" => match query_param(req, "pending").and_then(|r| r.parse::<u64>().ok()) {
            Some(n) => f.queue_pending = n,
            None => return bad("queue needs ?pending=N"),
        },
        "webhooks" => match query_param(req, "failed").and_then(|r| r.parse::<u64>().ok()) {
            Some(n) => f.webhook_failed = n,
            None => return bad("webhooks needs ?failed=N"),
        },
        "staging" => match query_param(req, "pending").and_then(|r| r.parse::<u64>().ok()) {
            Some(n) => f.staging_pending = n,
            None => return bad("staging needs ?pending=N"),
        },
        "tables" => {
            let known: Vec<&str> = TABLES.iter().map(|t| t.0).collect();
            let usage = format!(
                "tables needs ?empty=T[,T...] with T one of {}",
                known.join(", ")
            );
            let Some(list) = query_param(req, "empty").filter(|l| !l.is_empty()) else {
                return bad(&usage);
            };
            for table in list.replace("%2C", ",").replace("%2c", ",").split(',') {
                if !known.contains(&table) {
                    return bad(&format!("no table `{table}`; {usage}"));
                }
                if !f.empty_tables.iter().any(|t| t == table) {
                    f.empty_tables.push(table.to_string());
                }
            }
        }
        "dryrun" => {
            let usage = "dryrun needs ?seconds=N and/or ?completed=N";
            let applied = numeric_params(req, usage, |k, n| {
                match k {
                    "seconds" => f.dryrun_seconds = Some(n),
                    "completed" => f.dryrun_completed = Some(n),
                    _ => return Err(format!("unknown parameter `{k}`; {usage}")),
                }
                Ok(())
            });
            if let Err(e) = applied {
                return bad(&e);
            }
        }
        "batchsync" => match query_param(req, "degraded").as_deref() {
            Some("1" | "true") => f.batchsync_degraded = true,
            Some("0" | "false") => f.batchsync_degraded = false,
            _ => return bad("batchsync needs ?degraded=1 or ?degraded=0"),
        },
        "validation" => {
            let usage =
                "validation takes ?fk=N&endpoints=N&orphans=N&failed=N&mismatches=N (any of them)";
            let applied = numeric_params(req, usage, |k, n| {
                match k {
                    "fk" => f.fk_validated = Some(at_most("fk", n, FOREIGN_KEYS)?),
                    "endpoints" => {
                        f.endpoints_validated = Some(at_most("endpoints", n, ENDPOINTS)?)
                    }
                    "orphans" => f.orphaned_references = n,
                    "failed" => f.schema_checks_failed = at_most("failed", n, SCHEMA_CHECKS)?,
                    "mismatches" => f.row_count_mismatches = n,
                    _ => return Err(format!("unknown parameter `{k}`; {usage}")),
                }
                Ok(())
            });
            if let Err(e) = applied {
                return bad(&e);
            }
        }
        "clear" => f = Faults::default(),
        _ => return bad(&format!("unknown fault; try {FAULTS}")),
    }
    s.faults = f;
    json(StatusCode::OK, &serde_json::json!(s.faults))
}
