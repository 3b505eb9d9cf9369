//! A running hold trigger on screen: the key bar counts down to the hold
//! and names the trigger, as it does for auto-rollback; the count is gone
//! once the launch is on hold, and stays gone after a resume while the
//! same breach goes on (it would not hold again).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gonogo::launch::{Event, EventKind};
use gonogo::signal::Outcome;
use gonogo::ui::app::{App, Msg};

use crate::screen::{draw, event, history, journal, now, sample};

/// The demo launch with a hold trigger on its webhook backlog, in
/// canary-10 (auto-rollback armed) for 10 s.
fn held_demo() -> App {
    held_demo_breaching(-1)
}

/// The same, its webhook backlog above 500 from `breach` s ago.
fn held_demo_breaching(breach: i64) -> App {
    let text = gonogo::demo::LAYOUT.replace(
        "  { signal = \"api\", up = false, for = \"10s\" },\n]",
        "  { signal = \"api\", up = false, for = \"10s\" },\n  { signal = \"webhook_queue\", above = 500, for = \"1m\", then = \"hold\" },\n]",
    );
    assert_ne!(text, gonogo::demo::LAYOUT, "the demo's triggers moved");
    let layout = gonogo::layout::parse(Path::new("layouts/demo.toml"), &text).unwrap();
    let mut a = App::new(Arc::new(layout), "alice".into(), now());
    a.colors = gonogo::ui::theme::Depth::None;
    history(
        &mut a,
        vec![Event {
            at: now() - chrono::Duration::seconds(61),
            ..event(
                0,
                EventKind::Started {
                    phase: "preflight".into(),
                },
            )
        }],
    );
    backlog_from(&mut a, Some(breach));
    journal(
        &mut a,
        vec![Event {
            at: now() - chrono::Duration::seconds(10),
            ..event(
                1,
                EventKind::Advanced {
                    from: "preflight".into(),
                    to: "canary-10".into(),
                    waived: vec![],
                    reason: None,
                    overridden: Vec::new(),
                },
            )
        }],
    );
    a
}

/// Healthy samples every 2 s over the last 30 s, the webhook backlog at
/// 612 from `breach` seconds ago on (12 before).
fn backlog_from(a: &mut App, breach: Option<i64>) {
    for ago in (0..=30).rev().step_by(2) {
        let up = Outcome::Health {
            up: true,
            latency: Some(Duration::from_millis(12)),
            detail: "status 200 OK".into(),
        };
        sample(a, "api", ago, up);
        sample(a, "error_rate", ago, Outcome::Number(0.0004));
        sample(a, "p95", ago, Outcome::Number(180.0));
        let queue = if breach.is_some_and(|b| ago <= b) {
            612.0
        } else {
            12.0
        };
        sample(a, "webhook_queue", ago, Outcome::Number(queue));
    }
    sample(
        a,
        "preflight",
        0,
        Outcome::Checklist(gonogo::signal::Checklist::from_items(&[
            "On-call engineer paged in".into(),
            "Dashboards open".into(),
            "Rollback rehearsed on staging".into(),
        ])),
    );
}

fn bar(frame: &str) -> String {
    frame.lines().last().unwrap_or_default().to_string()
}

#[test]
fn a_running_hold_trigger_counts_down_in_the_key_bar() {
    let clear = held_demo();
    assert!(!bar(&draw(&clear, 80, 24)).contains("hold in"));
    // The backlog breaches from 8 s ago: 52 s of the minute are left.
    let mut a = held_demo_breaching(8);
    let frame = draw(&a, 80, 24);
    assert!(
        bar(&frame).starts_with(
            " ⏸ hold in 52s (webhook_queue > 500) · h hold · r roll back · ? help · q quit"
        ),
        "{frame}"
    );
    insta::assert_snapshot!("hold_countdown_80x24", frame);
    insta::assert_snapshot!("hold_countdown_200x60", draw(&a, 200, 60));
    // The count runs between samples.
    a.update(Msg::Tick(now() + chrono::Duration::seconds(2)));
    assert!(
        bar(&draw(&a, 80, 24)).starts_with(" ⏸ hold in 50s"),
        "{}",
        bar(&draw(&a, 80, 24))
    );
    a.update(Msg::Tick(now()));

    // On hold, there is nothing left to count down to.
    journal(
        &mut a,
        vec![event(
            2,
            EventKind::AutoHeld {
                reason: "auto-hold: webhook_queue > 500 for 1m (breaching: 612 (> 500))".into(),
                triggers: vec!["webhook_queue > 500 for 1m (breaching: 612 (> 500))".into()],
            },
        )],
    );
    let frame = draw(&a, 80, 24);
    assert!(!bar(&frame).contains("hold in"), "{frame}");
    assert!(
        frame.lines().next().unwrap_or_default().contains("⏸ HOLD"),
        "{frame}"
    );
    // Resumed while the same breach goes on: a person saw it, it will not
    // hold again, so the bar does not say it will.
    journal(
        &mut a,
        vec![Event {
            at: now(),
            ..event(3, EventKind::Resumed)
        }],
    );
    let frame = draw(&a, 80, 24);
    assert!(!bar(&frame).contains("hold in"), "{frame}");
}
