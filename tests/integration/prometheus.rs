//! Prometheus signals against a real Prometheus (Debian's `prometheus`
//! binary) scraping the in-process demo service: a real PromQL error-rate
//! query judged by a `below = "1%"` gate goes GO, then NO-GO once errors
//! are injected; a histogram quantile is a finite number; bad PromQL is
//! UNKNOWN with Prometheus's own reason.
//!
//! The binary is `$PROMETHEUS` (a path, or a name on `PATH`), else
//! `prometheus` on `PATH`. Without one the test is skipped, saying how to
//! get it; under CI it fails (`util::require`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use gonogo::gate::{self, Judgement, State};
use gonogo::layout::template::ProcessEnv;
use gonogo::layout::{Layout, Phase};
use gonogo::signal::{Outcome, Prober, Sample};

use crate::util;

const ERROR_RATE: &str = r#"(sum(rate(http_requests_total{code=~"5.."}[10s])) or vector(0)) / sum(rate(http_requests_total[10s]))"#;
const P95: &str =
    "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[10s])))";
const BAD: &str = "sum(rate(http_requests_total[10s])";

/// `$PROMETHEUS`, else `prometheus` on `PATH`; else [`util::missing`].
fn prometheus_binary() -> Option<PathBuf> {
    let name = std::env::var("PROMETHEUS")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "prometheus".into());
    let found = util::find_program(&name);
    if found.is_none() {
        util::missing(&format!(
            "`{name}` is not installed (Debian: apt-get install prometheus; \
             or PROMETHEUS=/path/to/prometheus)"
        ));
    }
    found
}

/// A Prometheus server on a loopback port of its choosing, stopped on drop
/// (SIGTERM, then SIGKILL if it lingers).
struct Prometheus {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (host:port) every second, and
    /// waits for it to say which port it listens on.
    fn start(bin: &Path, target: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("write config");
        let log = dir.path().join("prometheus.log");
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            // Port 0: the kernel picks a free one; the log says which.
            .arg("--web.listen-address=127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let mut prom = Prometheus {
            child,
            url: String::new(),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        prom.url = loop {
            if let Some(addr) = prom.listening_on() {
                break format!("http://{addr}");
            }
            assert!(
                prom.exited().is_none() && Instant::now() < deadline,
                "Prometheus is not listening (exited: {:?}); log:\n{}",
                prom.exited(),
                prom.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        prom
    }

    fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// The address Prometheus says it listens on: `msg="Listening on"
    /// … address=127.0.0.1:PORT` in its log.
    fn listening_on(&self) -> Option<String> {
        self.log_text()
            .lines()
            .filter(|l| l.contains("msg=\"Listening on\""))
            .find_map(|l| {
                let addr = l.split("address=").nth(1)?.split_whitespace().next()?;
                let addr = addr.trim_matches('"');
                (!addr.ends_with(":0")).then(|| addr.to_string())
            })
    }

    /// The tail of Prometheus's log, for failure messages.
    fn log_tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        if self.exited().is_some() {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn layout(prometheus: &str) -> Layout {
    let toml = format!(
        r#"
[launch]
name = "Prometheus signals"
id = "prometheus-test"

[signals.error_rate]
kind = "prometheus"
url = "{prometheus}"
query = '{ERROR_RATE}'
unit = "ratio"
every = "1s"
timeout = "1s"

[signals.p95]
kind = "prometheus"
url = "{prometheus}"
query = '{P95}'
unit = "s"
every = "1s"
timeout = "1s"

[signals.broken]
kind = "prometheus"
url = "{prometheus}"
query = '{BAD}'
unit = "ratio"
every = "1s"
timeout = "1s"

[[phases]]
id = "canary"
title = "Canary"
gates = [
  {{ signal = "error_rate", below = "1%" }},
  {{ signal = "p95", below = "5s" }},
  {{ signal = "broken", below = "1%" }},
]
"#
    );
    match gonogo::layout::parse(Path::new("prometheus.toml"), &toml) {
        Ok(l) => l,
        Err(d) => panic!("test layout is invalid:\n{d}"),
    }
}

/// Polls one signal and judges the phase gate on it from that fresh sample.
async fn poll_gate(prober: &Prober, layout: &Layout, gate: usize) -> (Sample, Judgement) {
    let phase: &Phase = &layout.phases[0];
    let g = &phase.gates[gate];
    let signal = &layout.signals[g.signal];
    let sample = prober.poll(signal).await;
    let j = gate::judge(g, signal, std::slice::from_ref(&sample), Utc::now());
    (sample, j)
}

/// Polls until `done` says so, every 250 ms, for at most `limit`.
async fn poll_until(
    prober: &Prober,
    layout: &Layout,
    gate: usize,
    limit: Duration,
    done: impl Fn(&Sample, &Judgement) -> bool,
) -> Result<(Sample, Judgement, Duration), (Sample, Judgement)> {
    let started = Instant::now();
    loop {
        let (sample, j) = poll_gate(prober, layout, gate).await;
        if done(&sample, &j) {
            return Ok((sample, j, started.elapsed()));
        }
        if started.elapsed() > limit {
            return Err((sample, j));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_gate_follows_a_real_prometheus() {
    let Some(bin) = prometheus_binary() else {
        return;
    };
    let t0 = Instant::now();
    let demo = gonogo::demo::serve(0).await.expect("demo service");
    // Starting waits on Prometheus's log: not on a runtime thread.
    let mut prom =
        tokio::task::block_in_place(|| Prometheus::start(&bin, &demo.addr().to_string()));
    let layout = layout(&prom.url);
    let prober = Prober::new(Arc::new(ProcessEnv)).expect("prober");
    let (error_rate, p95, broken) = (0, 1, 2);

    // Prometheus is up and has scraped the demo service twice (a rate needs
    // two points): the error-rate query answers with a number.
    let ready = poll_until(
        &prober,
        &layout,
        error_rate,
        Duration::from_secs(30),
        |s, _| matches!(s.outcome, Outcome::Number(_)),
    )
    .await;
    let (sample, j, waited) = match ready {
        Ok(r) => r,
        Err((s, _)) => panic!(
            "Prometheus gave no error rate within 30 s (exited: {:?}); last: {:?}\nlog:\n{}",
            prom.exited(),
            s.outcome,
            prom.log_tail()
        ),
    };
    eprintln!(
        "prometheus ready after {:.1} s: error rate {:?}",
        waited.as_secs_f64(),
        sample.outcome
    );
    // The demo's baseline error rate is about 0.04 %: the gate is GO.
    assert_eq!(
        j.state,
        State::Go,
        "baseline error rate should pass `below 1%`: {j:?}"
    );

    // A latency quantile from the histogram is a finite number of seconds.
    let (sample, j) = poll_gate(&prober, &layout, p95).await;
    match sample.outcome {
        Outcome::Number(v) => assert!(
            v.is_finite() && v > 0.0 && v < 10.0,
            "p95 should be a plausible latency in seconds, got {v}"
        ),
        other => panic!("p95 should be a number, got {other:?}"),
    }
    assert_eq!(j.state, State::Go, "p95 below 5s: {j:?}");

    // Bad PromQL: UNKNOWN, with Prometheus's reason.
    let (sample, j) = poll_gate(&prober, &layout, broken).await;
    assert!(
        matches!(&sample.outcome, Outcome::Unknown(r) if r.starts_with("prometheus bad_data: ")),
        "bad PromQL should be UNKNOWN with a bad_data reason, got {:?}",
        sample.outcome
    );
    assert_eq!(j.state, State::Unknown, "{j:?}");
    assert!(j.reason.starts_with("prometheus bad_data: "), "{j:?}");

    // Inject 30 % errors: within a few scrapes the gate is NO-GO.
    let resp = reqwest::Client::new()
        .post(format!("{}/faults/errors?rate=0.3", demo.url()))
        .send()
        .await
        .expect("POST /faults/errors");
    assert!(resp.status().is_success(), "fault injection: {resp:?}");
    let nogo = poll_until(
        &prober,
        &layout,
        error_rate,
        Duration::from_secs(30),
        |_, j| j.state == State::NoGo,
    )
    .await;
    match nogo {
        Ok((sample, j, after)) => {
            eprintln!(
                "NO-GO {:.1} s after injecting errors: {:?} — {}",
                after.as_secs_f64(),
                sample.outcome,
                j.reason
            );
            assert!(
                matches!(sample.outcome, Outcome::Number(v) if v >= 0.01),
                "{sample:?}"
            );
        }
        Err((s, j)) => panic!(
            "gate not NO-GO within 30 s of injecting 30 % errors: {:?} / {j:?}\nlog:\n{}",
            s.outcome,
            prom.log_tail()
        ),
    }
    drop(prom);
    drop(demo);
    eprintln!("whole test: {:.1} s", t0.elapsed().as_secs_f64());
}
