//! The shipped launch plans (`layouts/*.toml`) as an operator would use
//! them: every one loads, and the cutover and migration plans, run with the
//! real binary against the real demo service, judge a healthy service as
//! expected and turn the right gate NO-GO, with the right reason, for each
//! fault the demo can inject.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gonogo::layout::{self, Probe};
use serde_json::Value;

use crate::util::procs::BIN;

fn layouts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("layouts")
}

fn plan(name: &str) -> String {
    layouts_dir().join(name).to_string_lossy().into_owned()
}

/// A headless demo service in its own process, killed on drop.
struct Demo {
    child: Child,
    url: String,
    addr: String,
}

impl Demo {
    fn start() -> Demo {
        let mut child = Command::new(BIN)
            .args(["demo", "--headless", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start demo");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        lines.read_line(&mut line).expect("read demo url");
        // Keep draining whatever else it prints so it never blocks on a pipe.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut lines, &mut std::io::sink());
        });
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        let addr = url.trim_start_matches("http://").to_string();
        Demo { child, url, addr }
    }

    /// A bare HTTP/1.1 request: (status, body).
    fn request(&self, method: &str, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).expect("connect to demo");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read answer");
        let status = raw
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {raw:?}"));
        let body = raw.split_once("\r\n\r\n").map_or("", |b| b.1).to_string();
        (status, body)
    }

    fn fault(&self, what: &str) {
        let (status, body) = self.request("POST", &format!("/faults/{what}"));
        assert_eq!(status, 200, "fault {what}: {body}");
    }

    fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.request("GET", path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// `gonogo check PLAN --phase PHASE --json`: (exit code, report). Each
    /// run gets a state directory of its own, so no journal or evidence
    /// carries over from one check to the next.
    fn check(&self, plan: &str, phase: &str) -> (i32, Value) {
        let state = tempfile::tempdir().unwrap();
        let out = Command::new(BIN)
            .args(["check", plan, "--phase", phase, "--json"])
            .env("DEMO_URL", &self.url)
            .env("XDG_STATE_HOME", state.path())
            .output()
            .expect("run gonogo check");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "check {phase}: not JSON ({e}): {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), report)
    }

    /// Checks until `done` holds (faults on live traffic take a moment to
    /// show in the 30 s stats window), failing after a few seconds.
    fn check_until(&self, plan: &str, phase: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            let (_, report) = self.check(plan, phase);
            if done(&report) {
                return report;
            }
            assert!(
                Instant::now() < deadline,
                "check {phase} never got there; last report:\n{report:#}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The gate named `name` in a check report.
fn gate<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no gate {name:?} in\n{report:#}"))
}

fn state<'a>(report: &'a Value, name: &str) -> &'a str {
    gate(report, name)["state"].as_str().unwrap_or_default()
}

/// Names of the gates in `state`.
fn gates_in(report: &Value, wanted: &str) -> BTreeSet<String> {
    report["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .filter(|g| g["state"] == wanted)
        .map(|g| g["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Asserts a GO verdict (exit 0) with every gate GO.
fn assert_go(demo: &Demo, plan: &str, phase: &str) {
    let (code, report) = demo.check(plan, phase);
    assert_eq!(report["verdict"], "GO", "{phase}:\n{report:#}");
    assert_eq!(code, 0, "{phase}:\n{report:#}");
    let not_go: Vec<_> = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["state"] != "GO")
        .collect();
    assert!(not_go.is_empty(), "{phase}: gates not GO: {not_go:#?}");
}

/// Asserts a NO-GO verdict (exit 1) whose only NO-GO gates are `names`,
/// each with a reason containing its `reason`.
fn assert_no_go(demo: &Demo, plan: &str, phase: &str, gates: &[(&str, &str)]) -> Value {
    let (code, report) = demo.check(plan, phase);
    assert_eq!(report["verdict"], "NO-GO", "{phase}:\n{report:#}");
    assert_eq!(code, 1, "{phase}:\n{report:#}");
    let want: BTreeSet<String> = gates.iter().map(|(g, _)| g.to_string()).collect();
    assert_eq!(gates_in(&report, "NO-GO"), want, "{phase}:\n{report:#}");
    for (name, reason) in gates {
        let got = gate(&report, name)["reason"].as_str().unwrap_or_default();
        assert!(
            got.contains(reason),
            "{phase}: {name}: {got:?} lacks {reason:?}"
        );
    }
    report
}

#[test]
fn every_shipped_layout_loads() {
    let mut loaded = Vec::new();
    for entry in std::fs::read_dir(layouts_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let layout = layout::load(&path)
                .unwrap_or_else(|e| panic!("{} does not load:\n{e}", path.display()));
            // Runnable against the demo: every endpoint is on ${DEMO_URL}.
            for signal in &layout.signals {
                let url = match &signal.probe {
                    Probe::Http(p) => p.url.as_written(),
                    Probe::Json(p) => p.url.as_written(),
                    Probe::Prometheus(p) => p.url.as_written(),
                    _ => continue,
                };
                assert!(
                    url.starts_with("${DEMO_URL}/"),
                    "{}: signal {} is not on the demo: {url}",
                    path.display(),
                    signal.id
                );
            }
            loaded.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    loaded.sort();
    for want in ["cutover.toml", "demo.toml", "migration.toml"] {
        assert!(
            loaded.iter().any(|l| l == want),
            "{want} missing: {loaded:?}"
        );
    }
}

#[test]
fn cutover_plan_has_its_timebox_decision_point_and_rollback() {
    let l = layout::load(Path::new(&plan("cutover.toml"))).unwrap();
    let ids: Vec<_> = l.phases.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "dry-run",
            "webhook-fix",
            "backfill",
            "load-test",
            "cutover",
            "v2-live"
        ]
    );
    let hours = |h: u64| Some(Duration::from_secs(3600 * h));
    assert_eq!(l.phase("webhook-fix").unwrap().timebox, hours(3));
    assert_eq!(l.phase("cutover").unwrap().soak, hours(1));
    let advisory: Vec<_> = l
        .phase("webhook-fix")
        .unwrap()
        .gates
        .iter()
        .filter(|g| !g.blocking)
        .collect();
    assert_eq!(advisory.len(), 1);
    assert_eq!(advisory[0].signal_id, "batch_sync_degraded");
    for p in &l.phases {
        assert!(!p.signoff.is_empty(), "{} needs a sign-off", p.id);
    }
    let rb = l.rollback.as_ref().expect("[rollback]");
    assert_eq!(rb.auto_from, l.phase_index("cutover"));
    assert_eq!(rb.quorum, 1);
    let triggers: Vec<_> = rb
        .rollback_triggers()
        .map(|(_, t)| format!("{} {}", t.signal_id, t.condition_text()))
        .collect();
    assert_eq!(triggers, ["error_rate > 0.5% for 2m", "p95 > 2s for 2m"]);
    // The webhook backlog asks a person rather than rolling back.
    let holds: Vec<_> = rb
        .hold_triggers()
        .map(|(_, t)| format!("{} {}", t.signal_id, t.condition_text()))
        .collect();
    assert_eq!(holds, ["webhook_backlog > 500 for 10m"]);
}

#[test]
fn migration_plan_has_its_counters_soak_and_rollback() {
    let l = layout::load(Path::new(&plan("migration.toml"))).unwrap();
    let ids: Vec<_> = l.phases.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "validate",
            "foreign-keys",
            "endpoints",
            "parallel-run",
            "retire-v1"
        ]
    );
    assert_eq!(
        l.phase("parallel-run").unwrap().soak,
        Some(Duration::from_secs(48 * 3600))
    );
    let rb = l.rollback.as_ref().expect("[rollback]");
    assert_eq!(rb.auto_from, l.phase_index("parallel-run"));
    let triggers: Vec<_> = rb
        .triggers
        .iter()
        .map(|t| format!("{} {}", t.signal_id, t.condition_text()))
        .collect();
    assert_eq!(triggers, ["error_rate > 10% for 15m"]);
}

#[test]
fn cutover_plan_against_the_demo() {
    let demo = Demo::start();
    let plan = plan("cutover.toml");

    // A healthy service: every phase of plain gates is GO.
    for phase in ["dry-run", "webhook-fix", "backfill", "load-test", "v2-live"] {
        assert_go(&demo, &plan, phase);
    }
    // The one-hour decision point: its continue gates need 10 minutes of
    // evidence, so one look is PENDING (exit 2), never GO.
    let (code, report) = demo.check(&plan, "cutover");
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["verdict"], "PENDING");
    assert_eq!(
        gates_in(&report, "PENDING"),
        BTreeSet::from([
            "Continue: errors < 0.1%".to_string(),
            "Continue: p95 < 500ms".to_string()
        ])
    );
    assert_eq!(state(&report, "Staging queue empty"), "GO");
    assert_eq!(report["signoffs"][0]["role"], "release-manager");

    // The dry run took 20 minutes: over the 15-minute limit.
    demo.fault("dryrun?seconds=1200");
    assert_no_go(
        &demo,
        &plan,
        "dry-run",
        &[("Dry run under 15 min", "1200 s, needs < 15m")],
    );
    demo.fault("clear");
    // No dry run has completed.
    demo.fault("dryrun?completed=0");
    assert_no_go(
        &demo,
        &plan,
        "dry-run",
        &[("Dry run completed", "0, needs ≥ 1")],
    );
    demo.fault("clear");

    // Webhooks still failing after the fix.
    demo.fault("webhooks?failed=7");
    assert_no_go(
        &demo,
        &plan,
        "webhook-fix",
        &[("No failed webhook deliveries", "7, needs = 0")],
    );
    demo.fault("clear");
    // A degraded batch-sync fallback is advisory: shown NO-GO, never blocking.
    demo.fault("batchsync?degraded=1");
    let (code, report) = demo.check(&plan, "webhook-fix");
    assert_eq!(
        (code, report["verdict"].as_str()),
        (0, Some("GO")),
        "{report:#}"
    );
    let fallback = gate(&report, "Batch-sync fallback healthy");
    assert_eq!(fallback["state"], "NO-GO");
    assert_eq!(fallback["blocking"], false);
    assert!(
        fallback["reason"]
            .as_str()
            .unwrap()
            .contains("1, needs = 0")
    );
    demo.fault("clear");

    // The orders backfill is gone: only that table's gate fails.
    demo.fault("tables?empty=orders_v2");
    assert_no_go(
        &demo,
        &plan,
        "backfill",
        &[("orders_v2 not empty", "0, needs ≥ 1")],
    );
    demo.fault("clear");

    // Writes stuck in staging block the cutover and the final phase.
    demo.fault("staging?pending=12");
    assert_no_go(
        &demo,
        &plan,
        "cutover",
        &[("Staging queue empty", "12, needs = 0")],
    );
    assert_no_go(
        &demo,
        &plan,
        "v2-live",
        &[("Staging queue empty", "12, needs = 0")],
    );
    demo.fault("clear");

    // The load test: errors, then latency, fail it.
    demo.fault("errors?rate=0.2");
    let report = demo.check_until(&plan, "load-test", |r| {
        gate(r, "Load errors < 0.1%")["state"] == "NO-GO"
    });
    assert_eq!(report["verdict"], "NO-GO");
    assert!(
        gate(&report, "Load errors < 0.1%")["reason"]
            .as_str()
            .unwrap()
            .contains("needs < 0.1%"),
        "{report:#}"
    );
    demo.fault("clear");
    demo.fault("latency?ms=2500");
    let report = demo.check_until(&plan, "load-test", |r| {
        gate(r, "Load p95 < 2s")["state"] == "NO-GO"
    });
    assert!(
        gate(&report, "Load p95 < 2s")["reason"]
            .as_str()
            .unwrap()
            .contains("needs < 2s"),
        "{report:#}"
    );
    demo.fault("clear");
}

#[test]
fn migration_plan_against_the_demo() {
    let demo = Demo::start();
    let plan = plan("migration.toml");

    for phase in ["validate", "foreign-keys", "endpoints", "retire-v1"] {
        assert_go(&demo, &plan, phase);
    }
    // The 48-hour parallel run: its sustained gates cannot pass on one look.
    let (code, report) = demo.check(&plan, "parallel-run");
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(
        gates_in(&report, "PENDING"),
        BTreeSet::from([
            "Errors < 1% for 1h".to_string(),
            "p95 < 500ms for 1h".to_string()
        ])
    );
    assert_eq!(gates_in(&report, "NO-GO"), BTreeSet::new());

    // 30 of 32 foreign keys validated.
    demo.fault("validation?fk=30");
    assert_no_go(
        &demo,
        &plan,
        "foreign-keys",
        &[("32 of 32 foreign keys validated", "30, needs ≥ 32")],
    );
    demo.fault("clear");
    // 300 of 324 endpoints validated.
    demo.fault("validation?endpoints=300");
    assert_no_go(
        &demo,
        &plan,
        "endpoints",
        &[("324 of 324 endpoints validated", "300, needs ≥ 324")],
    );
    demo.fault("clear");
    // Orphaned references block every phase that gates on them.
    demo.fault("validation?orphans=4");
    for phase in ["foreign-keys", "parallel-run", "retire-v1"] {
        assert_no_go(
            &demo,
            &plan,
            phase,
            &[("No orphaned references", "4, needs = 0")],
        );
    }
    demo.fault("clear");
    // The gating validation: failed schema checks, row-count mismatches and
    // empty tables, all at once, each reported.
    demo.fault("validation?failed=3&mismatches=2");
    demo.fault("tables?empty=invoices_v2,payments_v2");
    assert_no_go(
        &demo,
        &plan,
        "validate",
        &[
            ("Schema checks all pass", "3, needs = 0"),
            ("V1/V2 row counts match", "2, needs = 0"),
            ("payments_v2 not empty", "0, needs ≥ 1"),
            ("invoices_v2 not empty", "0, needs ≥ 1"),
        ],
    );
    demo.fault("clear");
    // V1 cannot retire with writes still staged.
    demo.fault("staging?pending=7");
    assert_no_go(
        &demo,
        &plan,
        "retire-v1",
        &[("Staging queue drained", "7, needs = 0")],
    );

    // `clear` puts everything back.
    demo.fault("clear");
    for phase in ["validate", "foreign-keys", "endpoints", "retire-v1"] {
        assert_go(&demo, &plan, phase);
    }
}

#[test]
fn demo_endpoints_and_faults_for_the_plans() {
    let demo = Demo::start();
    let tables = demo.get_json("/api/tables");
    for t in ["orders_v2", "customers_v2", "payments_v2", "invoices_v2"] {
        assert!(tables[t]["rows"].as_u64().unwrap() > 0, "{tables}");
    }
    let v = demo.get_json("/api/validation");
    assert_eq!(v["foreign_keys"]["validated"], 32);
    assert_eq!(v["foreign_keys"]["total"], 32);
    assert_eq!(v["endpoints"]["validated"], 324);
    assert_eq!(v["endpoints"]["total"], 324);
    assert_eq!(v["orphaned_references"], 0);
    let jobs = demo.get_json("/api/jobs");
    assert_eq!(jobs["batch_sync"]["degraded"], 0);
    assert!(
        jobs["aggregation_dry_run"]["completed_runs"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let queues = demo.get_json("/api/queues");
    assert_eq!(queues["staging"]["pending"], 0);
    assert!(queues["webhook"]["pending"].is_u64(), "{queues}");

    // A bad fault is refused with its usage, and changes nothing.
    for bad in [
        "validation?fk=33",
        "validation?fk=many",
        "validation?bogus=1",
        "validation",
        "tables?empty=orders_v3",
        "tables",
        "dryrun?minutes=3",
        "batchsync?degraded=maybe",
        "staging",
        "nonsense",
    ] {
        let (status, body) = demo.request("POST", &format!("/faults/{bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
    }
    assert_eq!(demo.get_json("/api/validation"), v);

    demo.fault("staging?pending=3");
    demo.fault("dryrun?seconds=1200&completed=0");
    let faults = demo.get_json("/faults");
    assert_eq!(faults["staging_pending"], 3);
    assert_eq!(faults["dryrun_seconds"], 1200);
    let jobs = demo.get_json("/api/jobs");
    assert_eq!(jobs["aggregation_dry_run"]["last_duration_s"], 1200);
    assert_eq!(jobs["aggregation_dry_run"]["status"], "never-completed");
    std::thread::sleep(Duration::from_millis(300)); // gauges update on the next tick
    let metrics = demo.request("GET", "/metrics").1;
    assert!(
        metrics.contains("queue_pending{queue=\"staging\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("table_rows{table=\"orders_v2\"}"),
        "{metrics}"
    );
    demo.fault("clear");
    assert_eq!(demo.get_json("/api/queues")["staging"]["pending"], 0);
}
