//! Auto-rollback end to end: real `gonogo watch` guards against the real
//! demo service, with an injected fault. Two guards on one journal fire
//! the rollback exactly once; a disarmed launch never fires; and a trigger
//! never fires on UNKNOWN (the metrics source gone), not even one that was
//! already holding when the data went away.

use std::path::Path;
use std::time::Duration;

use crate::util::procs::{
    self, Demo, count_kind, gonogo_cmd, path_str, poll_until, run, text, watch,
};

/// A launch already in its auto-rollback phase: one error-rate trigger on
/// the demo's `/api/stats`, a rollback that appends a line to `fired`.
fn layout(dir: &Path, fired: &Path, window: &str) -> String {
    let path = dir.join("auto.toml");
    std::fs::write(
        &path,
        format!(
            r#"[launch]
name = "Auto-rollback drill"
id = "auto"

[signals.error_rate]
kind = "json"
url = "${{DEMO_URL}}/api/stats"
path = "$.error_rate"
unit = "ratio"
every = "500ms"

[[phases]]
id = "canary"
gates = [{{ signal = "error_rate", below = "1%" }}]

[[phases]]
id = "full"
gates = [{{ signal = "error_rate", below = "1%" }}]

[rollback]
run = ["sh", "-c", "echo fired >> '{}'; echo traffic back on v1"]
timeout = "10s"
auto_from = "canary"
triggers = [{{ signal = "error_rate", above = "2%", for = "{window}" }}]
"#,
            fired.display()
        ),
    )
    .unwrap();
    path_str(&path)
}

fn lines_in(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|s| s.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

const FIRED: &str = "trigger \"error_rate > 2% for";

#[test]
fn two_guards_on_one_journal_fire_the_rollback_exactly_once() {
    let dir = procs::tempdir();
    let journal = dir.path().join("auto.sqlite");
    guards_fire_the_rollback_exactly_once(&dir, &journal, 2);
}

/// The team journal: three guards (as on three machines), one database.
#[test]
fn three_guards_on_a_postgres_journal_fire_the_rollback_exactly_once() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let dir = procs::tempdir();
    let journal = std::path::PathBuf::from(cluster.database());
    guards_fire_the_rollback_exactly_once(&dir, &journal, 3);
}

fn guards_fire_the_rollback_exactly_once(dir: &tempfile::TempDir, journal: &Path, guards: usize) {
    let demo = Demo::start();
    let fired = dir.path().join("fired.txt");
    let layout = layout(dir.path(), &fired, "2s");
    let journal = journal.to_path_buf();
    procs::start(dir.path(), Some(&demo.url), &layout, &journal);
    let mut all: Vec<_> = (0..guards)
        .map(|_| watch(dir.path(), Some(&demo.url), &layout, &journal))
        .collect();
    // Every guard sees a healthy service first.
    for w in &mut all {
        w.expect(
            "with the trigger clear",
            |l| l.contains("trigger \"error_rate > 2% for 2s\" clear"),
            Duration::from_secs(10),
        );
    }
    demo.fault("errors?rate=0.5");
    let finished = poll_until(Duration::from_secs(12), || {
        (count_kind(&journal, "rollback_finished") > 0).then_some(())
    });
    for w in &mut all {
        w.drain();
    }
    let transcripts = |all: &[procs::Lines]| {
        all.iter()
            .enumerate()
            .map(|(i, w)| format!("guard {i}:\n{}", w.transcript()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        finished.is_some(),
        "no rollback within 12 s of the fault\n{}",
        transcripts(&all)
    );
    // The breach goes on: no guard may fire again.
    std::thread::sleep(Duration::from_secs(3));
    for w in &mut all {
        w.drain();
    }
    let transcripts = transcripts(&all);
    assert_eq!(
        lines_in(&fired),
        vec!["fired".to_string()],
        "the rollback command ran other than once\n{transcripts}"
    );
    assert_eq!(count_kind(&journal, "rollback_started"), 1, "{transcripts}");
    // The guard that ran it printed the command's output as it ran.
    let printed = all
        .iter()
        .filter(|w| w.count(|l| l.ends_with("   traffic back on v1")) == 1)
        .count();
    assert_eq!(printed, 1, "{transcripts}");
    assert_eq!(
        count_kind(&journal, "rollback_finished"),
        1,
        "{transcripts}"
    );
    let events = procs::raw_events(&journal);
    let started = events.iter().find(|e| e.2 == "rollback_started").unwrap();
    // Who the journal says acted (the file's owner, the database user),
    // never a name the guard chose; the triggers say it was automatic.
    let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap()
        .name;
    assert!(
        started.1 == me || started.1 == "gonogo",
        "recorded as its authenticated user: {started:?}"
    );
    assert!(
        started.3.contains(r#""triggers":["#),
        "recorded as automatic: {started:?}"
    );
    assert!(
        started.3.contains("error_rate > 2% for 2s"),
        "names its trigger: {started:?}"
    );
    // Both guards tell their operators: each shows the rollback and its end.
    for (name, w) in all.iter().enumerate() {
        assert_eq!(
            w.count(|l| l.contains("AUTO-ROLLBACK fired by")),
            1,
            "guard {name} must show the rollback once\n{transcripts}"
        );
        assert_eq!(
            w.count(|l| l.contains("ROLLED BACK: the rollback command ended with exit status 0")),
            1,
            "guard {name} must show the rollback's end once\n{transcripts}"
        );
        // Never a bare "rolled back": its end names the trigger and value.
        assert_eq!(
            w.count(|l| l.contains("ROLLED BACK: the rollback command ended")
                && l.contains("(cause: ")
                && l.contains("error_rate > 2% for 2s (breaching: ")),
            1,
            "guard {name}: the rollback's end does not name its cause\n{transcripts}"
        );
    }
    // And the launch is ROLLED BACK for every process.
    let out = run(&mut gonogo_cmd(
        dir.path(),
        Some(&demo.url),
        &[
            "advance",
            &layout,
            "--override",
            "ship it anyway",
            "--journal",
            &path_str(&journal),
        ],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("the launch is ROLLED BACK"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_disarmed_launch_does_not_fire() {
    let demo = Demo::start();
    let dir = procs::tempdir();
    let fired = dir.path().join("fired.txt");
    let layout = layout(dir.path(), &fired, "1s");
    let journal = dir.path().join("auto.sqlite");
    let out = run(&mut gonogo_cmd(
        dir.path(),
        Some(&demo.url),
        &[
            "disarm",
            &layout,
            "--reason",
            "metric is noisy today",
            "--journal",
            &path_str(&journal),
        ],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    procs::start(dir.path(), Some(&demo.url), &layout, &journal);
    let mut w = watch(dir.path(), Some(&demo.url), &layout, &journal);
    w.expect(
        "with the trigger clear",
        |l| l.contains("trigger \"error_rate > 2% for 1s\" clear"),
        Duration::from_secs(10),
    );
    demo.fault("errors?rate=0.5");
    // The trigger fires as a judgement (the guard says so) …
    w.expect(
        "FIRED",
        |l| l.contains(FIRED) && l.contains("FIRED"),
        Duration::from_secs(10),
    );
    // … but disarmed, nothing runs, however long it holds.
    std::thread::sleep(Duration::from_secs(2));
    w.drain();
    assert_eq!(
        count_kind(&journal, "rollback_started"),
        0,
        "{}",
        w.transcript()
    );
    assert!(lines_in(&fired).is_empty(), "{}", w.transcript());
    assert_eq!(
        w.count(|l| l.contains("AUTO-ROLLBACK")),
        0,
        "{}",
        w.transcript()
    );
}

#[test]
fn unknown_never_fires_a_trigger() {
    let mut demo = Demo::start();
    let dir = procs::tempdir();
    let fired = dir.path().join("fired.txt");
    let layout = layout(dir.path(), &fired, "3s");
    let journal = dir.path().join("auto.sqlite");
    procs::start(dir.path(), Some(&demo.url), &layout, &journal);
    let mut w = watch(dir.path(), Some(&demo.url), &layout, &journal);
    w.expect(
        "with the trigger clear",
        |l| l.contains("trigger \"error_rate > 2% for 3s\" clear"),
        Duration::from_secs(10),
    );
    // The breach starts; the window runs …
    demo.fault("errors?rate=0.5");
    w.expect(
        "HOLDING",
        |l| l.contains(FIRED) && l.contains("HOLDING"),
        Duration::from_secs(10),
    );
    // … and the metrics source goes away mid-window: UNKNOWN from now on.
    demo.stop();
    w.expect(
        "BLIND",
        |l| l.contains(FIRED) && l.contains("BLIND"),
        Duration::from_secs(10),
    );
    // Well past the window: UNKNOWN paused it; it must not have fired.
    std::thread::sleep(Duration::from_secs(4));
    w.drain();
    let transcript = w.transcript();
    assert_eq!(count_kind(&journal, "rollback_started"), 0, "{transcript}");
    assert!(lines_in(&fired).is_empty(), "{transcript}");
    assert_eq!(
        w.count(|l| l.contains("FIRED") || l.contains("AUTO-ROLLBACK")),
        0,
        "{transcript}"
    );
}
