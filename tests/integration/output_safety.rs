//! Outside text on its way out (SPEC §5): secrets from `${VAR}` never
//! leak, whoever echoes them, and escape sequences never reach a reader's
//! terminal, whatever prints them.
//!
//! Real endpoints on 127.0.0.1 echo the request's `Authorization` header
//! (a Prometheus 400 error, a JSON error, a JSON value, the request target
//! with the token in its query) and send escape sequences (OSC 52 clipboard
//! writes, CSI, the C1 CSI U+009B, bidi overrides); commands print the
//! token and escapes; an operator types them into notes and reasons. The
//! real binary's `check`, `check --json`, `watch`, `rollback`, the acts'
//! echo, refusals on stderr, `log` and `log --format json` are read as
//! bytes, and so is the journal file (with its WAL).

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gonogo::layout::template::Overlay;
use gonogo::signal::Outcome;
use tokio::io::AsyncReadExt;

use crate::util;
use crate::util::procs::{BIN, text};
use crate::util::server::{Reply, Request, Server};

/// The secret: `/` and `+` so its percent-encoded form differs.
const TOKEN: &str = "s3cr3t/tok3n+9f8e7d";
/// How it travels in a URL query (and how an echo of the target shows it).
const TOKEN_PCT: &str = "s3cr3t%2Ftok3n%2B9f8e7d";
const MARK: &str = "‹redacted›";

/// OSC 52 (clipboard write), CSI clear screen, C1 CSI, bidi override and
/// isolate, around words that must survive.
const EVIL: &str = "\x1b]52;c;aGk=\x07evil \x1b[2J\u{9b}31mred \u{202e}txt\u{2066} end";

/// Fails if `bytes` could do anything to a terminal but print text.
fn assert_safe(what: &str, bytes: &[u8]) {
    let s = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8 ({e})"));
    assert!(!bytes.contains(&0x1b), "{what}: ESC in output:\n{s:?}");
    assert!(!bytes.contains(&0x07), "{what}: BEL in output:\n{s:?}");
    for c in s.chars() {
        assert!(
            !('\u{80}'..='\u{9f}').contains(&c),
            "{what}: C1 control U+{:04X} in output:\n{s:?}",
            u32::from(c)
        );
        assert!(
            !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'),
            "{what}: bidi control U+{:04X} in output:\n{s:?}",
            u32::from(c)
        );
    }
    assert!(
        !s.contains("]52;c;aGk="),
        "{what}: the remnant of an OSC 52 is shown:\n{s}"
    );
}

/// Fails if `bytes` holds the token in any form it was sent in.
fn assert_no_secret(what: &str, bytes: &[u8]) {
    for form in [TOKEN, TOKEN_PCT, &TOKEN_PCT.to_ascii_lowercase()] {
        assert!(
            !contains(bytes, form.as_bytes()),
            "{what}: the secret leaks as {form:?}:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The journal as stored: the database file and its write-ahead log.
fn journal_bytes(journal: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(journal).unwrap_or_default();
    let mut wal = journal.as_os_str().to_owned();
    wal.push("-wal");
    bytes.extend(std::fs::read(PathBuf::from(wal)).unwrap_or_default());
    assert!(!bytes.is_empty(), "no journal at {}", journal.display());
    bytes
}

/// A server that echoes the request back in every way an endpoint might.
async fn echo_server() -> Server {
    Server::start(|req: &Request| {
        let auth = req.header("authorization").unwrap_or("").to_string();
        let t = req.target.as_str();
        if t.starts_with("/prom/api/v1/query") {
            let body = serde_json::json!({
                "status": "error",
                "errorType": "bad_data",
                "error": format!("1:1: parse error; the request had Authorization: {auth} {EVIL}"),
            });
            Reply::status(400, "Bad Request", "application/json", &body.to_string())
        } else if t.starts_with("/text400/api/v1/query") {
            Reply::status(400, "Bad Request", "text/plain", &format!("no: {auth}"))
        } else if t.starts_with("/jsonerr") {
            let body = serde_json::json!({ "error": format!("denied {auth}") });
            Reply::status(400, "Bad Request", "application/json", &body.to_string())
        } else if t.starts_with("/echo") {
            Reply::ok_json(&serde_json::json!({ "value": auth }).to_string())
        } else if t.starts_with("/target") {
            Reply::ok_json(&serde_json::json!({ "value": t }).to_string())
        } else if t.starts_with("/evil") {
            Reply::ok_json(&serde_json::json!({ "value": EVIL }).to_string())
        } else {
            Reply::status(404, "Not Found", "text/plain", "")
        }
    })
    .await
}

/// A layout on the echo server: every signal gets the token echoed back
/// or escapes sent; the rollback prints its environment.
fn echo_layout(dir: &Path, server: &Server) -> String {
    let base = server.url("");
    let auth = r#"headers = { Authorization = "Bearer ${API_TOKEN}" }"#;
    let toml = format!(
        r#"[launch]
name = "secrets and escapes"

[signals.prom]
kind = "prometheus"
url = "{base}/prom"
query = "up"
every = "1s"
{auth}

[signals.prom_text]
kind = "prometheus"
url = "{base}/text400"
query = "up"
every = "1s"
{auth}

[signals.json_error]
kind = "json"
url = "{base}/jsonerr"
path = "$.value"
every = "1s"
{auth}

[signals.echo]
kind = "json"
url = "{base}/echo"
path = "$.value"
every = "1s"
{auth}

[signals.query]
kind = "json"
url = "{base}/target?key=${{API_TOKEN}}"
path = "$.value"
every = "1s"

[signals.evil]
kind = "json"
url = "{base}/evil"
path = "$.value"
every = "1s"

[signals.cmd]
kind = "command"
run = ["sh", "-c", 'echo "token=$API_TOKEN"']
every = "1s"

[signals.cmd_evil]
kind = "command"
run = ["sh", "-c", '''printf '\033]%s;c;aGk=\007\033[2J\302\233 31m\342\200\256evil\n' 52''']
every = "1s"

[[phases]]
id = "p"
gates = [
  {{ signal = "prom", below = 1 }},
  {{ signal = "prom_text", below = 1 }},
  {{ signal = "json_error", below = 1 }},
  {{ signal = "echo", below = 1 }},
  {{ signal = "query", below = 1 }},
  {{ signal = "evil", below = 1 }},
  {{ signal = "cmd", below = 1 }},
  {{ signal = "cmd_evil", below = 1 }},
]

[rollback]
run = ["sh", "-c", '''env; printf '\033]%s;c;aGk=\007\n' 52; echo "again $API_TOKEN"''']
timeout = "20s"
"#
    );
    let path = dir.join("echo.toml");
    std::fs::write(&path, toml).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs `gonogo <args>` to the end with the token in its environment.
async fn gonogo(state: &Path, args: &[&str]) -> Output {
    let run = tokio::process::Command::new(BIN)
        .args(args)
        .env("API_TOKEN", TOKEN)
        .env("XDG_STATE_HOME", state)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap_or_else(|_| panic!("gonogo {args:?} ran past 60 s"))
        .expect("run gonogo")
}

/// Runs `gonogo watch <args>` until its stdout satisfies `enough` (or 20 s
/// pass), then SIGTERM; its stdout and stderr.
async fn watch_until(
    state: &Path,
    args: &[&str],
    enough: impl Fn(&str) -> bool,
    during: impl AsyncFnOnce(),
) -> (Vec<u8>, Vec<u8>) {
    let mut child = tokio::process::Command::new(BIN)
        .arg("watch")
        .args(args)
        .env("API_TOKEN", TOKEN)
        .env("XDG_STATE_HOME", state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn watch");
    let collect = |mut r: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&buf);
        let task = tokio::spawn(async move {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = r.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                into.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        (buf, task)
    };
    let (out, out_task) = collect(Box::new(child.stdout.take().unwrap()));
    let (err, err_task) = collect(Box::new(child.stderr.take().unwrap()));
    let started = |b: &Arc<Mutex<Vec<u8>>>| text(&b.lock().unwrap()).contains(" watching \"");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !started(&out) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    during().await;
    while !enough(&text(&out.lock().unwrap())) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("watch exits after SIGTERM")
        .unwrap();
    let _ = out_task.await;
    let _ = err_task.await;
    let out = out.lock().unwrap().clone();
    let err = err.lock().unwrap().clone();
    (out, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_check_json_show_no_secret_and_no_escape() {
    let server = echo_server().await;
    let dir = tempfile::tempdir().unwrap();
    let layout = echo_layout(dir.path(), &server);
    let journal = dir.path().join("j.sqlite");
    let j = journal.to_str().unwrap();
    for json in [false, true] {
        let mut args = vec!["check", layout.as_str(), "--journal", j];
        if json {
            args.push("--json");
        }
        let out = gonogo(dir.path(), &args).await;
        let what = if json { "check --json" } else { "check" };
        eprintln!("{what}:\n{}{}", text(&out.stdout), text(&out.stderr));
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert_no_secret(&format!("{what} {stream}"), bytes);
            assert_safe(&format!("{what} {stream}"), bytes);
        }
        let stdout = text(&out.stdout);
        assert!(stdout.contains(&format!("Bearer {MARK}")), "{stdout}");
        assert!(stdout.contains(&format!("key={MARK}")), "{stdout}");
        assert!(stdout.contains(&format!("token={MARK}")), "{stdout}");
        assert!(stdout.contains("evil"), "the words around escapes stay");
        if json {
            let v: serde_json::Value = serde_json::from_str(&stdout).expect("valid JSON");
            assert_eq!(v["gates"].as_array().map(Vec::len), Some(8), "{v}");
        }
    }
    // Judged by polling alone: no journal was made.
    assert!(!journal.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_and_its_journal_hold_no_secret_and_no_escape() {
    let server = echo_server().await;
    let dir = tempfile::tempdir().unwrap();
    let layout = echo_layout(dir.path(), &server);
    let journal = dir.path().join("j.sqlite");
    let signals = [
        "prom",
        "prom_text",
        "json_error",
        "echo",
        "query",
        "evil",
        "cmd",
        "cmd_evil",
    ];
    let (out, err) = watch_until(
        dir.path(),
        &[&layout, "--journal", journal.to_str().unwrap()],
        // Every signal has reported, and a second round was recorded.
        |s| {
            signals
                .iter()
                .all(|id| s.contains(&format!("signal {id}: ")))
                && s.contains("polling the signals")
        },
        async || tokio::time::sleep(Duration::from_secs(3)).await,
    )
    .await;
    eprintln!("watch:\n{}{}", text(&out), text(&err));
    for id in signals {
        assert!(
            text(&out).contains(&format!("signal {id}: ")),
            "watch said nothing of {id}"
        );
    }
    for (stream, bytes) in [("watch stdout", &out), ("watch stderr", &err)] {
        assert_no_secret(stream, bytes);
        assert_safe(stream, bytes);
    }
    assert!(text(&out).contains(&format!("Bearer {MARK}")));
    let stored = journal_bytes(&journal);
    assert_no_secret("the journal", &stored);
    assert!(
        contains(&stored, MARK.as_bytes()),
        "the journal recorded no redacted sample"
    );
    for remnant in ["]52;c;aGk=", "\\u001b", "\\u009b", "\\u202e"] {
        assert!(
            !contains(&stored, remnant.as_bytes()),
            "the journal stores {remnant:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_that_prints_its_environment_leaks_no_secret() {
    let server = echo_server().await;
    let dir = tempfile::tempdir().unwrap();
    let layout = echo_layout(dir.path(), &server);
    let journal = dir.path().join("j.sqlite");
    let j = journal.to_str().unwrap();
    let out = gonogo(
        dir.path(),
        &[
            "rollback",
            &layout,
            "--journal",
            j,
            "--reason",
            "drill",
            "--yes",
        ],
    )
    .await;
    eprintln!("rollback:\n{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (stream, bytes) in [("rollback stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert_no_secret(stream, bytes);
        assert_safe(stream, bytes);
    }
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&format!("API_TOKEN={MARK}")), "{stdout}");
    assert!(stdout.contains(&format!("again {MARK}")), "{stdout}");
    for format in ["md", "json"] {
        let log = gonogo(
            dir.path(),
            &["log", &layout, "--journal", j, "--format", format],
        )
        .await;
        let what = format!("log --format {format}");
        assert!(log.status.success(), "{what}: {}", text(&log.stderr));
        assert_no_secret(&what, &log.stdout);
        assert_safe(&what, &log.stdout);
        assert!(
            text(&log.stdout).contains(&format!("again {MARK}")),
            "{what}"
        );
    }
    let stored = journal_bytes(&journal);
    assert_no_secret("the journal", &stored);
    assert!(contains(&stored, format!("again {MARK}").as_bytes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_text_is_stripped_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("ops.toml");
    std::fs::write(
        &layout,
        "[launch]\nname = \"operators\"\n\n[signals.list]\nkind = \"checklist\"\nitems = [\"one\"]\n\n\
         [[phases]]\nid = \"p\"\ngates = [{ signal = \"list\", complete = true }]\n",
    )
    .unwrap();
    let layout = layout.to_str().unwrap().to_string();
    let journal = dir.path().join("j.sqlite");
    let j = journal.to_str().unwrap().to_string();
    let note = format!("note {EVIL}");
    let reason = format!("reason {EVIL}");
    let acts: Arc<Mutex<Vec<(String, Output)>>> = Arc::default();
    let (watched, watch_err) = watch_until(
        dir.path(),
        &[&layout, "--journal", &j],
        |s| s.contains("noted") && s.contains("hold"),
        async || {
            // Started first, so it reports each act as a journal line.
            for (what, args) in [
                ("note", vec!["note", &layout, "--journal", &j, &note]),
                (
                    "hold",
                    vec!["hold", &layout, "--journal", &j, "--reason", &reason],
                ),
            ] {
                let out = gonogo(dir.path(), &args).await;
                assert!(out.status.success(), "{what}: {}", text(&out.stderr));
                acts.lock().unwrap().push((what.to_string(), out));
            }
        },
    )
    .await;
    eprintln!("watch:\n{}", text(&watched));
    assert_safe("watch", &watched);
    assert_safe("watch stderr", &watch_err);
    assert!(text(&watched).contains("noted"), "{}", text(&watched));
    for (what, out) in acts.lock().unwrap().iter() {
        eprintln!("{what}: {}", text(&out.stdout));
        assert_safe(what, &out.stdout);
        assert_safe(what, &out.stderr);
        assert!(text(&out.stdout).contains("evil red txt end"), "{what}");
    }
    // Refusals quote what was typed.
    let refused = gonogo(
        dir.path(),
        &["check", &layout, "--journal", &j, "--phase", EVIL],
    )
    .await;
    assert!(!refused.status.success());
    eprintln!("refusal: {}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("no phase"));
    assert_safe("a refusal on stderr", &refused.stderr);
    let signed = gonogo(
        dir.path(),
        &["sign", &layout, "--journal", &j, "--role", EVIL],
    )
    .await;
    assert_safe("sign's stderr", &signed.stderr);
    assert_safe("sign's stdout", &signed.stdout);
    let outputs = [
        ("log", vec!["log", &layout, "--journal", &j]),
        (
            "log --format json",
            vec!["log", &layout, "--journal", &j, "--format", "json"],
        ),
        ("check", vec!["check", &layout, "--journal", &j]),
        (
            "check --json",
            vec!["check", &layout, "--journal", &j, "--json"],
        ),
    ];
    for (what, args) in outputs {
        let out = gonogo(dir.path(), &args).await;
        eprintln!("{what}:\n{}", text(&out.stdout));
        assert_safe(what, &out.stdout);
        assert_safe(&format!("{what} stderr"), &out.stderr);
    }
    let log = gonogo(dir.path(), &["log", &layout, "--journal", &j]).await;
    assert!(text(&log.stdout).contains("note evil red txt end"));
    let check = gonogo(dir.path(), &["check", &layout, "--journal", &j]).await;
    assert!(text(&check.stdout).contains("reason evil red txt end"));
}

/// SPEC §5: "In URLs they are percent-encoded": a value cannot change the
/// URL's structure, except a variable that starts the URL (scheme and host).
#[tokio::test]
async fn url_variables_are_percent_encoded_but_a_leading_base_is_not() {
    let server = Server::fixed(Reply::ok_json(r#"{"v": 1}"#)).await;
    let layout = util::one_signal(
        "kind = \"json\"\nurl = \"${OS_TEST_BASE}/q?x=${OS_TEST_Q}&y=1\"\npath = \"$.v\"",
        "below = 5",
    );
    // Every value a template expands to is a secret for the rest of the
    // process (`gonogo::text::remember`), and every test shares this one:
    // a bare `http://127.0.0.1:PORT` would be redacted from whatever a
    // later test's server, given the same port, puts in a reason. With a
    // path of its own the base matches nothing but this test's URL.
    let vars = Overlay(vec![
        ("OS_TEST_BASE".into(), server.url("/os-test-base")),
        ("OS_TEST_Q".into(), "a&b=c/d".into()),
    ]);
    let prober = util::prober_with(Arc::new(vars));
    let sample = prober.poll(&layout.signals[0]).await;
    assert_eq!(sample.outcome, Outcome::Number(1.0));
    let requests = server.requests();
    assert_eq!(requests[0].target, "/os-test-base/q?x=a%26b%3Dc%2Fd&y=1");
}

/// At the source: the sample leaving the prober is already redacted, so
/// neither the board nor the journal ever holds the secret.
#[tokio::test]
async fn an_echoed_secret_is_redacted_in_the_sample_itself() {
    let server = echo_server().await;
    let secret = "pr0be-s3cr3t/xyz";
    let layout = util::layout(
        &format!(
            "[signals.prom]\nkind = \"prometheus\"\nurl = \"{}/prom\"\nquery = \"up\"\n\
             headers = {{ Authorization = \"Bearer ${{OS_TEST_TOKEN}}\" }}\n\n\
             [signals.echo]\nkind = \"json\"\nurl = \"{}/echo\"\npath = \"$.value\"\n\
             headers = {{ Authorization = \"Bearer ${{OS_TEST_TOKEN}}\" }}\n",
            server.url(""),
            server.url("")
        ),
        "{ signal = \"prom\", below = 1 },\n{ signal = \"echo\", below = 1 }",
    );
    let vars = Overlay(vec![("OS_TEST_TOKEN".into(), secret.into())]);
    let prober = util::prober_with(Arc::new(vars));
    for signal in &layout.signals {
        let sample = prober.poll(signal).await;
        let reason = util::unknown_reason(&sample.outcome);
        assert!(!reason.contains(secret), "{}: {reason}", signal.id);
        assert!(reason.contains(&format!("Bearer {MARK}")), "{reason}");
        assert!(!reason.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}']));
    }
}

/// The screen, normal and presenter: an endpoint's reason, a note and a
/// hold reason in the journal, a command's output line — none shows the
/// secret or an escape sequence's remnant, even when the text reaches the
/// screen without passing the prober (the sink cleans too).
#[test]
fn the_screen_shows_no_secret_and_no_escape() {
    use gonogo::launch::{Event, EventKind};
    use gonogo::runtime::{CommandNews, Update};
    use gonogo::signal::Sample;
    use gonogo::ui::app::{App, Msg};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    gonogo::text::remember(TOKEN);
    let layout =
        gonogo::layout::parse(Path::new("layouts/demo.toml"), gonogo::demo::LAYOUT).unwrap();
    let now = chrono::Utc::now();
    let mut app = App::new(Arc::new(layout), "alice".into(), now);
    app.colors = gonogo::ui::theme::Depth::None;
    let echoed = format!("prometheus bad_data: Authorization: Bearer {TOKEN} {EVIL}");
    // The test stands in for the runtime, which keeps the picture.
    let i = app.live.read().board().index_of("error_rate").unwrap();
    let sample = Sample {
        at: now,
        outcome: Outcome::Unknown(echoed),
    };
    app.live.write().record(i, sample, now);
    let event = |seq: i64, kind: EventKind| Event {
        seq,
        at: now,
        actor: "alice".into(),
        kind,
        gates: Vec::new(),
    };
    let events = vec![
        event(
            1,
            EventKind::Noted {
                text: format!("note {EVIL} {TOKEN}"),
            },
        ),
        event(
            2,
            EventKind::Held {
                reason: format!("hold {EVIL}"),
            },
        ),
    ];
    app.live.write().apply(&events, now);
    app.update(Msg::History(events));
    app.update(Msg::Runtime(Update::Command(CommandNews::Line(format!(
        "API_TOKEN={TOKEN} {EVIL}"
    )))));
    for presenter in [false, true] {
        app.presenter = presenter;
        let mut t = Terminal::new(TestBackend::new(200, 50)).unwrap();
        t.draw(|f| gonogo::ui::render::render(&app, f)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut screen = String::new();
        for y in 0..50 {
            for x in 0..200 {
                screen.push_str(buf[(x, y)].symbol());
            }
            screen.push('\n');
        }
        let what = if presenter {
            "presenter screen"
        } else {
            "screen"
        };
        eprintln!("{what}:\n{screen}");
        assert_no_secret(what, screen.as_bytes());
        assert_safe(what, screen.as_bytes());
        assert!(screen.contains(MARK), "{what}: nothing was redacted");
        assert!(screen.contains("evil red txt end"), "{what}");
    }
}

/// Notifications carry gate reasons and command output: the terminal
/// sequence holds neither the secret nor an escape of the text's own.
#[test]
fn a_notification_shows_no_secret() {
    use gonogo::notify::{Notification, terminal_sequence};
    gonogo::text::remember(TOKEN);
    let n = Notification::gate_no_go(
        "launch",
        "error_rate below 1%",
        &format!("prometheus bad_data: Bearer {TOKEN} {EVIL}"),
    );
    let seq = terminal_sequence(&n, false);
    assert_no_secret("a notification", &seq);
    let text = text(&seq);
    assert!(
        text.contains(&format!("Bearer {MARK} evil red txt end")),
        "{text:?}"
    );
    // Only our own framing: OSC 777, OSC 9, OSC 99 and a bell.
    assert_eq!(seq.iter().filter(|&&b| b == 0x1b).count(), 4, "{text:?}");
}
