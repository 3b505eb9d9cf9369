//! Roles by real OS identity (SPEC §1, §5): `[roles]` maps roles to OS user
//! names, the effective uid's name is who acts, and nobody signs (or
//! revokes) for a role they are not listed under.
//!
//! Needs root: it creates two throwaway users (and a group for them) with
//! `useradd`, runs `gonogo` as each of them — a journal file is written by
//! its owner alone, so a group-shared one is refused and another user's
//! is only read — and removes them again, also when the test fails. Without root it is skipped, saying so;
//! under CI it fails (`util::require_root`).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::util;
use crate::util::procs::{self, BIN, text};

/// Removes the users and group it created, whatever happens.
struct Accounts {
    users: Vec<String>,
    group: Option<String>,
}

impl Accounts {
    fn add_group(&mut self, name: &str) {
        let out = Command::new("groupadd")
            .arg(name)
            .output()
            .expect("groupadd");
        assert!(
            out.status.success(),
            "groupadd {name}: {}",
            text(&out.stderr)
        );
        self.group = Some(name.to_string());
    }

    /// A user with no home and no login, in `group` besides its own.
    fn add_user(&mut self, name: &str, group: &str) {
        let out = Command::new("useradd")
            .args(["-M", "-N", "-g", group, "-s", "/usr/sbin/nologin", name])
            .output()
            .expect("useradd");
        assert!(
            out.status.success(),
            "useradd {name}: {}",
            text(&out.stderr)
        );
        self.users.push(name.to_string());
    }
}

/// Two throwaway users, alice and bob, in a throwaway team group, named
/// with `tag` and this process's id; removed when the `Accounts` drop.
fn team(tag: &str) -> (Accounts, String, String, nix::unistd::Gid) {
    let pid = std::process::id();
    let alice = format!("gng_{tag}a_{pid}");
    let bob = format!("gng_{tag}b_{pid}");
    let team = format!("gng_{tag}t_{pid}");
    let mut accounts = Accounts {
        users: Vec::new(),
        group: None,
    };
    accounts.add_group(&team);
    accounts.add_user(&alice, &team);
    accounts.add_user(&bob, &team);
    let gid = nix::unistd::Group::from_name(&team)
        .unwrap()
        .expect("team group")
        .gid;
    (accounts, alice, bob, gid)
}

impl Drop for Accounts {
    fn drop(&mut self) {
        for u in &self.users {
            let _ = Command::new("userdel").arg(u).output();
        }
        if let Some(g) = &self.group {
            let _ = Command::new("groupdel").arg(g).output();
        }
    }
}

/// How to run a command as another user, whichever tool exists.
#[derive(Clone, Copy)]
enum Become {
    Setpriv,
    Runuser,
    Su,
}

impl Become {
    /// The first of the tools that is installed; else [`util::missing`].
    fn find() -> Option<Become> {
        let found = [
            ("setpriv", Become::Setpriv),
            ("runuser", Become::Runuser),
            ("su", Become::Su),
        ]
        .into_iter()
        .find(|(tool, _)| util::find_program(tool).is_some())
        .map(|(_, b)| b);
        if found.is_none() {
            util::missing("none of setpriv, runuser, su is installed");
        }
        found
    }

    /// `argv` run as `user`, with that user's groups (the team group
    /// included) and nothing else of root's.
    fn run(self, user: &str, argv: &[&str]) -> Output {
        let mut cmd = match self {
            Become::Setpriv => {
                let mut c = Command::new("setpriv");
                c.args([
                    &format!("--reuid={user}"),
                    &format!("--regid={}", primary_group(user)),
                    "--init-groups",
                    "--",
                ]);
                c.args(argv);
                c
            }
            Become::Runuser => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]);
                c.args(argv);
                c
            }
            Become::Su => {
                let line: Vec<String> = argv.iter().map(|a| shell_quote(a)).collect();
                let mut c = Command::new("su");
                c.args(["-s", "/bin/sh", "-c", &line.join(" "), user]);
                c
            }
        };
        cmd.env("HOME", "/nonexistent")
            .env_remove("XDG_STATE_HOME")
            .stdin(Stdio::null())
            .output()
            .expect("run as user")
    }
}

fn primary_group(user: &str) -> String {
    let out = Command::new("id").args(["-g", user]).output().expect("id");
    text(&out.stdout).trim().to_string()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The gonogo binary, or a copy other users can run if any directory on
/// the way to it is closed to them.
fn runnable_binary(dir: &Path) -> PathBuf {
    let bin = PathBuf::from(BIN);
    let open = bin
        .ancestors()
        .skip(1)
        .filter(|p| !p.as_os_str().is_empty())
        .all(|p| std::fs::metadata(p).is_ok_and(|m| m.mode() & 0o001 != 0))
        && std::fs::metadata(&bin).is_ok_and(|m| m.mode() & 0o005 == 0o005);
    if open {
        return bin;
    }
    let copy = dir.join("gonogo");
    std::fs::copy(&bin, &copy).expect("copy gonogo");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    copy
}

#[test]
fn roles_are_enforced_by_os_identity() {
    if !util::require_root("(it creates OS users with useradd)") {
        return;
    }
    let Some(become_user) = Become::find() else {
        return;
    };
    let (accounts, alice, bob, gid) = team("r");

    // The layout: root's, readable by all, writable by nobody else.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = runnable_binary(dir.path());
    let layout = dir.path().join("signoff.toml");
    std::fs::write(
        &layout,
        format!(
            r#"[launch]
name = "Roles drill"
id = "roles"

[roles]
cto = ["{alice}"]
devops = ["{bob}", "nobody-else"]

[signals.preflight]
kind = "checklist"
items = ["Team assembled"]

[[phases]]
id = "approve"
signoff = ["cto", "devops"]
gates = [{{ signal = "preflight", complete = true, blocking = false }}]

[[phases]]
id = "done"
"#
        ),
    )
    .unwrap();
    std::fs::set_permissions(&layout, std::fs::Permissions::from_mode(0o644)).unwrap();

    // A setgid directory of the team's (the old way to share a launch):
    // whoever can write the file could write any event under any name,
    // so no act is taken on a journal there.
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::os::unix::fs::chown(&shared, None, Some(gid.as_raw())).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o2770)).unwrap();
    let planted = shared.join("roles.sqlite");
    // Bob's own directory: his journal.
    let bobs = dir.path().join("bob");
    std::fs::create_dir(&bobs).unwrap();
    let bob_uid = nix::unistd::User::from_name(&bob).unwrap().unwrap().uid;
    std::os::unix::fs::chown(&bobs, Some(bob_uid.as_raw()), None).unwrap();
    std::fs::set_permissions(&bobs, std::fs::Permissions::from_mode(0o755)).unwrap();
    let journal = bobs.join("roles.sqlite");
    {
        let argv = [
            runnable_binary(dir.path()).to_str().unwrap().to_string(),
            "start".into(),
            layout.to_str().unwrap().to_string(),
            "--journal".into(),
            planted.to_str().unwrap().to_string(),
        ];
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = become_user.run(&bob, &argv);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("is writable by other users") && err.contains("PostgreSQL"),
            "{err}"
        );
        assert!(!planted.exists(), "nothing made there");
    }

    let (bin, layout, journal_s) = (
        bin.to_str().unwrap().to_string(),
        layout.to_str().unwrap().to_string(),
        journal.to_str().unwrap().to_string(),
    );
    let gonogo = |user: &str, args: &[&str]| {
        let mut argv = vec![bin.as_str(), args[0], layout.as_str()];
        argv.extend_from_slice(&args[1..]);
        argv.extend_from_slice(&["--journal", &journal_s]);
        let out = become_user.run(user, &argv);
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };

    // Bob starts the launch (creating the journal), and is not the CTO:
    // refused, naming him and who is.
    let (code, out, err) = gonogo(&bob, &["start"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = gonogo(&bob, &["sign", "--role", "cto"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert_eq!(
        err.trim_end(),
        format!("cannot sign as cto: {bob} is not in role cto (cto: {alice})")
    );
    // Alice may read bob's journal but not write it: her sign-off would
    // be recorded by whoever owns the file.
    let (code, out, err) = gonogo(&alice, &["sign", "--role", "cto"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains(&format!("belongs to {bob}")) && err.contains("refusing to write journal"),
        "{err}"
    );
    let (code, out, err) = gonogo(&bob, &["sign", "--role", "devops"]);
    assert_eq!(code, Some(0), "{out}{err}");
    // Without the CTO, bob may not advance.
    let (code, out, err) = gonogo(&bob, &["advance"]);
    assert_eq!(code, Some(1), "{out}{err}");

    // The record says who did what, by OS identity, refusals included.
    let events = procs::raw_events(&journal);
    let summary: Vec<(String, String)> = events
        .iter()
        .map(|(_, actor, kind, _)| (actor.clone(), kind.clone()))
        .collect();
    let want: Vec<(String, String)> = [
        (&bob, "layout_pinned"),
        (&bob, "started"),
        (&bob, "refused"),
        (&bob, "signed_off"),
        (&bob, "refused"),
    ]
    .iter()
    .map(|(u, k)| ((*u).clone(), (*k).to_string()))
    .collect();
    assert_eq!(summary, want);
    let devops: serde_json::Value = serde_json::from_str(&events[3].3).unwrap();
    assert_eq!(devops["role"], "devops");
    assert_eq!(devops["phase"], "approve");

    // The file is its owner's alone; the other reads the record and
    // checks its chain.
    let mode = std::fs::metadata(&journal).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o600, "the journal's permissions");
    // Bob lets the team read it (`chmod 644 roles.sqlite*`): still his
    // alone to write.
    for f in std::fs::read_dir(&bobs).unwrap().flatten() {
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let (code, out, err) = gonogo(&alice, &["log", "--verify"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("5 events, hash chain intact"), "{out}");
    drop(accounts);
}

/// The launch's layout is pinned in the journal: a private copy with
/// `[roles]` widened changes nothing (before pinning, anyone who could
/// write the shared journal signed any role this way), and only an owner
/// adopts a changed file — a journaled act whose record keeps the diff.
#[test]
fn a_private_copy_cannot_widen_roles_and_only_an_owner_adopts_a_change() {
    if !util::require_root("(it creates OS users with useradd)") {
        return;
    }
    let Some(become_user) = Become::find() else {
        return;
    };
    let (accounts, alice, bob, gid) = team("p");
    let uid = |name: &str| nix::unistd::User::from_name(name).unwrap().unwrap().uid;

    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = runnable_binary(dir.path());
    let text_of = |cto: &str, extra: &str| {
        let cto = format!("\"{cto}\"");
        format!(
            r#"[launch]
name = "Pinned drill"
id = "pinned"
owners = ["{alice}"]

[roles]
cto = [{cto}]
devops = ["{bob}"]

[signals.preflight]
kind = "checklist"
items = ["Team assembled"]

[[phases]]
id = "approve"
signoff = ["cto"]
gates = [{{ signal = "preflight", complete = true, blocking = false }}]
{extra}
[[phases]]
id = "done"
"#
        )
    };
    // The team's layout: root's, readable by all.
    let layout = dir.path().join("pinned.toml");
    std::fs::write(&layout, text_of(&alice, "")).unwrap();
    std::fs::set_permissions(&layout, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Bob's private copy, in a directory of his own, makes him the CTO.
    let bobs = dir.path().join("bob");
    std::fs::create_dir(&bobs).unwrap();
    let copy = bobs.join("pinned.toml");
    std::fs::write(&copy, text_of(&bob, "")).unwrap();
    std::os::unix::fs::chown(&bobs, Some(uid(&bob).as_raw()), None).unwrap();
    std::os::unix::fs::chown(&copy, Some(uid(&bob).as_raw()), None).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Alice's edit, in her own directory: a timebox added.
    let alices = dir.path().join("alice");
    std::fs::create_dir(&alices).unwrap();
    let edit = alices.join("pinned.toml");
    std::fs::write(&edit, text_of(&alice, "timebox = \"2h\"\n")).unwrap();
    std::os::unix::fs::chown(&alices, Some(uid(&alice).as_raw()), None).unwrap();
    std::os::unix::fs::chown(&edit, Some(uid(&alice).as_raw()), None).unwrap();

    // The journal is alice's, in her directory: bob reads it only.
    let _ = gid;
    let journal = alices.join("pinned.sqlite");
    let (bin, journal_s) = (
        bin.to_str().unwrap().to_string(),
        journal.to_str().unwrap().to_string(),
    );
    let gonogo = |user: &str, file: &Path, args: &[&str]| {
        let mut argv = vec![bin.as_str(), args[0], file.to_str().unwrap()];
        argv.extend_from_slice(&args[1..]);
        argv.extend_from_slice(&["--journal", &journal_s]);
        let out = become_user.run(user, &argv);
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };

    // The journal is created on the team's layout: that is what is pinned.
    let (code, out, err) = gonogo(&alice, &layout, &["start"]);
    assert_eq!(code, Some(0), "{out}{err}");
    // Bob can neither sign through his copy nor adopt it: the journal is
    // alice's to write (on a team journal the pinned roles and owners
    // refuse him: `team_journal`).
    for args in [&["sign", "--role", "cto"][..], &["adopt"][..]] {
        let (code, out, err) = gonogo(&bob, &copy, args);
        assert_eq!(code, Some(1), "{out}{err}");
        assert!(err.contains("refusing to write journal"), "{err}");
    }
    // Alice, an owner, adopts her edit: journaled with the diff.
    let (code, out, err) = gonogo(&alice, &edit, &["adopt"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("ADOPTED a changed layout"), "{out}");
    for f in std::fs::read_dir(&alices).unwrap().flatten() {
        if f.file_name().to_string_lossy().starts_with("pinned.sqlite") {
            std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let (code, md, err) = gonogo(&bob, &layout, &["log"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        md.contains("+timebox = \"2h\""),
        "the record shows the diff:\n{md}"
    );
    // The adopted layout is now in force for everyone, whatever file they
    // pass: checking with the team's (older) file judges by the adopted.
    let (_, _, err) = gonogo(&alice, &layout, &["check"]);
    assert!(
        err.contains("differs from the layout pinned in the journal"),
        "{err}"
    );
    let (code, out, err) = gonogo(&alice, &layout, &["sign", "--role", "cto"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let kinds: Vec<String> = procs::raw_events(&journal)
        .into_iter()
        .map(|(_, actor, kind, _)| format!("{kind} by {actor}"))
        .collect();
    assert_eq!(
        kinds,
        vec![
            format!("layout_pinned by {alice}"),
            format!("started by {alice}"),
            format!("layout_pinned by {alice}"),
            format!("signed_off by {alice}"),
        ]
    );
    drop(accounts);
}
