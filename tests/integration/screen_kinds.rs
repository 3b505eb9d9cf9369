//! The new signal kinds and comparisons on the screen (issue 10 point 12):
//! a string health status, a TCP port, a certificate's days left (and one
//! rejected), a DNS answer set, each with its value and reason in words,
//! at 80×24 and 200×60.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gonogo::launch::EventKind;
use gonogo::signal::Outcome;
use gonogo::ui::app::App;

use crate::screen::{draw, event, history, sample};

const LAYOUT: &str = r#"
[launch]
name = "Cutover checks"

[signals.health]
kind = "json"
url = "http://127.0.0.1:9/actuator/health"
path = "$.status"

[signals.db_port]
kind = "tcp"
address = "127.0.0.1:5432"

[signals.cert]
kind = "tls"
address = "127.0.0.1:8443"
server_name = "checkout.example.com"

[signals.old_cert]
kind = "tls"
address = "127.0.0.1:9443"

[signals.dns_switch]
kind = "dns"
name = "checkout.example.com"
server = "127.0.0.1:5353"

[[phases]]
id = "cutover"
gates = [
  { signal = "health", equals = "UP" },
  { signal = "health", one_of = ["UP", "DEGRADED"] },
  { signal = "db_port", up = true },
  { signal = "cert", at_least = "14d" },
  { signal = "old_cert", at_least = "14d" },
  { signal = "dns_switch", resolves_to = ["203.0.113.7", "203.0.113.8"] },
]
"#;

fn cutover() -> App {
    let layout = gonogo::layout::parse(Path::new("cutover.toml"), LAYOUT).unwrap();
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
    sample(&mut a, "health", 1, Outcome::Text("DEGRADED".into()));
    sample(
        &mut a,
        "db_port",
        1,
        Outcome::Health {
            up: true,
            latency: Some(Duration::from_micros(300)),
            detail: "connected".into(),
        },
    );
    sample(
        &mut a,
        "cert",
        1,
        Outcome::Certificate {
            up: true,
            days: Some(41.2),
            detail: "valid until 2026-03-18".into(),
        },
    );
    sample(
        &mut a,
        "old_cert",
        1,
        Outcome::Certificate {
            up: false,
            days: Some(200.0),
            detail: "name mismatch: got *.old.example.com".into(),
        },
    );
    sample(
        &mut a,
        "dns_switch",
        1,
        Outcome::Answers {
            records: vec!["198.51.100.4".into()],
            detail: String::new(),
        },
    );
    a
}

fn row<'a>(frame: &'a str, gate: &str) -> &'a str {
    frame
        .lines()
        .find(|l| l.starts_with('│') && l.contains(gate))
        .unwrap_or_else(|| panic!("no row for {gate}:\n{frame}"))
}

#[test]
fn new_kinds_show_their_values_and_reasons() {
    let a = cutover();
    let frame = draw(&a, 200, 60);
    assert!(row(&frame, "= \"UP\"").contains("NO-GO"), "{frame}");
    assert!(row(&frame, "= \"UP\"").contains("\"DEGRADED\""), "{frame}");
    assert!(row(&frame, "one of").contains("✔ GO"), "{frame}");
    assert!(row(&frame, "db_port").contains("✔ GO"), "{frame}");
    assert!(row(&frame, " cert ").contains("41 days"), "{frame}");
    assert!(row(&frame, " cert ").contains("✔ GO"), "{frame}");
    // A rejected certificate is NO-GO whatever its days, and says why.
    let old = row(&frame, "old_cert");
    assert!(
        old.contains("NO-GO") && old.contains("name mismatch"),
        "{old}"
    );
    let dns = row(&frame, "dns_switch");
    assert!(
        dns.contains("NO-GO") && dns.contains("198.51.100.4"),
        "{dns}"
    );
    insta::assert_snapshot!("kinds_200x60", frame);

    // At 80×24 the gates do not all fit: every NO-GO one is shown (a long
    // condition is cut with `…` rather than leave its row out) and no
    // line is left blank above the count of the rest.
    let small = draw(&a, 80, 24);
    for gate in ["health", "old_cert", "dns_sw"] {
        assert!(
            small
                .lines()
                .any(|l| l.contains("NO-GO") && l.contains(gate)),
            "{gate} not shown:\n{small}"
        );
    }
    let lines: Vec<&str> = small.lines().collect();
    let more = lines
        .iter()
        .position(|l| l.contains(" more ("))
        .expect("a +N more line");
    assert!(
        lines[more + 1].starts_with('└'),
        "blank rows in the gates pane:\n{small}"
    );
    insta::assert_snapshot!("kinds_80x24", small);
}
