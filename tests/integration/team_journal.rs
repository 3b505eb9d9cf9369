//! The team journal end to end: real `gonogo` processes on a real
//! PostgreSQL cluster this test starts (`util::pg`). Processes naming the
//! database in different ways share one launch; a wrong password and a
//! missing database say so in one line with their exit code; and a
//! database stopped mid-launch loses nothing: JOURNAL OFFLINE, gates live,
//! acts refused, auto-rollback held back without its claim (or run and
//! spooled when the layout allows it), everything recorded on return.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::util::pg::{self, Cluster, PASSWORD};
use crate::util::procs::{self, Demo, count_kind, gonogo_cmd, path_str, poll_until, run, text};

/// A launch with a checklist (no network needed) and a rollback.
fn plain_layout(dir: &Path, journal_line: &str) -> String {
    let path = dir.join("team.toml");
    std::fs::write(
        &path,
        format!(
            r#"[launch]
name = "Team launch"
id = "team"
{journal_line}

[signals.ready]
kind = "checklist"
items = ["go"]

[[phases]]
id = "pre"
gates = [{{ signal = "ready", complete = true }}]

[[phases]]
id = "live"

[rollback]
run = ["true"]
"#
        ),
    )
    .unwrap();
    path_str(&path)
}

fn gonogo(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = gonogo_cmd(dir, None, args);
    cmd.env_remove("PGPASSWORD").env_remove("PGPASSFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// The password reaches the server four ways (in the URL, `PGPASSWORD`,
/// a pgpass file, `${VAR}` in the layout's `journal =`) from four
/// processes; they share one launch, and the password shows nowhere.
#[test]
fn processes_naming_one_database_differently_share_one_launch() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let dir = procs::tempdir();
    let url = cluster.database();
    let db = pg::db_of(&url).to_string();
    let layout = plain_layout(dir.path(), "");
    let (code, out, err) = gonogo(dir.path(), &["start", &layout, "--journal", &url], &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    let bare = cluster.url_without_password(&db);
    let (code, out, err) = gonogo(
        dir.path(),
        &["note", &layout, "from B via PGPASSWORD", "--journal", &bare],
        &[("PGPASSWORD", PASSWORD)],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{}:{db}:gonogo:{PASSWORD}\n", cluster.port),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    // libpq ignores a pgpass file others may read; so do we.
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let with_pgpass = format!(
        "postgresql://gonogo@127.0.0.1:{}/{db}?sslmode=prefer",
        cluster.port
    );
    let pgpass_env = [("PGPASSFILE", pgpass.to_str().unwrap())];
    let (code, _, err) = gonogo(
        dir.path(),
        &["note", &layout, "from C", "--journal", &with_pgpass],
        &pgpass_env,
    );
    assert_eq!(code, Some(6), "a world-readable pgpass is not used: {err}");
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, out, err) = gonogo(
        dir.path(),
        &[
            "note",
            &layout,
            "from C via pgpass",
            "--journal",
            &with_pgpass,
        ],
        &pgpass_env,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    // The layout names the database, its password a variable.
    let in_layout = plain_layout(
        dir.path(),
        &format!(
            "journal = \"postgres://gonogo:${{TEAM_DB_PASSWORD}}@127.0.0.1:{}/{db}\"",
            cluster.port
        ),
    );
    let (code, out, err) = gonogo(
        dir.path(),
        &["note", &in_layout, "from D via the layout"],
        &[("TEAM_DB_PASSWORD", PASSWORD)],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, log, err) = gonogo(dir.path(), &["log", &layout, "--journal", &url], &[]);
    assert_eq!(code, Some(0), "{err}");
    for said in [
        "from B via PGPASSWORD",
        "from C via pgpass",
        "from D via the layout",
    ] {
        assert!(log.contains(said), "{said} missing:\n{log}");
    }
    assert!(!log.contains(PASSWORD), "{log}");
    assert!(
        log.contains(&format!(
            "postgres://gonogo@127.0.0.1:{}/{db}",
            cluster.port
        )),
        "{log}"
    );
    let (code, out, err) = gonogo(
        dir.path(),
        &["log", &layout, "--verify", "--journal", &bare],
        &[("PGPASSWORD", PASSWORD)],
    );
    assert_eq!(code, Some(0), "{out}{err}");
}

/// A wrong password, a missing database and a server that is not there:
/// one line each, naming the database without its password, exit 6.
#[test]
fn a_wrong_password_and_a_missing_database_are_one_clear_line() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let dir = procs::tempdir();
    let layout = plain_layout(dir.path(), "");
    let url = cluster.database();
    let db = pg::db_of(&url);
    let wrong = format!(
        "postgres://gonogo:not-the-password@127.0.0.1:{}/{db}",
        cluster.port
    );
    let missing = format!(
        "postgres://gonogo:{PASSWORD}@127.0.0.1:{}/no_such_db",
        cluster.port
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nobody = format!("postgres://gonogo:{PASSWORD}@127.0.0.1:{port}/x");
    for (journal, want) in [
        (&wrong, "password authentication failed for user `gonogo`"),
        (
            &missing,
            "database `no_such_db` does not exist: create it first",
        ),
        (&nobody, "Connection refused"),
    ] {
        for cmd in [
            vec!["note", &layout, "x", "--journal", journal],
            vec!["log", &layout, "--journal", journal],
            vec!["check", &layout, "--journal", journal],
        ] {
            let (code, out, err) = gonogo(dir.path(), &cmd, &[]);
            assert_eq!(code, Some(6), "{cmd:?}: {out}{err}");
            assert_eq!(err.lines().count(), 1, "{cmd:?}: {err}");
            assert!(err.contains(want), "{cmd:?}: {err}");
            assert!(
                err.starts_with("gonogo: cannot reach journal postgres://gonogo@"),
                "{err}"
            );
            assert!(
                !err.contains("not-the-password") && !err.contains(PASSWORD),
                "{err}"
            );
        }
    }
}

/// An auto-rollback launch on the demo service, with `extra` in
/// `[rollback]`; the rollback appends a line to `fired.txt`.
fn rollback_layout(dir: &Path, run: &str, extra: &str) -> String {
    let path = dir.join("offline.toml");
    std::fs::write(
        &path,
        format!(
            r#"[launch]
name = "Offline drill"
id = "offline"

[signals.error_rate]
kind = "json"
url = "${{DEMO_URL}}/api/stats"
path = "$.error_rate"
unit = "ratio"
every = "300ms"

[[phases]]
id = "canary"
gates = [{{ signal = "error_rate", below = "1%" }}]

[rollback]
run = {run}
timeout = "10s"
auto_from = "canary"
triggers = [{{ signal = "error_rate", above = "2%", for = "1s" }}]
{extra}
"#
        ),
    )
    .unwrap();
    path_str(&path)
}

/// A rollback that appends a line to `fired.txt`.
fn firing(dir: &Path) -> String {
    format!(
        "[\"sh\", \"-c\", \"echo fired >> '{}'\"]",
        dir.join("fired.txt").display()
    )
}

/// A launch on the demo service with its own cluster, started, and a
/// `watch` guard that has seen the trigger clear.
struct Drill {
    cluster: Cluster,
    demo: Demo,
    dir: tempfile::TempDir,
    layout: String,
    url: String,
    journal: PathBuf,
    guard: procs::Lines,
}

impl Drill {
    /// `None` (skipped, or failed under CI) without PostgreSQL. `run` is
    /// the rollback's argv in TOML, `None` for [`firing`].
    fn start(run: Option<&str>, extra: &str) -> Option<Drill> {
        let Some(cluster) = Cluster::start() else {
            crate::util::missing("PostgreSQL is not installed");
            return None;
        };
        let demo = Demo::start();
        let dir = procs::tempdir();
        let run = run.map_or_else(|| firing(dir.path()), str::to_string);
        let layout = rollback_layout(dir.path(), &run, extra);
        let url = cluster.database();
        let journal = PathBuf::from(&url);
        procs::start(dir.path(), Some(&demo.url), &layout, &journal);
        let mut guard = procs::watch(dir.path(), Some(&demo.url), &layout, &journal);
        guard.expect("clear", |l| l.contains("\" clear"), Duration::from_secs(10));
        Some(Drill {
            cluster,
            demo,
            dir,
            layout,
            url,
            journal,
            guard,
        })
    }
}

/// Waits for the guard to say JOURNAL OFFLINE.
fn expect_offline(guard: &mut procs::Lines, limit: Duration) {
    guard.expect(
        "JOURNAL OFFLINE",
        |l| l.contains("JOURNAL OFFLINE: "),
        limit,
    );
}

fn fired(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("fired.txt"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// PostgreSQL stopped mid-launch: the guard says JOURNAL OFFLINE, its
/// gates stay live, an act is refused with the reason; the breach that
/// follows does not fire auto-rollback without its claim, and says so.
/// PostgreSQL back: the guard resumes without a restart and fires the
/// rollback then, with its claim; the chain is intact, acts work again.
#[test]
fn postgres_stopped_mid_launch_holds_back_auto_rollback_and_resumes() {
    let Some(Drill {
        cluster,
        demo,
        dir,
        layout,
        url,
        journal,
        mut guard,
    }) = Drill::start(None, "")
    else {
        return;
    };
    cluster.stop_server();
    expect_offline(&mut guard, Duration::from_secs(10));
    let (code, _, err) = gonogo(
        dir.path(),
        &["note", &layout, "while down", "--journal", &url],
        &[],
    );
    assert_eq!(code, Some(6), "{err}");
    assert!(err.contains("cannot reach journal"), "{err}");
    // Gates stay live: the breach is seen, judged, and held back.
    demo.fault("errors?rate=0.5");
    guard.expect(
        "the trigger firing",
        |l| l.contains("AUTO-ROLLBACK NOT FIRED"),
        Duration::from_secs(15),
    );
    assert_eq!(fired(dir.path()), 0, "no rollback without its claim");
    // Still breaching offline: never fired, however long it lasts.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(fired(dir.path()), 0, "no rollback without its claim");
    cluster.start_server();
    guard.expect(
        "back online",
        |l| l.contains("journal back online"),
        Duration::from_secs(15),
    );
    // Back, and the breach still on: now the claim can be taken, and the
    // guard fires, once, without a restart.
    guard.expect(
        "the rollback, claimed",
        |l| l.contains("ROLLED BACK: the rollback command ended"),
        Duration::from_secs(10),
    );
    assert_eq!(fired(dir.path()), 1);
    let (code, out, err) = gonogo(
        dir.path(),
        &["note", &layout, "after", "--journal", &url],
        &[],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    guard.expect(
        "the note from another process",
        |l| l.contains("noted: after"),
        Duration::from_secs(5),
    );
    let (code, out, err) = gonogo(
        dir.path(),
        &["log", &layout, "--verify", "--journal", &url],
        &[],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(count_kind(&journal, "rollback_started"), 1);
    assert_eq!(
        guard.count(|l| l.contains("JOURNAL OFFLINE: ")),
        1,
        "said once, not on every retry:\n{}",
        guard.transcript()
    );
}

/// With `offline_auto = true` the guard fires without a claim while the
/// database is down: the rollback runs, is spooled on this machine, and
/// is appended on return, marked as recorded offline; the chain verifies.
#[test]
fn an_offline_auto_rollback_runs_is_spooled_and_recorded_on_return() {
    let Some(Drill {
        cluster,
        demo,
        dir,
        layout,
        url,
        journal,
        mut guard,
    }) = Drill::start(None, "offline_auto = true")
    else {
        return;
    };
    cluster.stop_server();
    expect_offline(&mut guard, Duration::from_secs(10));
    demo.fault("errors?rate=0.5");
    guard.expect(
        "the rollback spooled",
        |l| l.contains("ROLLBACK running while the journal is OFFLINE: spooled to"),
        Duration::from_secs(15),
    );
    let ran = poll_until(Duration::from_secs(10), || {
        (fired(dir.path()) == 1).then_some(())
    });
    assert!(ran.is_some(), "{}", guard.transcript());
    guard.expect(
        "the end spooled",
        |l| l.contains("ROLLED BACK while the journal was OFFLINE"),
        Duration::from_secs(10),
    );
    let spool = dir.path().join("gonogo/spool");
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        1,
        "one record spooled"
    );
    cluster.start_server();
    guard.expect(
        "appended",
        |l| l.contains("appended a rollback run while the journal was offline"),
        Duration::from_secs(15),
    );
    let (code, log, err) = gonogo(dir.path(), &["log", &layout, "--journal", &url], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        log.matches("recorded offline by OS user ").count(),
        2,
        "{log}"
    );
    assert!(log.contains("ROLLED BACK"), "{log}");
    let (code, out, err) = gonogo(
        dir.path(),
        &["log", &layout, "--verify", "--journal", &url],
        &[],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(count_kind(&journal, "rollback_started"), 1);
    assert_eq!(count_kind(&journal, "rollback_finished"), 1);
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        0,
        "the spool is emptied"
    );
    // The breach goes on: the launch is rolled back, nothing fires again.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(fired(dir.path()), 1);
}

/// The screen on a team journal whose database stops: the header says
/// JOURNAL OFFLINE, a note is refused with the reason, the rollback key
/// still rolls back (spooled), and when the database is back the rollback
/// is in the record, marked offline, and on every screen.
#[test]
fn the_screen_rolls_back_while_the_journal_is_offline() {
    if crate::util::require("tmux").is_none() {
        return;
    }
    let Some(cluster) = Cluster::start() else {
        return crate::util::missing("PostgreSQL is not installed");
    };
    let demo = Demo::start();
    let dir = procs::tempdir();
    let url = cluster.database();
    let layout = procs::demo_layout();
    let state = path_str(dir.path());
    let command = format!(
        "{} run {layout} --journal '{url}'; echo gonogo exited $?; read line",
        procs::BIN
    );
    let t = crate::util::tmux::Tmux::start(
        140,
        45,
        &[("XDG_STATE_HOME", &state), ("DEMO_URL", &demo.url)],
        &command,
    );
    let screen = Duration::from_secs(10);
    t.wait_text("phase 1/4", screen);
    cluster.stop_server();
    let shown = t.wait_text("JOURNAL OFFLINE", screen);
    assert!(!shown.contains(PASSWORD), "{shown}");
    let mut lines = shown.lines();
    assert!(
        lines.next().is_some_and(|l| l.contains("JOURNAL OFFLINE")),
        "the header's first line says it:\n{shown}"
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.contains("journal offline: ")),
        "the second says why:\n{shown}"
    );
    t.keys(&["n"]);
    t.type_text("while offline");
    t.keys(&["Enter"]);
    t.wait_text("cannot note: JOURNAL OFFLINE", screen);
    t.keys(&["r"]);
    t.wait_text("Type `rollback`", screen);
    t.type_text("rollback");
    t.keys(&["Enter"]);
    t.wait_text("ROLLED BACK while the journal was OFFLINE", screen);
    cluster.start_server();
    t.wait_text(
        "appended a rollback run while the journal was offline",
        Duration::from_secs(20),
    );
    let after = t.wait_text("ROLLED BACK: the rollback command ended", screen);
    assert!(!after.contains("JOURNAL OFFLINE"), "{after}");
    let (code, log, err) = gonogo(
        dir.path(),
        &["log", &layout, "--journal", &url],
        &[("DEMO_URL", &demo.url)],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(log.contains("started ROLLBACK"), "{log}");
    assert_eq!(
        log.matches("recorded offline by OS user ").count(),
        2,
        "{log}"
    );
    assert!(
        !log.contains("while offline"),
        "the refused note is not recorded: {log}"
    );
    let (code, out, err) = gonogo(
        dir.path(),
        &["log", &layout, "--verify", "--journal", &url],
        &[],
    );
    assert_eq!(code, Some(0), "{out}{err}");
}

/// On a team journal who acts is the database user the server
/// authenticated — an OS user name is whatever a laptop says — and roles,
/// refusals and the pinned layout hold as on a file: a private copy that
/// widens `[roles]` changes nothing. `gonogo journal grant` gives each
/// operator what it needs.
#[test]
fn roles_are_the_database_users_and_the_pinned_layout_holds() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let url = cluster.database();
    let db = pg::db_of(&url).to_string();
    let tag = std::process::id();
    let (ana, ben) = (format!("ana_{tag}"), format!("ben_{tag}"));
    for user in [&ana, &ben] {
        cluster.admin(
            "postgres",
            &format!("CREATE ROLE {user} LOGIN PASSWORD 'pw-{user}'"),
        );
    }
    let grant = |user: &str| {
        let out = std::process::Command::new(procs::BIN)
            .args(["journal", "grant", &cluster.owner_url(&db), user])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = grant(&ana);
    assert!(said.contains("stamped"), "{said}");
    let as_user = |user: &str| {
        format!(
            "postgres://{user}:pw-{user}@127.0.0.1:{}/{db}",
            cluster.port
        )
    };
    let dir = procs::tempdir();
    let layout_text = |cto: &str| {
        format!(
            r#"[launch]
name = "Roles on the team journal"
id = "roles"

[roles]
cto = ["{cto}"]
devops = ["{ben}"]

[signals.ready]
kind = "checklist"
items = ["go"]

[[phases]]
id = "approve"
signoff = ["cto", "devops"]
gates = [{{ signal = "ready", complete = true, blocking = false }}]

[[phases]]
id = "done"
"#
        )
    };
    let layout = dir.path().join("roles.toml");
    std::fs::write(&layout, layout_text(&ana)).unwrap();
    let layout = path_str(&layout);
    let act = |user: &str, args: &[&str], file: &str| {
        let url = as_user(user);
        let mut all = vec![args[0], file];
        all.extend_from_slice(&args[1..]);
        all.extend_from_slice(&["--journal", &url]);
        gonogo(dir.path(), &all, &[])
    };
    let (code, out, err) = act(&ana, &["start"], &layout);
    assert_eq!(code, Some(0), "{out}{err}");
    // Before its grant, a second operator may not even read.
    let (code, _, err) = act(&ben, &["sign", "--role", "devops"], &layout);
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("permission denied"), "{err}");
    grant(&ben);
    let (code, _, err) = act(&ben, &["sign", "--role", "cto"], &layout);
    assert_eq!(code, Some(1));
    assert_eq!(
        err.trim_end(),
        format!("cannot sign as cto: {ben} is not in role cto (cto: {ana})")
    );
    // A private copy naming ben CTO: the pinned layout decides.
    let private = dir.path().join("mine.toml");
    std::fs::write(&private, layout_text(&ben)).unwrap();
    let (code, _, err) = act(&ben, &["sign", "--role", "cto"], &path_str(&private));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("{ben} is not in role cto (cto: {ana})")),
        "{err}"
    );
    let (code, out, err) = act(&ben, &["sign", "--role", "devops"], &layout);
    assert_eq!(code, Some(0), "{out}{err}");
    // Ben writes past the CLI, through the append function the server
    // stamps him in: a CTO sign-off, a layout naming himself CTO, an
    // advance. Each is on the record under his name, and counts as
    // nothing: he is not the CTO, nor the layout's owner.
    let forge = |kind: &str, body: serde_json::Value| {
        let body = body.to_string().replace('\'', "''");
        let out = cluster.psql_at(
            &as_user(&ben),
            &format!("SELECT o_seq FROM gonogo.append('roles', '{kind}', '{body}', '[]', NULL)"),
        );
        assert!(out.status.success(), "{out:?}");
    };
    forge(
        "signed_off",
        serde_json::json!({"type": "signed_off", "phase": "approve", "role": "cto"}),
    );
    let widened = layout_text(&ben);
    forge(
        "layout_pinned",
        serde_json::json!({"type": "layout_pinned", "digest": "0".repeat(64),
            "path": layout, "text": widened}),
    );
    let (_, out, _) = act(&ana, &["check", "--json"], &layout);
    let check: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cto = check["signoffs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "cto")
        .unwrap();
    assert!(cto["user"].is_null(), "{out}");
    let void: Vec<&str> = check["void"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["why"].as_str().unwrap())
        .collect();
    assert_eq!(void.len(), 2, "{out}");
    let (code, _, err) = act(&ben, &["advance"], &layout);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not signed: cto"), "{err}");
    forge(
        "advanced",
        serde_json::json!({"type": "advanced", "from": "approve", "to": "done"}),
    );
    let (code, out, err) = act(&ana, &["log", "--verify"], &layout);
    assert_eq!(code, Some(1), "{out}{err}");
    for why in [
        format!("{ben} is not in role cto (cto: {ana})"),
        format!(
            "{ben} may not change this launch's layout (the owner is the journal's creator, {ana})"
        ),
        "cto had not signed approve".to_string(),
    ] {
        assert!(err.contains(&why), "{why}: {err}");
    }
    assert!(err.contains("counts as nothing"), "{err}");
    let (code, out, err) = act(&ana, &["sign", "--role", "cto"], &layout);
    assert_eq!(code, Some(0), "{out}{err}");
    // The forged advance moved nothing: this is the launch's first.
    let (code, out, err) = act(&ben, &["advance"], &layout);
    assert_eq!(code, Some(0), "{out}{err}");
    let events = procs::raw_events(Path::new(&as_user(&ana)));
    let actors: Vec<(&str, &str)> = events
        .iter()
        .map(|(_, actor, kind, _)| (actor.as_str(), kind.as_str()))
        .collect();
    assert_eq!(
        actors,
        [
            (ana.as_str(), "layout_pinned"),
            (ana.as_str(), "started"),
            (ben.as_str(), "refused"),
            (ben.as_str(), "refused"),
            (ben.as_str(), "signed_off"),
            (ben.as_str(), "signed_off"),
            (ben.as_str(), "layout_pinned"),
            (ben.as_str(), "refused"),
            (ben.as_str(), "advanced"),
            (ana.as_str(), "signed_off"),
            (ben.as_str(), "advanced"),
        ]
    );
}

/// The layout is pinned in the journal, text and all: a password written
/// into its `journal` URL would be recorded, so it is refused where it
/// stands (`file:line:col`), and `${VAR}` is the way.
#[test]
fn a_password_in_the_layouts_journal_url_is_refused_where_it_stands() {
    let dir = procs::tempdir();
    let layout = plain_layout(
        dir.path(),
        "journal = \"postgres://ops:hunter2@db.internal/launch\"",
    );
    let (code, out, err) = gonogo(dir.path(), &["validate", &layout], &[]);
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(
        err.contains(&format!(
            "{layout}:4:11: `journal` holds a database password in clear"
        )),
        "{err}"
    );
    assert!(err.contains("${VAR}"), "{err}");
    let fine = plain_layout(
        dir.path(),
        "journal = \"postgres://ops:${DB_PW}@db.internal/launch\"",
    );
    let (code, out, err) = gonogo(dir.path(), &["validate", &fine], &[]);
    assert_eq!(code, Some(0), "{out}{err}");
}

/// kill -9 of a guard while its offline rollback runs: the start was
/// spooled before the command ran, so the next gonogo on the launch on
/// this machine appends it when the database is back, and the runner
/// being gone, the rollback is recorded as lost (ROLLBACK FAILED, may be
/// retried) — never silently absent.
#[test]
fn a_guard_killed_mid_offline_rollback_leaves_it_on_the_record() {
    // A rollback that works for a while: killed mid-command.
    let Some(Drill {
        cluster,
        demo,
        dir,
        layout,
        url,
        journal,
        mut guard,
    }) = Drill::start(
        Some(r#"["sh", "-c", "echo $$ > rollback.pid; exec sleep 30"]"#),
        "offline_auto = true",
    )
    else {
        return;
    };
    cluster.stop_server();
    expect_offline(&mut guard, Duration::from_secs(10));
    demo.fault("errors?rate=0.5");
    let pid_file = dir.path().join("rollback.pid");
    let command = poll_until(Duration::from_secs(15), || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
    })
    .unwrap_or_else(|| panic!("the rollback never ran:\n{}", guard.transcript()));
    nix::sys::signal::kill(guard.child.pid(), nix::sys::signal::Signal::SIGKILL).unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(command),
        nix::sys::signal::Signal::SIGKILL,
    );
    drop(guard);
    demo.fault("clear");
    let spool = dir.path().join("gonogo/spool");
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        1,
        "the start was spooled"
    );
    cluster.start_server();
    let mut next = procs::watch(dir.path(), Some(&demo.url), &layout, &journal);
    next.expect(
        "the spooled start appended",
        |l| l.contains("appended the start of a rollback run offline"),
        Duration::from_secs(10),
    );
    next.expect(
        "the rollback recorded as lost",
        |l| l.contains("ROLLBACK FAILED: the process running rollback #"),
        Duration::from_secs(15),
    );
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
    assert_eq!(count_kind(&journal, "rollback_started"), 1);
    assert_eq!(count_kind(&journal, "rollback_lost"), 1);
    let (code, log, err) = gonogo(dir.path(), &["log", &layout, "--journal", &url], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(log.contains("recorded offline by OS user "), "{log}");
    let (code, out, err) = gonogo(
        dir.path(),
        &["log", &layout, "--verify", "--journal", &url],
        &[],
    );
    assert_eq!(code, Some(0), "{out}{err}");
}

/// A database that stops answering without closing anything (a cut
/// network; here every server process stopped with SIGSTOP): within the
/// call timeout the guard says JOURNAL OFFLINE, and its gates stay live —
/// reconnection waits in the background, never in the guard's loop.
#[test]
fn a_database_that_stops_answering_leaves_the_gates_live() {
    let Some(Drill {
        cluster,
        demo,
        dir,
        layout,
        url,
        mut guard,
        ..
    }) = Drill::start(None, "")
    else {
        return;
    };
    cluster.freeze(true);
    let frozen = std::time::Instant::now();
    guard.expect(
        "offline",
        |l| l.contains("JOURNAL OFFLINE: "),
        Duration::from_secs(15),
    );
    let offline_after = frozen.elapsed();
    // Live: a breach now is judged at once, while reconnection attempts
    // hang in the background.
    demo.fault("errors?rate=0.5");
    let faulted = std::time::Instant::now();
    guard.expect(
        "the gate NO-GO",
        |l| l.contains("gate \"error_rate < 1%\" GO → NO-GO"),
        Duration::from_secs(5),
    );
    let judged_after = faulted.elapsed();
    demo.fault("clear");
    cluster.freeze(false);
    guard.expect(
        "back",
        |l| l.contains("journal back online"),
        Duration::from_secs(20),
    );
    eprintln!(
        "silent database: offline said {offline_after:?} after the freeze; a breach judged {judged_after:?} after it began"
    );
    assert!(judged_after < Duration::from_secs(3), "{judged_after:?}");
    let (code, out, err) = gonogo(
        dir.path(),
        &["log", &layout, "--verify", "--journal", &url],
        &[],
    );
    assert_eq!(code, Some(0), "{out}{err}");
}

/// `sslmode` as libpq means it, against the cluster with TLS on (a CA and
/// a certificate for 127.0.0.1 made by the test): `verify-full` with the
/// CA connects over TLS, and refuses another CA or a host name the
/// certificate does not name; `verify-ca` forgives only the name;
/// `require` encrypts without checking.
#[test]
fn sslmode_is_what_libpq_means() {
    let Some(cluster) = Cluster::start() else {
        return crate::util::missing("PostgreSQL is not installed");
    };
    let ca = crate::util::tls::Ca::new("gonogo test CA");
    let leaf = ca.leaf(&["127.0.0.1"], -1.0, 30.0);
    cluster.enable_tls(&leaf.cert_pem, &leaf.key_pem);
    let dir = procs::tempdir();
    let ca_file = ca.write_pem(dir.path());
    let other_dir = procs::tempdir();
    let other = crate::util::tls::Ca::new("someone else's CA").write_pem(other_dir.path());
    let db_url = cluster.database();
    let db = pg::db_of(&db_url).to_string();
    let layout = plain_layout(dir.path(), "");
    let url = |host: &str, query: &str| {
        format!(
            "postgres://gonogo:{PASSWORD}@{host}:{}/{db}?{query}",
            cluster.port
        )
    };
    let note = |journal: &str| {
        gonogo(
            dir.path(),
            &["note", &layout, "over TLS", "--journal", journal],
            &[],
        )
    };
    let full = url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", ca_file.display()),
    );
    let (code, out, err) = gonogo(dir.path(), &["start", &layout, "--journal", &full], &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    // A guard holds its connection: the server says it is encrypted.
    let mut guard = procs::watch(dir.path(), None, &layout, Path::new(&full));
    guard.expect(
        "watching",
        |l| l.contains("watching"),
        Duration::from_secs(10),
    );
    let encrypted = cluster.admin(
        "postgres",
        "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
         WHERE ssl AND application_name = 'gonogo'",
    );
    assert_ne!(encrypted, "0", "no gonogo connection uses TLS");
    drop(guard);
    let (code, _, err) = note(&url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", other.display()),
    ));
    assert_eq!(code, Some(6), "another CA: {err}");
    assert!(err.contains("certificate"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, _, err) = note(&url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", ca_file.display()),
    ));
    assert_eq!(code, Some(6), "a name the certificate lacks: {err}");
    let (code, out, err) = note(&url(
        "localhost",
        &format!("sslmode=verify-ca&sslrootcert={}", ca_file.display()),
    ));
    assert_eq!(code, Some(0), "verify-ca forgives the name: {out}{err}");
    let (code, out, err) = note(&url("127.0.0.1", "sslmode=require"));
    assert_eq!(code, Some(0), "require does not check: {out}{err}");
}

/// `gonogo rollback` while the database is down runs by the launch as
/// this machine last saw it — the pinned rollback command, not an edited
/// file's — for the identity the server last authenticated, spooled; the
/// next gonogo that reaches the database appends it. With nothing cached
/// it refuses, saying what to do.
#[test]
fn a_cli_rollback_runs_offline_by_the_launch_this_machine_last_saw() {
    let Some(cluster) = Cluster::start() else {
        return crate::util::missing("PostgreSQL is not installed");
    };
    let dir = procs::tempdir();
    let fired = dir.path().join("fired.txt");
    let text = |command: &str| {
        format!(
            r#"[launch]
name = "CLI offline"
id = "cli-offline"

[signals.ready]
kind = "checklist"
items = ["go"]

[[phases]]
id = "pre"
gates = [{{ signal = "ready", complete = true }}]

[rollback]
run = ["sh", "-c", "echo {command} >> '{}'"]
"#,
            fired.display()
        )
    };
    let layout = dir.path().join("cli.toml");
    std::fs::write(&layout, text("pinned")).unwrap();
    let layout = path_str(&layout);
    let url = cluster.database();
    let (code, out, err) = gonogo(dir.path(), &["start", &layout, "--journal", &url], &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    // The file is edited after the pin.
    std::fs::write(&layout, text("edited")).unwrap();
    cluster.stop_server();
    let rollback = |state: &Path| {
        gonogo(
            state,
            &[
                "rollback",
                &layout,
                "--reason",
                "db down, shifting back",
                "--yes",
                "--journal",
                &url,
            ],
            &[],
        )
    };
    let elsewhere = procs::tempdir();
    let (code, _, err) = rollback(elsewhere.path());
    assert_eq!(code, Some(6), "{err}");
    assert!(
        err.contains("this machine has no copy of launch `cli-offline`"),
        "{err}"
    );
    // The edited command is not the record's, and the record's is no
    // longer in this operator's own copy: neither runs.
    let (code, _, err) = rollback(dir.path());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("the rollback not run: the pinned layout differs from your trusted copy"),
        "{err}"
    );
    assert!(!fired.exists(), "a rollback command ran");
    std::fs::write(&layout, text("pinned")).unwrap();
    let (code, out, err) = rollback(dir.path());
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(err.contains("JOURNAL OFFLINE"), "{err}");
    assert!(
        out.contains("ROLLED BACK while the journal was OFFLINE"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&fired).unwrap(), "pinned\n");
    cluster.start_server();
    // Any gonogo on the launch that reaches the database appends it.
    let (code, out, err) = gonogo(
        dir.path(),
        &["note", &layout, "db back", "--journal", &url],
        &[],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        err.contains("appended a rollback run while the journal was offline"),
        "said by the command that appended it: {err}"
    );
    let (code, log, err) = gonogo(dir.path(), &["log", &layout, "--journal", &url], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        log.matches("recorded offline by OS user ").count(),
        2,
        "{log}"
    );
    assert!(log.contains("db down, shifting back"), "{log}");
    // As the database user the server last authenticated here.
    let events = procs::raw_events(Path::new(&url));
    let started = events.iter().find(|e| e.2 == "rollback_started").unwrap();
    assert_eq!(started.1, "gonogo", "{started:?}");
    let (code, _, _) = gonogo(dir.path(), &["check", &layout, "--journal", &url], &[]);
    assert_eq!(code, Some(4), "the launch is ROLLED BACK for everyone");
    let (code, out, err) = gonogo(
        dir.path(),
        &["log", &layout, "--verify", "--journal", &url],
        &[],
    );
    assert_eq!(code, Some(0), "{out}{err}");
}

/// An owner adopts a layout whose commands differ; a teammate whose own
/// copy is the old one runs none of them — the command signal reads
/// UNKNOWN and the rollback is refused, each saying why — until the
/// teammate pulls the pinned layout into their copy.
#[test]
fn an_adopted_command_runs_only_from_a_copy_that_holds_it() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let url = cluster.database();
    let db = pg::db_of(&url).to_string();
    let tag = std::process::id();
    let (ana, ben) = (format!("ana_pull_{tag}"), format!("ben_pull_{tag}"));
    for user in [&ana, &ben] {
        cluster.admin(
            "postgres",
            &format!("CREATE ROLE {user} LOGIN PASSWORD 'pw-{user}'"),
        );
        let out = std::process::Command::new(procs::BIN)
            .args(["journal", "grant", &cluster.owner_url(&db), user])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let as_user = |user: &str| {
        format!(
            "postgres://{user}:pw-{user}@127.0.0.1:{}/{db}",
            cluster.port
        )
    };
    let dir = procs::tempdir();
    let probed = dir.path().join("probed");
    let rolled = dir.path().join("rolled");
    let text = |probe: &str, rollback: &str| {
        format!(
            r#"[launch]
name = "Commands from the pinned layout"
id = "pull"
owners = ["{ana}"]

[signals.probe]
kind = "command"
run = {probe}

[[phases]]
id = "check"
gates = [{{ signal = "probe", up = true }}]

[[phases]]
id = "done"

[rollback]
run = {rollback}
"#
        )
    };
    let old = text(r#"["true"]"#, r#"["true"]"#);
    let new = text(
        &format!(r#"["touch", "{}"]"#, probed.display()),
        &format!(r#"["touch", "{}"]"#, rolled.display()),
    );
    let (ana_file, ben_file) = (dir.path().join("ana.toml"), dir.path().join("ben.toml"));
    std::fs::write(&ana_file, &old).unwrap();
    std::fs::write(&ben_file, &old).unwrap();
    let (ana_file, ben_file) = (path_str(&ana_file), path_str(&ben_file));
    let act = |user: &str, args: &[&str], file: &str| {
        let url = as_user(user);
        let mut all = vec![args[0], file];
        all.extend_from_slice(&args[1..]);
        all.extend_from_slice(&["--journal", &url]);
        gonogo(dir.path(), &all, &[])
    };
    let (code, out, err) = act(&ana, &["start"], &ana_file);
    assert_eq!(code, Some(0), "{out}{err}");
    std::fs::write(&ana_file, &new).unwrap();
    let (code, out, err) = act(&ana, &["adopt"], &ana_file);
    assert_eq!(code, Some(0), "{out}{err}");
    // Ben's copy is the old layout: the pinned commands are not his text.
    let (_, out, err) = act(&ben, &["check", "--json"], &ben_file);
    let check: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}{err}"));
    let gate = &check["gates"][0];
    assert_eq!(gate["state"], "UNKNOWN", "{out}");
    let reason = gate["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "signal probe not run: the pinned layout differs from your trusted copy {ben_file}: pull it"
        )),
        "{reason}"
    );
    assert!(
        !probed.exists(),
        "the adopted command ran from ben's old copy"
    );
    let (code, _, err) = act(&ben, &["rollback", "--reason", "test", "--yes"], &ben_file);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("cannot roll back: the rollback not run: the pinned layout differs from your trusted copy"),
        "{err}"
    );
    assert!(
        !rolled.exists(),
        "the adopted rollback ran from ben's old copy"
    );
    // Pulled, the copy holds the commands: they run.
    let (code, out, err) = act(&ben, &["pull"], &ben_file);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("now holds the pinned layout"), "{out}");
    assert_eq!(std::fs::read_to_string(&ben_file).unwrap(), new);
    let (_, out, err) = act(&ben, &["check", "--json"], &ben_file);
    let check: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}{err}"));
    assert_eq!(check["gates"][0]["state"], "GO", "{out}");
    assert!(probed.exists());
    let (code, out, err) = act(&ben, &["rollback", "--reason", "test", "--yes"], &ben_file);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(rolled.exists());
}

/// SIGTERM is obeyed within a second whatever the database does: frozen
/// (it answers nothing, closes nothing), the guard leaves without waiting
/// out a call to it — both at once after the freeze, mid-call, and after
/// it has said JOURNAL OFFLINE.
#[test]
fn sigterm_is_obeyed_within_a_second_while_the_database_is_frozen() {
    let Some(Drill {
        cluster,
        demo,
        dir,
        layout,
        journal,
        guard,
        ..
    }) = Drill::start(None, "")
    else {
        return;
    };
    let stop = |guard: procs::Lines| {
        let pid = guard.child.pid();
        let asked = std::time::Instant::now();
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let exit = procs::watch_exit(pid.as_raw(), Duration::from_secs(10));
        let took = asked.elapsed();
        drop(guard);
        (exit.is_some(), took)
    };
    cluster.freeze(true);
    std::thread::sleep(Duration::from_millis(1500));
    let (exited, mid_call) = stop(guard);
    assert!(exited, "no exit within 10 s of SIGTERM");
    let mut second = procs::Lines::spawn(procs::gonogo_cmd(
        dir.path(),
        Some(&demo.url),
        &["watch", &layout, "--journal", journal.to_str().unwrap()],
    ));
    // It cannot connect while frozen: the open waits out its bound.
    cluster.freeze(false);
    second.expect(
        "watching",
        |l| l.contains(" watching \""),
        Duration::from_secs(15),
    );
    cluster.freeze(true);
    expect_offline(&mut second, Duration::from_secs(15));
    let (exited, offline) = stop(second);
    assert!(exited);
    cluster.freeze(false);
    eprintln!(
        "SIGTERM with the database frozen: exited {mid_call:?} mid-call, {offline:?} once offline"
    );
    assert!(mid_call < Duration::from_millis(1500), "{mid_call:?}");
    assert!(offline < Duration::from_millis(1500), "{offline:?}");
}
