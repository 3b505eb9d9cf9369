//! Sign-offs bound to their evidence, end to end: the real binary, the
//! demo service, real SQLite journals. A blocking gate leaving GO after a
//! sign-off makes it STALE — recorded once, refused by advance in exact
//! words, shown by `check`, `watch`, `log` and the screen — until the role
//! signs again or an override names it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gonogo::journal::Journal;
use gonogo::launch::EventKind;
use gonogo::signal::{Outcome, Sample};

use crate::acts::untimed;
use crate::screen::{app, draw, event, healthy, journal, sample};
use crate::util::procs::{self, Demo, gonogo_cmd, path_str, run, text};

/// One blocking gate on the demo's error rate, a sign-off to give.
const LAYOUT: &str = r#"
[launch]
name = "Stale sign-offs"
id = "stale"

[roles]
cto = ["*"]

[signals.error_rate]
kind = "json"
url = "${DEMO_URL}/api/stats"
path = "$.error_rate"
unit = "ratio"
every = "1s"

[[phases]]
id = "canary"
signoff = ["cto"]
gates = [{ signal = "error_rate", below = "1%" }]

[[phases]]
id = "full"
"#;

struct Launch {
    demo: Demo,
    dir: tempfile::TempDir,
    layout: PathBuf,
    journal: PathBuf,
}

struct Done {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Launch {
    fn new() -> Launch {
        let demo = Demo::start();
        let dir = procs::tempdir();
        let layout = dir.path().join("stale.toml");
        std::fs::write(&layout, LAYOUT).unwrap();
        let journal = dir.path().join("stale.sqlite");
        Launch {
            demo,
            dir,
            layout,
            journal,
        }
    }

    fn act(&self, args: &[&str]) -> Done {
        let layout = path_str(&self.layout);
        let journal = path_str(&self.journal);
        let mut full: Vec<&str> = vec![args[0], &layout];
        full.extend_from_slice(&args[1..]);
        full.extend_from_slice(&["--journal", &journal]);
        let out = run(&mut gonogo_cmd(
            self.dir.path(),
            Some(&self.demo.url),
            &full,
        ));
        Done {
            code: out.status.code(),
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        let d = self.act(args);
        assert_eq!(
            d.code,
            Some(0),
            "{args:?}\nstdout: {}\nstderr: {}",
            d.stdout,
            d.stderr
        );
        d.stdout
    }

    /// Refused: exit 1, one line on stderr; the reason with times as <T>.
    fn refused(&self, args: &[&str]) -> String {
        let d = self.act(args);
        assert_eq!(
            d.code,
            Some(1),
            "{args:?} should be refused\nstdout: {}\nstderr: {}",
            d.stdout,
            d.stderr
        );
        let reason = d.stderr.trim_end().to_string();
        assert_eq!(reason.lines().count(), 1, "{reason}");
        untimed(&reason)
    }

    /// Waits until `check` says GO (exit 0).
    fn until_go(&self, limit: Duration) {
        let go = procs::poll_until(limit, || {
            (self.act(&["check"]).code == Some(0)).then_some(())
        });
        assert!(
            go.is_some(),
            "not GO within {limit:?}: {}",
            self.act(&["check"]).stdout
        );
    }

    fn stale_events(&self) -> usize {
        procs::count_kind(&self.journal, "signoff_stale")
    }
}

/// The refusal's words for the stale sign-off, the gate having been `state`.
fn stale_words(state: &str) -> String {
    format!(
        "STALE sign-off: cto signed at <T> while all gates were GO; error_rate < 1% was {state} at <T>"
    )
}

#[test]
fn a_fault_makes_a_sign_off_stale_once_and_signing_again_renews_it() {
    let l = Launch::new();
    let me = gonogo::act::os_user();
    l.ok(&["start"]);
    // Two guards on one journal (one polls, the other follows its
    // samples): both see the sign-off go stale, one records it.
    let mut guard = procs::watch(
        l.dir.path(),
        Some(&l.demo.url),
        &path_str(&l.layout),
        &l.journal,
    );
    let mut second = procs::watch(
        l.dir.path(),
        Some(&l.demo.url),
        &path_str(&l.layout),
        &l.journal,
    );
    l.until_go(Duration::from_secs(20));
    l.ok(&["sign", "--role", "cto"]);
    // Signed while GO and nothing has changed: it counts.
    let out = l.ok(&["check"]);
    assert!(out.contains(&format!("sign-off: cto ✔ {me} at ")), "{out}");

    l.demo.fault("errors?rate=0.5");
    // The guard sees the gate leave GO and records it, once.
    let line = guard.expect(
        "went STALE",
        |l| l.contains("went STALE"),
        Duration::from_secs(30),
    );
    // NO-GO, unless a poll under load timed out first (UNKNOWN): what the
    // record says is what every later word must say.
    let events = procs::raw_events(&l.journal);
    let record = events.iter().find(|e| e.2 == "signoff_stale").unwrap();
    let body: serde_json::Value = serde_json::from_str(&record.3).unwrap();
    let word = body["state"].as_str().unwrap().to_string();
    assert!(word == "NO-GO" || word == "UNKNOWN", "{}", record.3);
    assert_eq!(
        untimed(line.split_once(" journal #").map_or(&*line, |(_, r)| r))
            .split_once(' ')
            .map(|(_, r)| r.to_string()),
        Some(format!(
            "the cto sign-off of canary by {me} went STALE: error_rate < 1% was {word} at <T>"
        )),
        "{line}\n{}\n---\n{}",
        guard.transcript(),
        second.transcript()
    );
    second.expect(
        "went STALE",
        |l| l.contains("went STALE"),
        Duration::from_secs(30),
    );
    let json = l.act(&["check", "--json"]).stdout;
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let stale = &v["signoffs"][0]["stale"];
    assert_eq!(stale["gate"], "error_rate < 1%", "{json}");
    assert_eq!(stale["state"], word.as_str(), "{json}");
    assert_eq!(stale["recorded"], true, "{json}");

    // Gates GO again: the sign-off still does not count.
    l.demo.fault("clear");
    l.until_go(Duration::from_secs(60));
    assert_eq!(
        l.refused(&["advance"]),
        format!("cannot advance from canary: {}", stale_words(&word))
    );
    let out = l.ok(&["check"]);
    assert!(
        untimed(&out).contains(&format!(
            "sign-off: cto ⚠ STALE {me} at <T> — error_rate < 1% {word} at <T>"
        )),
        "{out}"
    );
    // Two processes judged it (the guard, and advance from the evidence):
    // one record.
    assert_eq!(l.stale_events(), 1);

    // Signing again renews it; the advance goes through.
    l.ok(&["sign", "--role", "cto"]);
    let out = l.ok(&["advance"]);
    assert!(
        out.contains(&format!("{me} advanced canary → full")),
        "{out}"
    );
    assert_eq!(l.stale_events(), 1);
    let log = l.ok(&["log"]);
    assert!(
        log.contains(&format!("went STALE: error_rate < 1% was {word} at")),
        "{log}"
    );
    drop(guard);
    drop(second);
}

#[test]
fn advance_judges_the_recorded_evidence_when_no_guard_recorded_the_staleness() {
    let l = Launch::new();
    let me = gonogo::act::os_user();
    l.ok(&["start"]);
    l.until_go(Duration::from_secs(20));
    l.ok(&["sign", "--role", "cto"]);
    std::thread::sleep(Duration::from_millis(300));
    // Evidence as a guard records it: a breach after the sign-off, then
    // healthy again. No guard ran to record the sign-off going stale.
    record(&l.journal, &[(0.5, 0), (0.001, 100)]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(l.stale_events(), 0);
    assert_eq!(
        l.refused(&["advance"]),
        format!("cannot advance from canary: {}", stale_words("NO-GO"))
    );
    // The act that found it put it on the record, once.
    assert_eq!(l.stale_events(), 1);
    assert_eq!(
        l.refused(&["advance"]),
        format!("cannot advance from canary: {}", stale_words("NO-GO"))
    );
    assert_eq!(l.stale_events(), 1);

    // An override names the stale sign-off it advances past.
    let out = l.ok(&["advance", "--override", "error spike was the load test"]);
    let said = format!(
        "{me} advanced canary → full OVERRIDING the STALE sign-off of cto — reason: error spike was the load test"
    );
    assert!(out.contains(&said), "{out}");
    let events = procs::raw_events(&l.journal);
    let advanced = events.iter().find(|e| e.2 == "advanced").unwrap();
    let body: serde_json::Value = serde_json::from_str(&advanced.3).unwrap();
    assert_eq!(
        body["overridden"],
        serde_json::json!(["cto"]),
        "{}",
        advanced.3
    );
    let log = l.ok(&["log"]);
    assert!(log.contains(&said), "{log}");
    assert!(
        log.contains(&format!(
            "the cto sign-off of canary by {me} went STALE: error_rate < 1% was NO-GO at"
        )),
        "{log}"
    );
}

/// Records error-rate samples `(value, ms from now)` as a guard would.
fn record(journal: &Path, samples: &[(f64, i64)]) {
    let mut j = Journal::open(journal, "stale").unwrap();
    let now = chrono::Utc::now();
    let samples: Vec<Sample> = samples
        .iter()
        .map(|&(v, ms)| Sample {
            at: now + chrono::Duration::milliseconds(ms),
            outcome: Outcome::Number(v),
        })
        .collect();
    // Under the key a guard records it by: the signal's definition.
    let layout = gonogo::layout::parse(Path::new("stale.toml"), LAYOUT).unwrap();
    let key = layout.signals[0].key.clone();
    j.record_samples(
        samples.iter().map(|s| (key.as_str(), s)),
        Duration::from_secs(3600),
    )
    .unwrap();
}

#[test]
fn the_sign_off_pane_shows_a_stale_sign_off_with_glyph_and_word() {
    let mut a = app();
    healthy(&mut a);
    let advanced = EventKind::Advanced {
        from: "preflight".into(),
        to: "canary-10".into(),
        waived: Vec::new(),
        overridden: Vec::new(),
        reason: None,
    };
    journal(&mut a, vec![event(1, advanced)]);
    // Signed with every gate GO (the evidence the sign-off is bound to).
    let gates = {
        let live = a.live.read();
        gonogo::act::snapshot(live.phase(), &live.judged(a.now))
    };
    assert!(gates.iter().all(|g| g.state == "GO"), "{gates:?}");
    let mut signed = event(
        2,
        EventKind::SignedOff {
            phase: "canary-10".into(),
            role: "release".into(),
            note: None,
        },
    );
    signed.gates = gates;
    journal(&mut a, vec![signed]);
    assert!(draw(&a, 200, 60).contains("✔ release: alice"));
    // Then the error rate breaks its gate: the sign-off is STALE at once.
    sample(&mut a, "error_rate", 0, Outcome::Number(0.05));
    let s = a.live.read().state().signed("release").cloned().unwrap();
    assert!(!s.counts());
    for (w, h) in [(80, 24), (200, 60)] {
        let frame = draw(&a, w, h);
        assert!(frame.contains("⚠ STALE release:"), "{w}×{h}\n{frame}");
        insta::assert_snapshot!(format!("stale_signoff_{w}x{h}"), frame);
    }
    // `s` signs it again, through the same act as `gonogo sign`.
    assert_eq!(
        a.update(crate::screen::key('s')),
        vec![gonogo::ui::app::Effect::Perform(
            gonogo::act::Act::SignOff {
                role: "release".into(),
                phase: Some("canary-10".into()),
                note: None,
            }
        )]
    );
}

/// The runtime that sees a sign-off go stale records it and notifies its
/// signer, like any other notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signer_is_notified_when_a_sign_off_goes_stale() {
    use gonogo::act::Act;
    use gonogo::runtime::{self, Order, Runtime, Update};
    use std::sync::atomic::{AtomicU64, Ordering};

    use crate::util::server::{Reply, Server};

    let value = Arc::new(AtomicU64::new(10));
    let v = Arc::clone(&value);
    let server =
        Server::start(move |_| Reply::ok_json(&format!("{{\"v\": {}}}", v.load(Ordering::SeqCst))))
            .await;
    let src = format!(
        "[launch]\nname = \"notify stale\"\n\n[roles]\ncto = [\"*\"]\n\n[signals.v]\nkind = \"json\"\nurl = \"{}\"\npath = \"$.v\"\nevery = \"100ms\"\n\n[[phases]]\nid = \"p\"\nsignoff = [\"cto\"]\ngates = [{{ signal = \"v\", below = 50 }}]\n\n[[phases]]\nid = \"q\"\n",
        server.url("/v")
    );
    let layout =
        gonogo::layout::parse(&crate::util::layout_path(), &src).unwrap_or_else(|d| panic!("{d}"));
    let dir = procs::tempdir();
    let journal = dir.path().join("j.sqlite");
    let session = gonogo::session::Session::open(layout, Some(&journal)).unwrap();
    let (rt, _live, mut updates) = Runtime::new(
        session,
        crate::util::prober(),
        runtime::Options {
            read_only: false,
            notifier: Box::new(|_| gonogo::notify::Notifier::disabled()),
            watch_file: None,
        },
    );
    let (orders, rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(rt.run(rx));
    let mut seen = Vec::new();
    let mut next = async |what: &str, want: &dyn Fn(&Update) -> bool| {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let u = tokio::time::timeout_at(deadline, updates.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within 10 s; saw {seen:#?}"))
                .unwrap();
            let hit = want(&u);
            seen.push(u.clone());
            if hit {
                return u;
            }
        }
    };
    let gate_go = |u: &Update| {
        matches!(u, Update::Changed { changes, .. } if changes.iter().any(|c| matches!(c,
            gonogo::live::Change::Gate { state: gonogo::gate::State::Go, .. })))
    };
    next("the gate GO", &gate_go).await;
    orders.send(Order::Perform(Act::Start)).unwrap();
    next("started", &|u| matches!(u, Update::Acted(Ok(_)))).await;
    let sign = Act::SignOff {
        role: "cto".into(),
        phase: None,
        note: None,
    };
    orders.send(Order::Perform(sign)).unwrap();
    next("signed", &|u| matches!(u, Update::Acted(Ok(_)))).await;

    value.store(99, Ordering::SeqCst);
    let alert = next(
        "the stale alert",
        &|u| matches!(u, Update::Alert(n) if n.title.ends_with("sign-off STALE")),
    )
    .await;
    let Update::Alert(n) = alert else {
        unreachable!()
    };
    assert_eq!(n.title, "notify stale — sign-off STALE");
    // Addressed to the signer: the journal file's owner, who signed.
    let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap()
        .name;
    assert_eq!(
        untimed(&n.body),
        format!("{me}: your cto sign-off of p is STALE (v < 50 was NO-GO at <T>); sign again")
    );
    assert_eq!(n.urgency, gonogo::notify::Urgency::Critical);
    orders.send(Order::Stop).unwrap();
    task.await.unwrap();
    let stale = procs::count_kind(&journal, "signoff_stale");
    assert_eq!(stale, 1);
}
