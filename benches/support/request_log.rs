//! The local HTTP service the product bench polls, in a process of its own
//! (the bench binary re-executed with `GONOGO_BENCH_SERVER=1`), so that
//! neither its CPU nor its memory is counted against gonogo's.
//!
//! It answers `GET /s/<i>` with `200 OK` and a tiny JSON body over
//! HTTP/1.1 keep-alive, and writes down when each request for signal `i`
//! arrived (`CLOCK_MONOTONIC`, µs, the clock the bench reads too). Schedule
//! adherence is judged from these arrivals: what the endpoint saw, without
//! instrumenting gonogo. `GET /fail/<i>` makes signal `i` answer `503` from
//! then on (the bench times how soon gonogo says so). `GET /stats` returns
//! every arrival:
//!
//! ```text
//! other <requests for any other path>
//! failed <i> <µs>        when signal i first answered 503
//! <i> <µs> <µs> …        one line per signal that was asked for
//! ```
//!
//! Included with `#[path = "support/request_log.rs"] mod request_log;`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use crate::process::{Guarded, monotonic_us};

/// Set in the environment of the re-executed bench: be the server.
pub const SERVER_ENV: &str = "GONOGO_BENCH_SERVER";

const UP_BODY: &[u8] = br#"{"up":true}"#;
const DOWN_BODY: &[u8] = br#"{"up":false}"#;

#[derive(Default)]
struct Log {
    /// Arrival times per signal index, µs on `CLOCK_MONOTONIC`.
    arrivals: Vec<Vec<u64>>,
    other: u64,
    /// Signals told to fail, and when each first answered 503.
    failing: BTreeMap<usize, Option<u64>>,
}

/// How the server answers a request.
enum Answer {
    Up,
    Down,
    Stats(String),
    NotFound,
}

impl Log {
    fn answer(&mut self, path: &str, at: u64) -> Answer {
        let index = |prefix: &str| path.strip_prefix(prefix)?.parse::<usize>().ok();
        if path == "/stats" {
            Answer::Stats(self.render())
        } else if let Some(i) = index("/s/") {
            if i >= self.arrivals.len() {
                self.arrivals.resize_with(i + 1, Vec::new);
            }
            self.arrivals[i].push(at);
            match self.failing.get_mut(&i) {
                Some(first) => {
                    first.get_or_insert(at);
                    Answer::Down
                }
                None => Answer::Up,
            }
        } else if let Some(i) = index("/fail/") {
            self.failing.entry(i).or_default();
            Answer::Up
        } else {
            self.other += 1;
            Answer::NotFound
        }
    }

    fn render(&self) -> String {
        let mut s = format!("other {}\n", self.other);
        for (i, first) in &self.failing {
            if let Some(t) = first {
                s.push_str(&format!("failed {i} {t}\n"));
            }
        }
        for (i, times) in self.arrivals.iter().enumerate() {
            if times.is_empty() {
                continue;
            }
            s.push_str(&i.to_string());
            for t in times {
                s.push(' ');
                s.push_str(&t.to_string());
            }
            s.push('\n');
        }
        s
    }
}

/// The server's main: binds `127.0.0.1:0`, prints the port on stdout and
/// serves until killed.
pub fn serve() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench server: no tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bench server: cannot listen: {e}");
                return ExitCode::FAILURE;
            }
        };
        let port = listener.local_addr().map_or(0, |a| a.port());
        let mut out = std::io::stdout();
        if writeln!(out, "{port}").and_then(|()| out.flush()).is_err() {
            return ExitCode::FAILURE;
        }
        let log = Arc::new(Mutex::new(Log::default()));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let service = service_fn(move |req| answer(&log, &req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

fn answer(
    log: &Mutex<Log>,
    req: &Request<Incoming>,
) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>> {
    let at = monotonic_us();
    let path = req.uri().path();
    let answer = log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .answer(path, at);
    let (status, body) = match answer {
        Answer::Up => (StatusCode::OK, Bytes::from_static(UP_BODY)),
        Answer::Down => (
            StatusCode::SERVICE_UNAVAILABLE,
            Bytes::from_static(DOWN_BODY),
        ),
        Answer::Stats(text) => (StatusCode::OK, Bytes::from(text)),
        Answer::NotFound => (StatusCode::NOT_FOUND, Bytes::from_static(b"{}")),
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    std::future::ready(Ok(resp))
}

/// What the server saw.
pub struct Stats {
    /// Arrival times per signal index (sorted), µs on `CLOCK_MONOTONIC`.
    pub arrivals: Vec<Vec<u64>>,
    /// Requests for any path other than `/s/<i>`.
    pub other: u64,
    /// When each signal told to fail first answered 503.
    pub failed: BTreeMap<usize, u64>,
}

/// The server process, seen from the bench: killed when dropped.
pub struct Server {
    pub process: Guarded,
    pub port: u16,
}

impl Server {
    /// Re-executes this bench binary as the server and reads its port.
    pub fn start() -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| format!("no current exe: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.env(SERVER_ENV, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut process = Guarded::spawn(cmd, "bench server")?;
        let stdout = process
            .child
            .stdout
            .take()
            .ok_or("bench server: no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("bench server: cannot read its port: {e}"))?;
        let port = line
            .trim()
            .parse()
            .map_err(|_| format!("bench server: no port on its first line: {line:?}"))?;
        Ok(Server { process, port })
    }

    /// Makes signal `i` answer 503 from now on.
    pub fn fail(&self, i: usize) -> Result<(), String> {
        self.get(&format!("/fail/{i}")).map(drop)
    }

    /// `GET /stats`.
    pub fn stats(&self) -> Result<Stats, String> {
        let body = self.get("/stats")?;
        let mut stats = Stats {
            arrivals: Vec::new(),
            other: 0,
            failed: BTreeMap::new(),
        };
        for line in body.lines() {
            let mut words = line.split_whitespace();
            let Some(first) = words.next() else { continue };
            let mut number = || words.next().and_then(|n| n.parse::<u64>().ok());
            if first == "other" {
                stats.other = number().unwrap_or(0);
                continue;
            }
            if first == "failed" {
                if let (Some(i), Some(t)) = (number(), number()) {
                    stats
                        .failed
                        .insert(usize::try_from(i).unwrap_or(usize::MAX), t);
                }
                continue;
            }
            let i: usize = first
                .parse()
                .map_err(|_| format!("bench server: bad stats line {line:?}"))?;
            if i >= stats.arrivals.len() {
                stats.arrivals.resize_with(i + 1, Vec::new);
            }
            let mut times: Vec<u64> = words.filter_map(|t| t.parse().ok()).collect();
            times.sort_unstable();
            stats.arrivals[i] = times;
        }
        Ok(stats)
    }

    /// A GET on a connection of its own; the body of a 200 answer.
    fn get(&self, path: &str) -> Result<String, String> {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port))
            .map_err(|e| format!("bench server: cannot connect: {e}"))?;
        write!(
            conn,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .map_err(|e| format!("bench server: cannot send GET {path}: {e}"))?;
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw)
            .map_err(|e| format!("bench server: cannot read GET {path}: {e}"))?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("bench server: GET {path}: an answer without a header"))?;
        if head.starts_with("HTTP/1.1 200") {
            Ok(body.to_string())
        } else {
            Err(format!(
                "bench server: GET {path} answered {:?}",
                head.lines().next()
            ))
        }
    }
}
