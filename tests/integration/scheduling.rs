//! A hanging signal never delays another (SPEC §6: samples taken within
//! 100 ms of schedule while others hang). Real local servers, the real
//! engine and prober.

use std::sync::Arc;
use std::time::Duration;

use gonogo::engine::{self, SampleTaken};
use gonogo::signal::Outcome;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::util::procs;
use crate::util::server::{Reply, Server};
use crate::util::{layout, prober};

/// How long the engine runs.
const RUN: Duration = Duration::from_secs(3);
/// The bar: a poll starts within this of its schedule.
const ON_TIME: Duration = Duration::from_millis(100);
const HANGING_HTTP: usize = 20;

/// Collects reports until `deadline`.
async fn collect(
    rx: &mut mpsc::UnboundedReceiver<SampleTaken>,
    deadline: Instant,
) -> Vec<SampleTaken> {
    let mut got = Vec::new();
    while let Ok(Some(r)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        got.push(r);
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_signals_never_delay_a_fast_one() {
    let quick = Server::fixed(Reply::ok_text("ok")).await;
    let hang = Server::fixed(Reply::Hang).await;
    let mut signals = format!(
        "[signals.fast]\nkind = \"http\"\nurl = \"{}\"\nevery = \"200ms\"\ntimeout = \"1s\"\n\n",
        quick.url("/healthz")
    );
    for i in 0..HANGING_HTTP {
        signals += &format!(
            "[signals.hang{i}]\nkind = \"http\"\nurl = \"{}\"\nevery = \"1s\"\ntimeout = \"1s\"\n\n",
            hang.url(&format!("/slow/{i}"))
        );
    }
    signals += &format!(
        "[signals.hang_json]\nkind = \"json\"\nurl = \"{}\"\npath = \"$.v\"\nevery = \"1s\"\ntimeout = \"1s\"\n\n",
        hang.url("/stats")
    );
    signals += "[signals.hang_cmd]\nkind = \"command\"\nrun = [\"sleep\", \"30\"]\nevery = \"1s\"\ntimeout = \"1s\"\n";
    let l = Arc::new(layout(&signals, "{ signal = \"fast\", up = true }"));
    let fast = l.signal_index("fast").unwrap();
    let hang_cmd = l.signal_index("hang_cmd").unwrap();

    let (tx, mut rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    let polling = engine::start(Arc::clone(&l), prober(), tx);
    let reports = collect(&mut rx, started + RUN).await;
    drop(polling);

    let fast_reports: Vec<&SampleTaken> = reports.iter().filter(|r| r.signal == fast).collect();
    let lateness: Vec<Duration> = fast_reports
        .iter()
        .map(|r| r.started.duration_since(r.scheduled))
        .collect();
    let worst = lateness.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{} reports in {RUN:?}; fast signal: {} samples, worst start delay {worst:?}",
        reports.len(),
        fast_reports.len()
    );
    assert!(
        fast_reports.len() >= 10,
        "the fast signal (every 200ms) took only {} samples in {RUN:?}",
        fast_reports.len()
    );
    for (r, late) in fast_reports.iter().zip(&lateness) {
        assert!(
            *late < ON_TIME,
            "a fast poll started {late:?} after its schedule"
        );
        assert!(
            matches!(&r.sample.outcome, Outcome::Health { up: true, .. }),
            "{:?}",
            r.sample.outcome
        );
    }

    // The hanging signals did run, did hang, and ended by their timeout.
    for s in 0..l.signals.len() {
        if s == fast {
            continue;
        }
        let theirs: Vec<&SampleTaken> = reports.iter().filter(|r| r.signal == s).collect();
        assert!(
            !theirs.is_empty(),
            "{} never reported in {RUN:?}",
            l.signals[s].id
        );
        for r in theirs {
            let ok = match &r.sample.outcome {
                Outcome::Health {
                    up: false, detail, ..
                } => detail == "no answer within 1s",
                Outcome::Unknown(reason) if s == hang_cmd => {
                    reason == "timed out after 1s; process group killed"
                }
                Outcome::Unknown(reason) => reason == "no answer within 1s",
                _ => false,
            };
            assert!(ok, "{}: {:?}", l.signals[s].id, r.sample.outcome);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_engine_kills_a_hanging_command_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    // The grandchild is not the process tokio spawned: only killing the
    // whole process group reaches it.
    let signals = format!(
        "[signals.hang]\nkind = \"command\"\nrun = [\"sh\", \"-c\", 'sleep 30 & echo $! > {}; wait']\nevery = \"1s\"\ntimeout = \"5s\"\n",
        pidfile.display()
    );
    let l = Arc::new(layout(&signals, "{ signal = \"hang\", up = true }"));
    let (tx, _rx) = mpsc::unbounded_channel();
    let polling = engine::start(Arc::clone(&l), prober(), tx);
    let deadline = Instant::now() + Duration::from_secs(3);
    let pid: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "the command never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!procs::exited(pid));
    drop(polling);
    let deadline = Instant::now() + Duration::from_secs(2);
    while !procs::exited(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let alive = !procs::exited(pid);
    if alive {
        // Do not leave it behind whatever the outcome.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(
        !alive,
        "grandchild {pid} outlived the engine that started it"
    );
}
