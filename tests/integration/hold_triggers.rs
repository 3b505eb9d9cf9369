//! Hold triggers end to end: real `gonogo watch` guards against the real
//! demo service, with the webhook queue backed up by a fault. A
//! `then = "hold"` trigger puts the launch ON HOLD once per breach, across
//! every guard on the journal; after a resume the same breach never holds
//! again until it clears; it never counts toward the rollback quorum; and
//! it never stands in the way of a rollback.

use std::path::Path;
use std::time::Duration;

use crate::util::procs::{
    self, Demo, Lines, count_kind, gonogo_cmd, path_str, poll_until, run, text, watch,
};

/// A launch already in its guarded phase, polling the demo's webhook
/// queue, error rate and p95 every 500 ms, with `triggers` and `quorum`.
fn layout(dir: &Path, triggers: &str, quorum: usize) -> String {
    let path = dir.join("hold.toml");
    std::fs::write(
        &path,
        format!(
            r#"[launch]
name = "Hold drill"
id = "hold"

[signals.webhook_queue]
kind = "json"
url = "${{DEMO_URL}}/api/queues"
path = "$.webhook.pending"
unit = "count"
every = "500ms"

[signals.error_rate]
kind = "json"
url = "${{DEMO_URL}}/api/stats"
path = "$.error_rate"
unit = "ratio"
every = "500ms"

[signals.p95]
kind = "json"
url = "${{DEMO_URL}}/api/stats"
path = "$.latency_ms.p95"
unit = "ms"
every = "500ms"

[[phases]]
id = "canary"
gates = [{{ signal = "error_rate", below = "1%" }}]

[[phases]]
id = "full"
gates = [{{ signal = "error_rate", below = "1%" }}]

[rollback]
run = ["sh", "-c", "echo traffic back on v1"]
timeout = "10s"
auto_from = "canary"
quorum = {quorum}
triggers = [
{triggers}
]
"#
        ),
    )
    .unwrap();
    path_str(&path)
}

const HOLD: &str = r#"  { signal = "webhook_queue", above = 500, for = "1s", then = "hold" },"#;
const HOLD_LABEL: &str = "hold trigger \"webhook_queue > 500 for 1s\"";

fn act(dir: &Path, demo: &Demo, journal: &Path, args: &[&str]) -> std::process::Output {
    let mut all: Vec<&str> = args.to_vec();
    let j = path_str(journal);
    all.extend(["--journal", &j]);
    run(&mut gonogo_cmd(dir, Some(&demo.url), &all))
}

fn clear_first(w: &mut Lines) {
    w.expect(
        "the hold trigger clear",
        |l| l.contains(HOLD_LABEL) && l.contains(" clear "),
        Duration::from_secs(10),
    );
}

fn holds_within(journal: &Path, n: usize, limit: Duration) -> bool {
    poll_until(limit, || {
        (count_kind(journal, "auto_held") >= n).then_some(())
    })
    .is_some()
}

#[test]
fn a_hold_trigger_puts_the_launch_on_hold_once_with_its_cause_on_record() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    let layout = layout(
        dir.path(),
        &format!("{HOLD}\n  {{ signal = \"error_rate\", above = \"50%\", for = \"1s\" }},"),
        1,
    );
    let journal = dir.path().join("hold.sqlite");
    procs::start(dir.path(), Some(&demo.url), &layout, &journal);
    // Disarming auto-rollback is about the rollback command: the hold,
    // which only asks a person, stays armed.
    let out = act(
        dir.path(),
        &demo,
        &journal,
        &[
            "disarm",
            &layout,
            "--reason",
            "rollback script under repair",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut w = watch(dir.path(), Some(&demo.url), &layout, &journal);
    clear_first(&mut w);
    demo.fault("queue?pending=600");
    let held = holds_within(&journal, 1, Duration::from_secs(10));
    // The breach goes on: nothing may hold again while on hold.
    std::thread::sleep(Duration::from_secs(3));
    w.drain();
    let transcript = w.transcript();
    assert!(held, "no hold within 10 s of the backlog\n{transcript}");
    assert_eq!(count_kind(&journal, "auto_held"), 1, "{transcript}");
    assert_eq!(count_kind(&journal, "rollback_started"), 0, "{transcript}");
    // `watch` says the trigger fired and the launch is held, once each.
    assert_eq!(
        w.count(|l| l.contains(HOLD_LABEL) && l.contains("FIRED")),
        1,
        "{transcript}"
    );
    assert_eq!(
        w.count(|l| l.contains("AUTO-HOLD fired by")),
        1,
        "{transcript}"
    );

    // The record names the trigger and its evidence: signal, value and
    // threshold at that moment.
    let out = act(dir.path(), &demo, &journal, &["log", &layout]);
    let log = text(&out.stdout);
    let line = log
        .lines()
        .find(|l| l.contains("AUTO-HOLD fired by"))
        .unwrap_or_else(|| panic!("no hold in the log:\n{log}"));
    assert!(
        line.contains("webhook_queue > 500 for 1s (breaching: ") && line.contains(" (> 500))"),
        "{line}"
    );
    // `check` and `advance` see the launch ON HOLD.
    let out = act(dir.path(), &demo, &journal, &["check", &layout]);
    assert!(
        text(&out.stdout).contains("ON HOLD by")
            && text(&out.stdout).contains("auto-hold: webhook_queue > 500 for 1s"),
        "{}",
        text(&out.stdout)
    );
    assert_ne!(out.status.code(), Some(0));
    let out = act(
        dir.path(),
        &demo,
        &journal,
        &["advance", &layout, "--override", "ship it anyway"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
}

#[test]
fn two_guards_on_one_journal_hold_exactly_once() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    let layout = layout(dir.path(), HOLD, 1);
    let journal = dir.path().join("hold.sqlite");
    procs::start(dir.path(), Some(&demo.url), &layout, &journal);
    let mut a = watch(dir.path(), Some(&demo.url), &layout, &journal);
    let mut b = watch(dir.path(), Some(&demo.url), &layout, &journal);
    clear_first(&mut a);
    clear_first(&mut b);
    demo.fault("queue?pending=600");
    let held = holds_within(&journal, 1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(3));
    a.drain();
    b.drain();
    let transcripts = format!("guard A:\n{}\nguard B:\n{}", a.transcript(), b.transcript());
    assert!(held, "no hold within 10 s\n{transcripts}");
    assert_eq!(count_kind(&journal, "auto_held"), 1, "{transcripts}");
    // Both guards tell their operators, once each.
    for (name, w) in [("A", &a), ("B", &b)] {
        assert_eq!(
            w.count(|l| l.contains("AUTO-HOLD fired by")),
            1,
            "guard {name} must show the hold once\n{transcripts}"
        );
    }
}

#[test]
fn after_a_resume_the_same_breach_does_not_hold_again_until_it_clears() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    let layout = layout(dir.path(), HOLD, 1);
    let journal = dir.path().join("hold.sqlite");
    procs::start(dir.path(), Some(&demo.url), &layout, &journal);
    let mut w = watch(dir.path(), Some(&demo.url), &layout, &journal);
    clear_first(&mut w);
    demo.fault("queue?pending=600");
    assert!(
        holds_within(&journal, 1, Duration::from_secs(10)),
        "{}",
        w.transcript()
    );
    // A person looks and resumes; the backlog is still there.
    let out = act(dir.path(), &demo, &journal, &["resume", &layout]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Several windows later the same breach has not held again.
    std::thread::sleep(Duration::from_secs(4));
    w.drain();
    assert_eq!(
        count_kind(&journal, "auto_held"),
        1,
        "the breach the person resumed past held again\n{}",
        w.transcript()
    );
    // It clears, then breaches anew for its whole window: a new breach,
    // which holds (so the silence above was the rule, not a dead guard).
    demo.fault("queue?pending=0");
    let clear = |l: &str| l.contains(HOLD_LABEL) && l.contains(" clear ");
    let cleared = poll_until(Duration::from_secs(10), || {
        w.drain();
        (w.count(clear) >= 2).then_some(())
    });
    assert!(cleared.is_some(), "never cleared\n{}", w.transcript());
    demo.fault("queue?pending=600");
    let again = holds_within(&journal, 2, Duration::from_secs(10));
    w.drain();
    assert!(again, "a new breach did not hold\n{}", w.transcript());
    assert_eq!(count_kind(&journal, "auto_held"), 2, "{}", w.transcript());
}

#[test]
fn a_hold_trigger_never_counts_toward_the_rollback_quorum() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    // Quorum 2 of the rollback triggers; the error trigger and the hold
    // trigger breach, p95 does not: one rollback cue only.
    let layout = layout(
        dir.path(),
        &format!(
            "{HOLD}\n  {{ signal = \"error_rate\", above = \"2%\", for = \"1s\" }},\n  {{ signal = \"p95\", above = \"60s\", for = \"1s\" }},"
        ),
        2,
    );
    let journal = dir.path().join("hold.sqlite");
    procs::start(dir.path(), Some(&demo.url), &layout, &journal);
    let mut w = watch(dir.path(), Some(&demo.url), &layout, &journal);
    clear_first(&mut w);
    demo.fault("queue?pending=600");
    demo.fault("errors?rate=0.5");
    w.expect(
        "the error trigger FIRED",
        |l| l.contains("trigger \"error_rate > 2% for 1s\" FIRED"),
        Duration::from_secs(10),
    );
    let held = holds_within(&journal, 1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(3));
    w.drain();
    let transcript = w.transcript();
    assert!(held, "the hold trigger did not hold\n{transcript}");
    assert_eq!(
        count_kind(&journal, "rollback_started"),
        0,
        "a hold trigger made up the rollback quorum\n{transcript}"
    );
}

#[test]
fn a_rollback_outranks_a_hold_that_fires_with_it() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    // The same cue twice: both windows fill on the same sample, so both
    // fire at the very same moment.
    let layout = layout(
        dir.path(),
        r#"  { signal = "error_rate", above = "2%", for = "1s", then = "hold" },
  { signal = "error_rate", above = "2%", for = "1s" },"#,
        1,
    );
    let journal = dir.path().join("hold.sqlite");
    procs::start(dir.path(), Some(&demo.url), &layout, &journal);
    let mut w = watch(dir.path(), Some(&demo.url), &layout, &journal);
    w.expect(
        "the hold trigger clear",
        |l| l.contains("hold trigger \"error_rate > 2% for 1s\" clear"),
        Duration::from_secs(10),
    );
    demo.fault("errors?rate=0.5");
    let finished = poll_until(Duration::from_secs(12), || {
        (count_kind(&journal, "rollback_finished") > 0).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    w.drain();
    let transcript = w.transcript();
    assert!(finished.is_some(), "no rollback\n{transcript}");
    assert_eq!(count_kind(&journal, "rollback_started"), 1, "{transcript}");
    // The rollback is the act; the hold cue is noted beside it, once, and
    // no hold is recorded on the launch rolling back.
    let events = procs::raw_events(&journal);
    assert_eq!(count_kind(&journal, "auto_held"), 0, "{events:#?}");
    let notes = events
        .iter()
        .filter(|e| e.2 == "noted" && e.3.contains("outranks them: error_rate > 2% for 1s"))
        .count();
    assert_eq!(notes, 1, "{transcript}\n{events:#?}");
}

#[test]
fn a_hold_never_blocks_a_rollback() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    let layout = layout(
        dir.path(),
        &format!("{HOLD}\n  {{ signal = \"error_rate\", above = \"2%\", for = \"1s\" }},"),
        1,
    );
    let journal = dir.path().join("hold.sqlite");
    procs::start(dir.path(), Some(&demo.url), &layout, &journal);
    let mut w = watch(dir.path(), Some(&demo.url), &layout, &journal);
    clear_first(&mut w);
    demo.fault("queue?pending=600");
    assert!(
        holds_within(&journal, 1, Duration::from_secs(10)),
        "{}",
        w.transcript()
    );
    // ON HOLD, waiting for a person; then the errors come: the guard rolls
    // back the held launch without waiting for anyone.
    demo.fault("errors?rate=0.5");
    let finished = poll_until(Duration::from_secs(12), || {
        (count_kind(&journal, "rollback_finished") > 0).then_some(())
    });
    w.drain();
    assert!(
        finished.is_some(),
        "the hold blocked the rollback\n{}",
        w.transcript()
    );
    assert_eq!(
        count_kind(&journal, "rollback_started"),
        1,
        "{}",
        w.transcript()
    );
}
