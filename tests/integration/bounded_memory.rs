//! Memory stays bounded however much an endpoint or a command sends
//! (SPEC §6 Reliability). The test runs [`alone`], in a process of its
//! own: the peak RSS (VmHWM) measured here must be this test's, not that
//! of whatever other tests run beside it.

use std::time::{Duration, Instant};

use gonogo::signal::Outcome;

use crate::util::procs::alone;
use crate::util::server::{Framing, Reply, Server};
use crate::util::{MIB, layout, prober};

const ROUNDS: usize = 20;
/// Rounds of polls started all at once.
const BURST: usize = 10;
/// Peak RSS may grow by less than this over the whole test.
const BUDGET: u64 = 32 * MIB as u64;

fn is_refused(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Unknown(r) if r == "response body is larger than 1 MiB; refused")
}

fn is_cut_off(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Unknown(r) if r == "printed more than 1048576 bytes; process group killed")
}

#[test]
fn ten_mib_bodies_and_100_mib_output_keep_memory_bounded() {
    alone(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(polls_keep_memory_bounded());
    });
}

async fn polls_keep_memory_bounded() {
    let started = Instant::now();
    let big = |framing| Reply::Big {
        len: 10 * MIB,
        framing,
    };
    let with_length = Server::fixed(big(Framing::ContentLength)).await;
    let until_close = Server::fixed(big(Framing::UntilClose)).await;
    let chunked = Server::fixed(big(Framing::Chunked)).await;
    let signals = format!(
        r#"
[signals.json_length]
kind = "json"
url = "{}"
path = "$.v"
timeout = "5s"

[signals.json_until_close]
kind = "json"
url = "{}"
path = "$.v"
timeout = "5s"

[signals.prom_chunked]
kind = "prometheus"
url = "{}"
query = "up"
timeout = "5s"

[signals.health]
kind = "http"
url = "{}"
timeout = "5s"

[signals.flood]
kind = "command"
run = ["sh", "-c", 'head -c 104857600 /dev/zero | tr "\0" "1"']
timeout = "10s"
"#,
        with_length.url("/stats"),
        until_close.url("/stats"),
        chunked.url(""),
        until_close.url("/healthz"),
    );
    let l = layout(&signals, "{ signal = \"health\", up = true }");
    let prober = prober();

    let baseline = peak_rss_bytes();
    eprintln!(
        "baseline: VmHWM {:.1} MiB, VmRSS {:.1} MiB",
        baseline as f64 / MIB as f64,
        rss_bytes() as f64 / MIB as f64
    );

    // One after another: a leak or a full buffer per poll adds up.
    for round in 0..ROUNDS {
        for s in &l.signals {
            let sample = prober.poll(s).await;
            let ok = match s.id.as_str() {
                "health" => matches!(sample.outcome, Outcome::Health { up: true, .. }),
                "flood" => is_cut_off(&sample.outcome),
                _ => is_refused(&sample.outcome),
            };
            assert!(ok, "round {round}, {}: {:?}", s.id, sample.outcome);
        }
    }
    let sequential = peak_rss_bytes();
    let mib = |b: u64| b as f64 / MIB as f64;
    eprintln!(
        "peak RSS: baseline {:.1} MiB, after {ROUNDS} rounds of {} polls {:.1} MiB \
         (growth {:.1} MiB) in {:?}",
        mib(baseline),
        l.signals.len(),
        mib(sequential),
        mib(sequential - baseline),
        started.elapsed()
    );
    assert!(
        sequential - baseline < BUDGET,
        "peak RSS grew by {:.1} MiB over {ROUNDS} rounds (budget {:.0} MiB)",
        mib(sequential - baseline),
        mib(BUDGET)
    );

    // All at once: each poll may hold up to one capped body (1 MiB, at most
    // twice that in capacity), never the 10 MiB sent, nor 100 MiB of output.
    let all = (0..BURST).flat_map(|_| l.signals.iter().map(|s| prober.poll(s)));
    let samples = futures_util::future::join_all(all).await;
    assert_eq!(samples.len(), BURST * l.signals.len());
    for (sample, s) in samples.iter().zip(l.signals.iter().cycle()) {
        assert!(
            !matches!(sample.outcome, Outcome::Number(_)),
            "{}: {:?}",
            s.id,
            sample.outcome
        );
    }
    let peak = peak_rss_bytes();
    // Bodies read in flight: every json/prometheus poll (the Content-Length
    // one is refused before reading, but count it anyway).
    let bodies = (BURST * 3) as u64;
    let burst_budget = bodies * 2 * MIB as u64 + 16 * MIB as u64;
    eprintln!(
        "peak RSS after a burst of {} concurrent polls: {:.1} MiB \
         (growth {:.1} MiB, budget {:.0} MiB) in {:?}",
        BURST * l.signals.len(),
        mib(peak),
        mib(peak - sequential),
        mib(burst_budget),
        started.elapsed()
    );
    assert!(
        peak - sequential < burst_budget,
        "a burst of polls grew peak RSS by {:.1} MiB (budget {:.0} MiB)",
        mib(peak - sequential),
        mib(burst_budget)
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// Peak resident set size of this process so far, from /proc.
fn peak_rss_bytes() -> u64 {
    proc_status_kib("VmHWM:") * 1024
}

fn rss_bytes() -> u64 {
    proc_status_kib("VmRSS:") * 1024
}

fn proc_status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/self/status"))
}
