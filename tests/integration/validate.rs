//! `gonogo validate` as an operator meets it: the real binary, run on broken
//! layouts, must print exactly the expected `file:line:col: message (hint)`
//! lines on stderr and exit 3.
//!
//! Each `tests/bad_layouts/NN-name.toml` breaks one rule (the `several`
//! file breaks many) and `NN-name.expected` holds the full stderr of
//! `gonogo validate NN-name.toml` run from that directory. After changing a
//! message on purpose, regenerate the expectations and review the diff:
//!
//! ```text
//! UPDATE_EXPECTED=1 cargo test --test integration validate::
//! git diff tests/bad_layouts
//! ```

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::procs::{BIN, text};

/// `validate`'s exit status for a layout that cannot be used.
const EXIT_LAYOUT: i32 = 3;

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_layouts")
}

fn validate(dir: &Path, layout: &Path) -> Output {
    Command::new(BIN)
        .arg("validate")
        .arg(layout)
        .current_dir(dir)
        .output()
        .expect("run gonogo validate")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_EXPECTED").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Runs one bad layout and compares (or, with `UPDATE_EXPECTED=1`, rewrites)
/// its expected stderr.
fn check_bad_layout(stem: &str) {
    let dir = bad_dir();
    let toml = format!("{stem}.toml");
    let expected_path = dir.join(format!("{stem}.expected"));
    let out = validate(&dir, Path::new(&toml));
    let stderr = text(&out.stderr);

    assert_eq!(
        out.status.code(),
        Some(EXIT_LAYOUT),
        "{toml}: expected exit {EXIT_LAYOUT}\nstdout:\n{}\nstderr:\n{stderr}",
        text(&out.stdout)
    );
    assert!(
        out.stdout.is_empty(),
        "{toml}: nothing belongs on stdout for a broken layout, got:\n{}",
        text(&out.stdout)
    );

    if updating() {
        fs::write(&expected_path, &stderr).expect("write expectation");
        return;
    }
    let expected = fs::read_to_string(&expected_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\n(run `UPDATE_EXPECTED=1 cargo test --test integration validate::` to create it)",
            expected_path.display()
        )
    });
    assert!(
        stderr == expected,
        "{toml}: stderr differs from {stem}.expected\n--- expected\n{expected}--- actual\n{stderr}---\n\
         (if the change is intended: UPDATE_EXPECTED=1 cargo test --test integration validate::)"
    );

    // One broken rule, one error; the exception proves all are reported.
    let lines = stderr.lines().count();
    if stem.contains("several") {
        assert!(lines >= 5, "{toml}: expected many errors, got {lines}");
    } else {
        assert_eq!(lines, 1, "{toml}: should break exactly one rule:\n{stderr}");
    }
    for line in stderr.lines() {
        assert!(
            line.starts_with(&format!("{toml}:")),
            "{toml}: every error starts with `file:line:col:`, got: {line}"
        );
    }
}

macro_rules! bad_layouts {
    ($($test:ident => $stem:literal,)*) => {
        /// Every layout with a test, to check none in the directory is missed.
        const LISTED: &[&str] = &[$($stem),*];
        $(
            #[test]
            fn $test() {
                check_bad_layout($stem);
            }
        )*
    };
}

bad_layouts! {
    toml_syntax_error => "01-toml-syntax",
    unknown_key_suggests_the_right_one => "02-unknown-key",
    missing_launch_name => "03-missing-launch-name",
    wrong_value_type => "04-wrong-type",
    bad_duration => "05-bad-duration",
    unknown_signal_kind => "06-unknown-kind",
    bad_url => "07-bad-url",
    bad_jsonpath => "08-bad-jsonpath",
    json_signal_missing_path => "09-json-missing-path",
    gate_names_unknown_signal => "10-gate-unknown-signal",
    duplicate_phase_id => "11-duplicate-phase",
    gate_with_two_comparisons => "12-gate-two-comparisons",
    gate_with_no_comparison => "13-gate-no-comparison",
    duration_threshold_on_ratio_signal => "14-duration-on-ratio",
    percentage_threshold_on_count_signal => "15-percent-on-count",
    unknown_unit => "16-unknown-unit",
    checklist_with_path_and_items => "17-checklist-path-and-items",
    empty_command_run => "18-empty-command-run",
    up_on_json_signal => "19-up-on-json",
    complete_on_http_signal => "20-complete-on-http",
    auto_from_unknown_phase => "21-auto-from-unknown-phase",
    signoff_role_not_in_roles => "22-signoff-unknown-role",
    bad_t0 => "23-bad-t0",
    unknown_screen_pane => "24-unknown-pane",
    expect_status_out_of_range => "25-expect-status-range",
    quorum_larger_than_triggers => "26-quorum-too-large",
    triggers_without_auto_from => "27-triggers-without-auto-from",
    unterminated_template_in_url => "28-unterminated-template",
    several_errors_reported_at_once_in_file_order => "29-several-errors",
    duplicate_toml_key => "30-duplicate-toml-key",
    transposed_key_in_gate => "31-gate-key-typo",
    url_without_scheme => "32-scheme-less-url",
    duration_past_its_bound => "33-duration-too-long",
    resolves_to_on_a_non_dns_signal => "34-resolves-to-on-http",
    one_of_on_a_numeric_signal => "35-one-of-on-prometheus",
    tcp_address_without_a_port => "36-address-without-port",
    unknown_dns_record_type => "37-unknown-dns-type",
    resolves_to_a_name_on_an_a_record_signal => "38-resolves-to-name-on-a-record",
    threshold_on_a_dns_signal => "39-threshold-on-dns",
    percentage_threshold_on_a_tls_signal => "40-percent-on-tls",
    string_equals_on_a_numeric_signal => "41-string-equals-on-prometheus",
    dns_server_that_is_not_an_address => "42-dns-server-not-an-address",
    tls_signal_with_another_unit => "43-tls-unit-changed",
    depends_on_unknown_signal => "44-depends-on-unknown-signal",
    depends_on_cycle_names_its_path => "45-depends-on-cycle",
    depends_on_itself => "46-depends-on-itself",
    trigger_then_other_than_rollback_or_hold => "50-then-pause",
    quorum_counts_rollback_triggers_only => "51-quorum-counts-rollback-triggers",
}

#[test]
fn every_bad_layout_has_a_test_and_an_expectation() {
    let mut problems = Vec::new();
    let mut stems = Vec::new();
    for entry in fs::read_dir(bad_dir()).expect("read tests/bad_layouts") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => {
                if !LISTED.contains(&stem.as_str()) {
                    problems.push(format!("{name}: not listed in bad_layouts! {{}}"));
                }
                if !updating() && !path.with_extension("expected").exists() {
                    problems.push(format!("{name}: no {stem}.expected"));
                }
                stems.push(stem);
            }
            Some("expected") => {
                if !path.with_extension("toml").exists() {
                    problems.push(format!("{name}: no {stem}.toml beside it"));
                }
            }
            _ => problems.push(format!("{name}: neither .toml nor .expected")),
        }
    }
    for stem in LISTED {
        if !stems.iter().any(|s| s == stem) {
            problems.push(format!("{stem}.toml: listed but missing"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The shipped layouts must stay valid, from any working directory.
#[test]
fn every_shipped_layout_validates() {
    let layouts = Path::new(env!("CARGO_MANIFEST_DIR")).join("layouts");
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let mut seen = 0;
    let mut failures = Vec::new();
    for entry in fs::read_dir(&layouts).expect("read layouts/") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        seen += 1;
        let out = validate(elsewhere.path(), &path);
        let stdout = text(&out.stdout);
        if out.status.code() != Some(0) || !stdout.contains(": ok") {
            failures.push(format!(
                "{}: exit {:?}\nstdout: {stdout}stderr: {}",
                path.display(),
                out.status.code(),
                text(&out.stderr)
            ));
        }
    }
    assert!(seen > 0, "no layouts/*.toml found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A layout runs commands: one anybody can edit is refused.
#[test]
fn world_writable_layout_is_refused() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("launch.toml");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("layouts/demo.toml");
    fs::copy(&demo, &path).expect("copy demo layout");

    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod 644");
    let out = validate(tmp.path(), &path);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the copy itself is valid: {}",
        text(&out.stderr)
    );

    fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).expect("chmod 666");
    let out = validate(tmp.path(), &path);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_LAYOUT), "{stderr}");
    assert!(stderr.contains("refusing an untrusted layout"), "{stderr}");
    assert!(
        stderr.contains("is writable by group and others (mode 0666)"),
        "{stderr}"
    );
    assert!(stderr.contains("launch.toml"), "names the file: {stderr}");
    assert!(stderr.contains("fix: `chmod go-w "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn missing_layout_is_one_line_and_exit_3() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = validate(tmp.path(), Path::new("no-such-launch.toml"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_LAYOUT), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with("no-such-launch.toml: "),
        "names the file first: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

/// A launch id names its journal file: one too long for a file name once
/// validated, then failed every act. It is refused where it is written.
#[test]
fn an_overlong_launch_id_is_refused_at_validate() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let long = "a".repeat(300);
    std::fs::write(
        tmp.path().join("long.toml"),
        format!("[launch]\nname = \"Long\"\nid = \"{long}\"\n\n[signals.s]\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n\n[[phases]]\nid = \"p\"\n"),
    )
    .unwrap();
    let out = validate(tmp.path(), Path::new("long.toml"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_LAYOUT), "{stderr}");
    assert!(stderr.starts_with("long.toml:3:6: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("at most 64"), "{stderr}");
    let ok = "b".repeat(64);
    std::fs::write(
        tmp.path().join("ok.toml"),
        format!("[launch]\nname = \"Ok\"\nid = \"{ok}\"\n\n[signals.s]\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n\n[[phases]]\nid = \"p\"\n"),
    )
    .unwrap();
    let out = validate(tmp.path(), Path::new("ok.toml"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// What would fail only at the worst moment fails at `validate`: a
/// rollback script that is not there, an `on_enter` that is not
/// executable, a command-signal program not on PATH, a checklist file
/// gone — each at its `file:line:col`, with the fix. Fixed, it is ok.
#[test]
fn validate_finds_missing_and_unrunnable_programs_and_files() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join("enter.sh"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        tmp.path().join("enter.sh"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("v.toml"),
        r#"[launch]
name = "Validate"
id = "val"

[signals.probe]
kind = "command"
run = ["no-such-program-gonogo-test"]

[signals.list]
kind = "checklist"
path = "missing.md"

[[phases]]
id = "one"
on_enter = ["./enter.sh"]
gates = [{ signal = "probe", up = true }]

[rollback]
run = ["./rollbak.sh"]
"#,
    )
    .unwrap();
    let out = validate(tmp.path(), Path::new("v.toml"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_LAYOUT), "{stderr}");
    let real = std::fs::canonicalize(tmp.path()).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "v.toml:7:8: `run` program no-such-program-gonogo-test is not on PATH (install it, or give its path: ./bin/… is beside the layout)".to_string(),
            format!("v.toml:11:8: checklist file {}/missing.md does not exist (create it, or fix `path`: a relative path is beside the layout)", real.display()),
            format!("v.toml:15:13: `on_enter` program {0}/enter.sh is not executable (chmod +x {0}/enter.sh)", real.display()),
            format!("v.toml:19:8: `run` program {}/rollbak.sh does not exist (create it, or fix the path: a relative path is beside the layout)", real.display()),
        ]
    );
    std::fs::set_permissions(
        tmp.path().join("enter.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::copy(tmp.path().join("enter.sh"), tmp.path().join("rollbak.sh")).unwrap();
    std::fs::write(tmp.path().join("missing.md"), "- [ ] go\n").unwrap();
    let fixed = std::fs::read_to_string(tmp.path().join("v.toml"))
        .unwrap()
        .replace("no-such-program-gonogo-test", "true");
    std::fs::write(tmp.path().join("v.toml"), fixed).unwrap();
    let out = validate(tmp.path(), Path::new("v.toml"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
