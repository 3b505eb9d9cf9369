//! Launch-event notifications (SPEC §2 `[notify]`): the exact terminal
//! escape sequences, sanitising, the choice between desktop and terminal
//! paths, and that `send` never blocks its caller. No real D-Bus bus and no
//! real terminal: the environment and the terminal sink are injected.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use gonogo::layout::Notify;
use gonogo::notify::{
    DEFAULT_TIMEOUT, MAX_FIELD_CHARS, Notification, Notifier, Urgency, desktop_available,
    terminal_sequence,
};

const BOTH: Notify = Notify {
    desktop: true,
    terminal: true,
};

fn n(title: &str, body: &str) -> Notification {
    Notification::new(title, body, Urgency::Normal)
}

/// An environment made of these variables only.
fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

/// A desktop session whose bus socket is `sock` (an existing file is enough:
/// the check is only that the socket exists).
fn desktop_env(sock: &Path) -> impl Fn(&str) -> Option<String> + use<> {
    let addr = format!("unix:path={}", sock.display());
    env(&[
        ("DBUS_SESSION_BUS_ADDRESS", &addr),
        ("WAYLAND_DISPLAY", "wayland-0"),
    ])
}

fn fake_socket(dir: &Path) -> PathBuf {
    let sock = dir.join("bus");
    std::fs::write(&sock, b"").unwrap();
    sock
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

/// Waits until the file holds `want` bytes, or gives up after 5 s.
fn wait_for_len(path: &Path, want: usize) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = read(path);
        if got.len() >= want || Instant::now() >= deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---- exact bytes -------------------------------------------------------

#[test]
fn sequence_without_tmux() {
    let got = terminal_sequence(&n("NO-GO", "api down"), false);
    let want: &[u8] = b"\x1b]777;notify;NO-GO;api down\x07\
                        \x1b]9;NO-GO: api down\x07\
                        \x1b]99;;NO-GO: api down\x1b\\\
                        \x07";
    assert_eq!(got, want, "{}", got.escape_ascii());
}

#[test]
fn sequence_inside_tmux_is_wrapped_with_escs_doubled() {
    let got = terminal_sequence(&n("NO-GO", "api down"), true);
    let want: &[u8] = b"\x1bPtmux;\x1b\x1b]777;notify;NO-GO;api down\x07\x1b\\\
                        \x1bPtmux;\x1b\x1b]9;NO-GO: api down\x07\x1b\\\
                        \x1bPtmux;\x1b\x1b]99;;NO-GO: api down\x1b\x1b\\\x1b\\\
                        \x07";
    assert_eq!(got, want, "{}", got.escape_ascii());
}

#[test]
fn critical_sets_kitty_urgency() {
    let crit = Notification::new("T", "B", Urgency::Critical);
    let got = terminal_sequence(&crit, false);
    let want: &[u8] = b"\x1b]777;notify;T;B\x07\x1b]9;T: B\x07\x1b]99;u=2;T: B\x1b\\\x07";
    assert_eq!(got, want, "{}", got.escape_ascii());
}

#[test]
fn empty_body_and_empty_title() {
    let got = terminal_sequence(&n("Advanced", ""), false);
    let want: &[u8] =
        b"\x1b]777;notify;Advanced;\x07\x1b]9;Advanced\x07\x1b]99;;Advanced\x1b\\\x07";
    assert_eq!(got, want, "{}", got.escape_ascii());
    let got = terminal_sequence(&n("\x1b\x07", "x"), false);
    assert!(
        got.starts_with(b"\x1b]777;notify;gonogo;x\x07"),
        "{}",
        got.escape_ascii()
    );
}

#[test]
fn utf8_passes_through() {
    let got = terminal_sequence(&n("Checkout v2 — NO-GO", "p99 ≥ 500 ms ✘"), false);
    let s = String::from_utf8(got).unwrap();
    assert!(
        s.contains("\x1b]9;Checkout v2 — NO-GO: p99 ≥ 500 ms ✘\x07"),
        "{s:?}"
    );
}

// ---- sanitising ---------------------------------------------------------

/// Splits a non-tmux sequence into its parts, checking the framing: exactly
/// three OSCs and a bell, with nothing else that could start or end one.
fn parts(seq: &[u8]) -> Vec<String> {
    let s = String::from_utf8(seq.to_vec()).unwrap();
    let rest = s.strip_suffix('\x07').expect("ends in a bell");
    let (a, rest) = rest.split_once('\x07').expect("OSC 777 ends in BEL");
    let (b, rest) = rest.split_once('\x07').expect("OSC 9 ends in BEL");
    let c = rest.strip_suffix("\x1b\\").expect("OSC 99 ends in ST");
    for p in [a, b, c] {
        assert!(p.starts_with("\x1b]"), "{p:?}");
        let inner = &p[2..];
        assert!(
            !inner.chars().any(|ch| ch.is_control()),
            "control character inside an OSC: {p:?}"
        );
    }
    vec![a.to_owned(), b.to_owned(), c.to_owned()]
}

#[test]
fn control_characters_cannot_inject_escapes() {
    let evil = n(
        "NO-GO\x1b]0;pwned\x07\x1b[2J",
        "line1\nline2\r\x1bP+q\x1b\\\u{9b}31m\u{9c}\x7f\t end",
    );
    for tmux in [false, true] {
        let seq = terminal_sequence(&evil, tmux);
        // Every ESC / BEL in the output is framing we put there.
        let escs = seq.iter().filter(|&&b| b == 0x1b).count();
        let bels = seq.iter().filter(|&&b| b == 0x07).count();
        if tmux {
            // per OSC: ESC P, doubled ESC ], ESC \ ; OSC 99 adds a doubled ST
            assert_eq!((escs, bels), (4 * 3 + 2, 3), "{}", seq.escape_ascii());
        } else {
            assert_eq!((escs, bels), (4, 3), "{}", seq.escape_ascii());
        }
        // No C1 controls (U+0080..U+009F) either.
        let s = String::from_utf8(seq).unwrap();
        assert!(
            !s.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
            "{s:?}"
        );
    }
    let p = parts(&terminal_sequence(&evil, false));
    assert_eq!(
        p[1], "\x1b]9;NO-GO: line1 line2 end",
        "newlines become spaces, escape sequences vanish whole, controls too"
    );
}

#[test]
fn semicolons_never_split_fields() {
    let p = parts(&terminal_sequence(&n("gate;a;b", "x;y;notify;z"), false));
    assert_eq!(p[0], "\x1b]777;notify;gate,a,b;x,y,notify,z");
    assert_eq!(p[1], "\x1b]9;gate,a,b: x,y,notify,z");
    assert_eq!(p[2], "\x1b]99;;gate,a,b: x,y,notify,z");
}

#[test]
fn long_fields_are_capped() {
    let long = "x".repeat(10_000);
    let seq = terminal_sequence(&n(&long, &long), false);
    let p = parts(&seq);
    let field = p[0]
        .strip_prefix("\x1b]777;notify;")
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    assert_eq!(field.chars().count(), MAX_FIELD_CHARS);
    assert!(field.ends_with('…'));
    assert!(seq.len() < 4096, "{}", seq.len());
}

// ---- environment ---------------------------------------------------------

#[test]
fn desktop_needs_a_session_bus() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(dir.path());
    let addr = format!("unix:path={}", sock.display());

    assert!(desktop_available(desktop_env(&sock)));
    assert!(desktop_available(env(&[
        ("DBUS_SESSION_BUS_ADDRESS", &addr),
        ("DISPLAY", ":0"),
    ])));
    // No bus address.
    assert!(!desktop_available(env(&[("WAYLAND_DISPLAY", "wayland-0")])));
    assert!(!desktop_available(env(&[])));
    // A bus address whose socket is gone.
    let gone = format!("unix:path={}", dir.path().join("nope").display());
    assert!(!desktop_available(env(&[
        ("DBUS_SESSION_BUS_ADDRESS", &gone),
        ("DISPLAY", ":0"),
    ])));
    // A bus but nothing to show it on.
    assert!(!desktop_available(env(&[(
        "DBUS_SESSION_BUS_ADDRESS",
        &addr
    )])));
    // Over SSH the bus is the remote host's.
    assert!(!desktop_available(env(&[
        ("DBUS_SESSION_BUS_ADDRESS", &addr),
        ("DISPLAY", "localhost:10.0"),
        ("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22"),
    ])));
}

#[test]
fn tmux_is_detected_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tty");
    let notifier = Notifier::builder(&BOTH)
        .env(env(&[("TMUX", "/tmp/tmux-1000/default,123,0")]))
        .terminal_path(&out)
        .build();
    assert!(notifier.tmux());
    assert!(!notifier.desktop());
    let msg = n("NO-GO", "api down");
    assert!(notifier.send(&msg));
    assert!(notifier.flush(Duration::from_secs(5)));
    assert_eq!(read(&out), terminal_sequence(&msg, true));
}

// ---- delivery ------------------------------------------------------------

#[test]
fn without_a_bus_the_terminal_gets_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tty");
    let desktop_calls = Arc::new(AtomicUsize::new(0));
    let calls = desktop_calls.clone();
    let notifier = Notifier::builder(&BOTH)
        .env(env(&[("DISPLAY", ":0")])) // DBUS_SESSION_BUS_ADDRESS unset
        .desktop_backend(move |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .terminal_path(&out)
        .build();
    assert!(!notifier.desktop());
    assert!(notifier.terminal());

    let a = Notification::gate_no_go("Checkout", "api up", "connection refused");
    let b = Notification::signed_off("Checkout", "preflight", "cto", "alice");
    assert!(notifier.send(&a));
    assert!(notifier.send(&b));
    assert!(notifier.flush(Duration::from_secs(5)));

    let mut want = terminal_sequence(&a, false);
    want.extend(terminal_sequence(&b, false));
    assert_eq!(read(&out), want);
    assert_eq!(desktop_calls.load(Ordering::SeqCst), 0);
    let s = notifier.stats();
    assert_eq!((s.queued, s.terminal, s.desktop, s.failed), (2, 2, 0, 0));
}

#[test]
fn with_a_bus_the_desktop_is_used_and_the_terminal_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(dir.path());
    let out = dir.path().join("tty");
    let shown = Arc::new(Mutex::new(Vec::new()));
    let log = shown.clone();
    let notifier = Notifier::builder(&BOTH)
        .env(desktop_env(&sock))
        .desktop_backend(move |n| {
            log.lock().unwrap().push(n.clone());
            Ok(())
        })
        .terminal_path(&out)
        .build();
    assert!(notifier.desktop());
    let msg = Notification::trigger_fired("Checkout", "error_rate above 1% for 5m");
    assert!(notifier.send(&msg));
    assert!(notifier.flush(Duration::from_secs(5)));
    assert_eq!(*shown.lock().unwrap(), vec![msg]);
    assert!(read(&out).is_empty());
    assert_eq!(notifier.stats().desktop, 1);
}

#[test]
fn desktop_off_in_the_layout_is_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(dir.path());
    let out = dir.path().join("tty");
    let notifier = Notifier::builder(&Notify {
        desktop: false,
        terminal: true,
    })
    .env(desktop_env(&sock))
    .desktop_backend(|_| panic!("desktop = false"))
    .terminal_path(&out)
    .build();
    assert!(!notifier.desktop());
    let msg = n("a", "b");
    notifier.send(&msg);
    assert!(notifier.flush(Duration::from_secs(5)));
    assert_eq!(read(&out), terminal_sequence(&msg, false));
}

#[test]
fn a_failing_desktop_falls_back_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(dir.path());
    let out = dir.path().join("tty");
    let notifier = Notifier::builder(&BOTH)
        .env(desktop_env(&sock))
        .desktop_backend(|_| Err("org.freedesktop.DBus.Error.ServiceUnknown".into()))
        .terminal_path(&out)
        .build();
    let msg = Notification::rollback_finished("Checkout", true, "exit 0 after 42s");
    notifier.send(&msg);
    assert!(notifier.flush(Duration::from_secs(5)));
    assert_eq!(read(&out), terminal_sequence(&msg, false));
    let s = notifier.stats();
    assert_eq!((s.desktop, s.desktop_failed, s.terminal), (0, 1, 1));
}

#[test]
fn a_panicking_desktop_falls_back_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(dir.path());
    let out = dir.path().join("tty");
    let notifier = Notifier::builder(&BOTH)
        .env(desktop_env(&sock))
        .desktop_backend(|_| panic!("bus exploded"))
        .terminal_path(&out)
        .build();
    let msg = n("a", "b");
    notifier.send(&msg);
    notifier.send(&msg);
    assert!(notifier.flush(Duration::from_secs(5)));
    let mut want = terminal_sequence(&msg, false);
    want.extend(terminal_sequence(&msg, false));
    assert_eq!(read(&out), want);
}

#[test]
fn a_hanging_desktop_is_abandoned_after_the_timeout() {
    assert_eq!(DEFAULT_TIMEOUT, Duration::from_secs(2));
    let dir = tempfile::tempdir().unwrap();
    let sock = fake_socket(dir.path());
    let out = dir.path().join("tty");
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let notifier = Notifier::builder(&BOTH)
        .env(desktop_env(&sock))
        .desktop_backend(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_secs(30));
            Ok(())
        })
        .timeout(Duration::from_millis(200))
        .terminal_path(&out)
        .build();
    let msg = n("NO-GO", "api down");
    let start = Instant::now();
    for _ in 0..4 {
        assert!(notifier.send(&msg));
    }
    let one = terminal_sequence(&msg, false);
    let got = wait_for_len(&out, 4 * one.len());
    let took = start.elapsed();
    assert_eq!(got, one.repeat(4));
    // Two calls time out (200 ms each); then, with two calls still hanging,
    // the desktop is skipped instead of piling up threads.
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let s = notifier.stats();
    assert_eq!((s.desktop_failed, s.terminal), (4, 4));
}

#[test]
fn no_terminal_is_harmless() {
    let notifier = Notifier::builder(&BOTH)
        .env(env(&[]))
        .terminal_sink(|| Err(io::Error::other("no controlling terminal")))
        .build();
    assert!(notifier.send(&n("a", "b")));
    assert!(notifier.flush(Duration::from_secs(5)));
    let s = notifier.stats();
    assert_eq!((s.terminal, s.failed), (0, 1));
    // An unwritable path is the same.
    let notifier = Notifier::builder(&BOTH)
        .env(env(&[]))
        .terminal_path("/nonexistent/dir/tty")
        .build();
    assert!(notifier.send(&n("a", "b")));
    assert!(notifier.flush(Duration::from_secs(5)));
    assert_eq!(notifier.stats().failed, 1);
}

#[test]
fn a_panicking_sink_does_not_stop_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tty");
    let path = out.clone();
    let first = AtomicUsize::new(0);
    let notifier = Notifier::builder(&BOTH)
        .env(env(&[]))
        .terminal_sink(move || {
            if first.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("sink bug");
            }
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            Ok(Box::new(f) as Box<dyn Write + Send>)
        })
        .build();
    let msg = n("a", "b");
    assert!(notifier.send(&msg));
    assert!(notifier.send(&msg));
    assert!(notifier.flush(Duration::from_secs(5)));
    assert_eq!(read(&out), terminal_sequence(&msg, false));
    let s = notifier.stats();
    assert_eq!((s.failed, s.terminal, s.done), (1, 1, 2));
}

#[test]
fn everything_off_sends_nothing() {
    let off = Notifier::disabled();
    assert!(!off.send(&n("a", "b")));
    assert!(off.flush(Duration::ZERO));
    let notifier = Notifier::builder(&Notify {
        desktop: true,
        terminal: false,
    })
    .env(env(&[]))
    .build();
    assert!(!notifier.desktop() && !notifier.terminal());
    assert!(!notifier.send(&n("a", "b")));
}

// ---- never blocking ------------------------------------------------------

/// A sink that takes 5 s to open.
fn slow_sink() -> io::Result<Box<dyn Write + Send>> {
    std::thread::sleep(Duration::from_secs(5));
    Ok(Box::new(io::sink()))
}

#[test]
fn send_returns_at_once_while_the_sink_blocks() {
    let notifier = Notifier::builder(&BOTH)
        .env(env(&[]))
        .terminal_sink(slow_sink)
        .build();
    let msg = n("NO-GO", "api down");
    for _ in 0..3 {
        let start = Instant::now();
        notifier.send(&msg);
        let took = start.elapsed();
        assert!(took < Duration::from_millis(100), "send took {took:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn send_from_a_tokio_task_does_not_block_the_runtime() {
    let notifier = Notifier::builder(&BOTH)
        .env(env(&[]))
        .terminal_sink(slow_sink)
        .build();
    let start = Instant::now();
    let task = tokio::spawn(async move {
        for i in 0..10 {
            notifier.send(&n("tick", &i.to_string()));
        }
    });
    task.await.unwrap();
    // A timer on the same single-threaded runtime still fires on time.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let took = start.elapsed();
    assert!(took < Duration::from_millis(200), "{took:?}");
}

/// The test's side of a gated sink.
struct Gate {
    /// A message each time the sink is opened.
    entered: mpsc::Receiver<()>,
    /// One message lets one open through.
    release: mpsc::Sender<()>,
}

/// A sink held shut by the test, then let go.
fn gated_sink(
    out: Arc<Mutex<Vec<u8>>>,
) -> (
    impl Fn() -> io::Result<Box<dyn Write + Send>> + Send + Sync + 'static,
    Gate,
) {
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let open = move || {
        let _ = entered_tx.send(());
        // Blocks until released (or the test is gone).
        let _ = release_rx.lock().unwrap().recv();
        Ok(Box::new(Shared(out.clone())) as Box<dyn Write + Send>)
    };
    (
        open,
        Gate {
            entered: entered_rx,
            release: release_tx,
        },
    )
}

#[test]
fn a_full_queue_drops_instead_of_blocking() {
    let out = Arc::new(Mutex::new(Vec::new()));
    let (open, Gate { entered, release }) = gated_sink(out.clone());
    let notifier = Notifier::builder(&BOTH)
        .env(env(&[]))
        .terminal_sink(open)
        .queue_capacity(2)
        .build();
    let msg = |i: usize| n("n", &i.to_string());

    // The first is taken by the delivery thread, which then blocks.
    assert!(notifier.send(&msg(0)));
    entered.recv_timeout(Duration::from_secs(5)).unwrap();
    // Two more fill the queue; the rest are dropped, each at once.
    assert!(notifier.send(&msg(1)));
    assert!(notifier.send(&msg(2)));
    for i in 3..50 {
        let start = Instant::now();
        assert!(!notifier.send(&msg(i)), "notification {i} was queued");
        assert!(start.elapsed() < Duration::from_millis(100));
    }
    let s = notifier.stats();
    assert_eq!((s.queued, s.dropped), (3, 47));

    // Let the sink go: the three queued ones arrive, in order.
    for _ in 0..3 {
        release.send(()).unwrap();
    }
    assert!(notifier.flush(Duration::from_secs(5)));
    let mut want = Vec::new();
    for i in 0..3 {
        want.extend(terminal_sequence(&msg(i), false));
    }
    assert_eq!(*out.lock().unwrap(), want);
    // And the queue takes new ones again.
    release.send(()).unwrap();
    assert!(notifier.send(&msg(99)));
    assert!(notifier.flush(Duration::from_secs(5)));
    assert_eq!(notifier.stats().terminal, 4);
}

#[test]
fn clones_share_one_queue() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tty");
    let notifier = Notifier::builder(&BOTH)
        .env(env(&[]))
        .terminal_path(&out)
        .build();
    let other = notifier.clone();
    let t = std::thread::spawn(move || other.send(&n("from", "thread")));
    assert!(t.join().unwrap());
    assert!(notifier.send(&n("from", "main")));
    assert!(notifier.flush(Duration::from_secs(5)));
    assert_eq!(notifier.stats().terminal, 2);
    assert!(format!("{notifier:?}").contains("terminal: true"));
}
