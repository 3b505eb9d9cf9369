//! Only trusted layouts run (SPEC §5): a layout runs commands, so it is
//! refused unless the file and every directory above it are owned by root
//! or the operator and writable by nobody else — a sticky directory such as
//! `/tmp` excepted. Real files, real `chmod`/`chown`, real symlinks.
//!
//! Layouts live in temporary directories under `/tmp`: those are the
//! operator's own, mode 0700, under the sticky, root-owned `/tmp`, so they
//! are trusted until a test makes them not. The cases that hand a file to
//! another user need root (as CI runs); without it they are skipped, saying
//! so, and under CI they fail (`util::require_root`).

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use gonogo::layout;

use crate::util;
use crate::util::procs::BIN;

const EXIT_LAYOUT: i32 = 3;
/// `nobody` on Debian and most systems; the uid is what matters.
const OTHER_UID: u32 = 65534;

const LAYOUT: &str = r#"[launch]
name = "Trust drill"

[signals.preflight]
kind = "checklist"
path = "preflight.md"

[[phases]]
id = "go"
gates = [{ signal = "preflight", complete = true }]
"#;

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid))
        .unwrap_or_else(|e| panic!("chown {uid} {}: {e}", path.display()));
}

/// A layout file (mode 0644) in `dir`, created if need be.
fn write_layout(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let path = dir.join("launch.toml");
    fs::write(&path, LAYOUT).unwrap();
    chmod(&path, 0o644);
    path
}

fn operator() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {}", nix::unistd::geteuid()), |u| u.name)
}

/// The refusal of the layout at `path`, as printed. Every refusal is one
/// line that starts with the layout as given, says whose commands it would
/// run, and ends with the fix.
fn refusal(path: &Path) -> String {
    let line = match layout::load(path) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("{}: an untrusted layout was accepted", path.display()),
    };
    assert!(
        line.starts_with(&format!(
            "{}: refusing an untrusted layout: ",
            path.display()
        )),
        "names the layout first, then why: {line}"
    );
    assert!(!line.contains('\n'), "one line: {line}");
    assert!(
        line.contains(&format!("runs as {}", operator()))
            || line.contains(&format!("commands as {}", operator())),
        "says whose commands it would run: {line}"
    );
    assert!(line.contains("; fix: `"), "gives the fix: {line}");
    line
}

#[test]
fn layout_owned_by_another_user_is_refused() {
    if !util::require_root(&format!("to chown a file to uid {OTHER_UID}")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = write_layout(tmp.path());
    chown(&path, OTHER_UID);
    let line = refusal(&path);
    let real = fs::canonicalize(&path).unwrap();
    assert!(
        line.contains(&format!("the file {} is owned by", real.display())),
        "{line}"
    );
    assert!(line.contains(&format!("uid {OTHER_UID})")), "{line}");
    assert!(
        line.contains(&format!("fix: `chown root {}`", real.display())),
        "{line}"
    );
    assert!(line.contains("copy it into a directory you own"), "{line}");
}

#[test]
fn layout_in_a_directory_owned_by_another_user_is_refused() {
    if !util::require_root(&format!("to chown a directory to uid {OTHER_UID}")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let theirs = tmp.path().join("theirs");
    let path = write_layout(&theirs);
    chown(&theirs, OTHER_UID);
    chmod(&theirs, 0o755);
    let line = refusal(&path);
    let dir = fs::canonicalize(&theirs).unwrap();
    assert!(
        line.contains(&format!("directory {} is owned by", dir.display())),
        "{line}"
    );
    assert!(line.contains(&format!("uid {OTHER_UID})")), "{line}");
    assert!(
        line.contains("copy the layout into a directory you own"),
        "{line}"
    );
}

#[test]
fn layout_in_a_world_writable_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let open = tmp.path().join("open");
    let path = write_layout(&open);
    chmod(&open, 0o777);
    let line = refusal(&path);
    let dir = fs::canonicalize(&open).unwrap();
    assert!(
        line.contains(&format!(
            "directory {} is writable by group and others (mode 0777)",
            dir.display()
        )),
        "names the directory and its mode: {line}"
    );
    assert!(
        line.ends_with(&format!("fix: `chmod go-w {}`", dir.display())),
        "{line}"
    );
}

#[test]
fn layout_in_a_group_writable_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let team = tmp.path().join("team");
    let path = write_layout(&team);
    chmod(&team, 0o775);
    let line = refusal(&path);
    let dir = fs::canonicalize(&team).unwrap();
    assert!(
        line.contains(&format!(
            "directory {} is group-writable (mode 0775)",
            dir.display()
        )),
        "{line}"
    );
    assert!(line.contains("chmod g-w "), "{line}");
}

#[test]
fn group_writable_layout_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_layout(tmp.path());
    chmod(&path, 0o664);
    let line = refusal(&path);
    let real = fs::canonicalize(&path).unwrap();
    assert!(
        line.contains(&format!(
            "the file {} is group-writable (mode 0664)",
            real.display()
        )),
        "{line}"
    );
    assert!(
        line.ends_with(&format!("fix: `chmod g-w {}`", real.display())),
        "{line}"
    );
}

#[test]
fn layout_in_a_sticky_world_writable_directory_is_accepted() {
    // Like /tmp: mode 1777, owned by root (or, without root, by the
    // operator). Others may add files there but not replace ours.
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("sticky");
    let path = write_layout(&shared);
    chmod(&shared, 0o1777);
    let l = layout::load(&path).unwrap_or_else(|e| panic!("refused: {e}"));
    assert_eq!(l.phases.len(), 1);
    // Without the sticky bit, the same directory is refused.
    chmod(&shared, 0o777);
    let line = refusal(&path);
    assert!(line.contains("(mode 0777)"), "{line}");
}

#[test]
fn symlink_to_a_trusted_layout_is_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let real = write_layout(&tmp.path().join("plans"));
    let link = tmp.path().join("current.toml");
    symlink(&real, &link).unwrap();
    let l = layout::load(&link).unwrap_or_else(|e| panic!("refused: {e}"));
    // Relative paths resolve beside the file read, in the directory that
    // was checked, not beside the link.
    let gonogo::layout::Probe::Checklist(gonogo::layout::ChecklistSource::Path(p)) =
        &l.signals[0].probe
    else {
        panic!("a checklist from a path: {:?}", l.signals[0].probe);
    };
    assert_eq!(
        fs::canonicalize(p.parent().unwrap()).unwrap(),
        fs::canonicalize(tmp.path().join("plans")).unwrap(),
        "{}",
        p.display()
    );
}

#[test]
fn symlink_to_an_untrusted_layout_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // A trusted directory holding a link to a file anyone may change.
    let real = write_layout(&tmp.path().join("elsewhere"));
    chmod(&real, 0o666);
    let link = tmp.path().join("launch.toml");
    symlink(&real, &link).unwrap();
    // Named as given, then as the file it really is.
    let line = refusal(&link);
    assert!(
        line.contains(&format!(
            "the file {} is writable by group and others (mode 0666)",
            fs::canonicalize(&real).unwrap().display()
        )),
        "{line}"
    );

    // A link to a trusted file, but in an open directory: the file that
    // is read is checked, and its directory is.
    chmod(&real, 0o644);
    let open = tmp.path().join("open");
    let real2 = write_layout(&open);
    chmod(&open, 0o777);
    let link2 = tmp.path().join("launch2.toml");
    symlink(&real2, &link2).unwrap();
    let line = refusal(&link2);
    assert!(
        line.contains(&format!(
            "directory {} is writable",
            fs::canonicalize(&open).unwrap().display()
        )),
        "{line}"
    );
}

#[test]
fn a_fifo_in_place_of_a_layout_is_refused_without_hanging() {
    let Some(mkfifo) = util::require("mkfifo") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("launch.toml");
    let made = Command::new(mkfifo).arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", fifo.display());
    let (tx, rx) = mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(layout::load(&path).err().map(|e| e.to_string()));
    });
    let outcome = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("loading a FIFO must not block waiting for a writer");
    let e = outcome.expect("a FIFO is refused");
    assert!(e.contains("not a regular file"), "{e}");
}

/// The refusal as operators meet it: `validate` and `check` print the one
/// line on stderr and exit 3, before anything runs.
#[test]
fn untrusted_layout_is_one_line_and_exit_3_through_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let open = tmp.path().join("open");
    let path = write_layout(&open);
    chmod(&open, 0o777);
    let dir = fs::canonicalize(&open).unwrap();
    for cmd in ["validate", "check"] {
        let out = Command::new(BIN)
            .arg(cmd)
            .arg(&path)
            .env("XDG_STATE_HOME", tmp.path().join("state"))
            .output()
            .expect("run gonogo");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(EXIT_LAYOUT),
            "gonogo {cmd}: {stderr}"
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "gonogo {cmd}: one line: {stderr}"
        );
        assert!(
            stderr.starts_with(&format!(
                "{}: refusing an untrusted layout: ",
                path.display()
            )),
            "gonogo {cmd}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("directory {}", dir.display())),
            "gonogo {cmd}: names the directory: {stderr}"
        );
        assert!(
            stderr
                .trim_end()
                .ends_with(&format!("fix: `chmod go-w {}`", dir.display())),
            "gonogo {cmd}: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "gonogo {cmd}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// What was checked is what is returned to pin: the text of the file read.
#[test]
fn load_with_text_returns_the_text_it_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_layout(tmp.path());
    let (l, text) = layout::load_with_text(&path).unwrap_or_else(|e| panic!("refused: {e}"));
    assert_eq!(text, LAYOUT);
    assert_eq!(l.launch.name, "Trust drill");
    chmod(tmp.path(), 0o777);
    assert!(layout::load_with_text(&path).is_err());
}
