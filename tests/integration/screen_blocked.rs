//! BLOCKED gates on the screen (issue 12 points 3 and 4): eighteen
//! services behind one gateway that is down. The gates pane reports the
//! root once, as a row of its own with the gates it blocks under it, and
//! when they do not fit, the root's row stands for them and every hidden
//! gate is still counted.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gonogo::launch::EventKind;
use gonogo::signal::Outcome;
use gonogo::ui::app::App;

use crate::screen::{draw, event, history, sample};

const SERVICES: usize = 18;

fn layout() -> String {
    let mut src = String::from(
        "[launch]\nname = \"Gateway cutover\"\n\n\
         [signals.gateway]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/healthz\"\n\n\
         [signals.error_rate]\nkind = \"json\"\nurl = \"http://127.0.0.1:9/rate\"\npath = \"$.v\"\nunit = \"ratio\"\n\n",
    );
    for k in 1..=SERVICES {
        let _ = write!(
            src,
            "[signals.svc{k:02}]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/svc{k}\"\ndepends_on = [\"gateway\"]\n\n"
        );
    }
    src.push_str(
        "[[phases]]\nid = \"cutover\"\ngates = [\n  { signal = \"gateway\", up = true },\n",
    );
    for k in 1..=SERVICES {
        let _ = writeln!(src, "  {{ signal = \"svc{k:02}\", up = true }},");
    }
    src.push_str("  { signal = \"error_rate\", below = \"1%\" },\n]\n");
    src
}

fn health(up: bool, detail: &str) -> Outcome {
    Outcome::Health {
        up,
        latency: up.then(|| Duration::from_millis(4)),
        detail: detail.into(),
    }
}

/// The gateway refuses connections; the services behind it answer 502.
fn gateway_down() -> App {
    let layout = gonogo::layout::parse(Path::new("gateway.toml"), &layout()).unwrap();
    let mut a = App::new(Arc::new(layout), "alice".into(), crate::screen::now());
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
    sample(&mut a, "gateway", 1, health(false, "connection refused"));
    sample(&mut a, "error_rate", 1, Outcome::Number(0.001));
    for k in 1..=SERVICES {
        sample(
            &mut a,
            &format!("svc{k:02}"),
            1,
            health(false, "status 502"),
        );
    }
    a
}

#[test]
fn the_root_is_one_row_with_its_blocked_gates_under_it() {
    let a = gateway_down();
    let frame = draw(&a, 200, 60);
    let roots: Vec<&str> = frame.lines().filter(|l| l.contains("root cause")).collect();
    assert_eq!(roots.len(), 1, "one row for the root:\n{frame}");
    assert!(
        roots[0].contains("⊘ BLOCKED")
            && roots[0].contains("18 gates")
            && roots[0].contains("down: connection refused"),
        "{}",
        roots[0]
    );
    let members: Vec<&str> = frame.lines().filter(|l| l.contains("↳ svc")).collect();
    assert_eq!(members.len(), SERVICES, "{frame}");
    for m in &members {
        // BLOCKED, with its own NO-GO said honestly in the reason.
        assert!(m.starts_with("│⊘ BLOCKED"), "{m}");
        assert!(m.contains("itself NO-GO: down: status 502"), "{m}");
    }
    // Under their root, in a block.
    let lines: Vec<&str> = frame.lines().collect();
    let at = lines.iter().position(|l| l.contains("root cause")).unwrap();
    assert!(
        lines[at + 1..=at + SERVICES]
            .iter()
            .all(|l| l.contains("↳ svc")),
        "{frame}"
    );
    // The gateway's own gate says what it is; it is the only NO-GO.
    let no_go: Vec<&str> = frame.lines().filter(|l| l.contains("NO-GO")).collect();
    assert!(
        no_go
            .iter()
            .any(|l| l.contains("gateway") && l.contains("connection refused")),
        "{frame}"
    );
    assert!(
        no_go
            .iter()
            .all(|l| !l.contains("svc") || l.starts_with("│⊘")),
        "a blocked gate shown NO-GO:\n{frame}"
    );
    insta::assert_snapshot!("blocked_200x60", frame);
}

#[test]
fn when_they_do_not_fit_the_root_stands_for_its_gates_and_none_goes_uncounted() {
    let a = gateway_down();
    let small = draw(&a, 80, 24);
    assert!(
        small
            .lines()
            .any(|l| l.contains("⊘ BLOCKED") && l.contains("by gateway") && l.contains("18 gates")),
        "the root's row:\n{small}"
    );
    // The NO-GO gate comes before the blocked ones.
    assert!(
        small
            .lines()
            .any(|l| l.contains("NO-GO") && l.contains("gateway")),
        "{small}"
    );
    // Every gate is shown or counted: gate rows shown + "+N more" = all
    // 20, and every hidden one but error_rate (GO) is counted as not GO.
    let gate_row = |l: &&str| {
        ["│✘", "│✔", "│?", "│…", "│⊘"]
            .iter()
            .any(|g| l.starts_with(g))
            && !l.contains("root cause")
    };
    let shown = small.lines().filter(gate_row).count();
    let go_hidden = usize::from(
        !small
            .lines()
            .any(|l| l.contains("✔ GO") && l.contains("error_rate")),
    );
    let more = small
        .lines()
        .find_map(|l| {
            let at = l.find('+')?;
            let rest = &l[at + 1..];
            let n: usize = rest.split(' ').next()?.parse().ok()?;
            let k: usize = rest.split('(').nth(1)?.split(' ').next()?.parse().ok()?;
            Some((n, k))
        })
        .unwrap_or_else(|| panic!("no +N more line:\n{small}"));
    assert_eq!(shown + more.0, SERVICES + 2, "{small}");
    assert_eq!(
        more.1,
        more.0 - go_hidden,
        "hidden blocked gates count as not GO:\n{small}"
    );
    insta::assert_snapshot!("blocked_80x24", small);
}

#[test]
fn the_cursor_reaches_every_row_root_rows_included_and_any_size_draws() {
    let mut a = gateway_down();
    for _ in 0..40 {
        a.update(crate::screen::key('j'));
    }
    // 20 gates and one root's row.
    assert_eq!(a.cursor, SERVICES + 2, "the cursor stops at the last row");
    let small = draw(&a, 80, 24);
    assert!(small.contains("↳ svc18"), "the last gate in view:\n{small}");
    assert!(small.contains(" above"), "{small}");
    for (w, h) in [(0, 0), (1, 1), (79, 23), (80, 10), (120, 40)] {
        let _ = draw(&a, w, h);
    }
}
