//! Evidence belongs to the definition that took it: samples a guard
//! recorded for a signal never count for a changed definition of it, in
//! any process.

use std::time::Duration;

use crate::util::procs::{self, path_str, run, text};

/// A window GO on `api`; the guard stops; an adopt points `api` at a
/// command that fails. The recorded samples are fresh and held the window
/// — for the old definition. `check` and `advance` poll the new one.
#[test]
fn an_adopt_restarts_the_windows_of_what_it_changes() {
    let dir = procs::tempdir();
    let state = dir.path();
    let text_for = |run: &str| {
        format!(
            r#"[launch]
name = "Evidence"
id = "evidence"

[signals.api]
kind = "command"
run = {run}
every = "1s"
stale_after = "60s"

[[phases]]
id = "canary"
gates = [{{ signal = "api", up = true, for = "2s" }}]

[[phases]]
id = "full"
"#
        )
    };
    let file = dir.path().join("evidence.toml");
    std::fs::write(&file, text_for(r#"["true"]"#)).unwrap();
    let layout = path_str(&file);
    let journal = dir.path().join("evidence.sqlite");
    procs::start(state, None, &layout, &journal);
    let mut guard = procs::watch(state, None, &layout, &journal);
    guard.expect(
        "the window GO",
        |l| l.contains("GO") && l.contains("api"),
        Duration::from_secs(15),
    );
    std::thread::sleep(Duration::from_secs(3));
    drop(guard);
    let check = |what: &str| {
        let out = run(&mut procs::gonogo_cmd(
            state,
            None,
            &["check", &layout, "--json", "--journal", &path_str(&journal)],
        ));
        let v: serde_json::Value = serde_json::from_str(&text(&out.stdout))
            .unwrap_or_else(|e| panic!("{what}: {e}: {}", text(&out.stderr)));
        v["gates"][0]["state"].as_str().unwrap().to_string()
    };
    assert_eq!(check("before the adopt"), "GO");
    std::fs::write(&file, text_for(r#"["false"]"#)).unwrap();
    let out = run(&mut procs::gonogo_cmd(
        state,
        None,
        &["adopt", &layout, "--journal", &path_str(&journal)],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(check("after the adopt"), "NO-GO");
    let out = run(&mut procs::gonogo_cmd(
        state,
        None,
        &["advance", &layout, "--journal", &path_str(&journal)],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("gates not GO"),
        "{}",
        text(&out.stderr)
    );
}
