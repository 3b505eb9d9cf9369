//! String values and sets (SPEC §2 "Comparisons"): a JSON endpoint that
//! reports `"UP"` as Spring Boot's health does, judged by `equals` and
//! `one_of` through the real `Prober`; a number where a string is
//! expected, or the reverse, is UNKNOWN with a reason, never coerced. And
//! `gonogo check` shows the new kinds of value as an operator reads them.

use gonogo::gate::State;
use gonogo::signal::Outcome;

use crate::util::dns::{Answer, DnsServer, Rec};
use crate::util::procs::{gonogo_cmd, run, tempdir, text};
use crate::util::server::{Reply, Server};
use crate::util::{judge_first, one_signal, poll_first};

fn json(url: &str, path: &str) -> String {
    format!("kind = \"json\"\nurl = \"{url}\"\npath = \"{path}\"\ntimeout = \"2s\"")
}

/// Polls `body` served as JSON through a gate, returning (state, value, reason).
async fn judged(body: &str, path: &str, gate: &str) -> (State, Option<String>, String) {
    let server = Server::fixed(Reply::ok_json(body)).await;
    let l = one_signal(&json(&server.url("/actuator/health"), path), gate);
    let (sample, _) = poll_first(&l).await;
    let j = judge_first(&l, &sample);
    (j.state, j.value, j.reason)
}

#[tokio::test]
async fn a_json_string_is_a_value_that_equals_compares_exactly() {
    let up = r#"{"status":"UP","components":{}}"#;
    let (state, value, _) = judged(up, "$.status", r#"equals = "UP""#).await;
    assert_eq!(state, State::Go);
    assert_eq!(value.as_deref(), Some("\"UP\""));

    let (state, value, reason) = judged(up, "$.status", r#"equals = "DOWN""#).await;
    assert_eq!(state, State::NoGo);
    assert_eq!(value.as_deref(), Some("\"UP\""));
    assert_eq!(reason, "\"UP\", needs = \"DOWN\"");

    // Exactly: case and spaces count.
    let (state, _, _) = judged(r#"{"status":"up"}"#, "$.status", r#"equals = "UP""#).await;
    assert_eq!(state, State::NoGo);
    let (state, _, _) = judged(r#"{"status":"UP "}"#, "$.status", r#"equals = "UP""#).await;
    assert_eq!(state, State::NoGo);
}

#[tokio::test]
async fn one_of_passes_any_listed_string_and_nothing_else() {
    let gate = r#"one_of = ["UP", "DEGRADED"]"#;
    let (state, _, _) = judged(r#"{"status":"DEGRADED"}"#, "$.status", gate).await;
    assert_eq!(state, State::Go);
    let (state, value, reason) = judged(r#"{"status":"OUT_OF_SERVICE"}"#, "$.status", gate).await;
    assert_eq!(state, State::NoGo);
    assert_eq!(value.as_deref(), Some("\"OUT_OF_SERVICE\""));
    assert_eq!(
        reason,
        "\"OUT_OF_SERVICE\", needs one of \"UP\", \"DEGRADED\""
    );
}

#[tokio::test]
async fn a_number_is_not_a_string_nor_a_string_a_number() {
    let (state, value, reason) = judged(r#"{"status":1}"#, "$.status", r#"equals = "UP""#).await;
    assert_eq!(state, State::Unknown);
    assert_eq!(value, None);
    assert_eq!(reason, "found the number 1, expected a string");

    let (state, _, reason) = judged(r#"{"status":1}"#, "$.status", r#"one_of = ["1"]"#).await;
    assert_eq!(state, State::Unknown);
    assert_eq!(reason, "found the number 1, expected a string");

    let (state, _, reason) = judged(r#"{"v":"12"}"#, "$.v", "at_most = 100").await;
    assert_eq!(state, State::Unknown);
    assert_eq!(reason, "found the string \"12\", expected a number");

    // Quoted on a json signal without a unit: a string, compared as one.
    let (state, _, reason) = judged(r#"{"v":12}"#, "$.v", r#"equals = "12""#).await;
    assert_eq!(state, State::Unknown);
    assert_eq!(reason, "found the number 12, expected a string");
    let (state, _, _) = judged(r#"{"v":"12"}"#, "$.v", r#"equals = "12""#).await;
    assert_eq!(state, State::Go);
}

#[tokio::test]
async fn booleans_are_neither_numbers_nor_strings() {
    let server = Server::fixed(Reply::ok_json(r#"{"healthy":true}"#)).await;
    let l = one_signal(&json(&server.url("/"), "$.healthy"), r#"equals = "true""#);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        sample.outcome,
        Outcome::Unknown("expected a number or a string, found true".into())
    );
    assert_eq!(judge_first(&l, &sample).state, State::Unknown);
}

#[tokio::test]
async fn a_quoted_threshold_with_the_signals_unit_stays_a_number() {
    let server = Server::fixed(Reply::ok_json(r#"{"p95":500}"#)).await;
    let body = format!("{}\nunit = \"ms\"", json(&server.url("/"), "$.p95"));
    let l = one_signal(&body, r#"equals = "500ms""#);
    let (sample, _) = poll_first(&l).await;
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::Go, "{j:?}");
    assert_eq!(j.value.as_deref(), Some("500 ms"));
}

#[tokio::test]
async fn a_string_with_escapes_is_refused_not_cleaned_into_a_match() {
    let (state, value, reason) = judged(
        r#"{"status":"UP\u001b[0m"}"#,
        "$.status",
        r#"equals = "UP""#,
    )
    .await;
    assert_eq!(state, State::Unknown);
    assert_eq!(value, None);
    assert!(
        reason.starts_with("the string has control characters"),
        "{reason}"
    );
}

/// `check` prints a string, an answer set and a tcp latency as values,
/// in the table and in `--json`, and exits by the gates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_shows_strings_and_answer_sets() {
    let health = Server::fixed(Reply::ok_json(r#"{"status":"UP"}"#)).await;
    let port = Server::fixed(Reply::Hang).await;
    let dns = DnsServer::fixed(Answer::Records(vec![
        Rec::A("203.0.113.8".parse().unwrap()),
        Rec::A("203.0.113.7".parse().unwrap()),
    ]))
    .await;
    let dir = tempdir();
    let layout = dir.path().join("cutover.toml");
    std::fs::write(
        &layout,
        format!(
            r#"[launch]
name = "cutover"

[signals.health]
kind = "json"
url = "{}"
path = "$.status"

[signals.dns_switch]
kind = "dns"
name = "checkout.example.com"
server = "{}"

[signals.db_port]
kind = "tcp"
address = "{}"

[[phases]]
id = "preflight"
gates = [
  {{ signal = "health", equals = "UP" }},
  {{ signal = "dns_switch", resolves_to = ["203.0.113.7", "203.0.113.8"] }},
  {{ signal = "db_port", up = true }},
]
"#,
            health.url("/actuator/health"),
            dns.addr,
            port.address()
        ),
    )
    .expect("write layout");
    let state = dir.path().join("state");
    let args = |json: bool| {
        let mut a = vec![
            "check".to_string(),
            layout.to_str().unwrap().to_string(),
            "--journal".into(),
            dir.path().join("j.sqlite").to_str().unwrap().to_string(),
        ];
        if json {
            a.push("--json".into());
        }
        a
    };
    let (state_json, state_table) = (state.clone(), state);
    let (a_json, a_table) = (args(true), args(false));
    let out = tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = a_json.iter().map(String::as_str).collect();
        run(&mut gonogo_cmd(&state_json, None, &a))
    })
    .await
    .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("check --json");
    let values: Vec<&str> = v["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["value"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(values[0], "\"UP\"", "{stdout}");
    assert_eq!(values[1], "203.0.113.7, 203.0.113.8", "{stdout}");
    assert_eq!(values[2], "up (connected)", "{stdout}");
    assert_eq!(
        v["gates"][1]["condition"],
        "resolves to 203.0.113.7, 203.0.113.8"
    );

    let out = tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = a_table.iter().map(String::as_str).collect();
        run(&mut gonogo_cmd(&state_table, None, &a))
    })
    .await
    .unwrap();
    let table = text(&out.stdout);
    assert!(table.contains("\"UP\""), "{table}");
    assert!(table.contains("203.0.113.7, 203.0.113.8"), "{table}");
}
