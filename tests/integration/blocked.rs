//! `depends_on` against real servers (issue 12 points 3 and 4): eighteen
//! HTTP services behind one gateway. With the gateway answering 503,
//! `watch` says so once ("gateway down …; 18 gates blocked"), not once
//! per service, and `check` shows every service BLOCKED and exits 2; the
//! services themselves answer 200 all along, so without the dependency
//! every gate would be GO.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::util::procs::{gonogo_cmd, run, tempdir, text, watch};
use crate::util::server::{Reply, Server};

const SERVICES: usize = 18;

/// The layout: the gateway has no gate of its own (a pure root), each
/// service one `up = true` gate.
fn write_layout(dir: &Path, gateway: &Server, services: &Server) -> PathBuf {
    let mut src = format!(
        "[launch]\nname = \"Gateway cutover\"\n\n\
         [signals.gateway]\nkind = \"http\"\nurl = \"{}\"\nevery = \"300ms\"\ntimeout = \"2s\"\n\n",
        gateway.url("/healthz")
    );
    for k in 1..=SERVICES {
        let _ = write!(
            src,
            "[signals.svc{k:02}]\nkind = \"http\"\nurl = \"{}\"\nevery = \"300ms\"\ntimeout = \"2s\"\n\
             depends_on = [\"gateway\"]\n\n",
            services.url(&format!("/svc{k}"))
        );
    }
    src.push_str("[[phases]]\nid = \"cutover\"\ngates = [\n");
    for k in 1..=SERVICES {
        let _ = writeln!(src, "  {{ signal = \"svc{k:02}\", up = true }},");
    }
    src.push_str("]\n");
    let path = dir.join("gateway.toml");
    std::fs::write(&path, src).expect("write layout");
    path
}

fn unavailable() -> Reply {
    Reply::status(
        503,
        "Service Unavailable",
        "text/plain",
        "down for maintenance",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reports_the_gateway_once_not_each_gate_behind_it() {
    let up = Arc::new(AtomicBool::new(false));
    let gateway_up = Arc::clone(&up);
    let gateway = Server::start(move |_| {
        if gateway_up.load(Ordering::SeqCst) {
            Reply::ok_text("ok")
        } else {
            unavailable()
        }
    })
    .await;
    let services = Server::fixed(Reply::ok_text("ok")).await;
    let dir = tempdir();
    let layout = write_layout(dir.path(), &gateway, &services);
    let state = dir.path().join("state");
    let journal = dir.path().join("j.sqlite");
    let transcript = tokio::task::spawn_blocking(move || {
        let mut w = watch(&state, None, layout.to_str().unwrap(), &journal);
        let blocked = |l: &str| l.contains("gates blocked");
        let root = w.expect("naming the root", blocked, Duration::from_secs(10));
        assert!(
            root.contains("gateway down (") && root.ends_with("; 18 gates blocked"),
            "{root}"
        );
        // Every service polls several times more: still the one line.
        std::thread::sleep(Duration::from_millis(1500));
        w.drain();
        assert_eq!(w.count(blocked), 1, "{}", w.transcript());
        up.store(true, Ordering::SeqCst);
        w.expect(
            "saying the gateway is back",
            |l| l.contains("gateway no longer blocks"),
            Duration::from_secs(10),
        );
        w.expect(
            "the verdict GO",
            |l| l.contains("verdict") && l.ends_with("→ GO"),
            Duration::from_secs(10),
        );
        w.drain();
        w.transcript()
    })
    .await
    .unwrap();
    // Not one line per gate, going blocked or coming back.
    let per_gate = transcript
        .lines()
        .filter(|l| l.contains("gate \"svc"))
        .count();
    assert_eq!(per_gate, 0, "{transcript}");
    assert_eq!(
        transcript.matches("gates blocked").count(),
        1,
        "{transcript}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_shows_every_service_blocked_by_the_gateway_and_exits_2() {
    let gateway = Server::fixed(unavailable()).await;
    let services = Server::fixed(Reply::ok_text("ok")).await;
    let dir = tempdir();
    let layout = write_layout(dir.path(), &gateway, &services);
    let state = dir.path().join("state");
    let journal = dir.path().join("j.sqlite");
    let (out_json, out_table) = tokio::task::spawn_blocking(move || {
        let args = |json: bool| {
            let mut a = vec![
                "check",
                layout.to_str().unwrap(),
                "--journal",
                journal.to_str().unwrap(),
            ];
            if json {
                a.push("--json");
            }
            run(&mut gonogo_cmd(&state, None, &a))
        };
        (args(true), args(false))
    })
    .await
    .unwrap();
    let stdout = text(&out_json.stdout);
    assert_eq!(
        out_json.status.code(),
        Some(2),
        "{stdout}{}",
        text(&out_json.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("check --json");
    assert_eq!(v["verdict"], "UNKNOWN", "{stdout}");
    let gates = v["gates"].as_array().unwrap();
    assert_eq!(gates.len(), SERVICES);
    for g in gates {
        assert_eq!(g["state"], "BLOCKED", "{g}");
        assert_eq!(g["blocked_by"], "gateway", "{g}");
        // The service's own answer is still there to read.
        assert_eq!(
            g["value"].as_str().map(|v| v.starts_with("up (")),
            Some(true),
            "{g}"
        );
        let reason = g["reason"].as_str().unwrap();
        assert!(reason.starts_with("blocked by gateway (down: "), "{reason}");
    }

    let table = text(&out_table.stdout);
    assert_eq!(out_table.status.code(), Some(2), "{table}");
    assert_eq!(table.matches("⊘ BLOCKED").count(), SERVICES, "{table}");
    let roots: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("blocked: "))
        .collect();
    assert_eq!(roots.len(), 1, "{table}");
    assert!(
        roots[0].starts_with("blocked: gateway down (") && roots[0].ends_with("; 18 gates blocked"),
        "{table}"
    );
}
