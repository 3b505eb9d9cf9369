//! The demo service: a simulated production service on 127.0.0.1 for
//! demos and tests, with faults that can be injected over HTTP.
//!
//! A background task simulates traffic (about 200 requests/s) whose error
//! rate and latency drift slowly, and records it the way a real service
//! would: a Prometheus request counter by status code and a latency
//! histogram on `/metrics` (so `rate()` and `histogram_quantile()` work in
//! a real Prometheus), plus JSON summaries for `json` signals.
//!
//! Endpoints: `GET /healthz`, `GET /api/stats`, `GET /api/queues`,
//! `GET /metrics`, `GET /faults`, and `POST /faults/{errors?rate=R,
//! latency?ms=N, down, up, queue?pending=N, clear}`.

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
}

struct Sim {
    started: Instant,
    faults: Faults,
    /// (when, latency ms, failed) for the stats window.
    recent: VecDeque<(Instant, f64, bool)>,
    webhook_pending: f64,
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Histogram,
    queue: Family<Labels, Gauge>,
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
        Sim {
            started: Instant::now(),
            faults: Faults::default(),
            recent: VecDeque::new(),
            webhook_pending: 12.0,
            registry,
            requests,
            latency,
            queue,
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
            let failed = self.faults.down || rng.f64() < base_error + self.faults.error_rate;
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
        self.queue.get_or_create(&labels("staging")).set(0);
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
        (&Method::GET, "/api/queues") => {
            let pending = lock(&sim).webhook_pending();
            json(
                StatusCode::OK,
                &serde_json::json!({
                    "webhook": { "pending": pending, "failed": 0 },
                    "staging": { "pending": 0 },
                }),
            )
        }
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

fn fault(sim: &Mutex<Sim>, req: &Request<Incoming>, name: &str) -> Response<Full<Bytes>> {
    let bad = |msg: &str| reply(StatusCode::BAD_REQUEST, "text/plain", format!("{msg}\n"));
    let mut s = lock(sim);
    match name {
        "errors" => match query_param(req, "rate").and_then(|r| r.parse::<f64>().ok()) {
            Some(r) if (0.0..=1.0).contains(&r) => s.faults.error_rate = r,
            _ => return bad("errors needs ?rate=R with 0 <= R <= 1"),
        },
        "latency" => match query_param(req, "ms").and_then(|r| r.parse::<u64>().ok()) {
            Some(ms) if ms <= 60_000 => s.faults.latency_ms = ms,
            _ => return bad("latency needs ?ms=N with N <= 60000"),
        },
        "down" => s.faults.down = true,
        "up" => s.faults.down = false,
        "queue" => match query_param(req, "pending").and_then(|r| r.parse::<u64>().ok()) {
            Some(n) => s.faults.queue_pending = n,
            None => return bad("queue needs ?pending=N"),
        },
        "clear" => s.faults = Faults::default(),
        _ => return bad("unknown fault; try errors, latency, down, up, queue, clear"),
    }
    json(StatusCode::OK, &serde_json::json!(s.faults))
}
