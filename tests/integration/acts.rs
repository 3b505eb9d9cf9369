//! The action commands end to end: the real binary against the real demo
//! service, each act on a journal in a temp dir. Refusals must exit 1 with
//! the exact reason on stderr and be journaled with the same words; the
//! record (`log`) must hold every event, and an edited or deleted event
//! must be detected. A second process must see a new event within 1 s,
//! and `${VAR}` secrets must reach neither the record nor the database.

use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::procs::{self, Demo, Lines, demo_layout, gonogo_cmd, path_str, run, text};

/// One operator at a terminal: runs acts against one demo and journal.
struct Desk<'a> {
    demo: &'a Demo,
    state: &'a Path,
    layout: String,
    journal: String,
}

struct Done {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Desk<'_> {
    fn act(&self, args: &[&str]) -> Done {
        let mut full: Vec<&str> = vec![args[0], &self.layout];
        full.extend_from_slice(&args[1..]);
        full.extend_from_slice(&["--journal", &self.journal]);
        let out = run(&mut gonogo_cmd(self.state, Some(&self.demo.url), &full));
        Done {
            code: out.status.code(),
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
        }
    }

    /// An act that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let d = self.act(args);
        assert_eq!(
            d.code,
            Some(0),
            "{args:?} should succeed\nstdout: {}\nstderr: {}",
            d.stdout,
            d.stderr
        );
        assert!(d.stderr.trim().is_empty(), "{args:?}: stderr {}", d.stderr);
        d.stdout
    }

    /// An act that must be refused: exit 1, one line on stderr, nothing on
    /// stdout. Returns the reason.
    fn refused(&self, args: &[&str]) -> String {
        let d = self.act(args);
        assert_eq!(
            d.code,
            Some(1),
            "{args:?} should be refused\nstdout: {}\nstderr: {}",
            d.stdout,
            d.stderr
        );
        assert!(d.stdout.is_empty(), "{args:?}: stdout {}", d.stdout);
        let reason = d.stderr.trim_end_matches('\n').to_string();
        assert_eq!(reason.lines().count(), 1, "{args:?}: stderr {}", d.stderr);
        reason
    }
}

/// `s` with every `HH:MM:SSZ` replaced by `<T>`, so a refusal that names a
/// time can be compared exactly.
pub(crate) fn untimed(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let is_time = b.len() - i >= 9
            && [0, 1, 3, 4, 6, 7]
                .iter()
                .all(|&k| b[i + k].is_ascii_digit())
            && b[i + 2] == b':'
            && b[i + 5] == b':'
            && b[i + 8] == b'Z';
        if is_time {
            out.push_str("<T>");
            i += 9;
        } else {
            let c = s[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The seconds in `(Ns left)` right after `label` in a refusal.
fn seconds_left(reason: &str, label: &str) -> u64 {
    let at = reason
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} not in {reason:?}"));
    let rest = &reason[at + label.len()..];
    let rest = rest
        .strip_prefix(" PENDING (")
        .unwrap_or_else(|| panic!("{label} not PENDING in {reason:?}"));
    let n = rest
        .split_once("s left)")
        .unwrap_or_else(|| panic!("no time left for {label} in {reason:?}"))
        .0;
    n.parse()
        .unwrap_or_else(|_| panic!("time left {n:?} for {label} in {reason:?}"))
}

#[test]
fn acts_refuse_with_exact_reasons_and_the_record_holds_every_event() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    let journal = dir.path().join("launch.sqlite");
    let desk = Desk {
        demo: &demo,
        state: dir.path(),
        layout: demo_layout(),
        journal: path_str(&journal),
    };
    let me = gonogo::act::os_user();
    // What the record must hold, in order: (type, refusal reason).
    let expected: RefCell<Vec<(&str, Option<String>)>> = RefCell::new(Vec::new());
    let refused = |desk: &Desk, args: &[&str]| {
        let reason = desk.refused(args);
        expected
            .borrow_mut()
            .push(("refused", Some(reason.clone())));
        reason
    };
    let recorded = |kind: &'static str| expected.borrow_mut().push((kind, None));

    // The journal is created by the first act, pinning the layout; the
    // launch is NOT STARTED until `start` enters its first phase.
    recorded("layout_pinned");
    assert_eq!(
        refused(&desk, &["advance"]),
        "cannot advance from preflight: the launch is NOT STARTED; start it first (`gonogo start`, or `a` on the screen)"
    );
    assert_eq!(
        refused(&desk, &["sign", "--role", "cto"]),
        "cannot sign: the launch is NOT STARTED; start it first (`gonogo start`, or `a` on the screen)"
    );
    let out = desk.ok(&["start"]);
    assert!(
        out.contains(&format!("{me} STARTED the launch: entered preflight")),
        "{out}"
    );
    recorded("started");
    assert!(
        untimed(&refused(&desk, &["start"]))
            .starts_with("cannot start: the launch started already (in preflight since <T>)"),
    );

    // Preflight: the checklist is open, so advance is refused, naming the gate.
    assert_eq!(
        refused(&desk, &["advance"]),
        "cannot advance from preflight: gates not GO: preflight complete NO-GO (3 of 3 items open)"
    );
    assert_eq!(
        refused(
            &desk,
            &["check-item", "--checklist", "preflight", "--item", "Coffee"]
        ),
        "cannot check item: `preflight` has no item \"Coffee\" (items: On-call engineer paged in, Dashboards open, Rollback rehearsed on staging)"
    );
    let items = [
        "On-call engineer paged in",
        "Dashboards open",
        "Rollback rehearsed on staging",
    ];
    for item in items {
        let out = desk.ok(&["check-item", "--checklist", "preflight", "--item", item]);
        assert!(
            out.contains(&format!("{me} checked \"{item}\" on preflight")),
            "{out}"
        );
        recorded("item_checked");
    }
    assert_eq!(
        refused(
            &desk,
            &[
                "check-item",
                "--checklist",
                "preflight",
                "--item",
                "Dashboards open"
            ]
        ),
        "cannot check item: \"Dashboards open\" is already checked"
    );

    // Hold: advance is refused naming who holds it and why — and only that,
    // since the gates are GO now.
    let out = desk.ok(&["hold", "--reason", "DBA on a call"]);
    assert!(
        out.contains(&format!("{me} put the launch ON HOLD: DBA on a call")),
        "{out}"
    );
    recorded("held");
    assert_eq!(
        untimed(&refused(&desk, &["hold", "--reason", "again"])),
        format!("cannot hold: already held by {me} since <T>: DBA on a call")
    );
    assert_eq!(
        untimed(&refused(&desk, &["advance"])),
        format!("cannot advance from preflight: held by {me} since <T>: DBA on a call")
    );
    desk.ok(&["resume"]);
    recorded("resumed");
    assert_eq!(
        refused(&desk, &["resume"]),
        "cannot resume: the launch is not on hold"
    );
    let out = desk.ok(&["advance"]);
    assert!(
        out.contains(&format!("{me} advanced preflight → canary-10")),
        "{out}"
    );
    recorded("advanced");

    // Sign-offs: only the roles the phase needs, once each.
    assert_eq!(
        refused(&desk, &["sign", "--role", "cto"]),
        "cannot sign as cto: phase canary-10 does not need cto (it needs release)"
    );
    assert_eq!(
        refused(
            &desk,
            &["sign", "--role", "release", "--phase", "preflight"]
        ),
        "cannot sign preflight: the current phase is canary-10"
    );
    let out = desk.ok(&["sign", "--role", "release", "--note", "dashboards green"]);
    assert!(
        out.contains(&format!(
            "{me} signed canary-10 as release — dashboards green"
        )),
        "{out}"
    );
    recorded("signed_off");
    assert_eq!(
        untimed(&refused(&desk, &["sign", "--role", "release"])),
        format!("cannot sign as release: already signed by {me} at <T>")
    );

    // Windows still running: refused, naming each and the time left.
    let reason = refused(&desk, &["advance"]);
    assert!(
        reason.starts_with(
            "cannot advance from canary-10: gates not GO: error_rate < 1% for 20s PENDING ("
        ),
        "{reason}"
    );
    for label in ["error_rate < 1% for 20s", "p95 < 500ms for 20s"] {
        let left = seconds_left(&reason, label);
        assert!(
            (1..=20).contains(&left),
            "{label}: {left}s left in {reason}"
        );
    }
    assert!(
        !reason.contains("Webhook backlog"),
        "advisory gates never block: {reason}"
    );
    assert!(!reason.contains("not signed"), "{reason}");

    // An override advances past them, recording a waiver with the reason.
    let out = desk.ok(&[
        "advance",
        "--override",
        "window cut short: verified by hand",
    ]);
    let waiver = "advanced canary-10 → canary-50 WAIVING error_rate < 1% for 20s, p95 < 500ms for 20s — reason: window cut short: verified by hand";
    assert!(out.contains(waiver), "{out}");
    recorded("advanced");

    // Rollback needs --yes and says what it would run; nothing runs, and the
    // refused attempt is recorded like any other.
    assert_eq!(
        refused(&desk, &["rollback", "--reason", "error spike"]),
        "cannot roll back without --yes: it runs `echo demo rollback: traffic shifted back to v1`"
    );
    assert_eq!(procs::count_kind(&journal, "rollback_started"), 0);
    let out = desk.ok(&["rollback", "--reason", "error spike", "--yes"]);
    assert!(
        out.contains(&format!(
            "{me} started ROLLBACK (echo demo rollback: traffic shifted back to v1): error spike"
        )),
        "{out}"
    );
    assert!(
        out.contains("ROLLED BACK: the rollback command ended with exit status 0"),
        "{out}"
    );
    assert!(
        out.contains(&format!("(cause: {me}: error spike)")),
        "the rollback's end does not name its cause: {out}"
    );
    // The command's output streams as it runs, under its command line.
    assert!(
        out.contains(
            "$ echo demo rollback: traffic shifted back to v1\n  demo rollback: traffic shifted back to v1\n"
        ),
        "{out}"
    );
    recorded("rollback_started");
    recorded("rollback_finished");

    // ROLLED BACK: no advance, sign or second rollback until a reopen.
    let rolled_back =
        format!("the launch is ROLLED BACK (since <T> by {me}: error spike); reopen it first");
    assert_eq!(
        untimed(&refused(&desk, &["advance"])),
        format!("cannot advance from canary-50: {rolled_back}")
    );
    assert_eq!(
        untimed(&refused(&desk, &["sign", "--role", "release"])),
        format!("cannot sign: {rolled_back}")
    );
    assert_eq!(
        untimed(&refused(
            &desk,
            &["rollback", "--reason", "once more", "--yes"]
        )),
        format!("cannot roll back: {rolled_back}")
    );
    assert_eq!(
        refused(
            &desk,
            &["reopen", "--phase", "canary10", "--reason", "fixed forward"]
        ),
        "cannot reopen: no phase `canary10` (phases: preflight, canary-10, canary-50, full)"
    );
    let out = desk.ok(&[
        "reopen",
        "--phase",
        "canary-10",
        "--reason",
        "fixed forward",
    ]);
    assert!(
        out.contains(&format!(
            "{me} reopened the launch at canary-10: fixed forward"
        )),
        "{out}"
    );
    recorded("reopened");
    assert_eq!(
        refused(
            &desk,
            &["reopen", "--phase", "canary-10", "--reason", "again"]
        ),
        "cannot reopen: the launch is not rolled back"
    );
    // Sign-offs do not survive leaving the phase: the reopened canary-10
    // needs a fresh one.
    let reason = refused(&desk, &["advance"]);
    assert!(reason.ends_with("; not signed: release"), "{reason}");

    let expected = expected.into_inner();
    // The record, as JSON: one object per line, every event in order,
    // refusals with exactly the words the operator saw.
    let d = desk.act(&["log", "--format", "json"]);
    assert_eq!(d.code, Some(0), "{}", d.stderr);
    let events: Vec<serde_json::Value> = d
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            assert!(v.is_object(), "{l}");
            v
        })
        .collect();
    assert_eq!(events.len(), expected.len(), "{}", d.stdout);
    assert_eq!(events.len(), procs::raw_events(&journal).len());
    for (i, (e, (kind, reason))) in events.iter().zip(&expected).enumerate() {
        assert_eq!(e["seq"], i + 1, "{e}");
        assert_eq!(e["type"], *kind, "event #{}: {e}", i + 1);
        assert_eq!(e["actor"], me.as_str(), "{e}");
        assert!(e["at"].as_str().is_some_and(|t| t.ends_with('Z')), "{e}");
        assert!(
            e["type"] == "layout_pinned" || e["gates"].as_array().is_some_and(|g| !g.is_empty()),
            "every act records the gates as they stood: {e}"
        );
        if let Some(reason) = reason {
            assert_eq!(e["reason"], reason.as_str(), "{e}");
            assert!(e["attempted"].is_string(), "{e}");
        }
    }
    let finished = events
        .iter()
        .find(|e| e["type"] == "rollback_finished")
        .unwrap();
    assert_eq!(finished["outcome"]["success"], true, "{finished}");
    assert_eq!(
        finished["outcome"]["output_tail"]
            .as_str()
            .map(str::trim_end),
        Some("demo rollback: traffic shifted back to v1")
    );
    let waived = events
        .iter()
        .find(|e| e["type"] == "advanced" && e["from"] == "canary-10")
        .unwrap();
    assert_eq!(waived["reason"], "window cut short: verified by hand");
    assert_eq!(
        waived["waived"],
        serde_json::json!(["error_rate < 1% for 20s", "p95 < 500ms for 20s"])
    );

    // The record, as markdown: the waiver and the rollback's output tail.
    let d = desk.act(&["log"]);
    assert_eq!(d.code, Some(0), "{}", d.stderr);
    let md = d.stdout;
    assert!(md.contains(waiver), "{md}");
    assert!(md.contains("hash chain intact"), "{md}");
    assert!(
        md.contains("    demo rollback: traffic shifted back to v1"),
        "rollback output tail missing:\n{md}"
    );
    assert!(
        md.contains(&format!(
            "REFUSED advance by {me}: cannot advance from preflight: gates not GO"
        )),
        "{md}"
    );

    // Verify: intact now.
    let d = desk.act(&["log", "--verify"]);
    assert_eq!(d.code, Some(0), "{}{}", d.stdout, d.stderr);
    assert!(
        d.stdout
            .contains(&format!("{} events, hash chain intact", expected.len())),
        "{}",
        d.stdout
    );

    // Tampering, each on its own copy of the (closed, checkpointed) file.
    let n = i64::try_from(expected.len()).unwrap();
    let copy = |name: &str| {
        let p = dir.path().join(name);
        std::fs::copy(&journal, &p).unwrap();
        p
    };
    let deleted_mid = copy("deleted-mid.sqlite");
    let deleted_end = copy("deleted-end.sqlite");
    let held_seq: i64 = expected.iter().position(|e| e.0 == "held").unwrap() as i64 + 1;

    // An edited event (the hold's reason rewritten) is named.
    let raw = rusqlite::Connection::open(&journal).unwrap();
    let changed = raw
        .execute(
            "UPDATE events SET body = replace(body, 'DBA on a call', 'routine pause') WHERE seq = ?1",
            [held_seq],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(raw);
    let d = desk.act(&["log", "--verify"]);
    assert_eq!(d.code, Some(1), "{}{}", d.stdout, d.stderr);
    assert!(
        d.stderr.contains(&format!(
            "event #{held_seq} was edited after it was recorded"
        )),
        "{}",
        d.stderr
    );
    let d = desk.act(&["log"]);
    assert!(d.stdout.contains("hash chain BROKEN"), "{}", d.stdout);

    // A deleted event in the middle is named.
    let check_deleted = |path: &Path, seq: i64, want: &str| {
        let raw = rusqlite::Connection::open(path).unwrap();
        assert_eq!(
            raw.execute("DELETE FROM events WHERE seq = ?1", [seq])
                .unwrap(),
            1
        );
        drop(raw);
        let d = desk.act_on(path, &["log", "--verify"]);
        assert_eq!(d.code, Some(1), "{}{}", d.stdout, d.stderr);
        assert!(d.stderr.contains(want), "want {want:?} in {}", d.stderr);
    };
    check_deleted(
        &deleted_mid,
        held_seq,
        &format!("events #{held_seq}..#{held_seq} are missing"),
    );
    // So is the last one: nothing follows it to notice, but the file does.
    check_deleted(
        &deleted_end,
        n,
        &format!("events #{n}..#{n} are missing (deleted from the end)"),
    );
}

impl Desk<'_> {
    fn act_on(&self, journal: &Path, args: &[&str]) -> Done {
        Desk {
            demo: self.demo,
            state: self.state,
            layout: self.layout.clone(),
            journal: path_str(journal),
        }
        .act(args)
    }
}

#[test]
fn another_process_shows_a_new_event_within_a_second() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    let journal = dir.path().join("shared.sqlite");
    let layout = demo_layout();
    let mut watch = procs::watch(dir.path(), Some(&demo.url), &layout, &journal);
    let desk = Desk {
        demo: &demo,
        state: dir.path(),
        layout,
        journal: path_str(&journal),
    };
    let me = gonogo::act::os_user();
    for i in 1..=3 {
        let note = format!("note {i} from the second terminal");
        let out = desk.ok(&["note", &note]);
        let returned = Instant::now();
        // "#N <user> noted: …"
        let seq = out
            .strip_prefix('#')
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or_else(|| panic!("no #seq in {out:?}"))
            .to_string();
        let want = format!("journal #{seq} {me} noted: {note}");
        let (seen_at, line) = watch
            .wait_for(|l| l.contains(&want), Duration::from_secs(3))
            .unwrap_or_else(|| panic!("watch never showed {want:?}; saw:\n{}", watch.transcript()));
        let lag = seen_at.saturating_duration_since(returned);
        assert!(
            lag < Duration::from_secs(1),
            "note {i} showed {lag:?} after it was recorded: {line}"
        );
    }
}

#[test]
fn secrets_reach_neither_the_record_nor_the_database() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    let secret = format!(
        "tok-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let layout = dir.path().join("secret.toml");
    std::fs::write(
        &layout,
        r#"[launch]
name = "Secret-bearing launch"

[signals.api]
kind = "http"
url = "${DEMO_URL}/healthz"
every = "500ms"
headers = { Authorization = "Bearer ${SECRET_TOKEN}" }

[signals.stats]
kind = "json"
url = "${DEMO_URL}/api/stats?token=${SECRET_TOKEN}"
path = "$.error_rate"
unit = "ratio"
every = "500ms"
headers = { X-Api-Key = "${SECRET_TOKEN}" }

[signals.broken]
kind = "json"
url = "${DEMO_URL}/no-such-endpoint?token=${SECRET_TOKEN}"
path = "$.x"
every = "500ms"

[[phases]]
id = "one"
gates = [
  { signal = "api", up = true },
  { signal = "stats", below = "50%" },
  { signal = "broken", below = 1, blocking = false, name = "broken (advisory)" },
]

[[phases]]
id = "two"
gates = [{ signal = "api", up = true }]

[rollback]
run = ["echo", "rolled back"]
"#,
    )
    .unwrap();
    let layout = path_str(&layout);
    let journal = dir.path().join("secret.sqlite");
    let journal_s = path_str(&journal);
    let cmd = |args: &[&str]| {
        let mut c = gonogo_cmd(dir.path(), Some(&demo.url), args);
        c.env("SECRET_TOKEN", &secret);
        c
    };
    let seen = RefCell::new(String::new());
    let run_ok = |args: &[&str]| {
        let mut full = args.to_vec();
        full.extend_from_slice(&["--journal", &journal_s]);
        let out = run(&mut cmd(&full));
        let (o, e) = (text(&out.stdout), text(&out.stderr));
        seen.borrow_mut().push_str(&o);
        seen.borrow_mut().push_str(&e);
        (out.status.code(), o, e)
    };

    // A guard runs for a while (recording events and evidence) while acts
    // are taken.
    let mut watch = Lines::spawn(cmd(&["watch", &layout, "--journal", &journal_s]));
    watch.expect(
        "with api GO",
        |l| l.contains("gate \"api up\" — → GO"),
        Duration::from_secs(10),
    );
    let (code, o, e) = run_ok(&["note", &layout, "watching the secret-bearing signals"]);
    assert_eq!(code, Some(0), "{o}{e}");
    let (code, o, e) = run_ok(&["start", &layout]);
    assert_eq!(code, Some(0), "{o}{e}");
    let (code, o, e) = run_ok(&["advance", &layout]);
    assert_eq!(code, Some(0), "{o}{e}");
    let (code, o, e) = run_ok(&["rollback", &layout, "--reason", "drill", "--yes"]);
    assert_eq!(code, Some(0), "{o}{e}");
    let (code, o, e) = run_ok(&["advance", &layout]);
    assert_eq!(code, Some(1), "{o}{e}");
    // Long enough for the guard to record a few rounds of samples.
    watch.expect(
        "with the broken signal's failure",
        |l| l.contains("signal broken:"),
        Duration::from_secs(10),
    );
    std::thread::sleep(Duration::from_millis(1500));
    nix::sys::signal::kill(watch.child.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    watch.expect(
        "\"watch stopped\"",
        |l| l.contains("watch stopped"),
        Duration::from_secs(5),
    );
    let _ = watch.child.0.wait();
    seen.borrow_mut().push_str(&watch.transcript());

    // check --json and the table, at phase one (signals with the secret).
    let (code, json, e) = run_ok(&["check", &layout, "--phase", "one", "--json"]);
    // ROLLED BACK: whatever the gates say, the launch may not proceed.
    assert_eq!(code, Some(4), "{json}{e}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("check --json");
    // The secret-bearing requests really went out and were answered.
    assert_eq!(v["gates"][0]["state"], "GO", "{json}");
    assert_eq!(v["gates"][1]["state"], "GO", "{json}");
    assert_ne!(v["gates"][2]["state"], "GO", "{json}");
    let (_, table, _) = run_ok(&["check", &layout, "--phase", "one"]);
    assert!(table.contains("api"), "{table}");
    let (code, md, e) = run_ok(&["log", &layout]);
    assert_eq!(code, Some(0), "{e}");
    assert!(md.contains("REFUSED advance"), "{md}");
    let (code, jsonl, e) = run_ok(&["log", &layout, "--format", "json"]);
    assert_eq!(code, Some(0), "{e}");
    assert!(jsonl.lines().count() >= 5, "{jsonl}");

    let seen = seen.into_inner();
    assert!(
        !seen.contains(&secret),
        "the secret reached the output:\n{seen}"
    );
    // The database, byte for byte (and any WAL or shared-memory file).
    let mut files = 0;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = format!("{journal_s}{suffix}");
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        files += 1;
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is in {p}"
        );
    }
    assert!(files >= 1);
    // The evidence table was written (so the check above covered samples).
    let raw = rusqlite::Connection::open(&journal).unwrap();
    let samples: i64 = raw
        .query_row("SELECT COUNT(*) FROM samples", [], |r| r.get(0))
        .unwrap_or(0);
    eprintln!("secrets: {samples} samples recorded as evidence");
}

/// `gonogo log | head`: a reader that stops early must not make `log`
/// panic (a broken pipe is the reader's choice, not an error to dump a
/// backtrace over).
#[test]
fn log_into_a_pipe_closed_early_exits_quietly() {
    let dir = procs::tempdir();
    let journal = dir.path().join("long.sqlite");
    {
        // A record longer than a pipe's buffer, so `log` is still writing
        // when the reader goes away.
        let first = gonogo::journal::Entry {
            kind: gonogo::launch::EventKind::Noted {
                text: "created".into(),
            },
            gates: Vec::new(),
            claim: None,
        };
        let (mut j, _) =
            gonogo::journal::Journal::open_or_create(&journal, "demo", &first).unwrap();
        for i in 0..400 {
            j.append(&gonogo::journal::Entry {
                kind: gonogo::launch::EventKind::Noted {
                    text: format!("note {i}: {}", "x".repeat(200)),
                },
                gates: Vec::new(),
                claim: None,
            })
            .unwrap();
        }
    }
    for format in ["json", "md"] {
        let mut child = procs::KillOnDrop(
            gonogo_cmd(
                dir.path(),
                None,
                &[
                    "log",
                    &demo_layout(),
                    "--format",
                    format,
                    "--journal",
                    &path_str(&journal),
                ],
            )
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        );
        let stdout = child.0.stdout.take().unwrap();
        let mut first = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first).unwrap();
        assert!(!first.is_empty());
        // The reader is gone (its end dropped with the BufReader).
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        let status = child.0.wait().unwrap();
        assert!(
            !stderr.contains("panicked"),
            "log --format {format} panicked on a closed pipe: {stderr}"
        );
        assert_ne!(status.code(), Some(101), "{format}: {stderr}");
    }
}

/// The record's phase table times the current phase up to the reading,
/// not up to the last event (which, right after entering, is the entry:
/// it said "0s"); once rolled back, the launch stopped at its rollback.
#[test]
fn log_times_the_current_phase_until_now_and_a_rollback_until_it_ended() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    let journal = dir.path().join("launch.sqlite");
    let desk = Desk {
        demo: &demo,
        state: dir.path(),
        layout: demo_layout(),
        journal: path_str(&journal),
    };
    desk.ok(&["start"]);
    std::thread::sleep(Duration::from_millis(2100));
    let md = desk.ok(&["log"]);
    let row = md
        .lines()
        .find(|l| l.starts_with("| preflight |"))
        .unwrap_or_else(|| panic!("no preflight row:\n{md}"));
    assert!(row.contains("(current)"), "{row}");
    let took = row
        .rsplit('|')
        .nth(1)
        .and_then(|d| d.trim().strip_suffix(" so far"))
        .unwrap_or_else(|| panic!("no running duration in {row:?}"));
    assert_ne!(took, "0s", "{row}");

    desk.ok(&["rollback", "--reason", "done", "--yes"]);
    std::thread::sleep(Duration::from_millis(1100));
    let md = desk.ok(&["log"]);
    let row = md.lines().find(|l| l.starts_with("| preflight |")).unwrap();
    assert!(
        !row.contains("so far"),
        "a rolled-back launch still running: {row}"
    );
}
