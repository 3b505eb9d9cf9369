//! The screen when things do not fit (SPEC §4): no gate is ever hidden —
//! those not GO come first, the pane scrolls, a line counts the rest — and
//! nothing is cut silently: text ends in `…`, help and refusals wrap, the
//! timeline keeps the current and the last phase. Also the small things
//! that ride on the same frames: the live phase time, PENDING, the
//! auto-rollback countdown, the demo's address.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use crossterm::event::KeyCode;
use gonogo::act::Act;
use gonogo::launch::EventKind;
use gonogo::signal::Outcome;
use gonogo::ui::app::{App, Effect, Focus, Msg};

use crate::screen::{app, code, draw, event, healthy, history, journal, key, now, refused, sample};

/// A launch of one phase with `n` gates, each on a signal of its own
/// (`s01`…); gate 12 waits on a 30 s window, gate 3 has a long name.
fn many_gates(n: usize) -> App {
    let mut text = String::from("[launch]\nname = \"Many gates\"\n");
    for i in 1..=n {
        let _ = write!(
            text,
            "[signals.s{i:02}]\nkind = \"json\"\nurl = \"http://127.0.0.1:9/{i}\"\npath = \"$.v\"\n"
        );
    }
    text.push_str("[[phases]]\nid = \"cutover\"\ntitle = \"Cutover\"\ngates = [\n");
    for i in 1..=n {
        let extra = match i {
            3 => ", name = \"a gate whose name is far too long for its column\"",
            12 => ", for = \"30s\"",
            _ => "",
        };
        let _ = writeln!(text, "  {{ signal = \"s{i:02}\", below = 10{extra} }},");
    }
    text.push_str("]\n");
    let layout = gonogo::layout::parse(Path::new("many.toml"), &text).unwrap();
    let mut a = App::new(Arc::new(layout), "alice".into(), now());
    a.colors = gonogo::ui::theme::Depth::None;
    history(
        &mut a,
        vec![event(
            0,
            EventKind::Started {
                phase: "cutover".into(),
            },
        )],
    );
    a
}

/// Every gate GO but these: 7 UNKNOWN, 12 PENDING, 19 and 21 NO-GO.
fn mixed(a: &mut App, n: usize) {
    for i in 1..=n {
        let id = format!("s{i:02}");
        let outcome = match i {
            7 => Outcome::Unknown("connection refused".into()),
            19 | 21 => Outcome::Number(50.0),
            _ => Outcome::Number(5.0),
        };
        sample(a, &id, 0, outcome);
    }
}

fn row<'a>(frame: &'a str, name: &str) -> Option<&'a str> {
    frame
        .lines()
        .find(|l| l.starts_with('│') && l.split_whitespace().any(|w| w == name))
}

#[test]
fn gates_that_do_not_fit_are_ranked_scrolled_and_counted() {
    let mut a = many_gates(21);
    mixed(&mut a, 21);
    let frame = draw(&a, 80, 24);
    // The NO-GO gates, last in the layout, come first; then UNKNOWN, then
    // PENDING; the line under them counts the rest.
    let rows: Vec<&str> = frame
        .lines()
        .filter(|l| {
            l.starts_with("│✘") || l.starts_with("│?") || l.starts_with("│…") || l.starts_with("│✔")
        })
        .collect();
    assert!(
        rows[0].contains("✘ NO-GO") && rows[0].contains("s19"),
        "{frame}"
    );
    assert!(
        rows[1].contains("✘ NO-GO") && rows[1].contains("s21"),
        "{frame}"
    );
    assert!(
        rows[2].contains("? UNKNOWN") && rows[2].contains("s07"),
        "{frame}"
    );
    assert!(
        rows[3].contains("… PENDING") && rows[3].contains("s12"),
        "{frame}"
    );
    let shown = rows.len();
    let more = format!("+{} more (0 not GO) · j/k scroll", 21 - shown);
    assert!(frame.contains(&more), "no {more:?} in\n{frame}");
    insta::assert_snapshot!("many_gates_80x24", frame);

    // j walks down the ranked list; the pane follows the cursor, and the
    // count says what is above and below.
    assert_eq!(a.focus, Focus::Gates);
    for _ in 0..12 {
        a.update(key('j'));
    }
    let frame = draw(&a, 80, 24);
    // The cursor (on s10, the ninth GO gate) is the last row; the four not
    // GO are above it now, and counted.
    let last = frame
        .lines()
        .take_while(|l| !l.starts_with("│+"))
        .last()
        .unwrap_or_default();
    assert!(last.contains(" s10 "), "{frame}");
    assert!(
        frame.contains("+15 more (4 not GO): 7 above, 8 below · j/k scroll"),
        "{frame}"
    );
    assert!(
        row(&frame, "s19").is_none(),
        "scrolled past the top: {frame}"
    );
    insta::assert_snapshot!("many_gates_scrolled_80x24", frame);
    a.update(code(KeyCode::Tab));
    let frame = draw(&a, 80, 24);
    assert!(frame.contains("· Tab here, j/k scroll"), "{frame}");

    // Room for every gate: layout order, no count, the long name cut with
    // an ellipsis.
    let frame = draw(&a, 200, 60);
    assert!(!frame.contains(" more ("), "{frame}");
    let order: Vec<usize> = (1..=21)
        .filter_map(|i| frame.find(&format!(" s{i:02} ")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{frame}");
    assert!(frame.contains("a gate whose name is far to…"), "{frame}");
    insta::assert_snapshot!("many_gates_200x60", frame);
}

#[test]
fn a_long_refusal_and_the_help_are_read_whole_at_80x24() {
    let mut a = app();
    healthy(&mut a);
    let why = "cannot advance: preflight NO-GO (3 of 3 items open), webhook_queue UNKNOWN \
               (no sample yet), release has not signed, and the soak has 4m12s to go; \
               A advances past the gates with a typed reason, recorded as a waiver";
    a.update(refused(why.into()));
    let frame = draw(&a, 80, 24);
    let said: String = frame
        .lines()
        .skip_while(|l| !l.starts_with(" ✘ cannot advance"))
        .take_while(|l| l.starts_with(' ') && !l.contains(" · "))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(said, format!("✘ {why}"), "{frame}");
    insta::assert_snapshot!("long_refusal_80x24", frame);

    a.update(key('?'));
    let frame = draw(&a, 80, 24);
    assert!(frame.contains("waiver)"), "{frame}");
    assert!(frame.contains("journaled with the"), "{frame}");
    insta::assert_snapshot!("help_80x24", frame);
}

#[test]
fn the_timeline_keeps_the_current_and_the_last_phase() {
    let mut text = String::from(
        "[launch]\nname = \"A launch whose name is long enough to crowd the verdict out of the header\"\n\
         [signals.up]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/\"\n",
    );
    let ids = [
        "preflight",
        "dark-launch",
        "canary-1",
        "canary-10",
        "canary-25",
        "canary-50",
        "canary-75",
        "full",
    ];
    for id in ids {
        let _ = write!(
            text,
            "[[phases]]\nid = \"{id}\"\ntitle = \"{id} (the {id} step)\"\ngates = [{{ signal = \"up\", up = true }}]\n"
        );
    }
    let layout = gonogo::layout::parse(Path::new("long.toml"), &text).unwrap();
    let mut a = App::new(Arc::new(layout), "alice".into(), now());
    a.colors = gonogo::ui::theme::Depth::None;
    history(
        &mut a,
        vec![
            event(
                0,
                EventKind::Started {
                    phase: "preflight".into(),
                },
            ),
            event(
                1,
                EventKind::Reopened {
                    phase: "canary-50".into(),
                    reason: "jump for the test".into(),
                },
            ),
        ],
    );
    let frame = draw(&a, 80, 24);
    let header = frame.lines().next().unwrap_or_default();
    assert!(header.contains("? UNKNOWN"), "the verdict is cut: {frame}");
    assert!(header.contains('…'), "{frame}");
    let timeline = frame.lines().nth(2).unwrap_or_default();
    assert!(
        timeline.contains("▶ canary-50 (the canary-50 step) 59s"),
        "{frame}"
    );
    assert!(timeline.contains("full"), "{frame}");
    assert!(timeline.contains(" … "), "{frame}");
    // No checklist signal: no checklist pane, and Tab skips it.
    assert!(!frame.contains("Checklist"), "{frame}");
    let keys = frame
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    assert!(!keys.contains("space"), "a key with nothing to do: {keys}");
    a.update(code(KeyCode::Tab));
    assert_eq!(a.focus, Focus::Log);
    insta::assert_snapshot!("condensed_timeline_80x24", frame);
    // The time in the phase runs with the clock.
    a.update(Msg::Tick(now() + chrono::Duration::seconds(60)));
    let frame = draw(&a, 80, 24);
    assert!(
        frame.lines().nth(2).unwrap_or_default().contains("1m59s"),
        "{frame}"
    );
}

#[test]
fn space_checks_and_moves_to_the_next_open_item() {
    let mut a = app();
    healthy(&mut a);
    // The second item is already checked.
    journal(
        &mut a,
        vec![event(
            1,
            EventKind::ItemChecked {
                checklist: "preflight".into(),
                item: "Dashboards open".into(),
            },
        )],
    );
    a.update(code(KeyCode::Tab));
    assert_eq!(a.focus, Focus::Checklist);
    let effects = a.update(key(' '));
    assert_eq!(
        effects,
        vec![Effect::Perform(Act::CheckItem {
            checklist: "preflight".into(),
            item: "On-call engineer paged in".into(),
            undo: false
        })]
    );
    assert_eq!(a.cursor, 2, "skips the checked item");
    // Unchecking leaves the cursor where it is.
    a.update(key('k'));
    assert_eq!(a.cursor, 1);
    a.update(key(' '));
    assert_eq!(a.cursor, 1);
}

#[test]
fn pending_countdown_and_demo_address_frames() {
    // In canary-10 for 10 s, every sample passing: only the 20 s windows
    // are missing, so the verdict is PENDING, not UNKNOWN.
    let mut a = app();
    a.demo = Some("http://127.0.0.1:40000".into());
    healthy(&mut a);
    journal(
        &mut a,
        vec![gonogo::launch::Event {
            at: now() - chrono::Duration::seconds(10),
            ..event(
                1,
                EventKind::Advanced {
                    from: "preflight".into(),
                    to: "canary-10".into(),
                    waived: vec![],
                    overridden: Vec::new(),
                    reason: None,
                },
            )
        }],
    );
    let frame = draw(&a, 80, 24);
    let header = frame.lines().next().unwrap_or_default();
    assert!(header.contains("… PENDING"), "{frame}");
    assert!(
        frame.contains("demo service http://127.0.0.1:40000"),
        "the demo's address is shown: {frame}"
    );
    insta::assert_snapshot!("pending_demo_80x24", frame);
    let wide = draw(&a, 200, 60);
    assert!(
        wide.contains("curl -X POST http://127.0.0.1:40000/faults/errors?rate=0.05"),
        "{wide}"
    );
    insta::assert_snapshot!("pending_demo_200x60", wide);
    a.presenter = true;
    let shared = draw(&a, 80, 24);
    assert!(
        !shared.contains("127.0.0.1"),
        "presenter hides it: {shared}"
    );

    // Errors above the 2% trigger: the key bar counts down.
    a.presenter = false;
    sample(&mut a, "error_rate", 0, Outcome::Number(0.05));
    let frame = draw(&a, 80, 24);
    let bar = frame.lines().last().unwrap_or_default();
    assert!(
        bar.starts_with(" ⟲ auto-rollback in 10s · r roll back now"),
        "{frame}"
    );
    insta::assert_snapshot!("countdown_80x24", frame);
    insta::assert_snapshot!("countdown_200x60", draw(&a, 200, 60));
}
