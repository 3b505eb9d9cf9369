//! The screen without a terminal: the reducer (keys in, effects out) and
//! rendered frames on ratatui's `TestBackend` with a fixed `now`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gonogo::act::Act;
use gonogo::launch::{Event, EventKind};
use gonogo::runtime::{CommandNews, Update};
use gonogo::signal::{Outcome, Sample};
use gonogo::ui::app::{App, Effect, Focus, Mode, Msg, PromptKind};
use gonogo::ui::render::render;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Stands in for the runtime: folds journal events into the picture the
/// screen reads, then tells the screen they were recorded.
pub(crate) fn journal(app: &mut App, events: Vec<Event>) {
    let now = app.now;
    app.live.write().apply(&events, now);
    app.update(Msg::Runtime(Update::Appended(events)));
}

/// Events recorded before the screen opened, folded by the runtime.
pub(crate) fn history(app: &mut App, events: Vec<Event>) {
    let now = app.now;
    app.live.write().apply(&events, now);
    app.update(Msg::History(events));
}

/// A sample the runtime folded into the picture.
pub(crate) fn sampled(app: &mut App, signal: usize, sample: Sample) {
    let now = app.now;
    app.live.write().record(signal, sample, now);
    app.dirty = true;
}

fn run_started(argv: Vec<String>) -> Msg {
    Msg::Runtime(Update::Command(CommandNews::Started(argv)))
}

fn output_line(line: String) -> Msg {
    Msg::Runtime(Update::Command(CommandNews::Line(line)))
}

fn run_finished(outcome: gonogo::launch::CommandOutcome) -> Msg {
    Msg::Runtime(Update::Command(CommandNews::Finished(outcome)))
}

pub(crate) fn refused(why: String) -> Msg {
    Msg::Runtime(Update::Acted(Err(why)))
}

pub(crate) fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 5, 14, 0, 0).unwrap()
}

/// The demo launch, started a minute ago.
pub(crate) fn app() -> App {
    let mut app = not_started();
    history(
        &mut app,
        vec![Event {
            seq: 0,
            at: now() - chrono::Duration::seconds(61),
            actor: "alice".into(),
            kind: EventKind::Started {
                phase: "preflight".into(),
            },
            gates: Vec::new(),
        }],
    );
    app
}

/// The demo launch before anyone started it.
pub(crate) fn not_started() -> App {
    let layout =
        gonogo::layout::parse(Path::new("layouts/demo.toml"), gonogo::demo::LAYOUT).unwrap();
    let mut app = App::new(Arc::new(layout), "alice".into(), now());
    app.colors = gonogo::ui::theme::Depth::None;
    app
}

pub(crate) fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub(crate) fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

pub(crate) fn sample(app: &mut App, signal: &str, secs_ago: i64, outcome: Outcome) {
    let i = app.live.read().board().index_of(signal).unwrap();
    sampled(
        app,
        i,
        Sample {
            at: now() - chrono::Duration::seconds(secs_ago),
            outcome,
        },
    );
}

pub(crate) fn healthy(app: &mut App) {
    for ago in (0..=30).rev().step_by(2) {
        let up = Outcome::Health {
            up: true,
            latency: Some(Duration::from_millis(12)),
            detail: "status 200 OK".into(),
        };
        sample(app, "api", ago, up);
        sample(app, "error_rate", ago, Outcome::Number(0.0004));
        sample(app, "p95", ago, Outcome::Number(180.0));
        sample(app, "webhook_queue", ago, Outcome::Number(12.0));
    }
    sample(
        app,
        "preflight",
        0,
        Outcome::Checklist(gonogo::signal::Checklist::from_items(&[
            "On-call engineer paged in".into(),
            "Dashboards open".into(),
            "Rollback rehearsed on staging".into(),
        ])),
    );
}

pub(crate) fn event(seq: i64, kind: EventKind) -> Event {
    Event {
        seq,
        at: now() - chrono::Duration::seconds(60 - seq),
        actor: "alice".into(),
        kind,
        gates: Vec::new(),
    }
}

/// Events 1–3: every preflight item checked.
pub(crate) fn preflight_checked() -> Vec<Event> {
    [
        "On-call engineer paged in",
        "Dashboards open",
        "Rollback rehearsed on staging",
    ]
    .iter()
    .zip(1..)
    .map(|(item, seq)| {
        event(
            seq,
            EventKind::ItemChecked {
                checklist: "preflight".into(),
                item: (*item).into(),
            },
        )
    })
    .collect()
}

pub(crate) fn draw(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(app, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn rollback_key_opens_a_confirm_and_does_nothing_else() {
    let mut a = app();
    assert!(a.update(key('r')).is_empty());
    let Mode::Prompt(p) = &a.mode else {
        panic!("no prompt")
    };
    assert!(
        matches!(&p.kind, PromptKind::Rollback { confirm, command } if confirm == "rollback" && command.starts_with("echo"))
    );
    // The wrong word is refused and the prompt stays.
    for c in "rollbak".chars() {
        a.update(key(c));
    }
    assert!(a.update(code(KeyCode::Enter)).is_empty());
    assert!(matches!(a.mode, Mode::Prompt(_)));
    a.update(code(KeyCode::Backspace));
    a.update(code(KeyCode::Backspace));
    a.update(key('a'));
    a.update(key('c'));
    a.update(key('k'));
    let effects = a.update(code(KeyCode::Enter));
    assert!(
        matches!(effects.as_slice(), [Effect::Perform(Act::Rollback { .. })]),
        "{effects:?}"
    );
}

/// Ctrl-C in the rollback confirmation, any prompt or the help overlay
/// cancels it, as Esc does; only on the plain screen does it quit.
#[test]
fn ctrl_c_in_a_prompt_or_overlay_cancels_it() {
    let ctrl_c = || {
        Msg::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('c'),
            crossterm::event::KeyModifiers::CONTROL,
        ))
    };
    let mut a = app();
    for opens in ['r', 'h', 'n', '?'] {
        assert!(a.update(key(opens)).is_empty(), "{opens}");
        assert_ne!(a.mode, Mode::Normal, "{opens} opened nothing");
        // Half a word typed into a prompt (help closes on any key).
        if opens != '?' {
            for c in "rol".chars() {
                a.update(key(c));
            }
        }
        assert!(a.update(ctrl_c()).is_empty(), "{opens}: Ctrl-C quit");
        assert_eq!(a.mode, Mode::Normal, "{opens}");
    }
    assert_eq!(
        a.status.as_ref().map(|(s, _)| s.as_str()),
        Some("cancelled")
    );
    assert_eq!(a.update(ctrl_c()), vec![Effect::Quit]);
}

/// The demo launch moved into Canary 10%, where auto-rollback is armed.
fn enter_canary(a: &mut App) {
    journal(
        a,
        vec![Event {
            seq: 1,
            at: now() - chrono::Duration::seconds(30),
            actor: "alice".into(),
            kind: EventKind::Advanced {
                from: "preflight".into(),
                to: "canary-10".into(),
                waived: Vec::new(),
                overridden: Vec::new(),
                reason: None,
            },
            gates: Vec::new(),
        }],
    );
}

/// With auto-rollback armed, a screen that may be the launch's only guard
/// asks before `q` or Ctrl-C closes it (closing would stop auto-rollback);
/// one following another guard's lease closes at once.
#[test]
fn quitting_the_only_guard_while_armed_asks_first() {
    let ctrl_c = || {
        Msg::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('c'),
            crossterm::event::KeyModifiers::CONTROL,
        ))
    };
    let mut a = app();
    enter_canary(&mut a);
    for quit in [key('q'), ctrl_c()] {
        assert!(a.update(quit).is_empty(), "closed an armed guard at once");
        assert!(
            matches!(&a.mode, Mode::Prompt(p) if p.kind == PromptKind::Quit),
            "{:?}",
            a.mode
        );
        let screen = draw(&a, 100, 30);
        assert!(screen.contains("only guard"), "{screen}");
        assert!(
            screen.contains("watch layouts/demo.toml` in another pane"),
            "{screen}"
        );
        a.update(code(KeyCode::Esc));
        assert_eq!(a.mode, Mode::Normal);
    }
    a.update(key('q'));
    for c in "quit".chars() {
        a.update(key(c));
    }
    assert_eq!(a.update(code(KeyCode::Enter)), vec![Effect::Quit]);
    // Another process polls: this screen is not the only guard.
    let mut a = app();
    enter_canary(&mut a);
    a.update(Msg::Runtime(Update::Lease(
        gonogo::runtime::sampler::LeaseNews::Following,
    )));
    assert_eq!(a.update(key('q')), vec![Effect::Quit]);
}

/// Auto-rollback that cannot see is not ARMED on the screen: a rollback
/// trigger whose signal is UNKNOWN or stale makes the header say
/// `auto-rollback BLIND (signal: why)`; fresh evidence makes it ARMED.
#[test]
fn the_header_says_auto_rollback_is_blind() {
    let mut a = app();
    enter_canary(&mut a);
    let screen = draw(&a, 120, 30);
    let header: Vec<&str> = screen.lines().take(2).collect();
    assert!(
        header[1].contains("auto-rollback BLIND (error_rate: no data yet)"),
        "{screen}"
    );
    healthy(&mut a);
    let screen = draw(&a, 120, 30);
    let header: Vec<&str> = screen.lines().take(2).collect();
    assert!(header[1].contains("auto-rollback ARMED"), "{screen}");
    // The metrics behind a trigger stop answering.
    sample(
        &mut a,
        "error_rate",
        0,
        Outcome::Unknown("connection refused".into()),
    );
    let screen = draw(&a, 120, 30);
    let header: Vec<&str> = screen.lines().take(2).collect();
    assert!(
        header[1].contains("auto-rollback BLIND (error_rate: connection refused)"),
        "{screen}"
    );
}

#[test]
fn pasted_text_never_fires_a_key() {
    let mut a = app();
    assert!(a.update(Msg::Paste("rqa\n".into())).is_empty());
    assert_eq!(a.mode, Mode::Normal);
    a.update(key('n'));
    assert!(a.update(Msg::Paste("line one\nq".into())).is_empty());
    let Mode::Prompt(p) = &a.mode else {
        panic!("no prompt")
    };
    assert_eq!(p.input, "line oneq");
}

#[test]
fn read_only_refuses_every_mutating_key_with_the_reason() {
    let mut a = app();
    a.read_only = true;
    for c in ['a', 'A', 's', 'x', 'h', 'r', 'd', 'n', ' '] {
        assert!(a.update(key(c)).is_empty(), "{c}");
        assert_eq!(a.mode, Mode::Normal, "{c}");
        let (why, _) = a.status.clone().unwrap();
        assert!(
            why.ends_with("this screen is read-only (--read-only)"),
            "{c}: {why}"
        );
    }
    assert_eq!(a.update(key('q')), vec![Effect::Quit]);
}

#[test]
fn space_checks_the_selected_item() {
    let mut a = app();
    healthy(&mut a);
    a.update(code(KeyCode::Tab));
    assert_eq!(a.focus, Focus::Checklist);
    a.update(key('j'));
    let effects = a.update(key(' '));
    assert_eq!(
        effects,
        vec![Effect::Perform(Act::CheckItem {
            checklist: "preflight".into(),
            item: "Dashboards open".into(),
            undo: false
        })]
    );
}

#[test]
fn frames() {
    let mut a = app();
    healthy(&mut a);
    insta::assert_snapshot!("preflight_80x24", draw(&a, 80, 24));
    journal(
        &mut a,
        vec![
            event(
                1,
                EventKind::ItemChecked {
                    checklist: "preflight".into(),
                    item: "On-call engineer paged in".into(),
                },
            ),
            event(
                2,
                EventKind::Advanced {
                    from: "preflight".into(),
                    to: "canary-10".into(),
                    waived: vec![],
                    overridden: Vec::new(),
                    reason: None,
                },
            ),
            event(
                3,
                EventKind::SignedOff {
                    phase: "canary-10".into(),
                    role: "release".into(),
                    note: None,
                },
            ),
        ],
    );
    sample(&mut a, "error_rate", 0, Outcome::Number(0.05));
    insta::assert_snapshot!("canary_nogo_120x40", draw(&a, 120, 40));
    journal(
        &mut a,
        vec![event(
            4,
            EventKind::Held {
                reason: "waiting for DBA".into(),
            },
        )],
    );
    a.update(key('?'));
    insta::assert_snapshot!("held_with_help_120x40", draw(&a, 120, 40));
    a.update(key('x'));
    journal(
        &mut a,
        vec![event(
            5,
            EventKind::RollbackStarted {
                reason: "errors".into(),
                triggers: vec![],
                command: vec!["echo".into()],
                offline: None,
            },
        )],
    );
    a.update(key('r'));
    insta::assert_snapshot!("rolled_back_confirm_120x40", draw(&a, 120, 40));
    insta::assert_snapshot!("too_small", draw(&a, 60, 10));
}

#[test]
fn presenter_and_demo_frames() {
    let mut a = app();
    healthy(&mut a);
    a.demo = Some("http://127.0.0.1:40000".into());
    insta::assert_snapshot!("demo_hint_100x30", draw(&a, 100, 30));
    assert_eq!(a.update(key('f')), vec![Effect::DemoFault(true)]);
    a.update(key('p'));
    assert!(a.presenter);
    let frame = draw(&a, 100, 30);
    assert!(frame.contains("fault on"), "{frame}");
    insta::assert_snapshot!("presenter_100x30", frame);
}

#[test]
fn tiny_areas_never_panic() {
    let mut a = app();
    healthy(&mut a);
    for (w, h) in [
        (1, 1),
        (0, 0),
        (2, 30),
        (200, 2),
        (79, 23),
        (80, 24),
        (81, 25),
        (200, 50),
    ] {
        for presenter in [false, true] {
            a.presenter = presenter;
            let _ = draw(&a, w, h);
        }
    }
}

#[test]
fn presenter_fits_the_longest_verdict_at_80x24() {
    let mut a = app();
    healthy(&mut a);
    a.presenter = true;
    journal(&mut a, rollback_ended(1, true));
    let frame = draw(&a, 80, 24);
    // Both in quadrant letters; the line below carries glyph and word.
    assert!(frame.contains("⟲ ROLLED BACK"), "{frame}");
    assert!(frame.lines().next().unwrap().contains("▜▛▜▖"), "{frame}");
    assert!(!frame.contains("14:00:00Z"), "the clock fits big: {frame}");
    insta::assert_snapshot!("presenter_rolled_back_80x24", frame);
    // The longest word of all: a rollback that failed.
    let mut a = app();
    healthy(&mut a);
    a.presenter = true;
    journal(&mut a, rollback_ended(1, false));
    let frame = draw(&a, 80, 24);
    assert!(frame.contains("✘ ROLLBACK FAILED"), "{frame}");
    assert!(frame.lines().next().unwrap().contains("▜▛▜▖"), "{frame}");
    insta::assert_snapshot!("presenter_rollback_failed_80x24", frame);
}

/// A rollback started at `seq` and ended at `seq + 1`, well or not.
fn rollback_ended(seq: i64, success: bool) -> Vec<Event> {
    vec![
        event(
            seq,
            EventKind::RollbackStarted {
                reason: "errors".into(),
                triggers: vec![],
                command: vec!["echo".into()],
                offline: None,
            },
        ),
        event(
            seq + 1,
            EventKind::RollbackFinished {
                outcome: gonogo::launch::CommandOutcome {
                    command: vec!["echo".into()],
                    ending: if success {
                        "exit status 0".into()
                    } else {
                        "exit status 3".into()
                    },
                    success,
                    took_ms: 40,
                    output_tail: String::new(),
                },
                started: Some(seq),
                cause: Some("alice: manual rollback".into()),
                offline: None,
            },
        ),
    ]
}

#[test]
fn custom_screen_rows_of_panes() {
    let text = gonogo::demo::LAYOUT.to_string()
        + "\n[screen]\nrows = [\n  { height = 50, panes = [\"phases\", \"gates\", \"signoffs\"] },\n  { height = 50, panes = [\"chart:p95\", \"checklist:preflight\", \"signals\", \"log\"] },\n]\n";
    let layout = gonogo::layout::parse(Path::new("layouts/demo.toml"), &text).unwrap();
    let mut a = App::new(Arc::new(layout), "alice".into(), now());
    a.colors = gonogo::ui::theme::Depth::None;
    healthy(&mut a);
    let frame = draw(&a, 160, 40);
    for title in [
        " Phases ",
        " Gates ",
        " Sign-off ",
        " p95 180 ms",
        " preflight 0/3 ",
        " Signals ",
        " Journal ",
    ] {
        assert!(frame.contains(title), "no {title:?} in\n{frame}");
    }
    assert!(
        frame.contains("${DEMO_URL}/api/stats"),
        "signals pane names sources"
    );
    a.presenter = true;
    let frame = draw(&a, 160, 40);
    assert!(
        !frame.contains("DEMO_URL"),
        "presenter mode hides sources:\n{frame}"
    );
    insta::assert_snapshot!("custom_rows_presenter_160x40", frame);
}

#[test]
fn more_frames() {
    // All GO at 200×50: preflight items checked in the journal.
    let mut a = app();
    healthy(&mut a);
    journal(&mut a, preflight_checked());
    let frame = draw(&a, 200, 50);
    assert!(
        frame.contains("✔ GO") && !frame.contains("NO-GO"),
        "{frame}"
    );
    insta::assert_snapshot!("all_go_200x50", frame);

    // UNKNOWN and stale: the api check errors, the queue stops reporting.
    let mut b = app();
    healthy(&mut b);
    sample(
        &mut b,
        "api",
        0,
        Outcome::Unknown("environment variable DEMO_URL is not set".into()),
    );
    b.update(Msg::Tick(now() + chrono::Duration::seconds(20)));
    let frame = draw(&b, 120, 40);
    assert!(
        frame.contains("STALE") && frame.contains("UNKNOWN"),
        "{frame}"
    );
    insta::assert_snapshot!("unknown_and_stale_120x40", frame);

    // A waiver: advanced past the windows with an override.
    let mut c = app();
    healthy(&mut c);
    journal(
        &mut c,
        vec![
            event(
                1,
                EventKind::Advanced {
                    from: "preflight".into(),
                    to: "canary-10".into(),
                    waived: vec![],
                    overridden: Vec::new(),
                    reason: None,
                },
            ),
            event(
                2,
                EventKind::Advanced {
                    from: "canary-10".into(),
                    to: "canary-50".into(),
                    waived: vec!["error_rate < 1% for 20s".into()],
                    overridden: Vec::new(),
                    reason: Some("verified by hand".into()),
                },
            ),
        ],
    );
    let frame = draw(&c, 120, 40);
    assert!(frame.contains("⚠ WAIVED Canary 10%"), "{frame}");
    insta::assert_snapshot!("waiver_120x40", frame);

    // Each prompt, and the read-only key bar.
    for (k, title) in [
        ('A', " Advance with override "),
        ('h', " Hold "),
        ('n', " Note "),
        ('d', " Disarm auto-rollback "),
    ] {
        let mut d = app();
        healthy(&mut d);
        d.update(key(k));
        let frame = draw(&d, 100, 30);
        assert!(frame.contains(title), "{k}: {frame}");
        insta::assert_snapshot!(
            format!("prompt_{}", title.trim().replace(' ', "_").to_lowercase()),
            frame
        );
    }
    let mut r = app();
    healthy(&mut r);
    r.read_only = true;
    r.update(key('a'));
    let frame = draw(&r, 100, 30);
    assert!(
        frame.contains("READ-ONLY viewer") && frame.contains("this screen is read-only"),
        "{frame}"
    );
    insta::assert_snapshot!("read_only_100x30", frame);
}

#[test]
fn command_output_streams_scrolls_and_is_never_shown_twice() {
    use gonogo::launch::CommandOutcome;
    let mut a = app();
    healthy(&mut a);
    let argv = vec!["./rollback.sh".to_string()];
    a.update(run_started(argv.clone()));
    for i in 1..=30 {
        a.update(output_line(format!("step {i} of 30")));
    }
    let frame = draw(&a, 120, 40);
    assert!(frame.contains("running ./rollback.sh"), "{frame}");
    assert!(
        frame.contains("step 30 of 30"),
        "newest line shown: {frame}"
    );
    assert!(
        !frame.contains("step 1 of 30 "),
        "oldest scrolled off: {frame}"
    );
    let outcome = CommandOutcome {
        command: argv.clone(),
        ending: "exit status 0".into(),
        success: true,
        took_ms: 1500,
        output_tail: "step 29 of 30\nstep 30 of 30\n".into(),
    };
    // The journal record of this run may arrive before the runner's last
    // message, or after it: either way its tail is not repeated.
    let finished = |seq, actor: &str, outcome: &CommandOutcome| Event {
        actor: actor.into(),
        ..event(
            seq,
            EventKind::RollbackFinished {
                outcome: outcome.clone(),
                started: None,
                cause: None,
                offline: None,
            },
        )
    };
    journal(&mut a, vec![finished(7, "alice", &outcome)]);
    a.update(run_finished(outcome.clone()));
    assert_eq!(a.output.len(), 1 + 30 + 1, "{:?}", a.output);
    assert_eq!(a.output.last().unwrap(), "→ exit status 0 after 1.5s");
    a.update(run_started(argv.clone()));
    a.update(run_finished(outcome.clone()));
    journal(&mut a, vec![finished(8, "alice", &outcome)]);
    assert_eq!(a.output.len(), 1 + 30 + 1 + 2, "{:?}", a.output);
    // Another process's run shows its recorded tail.
    let theirs = CommandOutcome {
        took_ms: 900,
        ..outcome.clone()
    };
    journal(&mut a, vec![finished(9, "bob", &theirs)]);
    assert!(
        a.output.iter().any(|l| l.starts_with("#9 bob")),
        "{:?}",
        a.output
    );
    assert_eq!(a.output.last().unwrap(), "  step 30 of 30");
    let lines = a.output.len();

    // Tab reaches the output pane; k scrolls back, End follows again.
    for _ in 0..3 {
        a.update(code(KeyCode::Tab));
    }
    assert_eq!(a.focus, Focus::Output);
    a.update(key('k'));
    a.update(key('k'));
    assert_eq!(a.output_scroll, 2);
    let frame = draw(&a, 120, 40);
    assert!(frame.contains("scrolled back 2 lines"), "{frame}");
    // New output keeps a scrolled-back view where it is.
    a.update(output_line("late line".into()));
    assert_eq!(a.output_scroll, 3);
    assert_eq!(a.output.len(), lines + 1);
    a.update(code(KeyCode::End));
    assert_eq!(a.output_scroll, 0);
    insta::assert_snapshot!("output_pane_120x40", draw(&a, 120, 40));
    a.update(code(KeyCode::Tab));
    assert_eq!(a.focus, Focus::Gates);
}

#[test]
fn history_does_not_replay_command_output() {
    use gonogo::launch::CommandOutcome;
    let mut a = app();
    history(
        &mut a,
        vec![event(
            1,
            EventKind::RollbackFinished {
                outcome: CommandOutcome {
                    command: vec!["./rollback.sh".into()],
                    ending: "exit status 0".into(),
                    success: true,
                    took_ms: 10,
                    output_tail: "done\n".into(),
                },
                started: None,
                cause: None,
                offline: None,
            },
        )],
    );
    assert!(a.output.is_empty());
    assert!(a.live.read().state().rolled_back.is_some() || !a.log.is_empty());
    // With no output, Tab skips the output pane.
    for _ in 0..3 {
        a.update(code(KeyCode::Tab));
    }
    assert_eq!(a.focus, Focus::Gates);
}

#[test]
fn nogo_with_a_window_running() {
    let mut a = app();
    healthy(&mut a);
    journal(
        &mut a,
        vec![event(
            1,
            EventKind::Advanced {
                from: "preflight".into(),
                to: "canary-10".into(),
                waived: vec![],
                overridden: Vec::new(),
                reason: Some("preflight done".into()),
            },
        )],
    );
    sample(&mut a, "error_rate", 0, Outcome::Number(0.05));
    // p95 recovered 8 s ago: its 20 s window is running, 12 s to go.
    for ago in (10..=30).rev().step_by(2) {
        sample(&mut a, "p95", ago, Outcome::Number(620.0));
    }
    for ago in (0..=8).rev().step_by(2) {
        sample(&mut a, "p95", ago, Outcome::Number(180.0));
    }
    let frame = draw(&a, 120, 40);
    let row = |name: &str| {
        frame
            .lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("error_rate").contains("✘ NO-GO"), "{frame}");
    assert!(row("error_rate").contains("needs < 1%"), "{frame}");
    assert!(row("p95").contains("PENDING"), "{frame}");
    assert!(row("p95").contains("12s"), "{frame}");
    insta::assert_snapshot!("nogo_and_window_running_120x40", frame);
}

#[test]
fn sign_picker_and_arm_prompts() {
    let text = r#"
[launch]
name = "Two roles"

[roles]
release = ["*"]
sre = ["*"]

[signals.api]
kind = "http"
url = "http://127.0.0.1:9/healthz"

[[phases]]
id = "go-live"
title = "Go live"
signoff = ["release", "sre"]
gates = [{ signal = "api", up = true }]

[rollback]
run = ["true"]
confirm = "undo"
auto_from = "go-live"
triggers = [{ signal = "api", up = false, for = "1m" }]
"#;
    let layout = gonogo::layout::parse(Path::new("two.toml"), text).unwrap();
    let mut a = App::new(Arc::new(layout), "alice".into(), now());
    a.colors = gonogo::ui::theme::Depth::None;
    history(
        &mut a,
        vec![event(
            0,
            EventKind::Started {
                phase: "go-live".into(),
            },
        )],
    );
    a.update(key('s'));
    let frame = draw(&a, 100, 30);
    assert!(
        frame.contains("1 release") && frame.contains("2 sre"),
        "{frame}"
    );
    insta::assert_snapshot!("prompt_sign_as", frame);
    // Picking 2 signs as sre, through the same act as `gonogo sign`.
    assert_eq!(
        a.update(key('2')),
        vec![Effect::Perform(Act::SignOff {
            role: "sre".into(),
            phase: Some("go-live".into()),
            note: None,
        })]
    );
    journal(
        &mut a,
        vec![event(
            1,
            EventKind::Disarmed {
                reason: "planned maintenance".into(),
            },
        )],
    );
    a.update(key('d'));
    let frame = draw(&a, 100, 30);
    assert!(frame.contains("Arm auto-rollback"), "{frame}");
    insta::assert_snapshot!("prompt_arm_auto-rollback", frame);
}

/// The demo's key bar names the one thing to try next, as the launch moves.
#[test]
fn demo_guides_a_first_time_viewer() {
    let mut a = not_started();
    a.demo = Some("http://127.0.0.1:40000".into());
    healthy(&mut a);
    let next = |a: &App| {
        let frame = draw(a, 160, 40);
        let bar = frame.lines().last().unwrap_or_default().trim().to_string();
        assert!(bar.starts_with("DEMO · next: "), "{frame}");
        bar
    };
    assert!(
        next(&a).contains("NOT STARTED — a starts the launch (enters Preflight)"),
        "{}",
        next(&a)
    );
    // The advance key starts a launch that has not started.
    assert_eq!(a.update(key('a')), vec![Effect::Perform(Act::Start)]);
    journal(
        &mut a,
        vec![event(
            0,
            EventKind::Started {
                phase: "preflight".into(),
            },
        )],
    );
    assert!(next(&a).contains("Tab to the checklist"), "{}", next(&a));
    journal(&mut a, preflight_checked());
    assert!(
        next(&a).contains("a advances to Canary 10%"),
        "{}",
        next(&a)
    );
    journal(
        &mut a,
        vec![event(
            4,
            EventKind::Advanced {
                from: "preflight".into(),
                to: "canary-10".into(),
                waived: vec![],
                overridden: Vec::new(),
                reason: None,
            },
        )],
    );
    assert!(
        next(&a).contains("s signs off Canary 10% as release"),
        "{}",
        next(&a)
    );
    journal(
        &mut a,
        vec![event(
            5,
            EventKind::SignedOff {
                phase: "canary-10".into(),
                role: "release".into(),
                note: None,
            },
        )],
    );
    assert!(
        next(&a).contains("a advances to Canary 50%"),
        "{}",
        next(&a)
    );
    a.update(key('f'));
    assert!(next(&a).contains("fault on"), "{}", next(&a));
    sample(&mut a, "error_rate", 0, Outcome::Number(0.05));
    // Above the 2% trigger: the bar counts down to the auto-rollback, and
    // runs between samples.
    let bar = |a: &App| {
        draw(a, 160, 40)
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    assert!(
        bar(&a).starts_with("⟲ auto-rollback in 10s · r roll back now · d disarm"),
        "{}",
        bar(&a)
    );
    a.update(Msg::Tick(now() + chrono::Duration::seconds(4)));
    assert!(bar(&a).starts_with("⟲ auto-rollback in 6s"), "{}", bar(&a));
    a.update(Msg::Tick(now()));
    // Disarmed, the guide is back: the operator decides.
    journal(
        &mut a,
        vec![event(
            6,
            EventKind::Disarmed {
                reason: "watching it".into(),
            },
        )],
    );
    assert!(
        next(&a).contains("a gate is red — r rolls back"),
        "{}",
        next(&a)
    );
    journal(&mut a, rollback_ended(7, false));
    assert!(
        next(&a).contains("ROLLBACK FAILED — r retries it"),
        "{}",
        next(&a)
    );
    journal(&mut a, rollback_ended(9, true));
    assert!(next(&a).contains("gonogo log"), "{}", next(&a));
}

/// SPEC §4: presenter mode hides URLs and hosts wherever they would show —
/// a gate's reason, the journal tail, command output, the status line.
#[test]
fn presenter_hides_urls_and_hosts_everywhere() {
    let mut a = app();
    healthy(&mut a);
    sample(
        &mut a,
        "api",
        0,
        Outcome::Unknown("cannot connect to http://10.1.2.3:8443/healthz".into()),
    );
    a.update(run_started(vec!["./rollback.sh".into()]));
    a.update(output_line("draining db1.prod.internal:5432".into()));
    journal(
        &mut a,
        vec![event(
            1,
            EventKind::Noted {
                text: "paged the owner of 10.9.8.7".into(),
            },
        )],
    );
    a.update(refused(
        "cannot reach https://deploy.example.com/api".into(),
    ));
    let plain = draw(&a, 200, 50);
    for secret in [
        "http://10.1.2.3:8443",
        "db1.prod.internal:5432",
        "10.9.8.7",
        "https://deploy.example.com/api",
    ] {
        assert!(plain.contains(secret), "{secret} not shown:\n{plain}");
    }
    a.presenter = true;
    let shared = draw(&a, 200, 50);
    for secret in ["10.1.2.3", "db1.prod", "10.9.8.7", "deploy.example.com"] {
        assert!(!shared.contains(secret), "{secret} shown:\n{shared}");
    }
    assert!(shared.contains("cannot connect to ‹url›"), "{shared}");
    assert!(shared.contains("draining ‹host›"), "{shared}");
}

#[test]
fn the_journal_pane_scrolls_back_and_follows_again() {
    let mut a = app();
    healthy(&mut a);
    let note = |seq: i64| {
        event(
            seq,
            EventKind::Noted {
                text: format!("note number {seq}"),
            },
        )
    };
    journal(&mut a, (1..=40).map(note).collect());
    let newest = draw(&a, 120, 40);
    assert!(newest.contains("note number 40"), "{newest}");
    a.update(code(KeyCode::Tab));
    a.update(code(KeyCode::Tab));
    assert_eq!(a.focus, Focus::Log);
    a.update(code(KeyCode::PageUp));
    a.update(key('k'));
    assert_eq!(a.log_scroll, 11);
    let back = draw(&a, 120, 40);
    assert!(back.contains("note number 29 "), "{back}");
    assert!(!back.contains("note number 30 "), "{back}");
    assert!(back.contains("scrolled back 11 events"), "{back}");
    // New events keep a scrolled-back view where it is.
    journal(&mut a, vec![note(41)]);
    assert_eq!(a.log_scroll, 12);
    assert!(draw(&a, 120, 40).contains("note number 29 "));
    a.update(code(KeyCode::End));
    assert!(draw(&a, 120, 40).contains("note number 41"));
}

/// Before the start the header says NOT STARTED and the key bar offers the
/// start; a failed rollback is the loudest thing on screen.
#[test]
fn not_started_and_rollback_failed_frames() {
    let mut a = not_started();
    healthy(&mut a);
    let frame = draw(&a, 80, 24);
    assert!(frame.contains("○ NOT STARTED"), "{frame}");
    assert!(frame.contains(" a start "), "{frame}");
    insta::assert_snapshot!("not_started_80x24", frame);
    let mut a = app();
    healthy(&mut a);
    journal(&mut a, rollback_ended(1, false));
    let frame = draw(&a, 120, 40);
    assert!(frame.contains("✘ ROLLBACK FAILED"), "{frame}");
    assert!(!frame.contains("ROLLED BACK"), "{frame}");
    insta::assert_snapshot!("rollback_failed_120x40", frame);
}
