//! Charts in the default screen's spare room (issue 10, SPEC §4): the
//! current phase's numeric gated signals over the last minutes, the
//! threshold drawn, the time in breach marked, a `for` window's start
//! shown, every mark named in the legend by its glyph so the chart reads
//! without colour (the frames here are drawn with no colour at all).

use std::time::Duration;

use gonogo::launch::EventKind;
use gonogo::signal::Outcome;

use crate::screen::{app, draw, event, journal, sample};

/// The demo in canary-10: error_rate breached 1% for a while and came
/// back 8 s ago, so its 20 s window is running.
fn canary_with_a_breach() -> gonogo::ui::app::App {
    let mut a = app();
    journal(
        &mut a,
        vec![event(
            1,
            EventKind::Advanced {
                from: "preflight".into(),
                to: "canary-10".into(),
                waived: vec![],
                overridden: Vec::new(),
                reason: None,
            },
        )],
    );
    // Oldest first, as the runtime records them.
    for ago in (0..=40).rev().step_by(2) {
        let up = Outcome::Health {
            up: true,
            latency: Some(Duration::from_millis(12)),
            detail: "status 200 OK".into(),
        };
        sample(&mut a, "api", ago, up);
        let errors = if (10..=20).contains(&ago) {
            0.03
        } else {
            0.002
        };
        sample(&mut a, "error_rate", ago, Outcome::Number(errors));
        sample(
            &mut a,
            "p95",
            ago,
            Outcome::Number(180.0 + f64::from(ago as u8)),
        );
        sample(&mut a, "webhook_queue", ago, Outcome::Number(12.0));
    }
    a
}

/// The leftmost chart pane whose title names `signal`, as its rows.
fn chart<'a>(frame: &'a str, signal: &str) -> Vec<&'a str> {
    let mut rows = frame
        .lines()
        .skip_while(|l| !l.contains(&format!("┌ {signal} ")));
    let mut out: Vec<&str> = rows.next().into_iter().collect();
    // Through the bottom border, which carries the key.
    for l in rows {
        out.push(l);
        if l.starts_with('└') {
            break;
        }
    }
    out
}

#[test]
fn spare_room_shows_the_numbers_with_threshold_breach_and_window() {
    let a = canary_with_a_breach();
    let frame = draw(&a, 200, 60);
    let error_rate = chart(&frame, "error_rate").join("\n");
    assert!(!error_rate.is_empty(), "no error_rate chart:\n{frame}");
    // The legend names each mark by the glyph that draws it.
    for want in [
        "⠤ error_rate",
        "• < 1%",
        "▄ in breach",
        "█ 20s window from -8s",
    ] {
        assert!(error_rate.contains(want), "{want:?} missing:\n{error_rate}");
    }
    // 3% for the 12 s from -20 s to the recovery at -8 s.
    assert!(
        error_rate.contains("in breach 12s") && error_rate.contains("breach 12s/1m"),
        "{error_rate}"
    );
    // p95 has a threshold gate too; api `up` has none and gets no chart.
    assert!(!chart(&frame, "p95").is_empty(), "{frame}");
    assert!(chart(&frame, "api").is_empty(), "{frame}");
    // No gate gave up its row for the charts.
    for gate in ["api", "error_rate", "p95", "Webhook backlog"] {
        assert!(
            frame.lines().any(|l| l.starts_with('│')
                && l.contains(&format!(" {gate} "))
                && (l.contains("GO") || l.contains("PENDING") || l.contains("UNKNOWN"))),
            "gate {gate} is not shown:\n{frame}"
        );
    }
    insta::assert_snapshot!("charts_canary_200x60", frame);
}

#[test]
fn no_room_no_charts_and_no_gate_gives_way() {
    let a = canary_with_a_breach();
    let frame = draw(&a, 80, 24);
    assert!(!frame.contains("in breach"), "{frame}");
    insta::assert_snapshot!("charts_none_80x24", frame);
}

#[test]
fn presenter_mode_keeps_the_charts_larger() {
    let mut a = canary_with_a_breach();
    let rows = |a: &gonogo::ui::app::App| chart(&draw(a, 120, 40), "error_rate").len();
    let normal = rows(&a);
    a.update(crate::screen::key('p'));
    let frame = draw(&a, 120, 40);
    let presenting = chart(&frame, "error_rate").len();
    assert!(
        normal > 0 && presenting > normal,
        "{normal} → {presenting} rows:\n{frame}"
    );
    insta::assert_snapshot!("charts_presenter_120x40", frame);
}
