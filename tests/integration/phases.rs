//! Phase mechanics end to end: `on_enter` runs on entry with the launch's
//! context in `GONOGO_*` variables (never on its command line), a phase
//! that overruns its timebox is recorded exactly once even with two guards
//! watching, and soak time is enforced.

use std::path::Path;
use std::time::Duration;

use crate::util::procs::{
    self, count_kind, gonogo_cmd, path_str, poll_until, raw_events, run, text, watch,
};

/// A two-phase launch with no network signals: an inline checklist gate.
fn layout(dir: &Path, out: &Path, second: &str) -> String {
    layout_with(dir, out, "", second)
}

/// The same, with extra keys for the first phase too.
fn layout_with(dir: &Path, out: &Path, first: &str, second: &str) -> String {
    let path = dir.join("phases.toml");
    std::fs::write(
        &path,
        format!(
            r#"[launch]
name = "phases"
id = "phases"

[signals.ready]
kind = "checklist"
items = ["go"]
every = "500ms"

[[phases]]
id = "first"
gates = [{{ signal = "ready", complete = true }}]
{first}

[[phases]]
id = "second"
on_enter = ["sh", "-c", "echo \"$GONOGO_LAUNCH|$GONOGO_PHASE|$GONOGO_ACTOR|$GONOGO_REASON\" >> {out}; echo entered"]
{second}

[[phases]]
id = "third"
"#,
            out = out.display()
        ),
    )
    .unwrap();
    path_str(&path)
}

#[test]
fn on_enter_gets_context_in_its_environment_and_is_recorded() {
    let dir = procs::tempdir();
    let out = dir.path().join("entered.txt");
    let layout = layout(dir.path(), &out, "");
    let journal = path_str(&dir.path().join("j.sqlite"));
    let act = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--journal", &journal]);
        run(&mut gonogo_cmd(dir.path(), None, &all))
    };
    let o = act(&["start", &layout]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = act(&[
        "check-item",
        &layout,
        "--checklist",
        "ready",
        "--item",
        "go",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = act(&["advance", &layout, "--override", "not needed"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("on_enter of second (sh -c"), "{stdout}");
    assert!(stdout.contains("ended: exit status 0"), "{stdout}");
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .map_or_else(|| "?".into(), |u| u.name);
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written, format!("phases|second|{user}|not needed\n"));
    let events = raw_events(Path::new(&journal));
    let ran = events
        .iter()
        .find(|e| e.2 == "on_enter_ran")
        .expect("on_enter recorded");
    assert!(
        ran.3.contains("\"output_tail\":\"entered\\n\""),
        "{}",
        ran.3
    );
    let log = text(&act(&["log", &layout]).stdout);
    assert!(log.contains("output (tail)"), "{log}");
}

#[test]
fn a_timebox_overrun_is_recorded_once_across_guards() {
    let dir = procs::tempdir();
    let out = dir.path().join("entered.txt");
    let layout = layout(dir.path(), &out, "timebox = \"1s\"");
    let journal = dir.path().join("j.sqlite");
    let j = path_str(&journal);
    procs::start(dir.path(), None, &layout, &journal);
    let o = run(&mut gonogo_cmd(
        dir.path(),
        None,
        &["advance", &layout, "--override", "test", "--journal", &j],
    ));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let mut a = watch(dir.path(), None, &layout, &journal);
    let mut b = watch(dir.path(), None, &layout, &journal);
    let said = |l: &str| l.contains("phase second ran past its timebox of 1s");
    a.expect("timebox line", said, Duration::from_secs(10));
    b.expect("timebox line", said, Duration::from_secs(10));
    // Both guards keep ticking; the record still holds one overrun.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count_kind(&journal, "timebox_overrun"), 1);
    a.drain();
    assert_eq!(a.count(said), 1, "{}", a.transcript());
}

#[test]
fn soak_time_is_enforced() {
    let dir = procs::tempdir();
    let out = dir.path().join("entered.txt");
    let layout = layout(dir.path(), &out, "soak = \"1h\"");
    let j = path_str(&dir.path().join("j.sqlite"));
    procs::start(dir.path(), None, &layout, &dir.path().join("j.sqlite"));
    let o = run(&mut gonogo_cmd(
        dir.path(),
        None,
        &["advance", &layout, "--override", "test", "--journal", &j],
    ));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = run(&mut gonogo_cmd(
        dir.path(),
        None,
        &["advance", &layout, "--journal", &j],
    ));
    assert_eq!(o.status.code(), Some(1));
    let why = text(&o.stderr);
    assert!(
        why.starts_with("cannot advance from second: soak: 59m")
            && why.trim_end().ends_with("of 1h left"),
        "{why}"
    );
    let refused = poll_until(Duration::from_secs(1), || {
        raw_events(Path::new(&j))
            .into_iter()
            .find(|e| e.2 == "refused")
    });
    assert!(refused.is_some());
}

/// The first phase is entered by an explicit, journaled `start`: its
/// `on_enter` runs then, and its soak counts from then (before `start`
/// existed, a first phase's soak could never be met and its `on_enter`
/// never ran, while `validate` said ok).
#[test]
fn start_enters_the_first_phase_running_its_on_enter_and_anchoring_its_soak() {
    let dir = procs::tempdir();
    let out = dir.path().join("entered.txt");
    let first = r#"soak = "2s"
on_enter = ["sh", "-c", "echo \"$GONOGO_PHASE|$GONOGO_ACTOR\" >> entered.txt; echo first entered"]"#;
    let layout = layout_with(dir.path(), &out, first, "");
    let journal = dir.path().join("j.sqlite");
    let j = path_str(&journal);
    let act = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--journal", &j]);
        run(&mut gonogo_cmd(dir.path(), None, &all))
    };
    // NOT STARTED: nothing is signed or advanced, not even with an override.
    let o = act(&["advance", &layout, "--override", "skip it"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("the launch is NOT STARTED"),
        "{}",
        text(&o.stderr)
    );
    let o = act(&["check", &layout, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert_eq!(v["started"], false, "{v}");
    assert!(!out.exists(), "no on_enter before the start");

    let o = act(&["start", &layout]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("STARTED the launch: entered first"),
        "{stdout}"
    );
    assert!(stdout.contains("on_enter of first (sh -c"), "{stdout}");
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .map_or_else(|| "?".into(), |u| u.name);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("first|{user}\n"),
        "on_enter ran once, in the layout's directory, with its context"
    );
    let o = act(&["check", &layout, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert_eq!(v["started"], true, "{v}");
    assert_eq!(count_kind(&journal, "started"), 1);
    assert_eq!(count_kind(&journal, "on_enter_ran"), 1);

    // The soak counts from the start: refused now (even with an
    // override, which waives gates, not time), met 2 s later.
    let o = act(&["advance", &layout, "--override", "checklist done by hand"]);
    assert_eq!(o.status.code(), Some(1));
    let why = text(&o.stderr);
    assert!(
        why.starts_with("cannot advance from first: soak: ") && why.contains("of 2s left"),
        "{why}"
    );
    let advanced = poll_until(Duration::from_secs(5), || {
        let o = act(&["advance", &layout, "--override", "checklist done by hand"]);
        (o.status.code() == Some(0)).then_some(o)
    });
    assert!(advanced.is_some(), "the first phase's soak was never met");
    // A second start is refused; the first phase is not entered again.
    let o = act(&["start", &layout]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("cannot start: the launch started already (in second since"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(count_kind(&journal, "started"), 1);
}
