//! Every bad input ends in a clear state with a one-line reason (SPEC §2
//! "Errors", §6 Reliability). Each case polls a real local server on
//! 127.0.0.1:0 (or runs a real command) through the real `Prober`, then
//! judges a gate on the sample.

use std::sync::Arc;
use std::time::Duration;

use gonogo::gate::State;
use gonogo::layout::template::Overlay;
use gonogo::signal::Outcome;

use crate::util::server::{Framing, Refused, Reply, Server};
use crate::util::{
    self, MIB, assert_one_line, judge_first, layout, ms, one_signal, poll_first, prober_with,
    timed_poll, unknown_reason,
};

/// The network timeout used by these tests.
const TIMEOUT: Duration = Duration::from_millis(500);
/// How late a timed-out poll may return on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);

fn http(url: &str) -> String {
    format!("kind = \"http\"\nurl = \"{url}\"\ntimeout = \"500ms\"")
}

fn json(url: &str, path: &str) -> String {
    format!("kind = \"json\"\nurl = \"{url}\"\npath = \"{path}\"\ntimeout = \"500ms\"")
}

fn prometheus(url: &str) -> String {
    format!("kind = \"prometheus\"\nurl = \"{url}\"\nquery = 'sum(up)'\ntimeout = \"500ms\"")
}

/// A command signal running `script` under `sh -c` (TOML literal string).
fn command(script: &str, timeout: &str) -> String {
    format!("kind = \"command\"\nrun = [\"sh\", \"-c\", '{script}']\ntimeout = \"{timeout}\"")
}

const UP: &str = "up = true";
const AT_MOST: &str = "at_most = 100";

/// Asserts an http sample is *down* with exactly `detail` and no latency,
/// and that an `up = true` gate on it is NO-GO saying so.
fn assert_down_no_answer(
    l: &gonogo::layout::Layout,
    sample: &gonogo::signal::Sample,
    detail: &str,
) {
    match &sample.outcome {
        Outcome::Health {
            up: false,
            latency: None,
            detail: d,
        } => {
            assert_one_line(d);
            assert_eq!(d, detail);
        }
        other => panic!("expected down without an answer ({detail}), got {other:?}"),
    }
    let j = judge_first(l, sample);
    assert_eq!(j.state, State::NoGo);
    assert_eq!(j.reason, format!("down: {detail}"));
}

/// Asserts the sample is UNKNOWN with a reason starting with `prefix`, and
/// that the gate on it is UNKNOWN with the same reason. Returns the reason.
fn assert_unknown(
    l: &gonogo::layout::Layout,
    sample: &gonogo::signal::Sample,
    prefix: &str,
) -> String {
    let reason = unknown_reason(&sample.outcome).to_string();
    assert!(
        reason.starts_with(prefix),
        "reason {reason:?} should start with {prefix:?}"
    );
    let j = judge_first(l, sample);
    assert_eq!(j.state, State::Unknown, "{j:?}");
    assert_eq!(j.reason, reason);
    assert_eq!(j.value, None, "an UNKNOWN gate shows no value");
    reason
}

fn assert_timed_out_in_time(took: Duration) {
    assert!(
        took >= TIMEOUT - ms(50),
        "returned after {took:?}: before the timeout, so it did not hang?"
    );
    assert!(
        took < TIMEOUT + SLACK,
        "returned after {took:?}, timeout {TIMEOUT:?}"
    );
}

// ─── endpoints that never answer ────────────────────────────────────────

#[tokio::test]
async fn http_endpoint_that_never_answers_is_down() {
    let server = Server::fixed(Reply::Hang).await;
    let l = one_signal(&http(&server.url("/healthz")), UP);
    let (sample, took) = poll_first(&l).await;
    assert_down_no_answer(&l, &sample, "no answer within 500ms");
    assert_timed_out_in_time(took);
    assert_eq!(
        server.requests().len(),
        1,
        "the request did reach the server"
    );
}

#[tokio::test]
async fn http_latency_gate_on_a_hang_is_unknown_not_a_number() {
    let server = Server::fixed(Reply::Hang).await;
    let l = one_signal(&http(&server.url("/healthz")), "below = \"200ms\"");
    let (sample, _) = poll_first(&l).await;
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::Unknown);
    assert_eq!(j.reason, "no answer: no answer within 500ms");
}

#[tokio::test]
async fn json_endpoint_that_never_answers_is_unknown() {
    let server = Server::fixed(Reply::Hang).await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, took) = poll_first(&l).await;
    let reason = assert_unknown(&l, &sample, "no answer within 500ms");
    assert_eq!(reason, "no answer within 500ms");
    assert_timed_out_in_time(took);
}

#[tokio::test]
async fn prometheus_endpoint_that_never_answers_is_unknown() {
    let server = Server::fixed(Reply::Hang).await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, took) = poll_first(&l).await;
    let reason = assert_unknown(&l, &sample, "no answer within 500ms");
    assert_eq!(reason, "no answer within 500ms");
    assert_timed_out_in_time(took);
}

#[tokio::test]
async fn json_body_that_stalls_midway_is_unknown_within_the_timeout() {
    let server = Server::fixed(Reply::StallBody).await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, took) = poll_first(&l).await;
    let reason = assert_unknown(&l, &sample, "no answer within 500ms");
    assert_eq!(reason, "no answer within 500ms");
    assert_timed_out_in_time(took);
}

#[tokio::test]
async fn http_status_line_then_silence_is_down() {
    let server = Server::fixed(Reply::Partial(b"HTTP/1.1 200 OK\r\n".to_vec())).await;
    let l = one_signal(&http(&server.url("/healthz")), UP);
    let (sample, took) = poll_first(&l).await;
    assert_down_no_answer(&l, &sample, "no answer within 500ms");
    assert_timed_out_in_time(took);
}

#[tokio::test]
async fn http_health_does_not_wait_for_a_stalled_body() {
    let server = Server::fixed(Reply::StallBody).await;
    let l = one_signal(&http(&server.url("/healthz")), UP);
    let (sample, took) = poll_first(&l).await;
    // The head arrived in full: a health check needs only the status.
    assert!(
        matches!(&sample.outcome, Outcome::Health { up: true, latency: Some(_), detail } if detail == "status 200 OK"),
        "{:?}",
        sample.outcome
    );
    assert!(
        took < TIMEOUT,
        "a health check must not wait for the body: {took:?}"
    );
}

// ─── connections that break ─────────────────────────────────────────────

#[tokio::test]
async fn http_connection_reset_is_down() {
    let server = Server::fixed(Reply::Reset).await;
    let l = one_signal(&http(&server.url("/healthz")), UP);
    let (sample, took) = poll_first(&l).await;
    assert_down_no_answer(&l, &sample, "connection reset");
    assert!(
        took < TIMEOUT,
        "a reset is an answer, not a timeout: {took:?}"
    );
}

#[tokio::test]
async fn json_connection_reset_is_unknown() {
    let server = Server::fixed(Reply::Reset).await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "connection reset"),
        "connection reset"
    );
}

#[tokio::test]
async fn prometheus_connection_reset_is_unknown() {
    let server = Server::fixed(Reply::Reset).await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "connection reset"),
        "connection reset"
    );
}

#[tokio::test]
async fn connection_closed_without_a_word_is_down() {
    let server = Server::fixed(Reply::Close).await;
    let l = one_signal(&http(&server.url("/healthz")), UP);
    let (sample, _) = poll_first(&l).await;
    assert_down_no_answer(&l, &sample, "connection closed before a full answer");
}

#[tokio::test]
async fn connection_refused_is_down() {
    let refused = Refused::new();
    let l = one_signal(&http(&refused.url("/healthz")), UP);
    let (sample, _) = poll_first(&l).await;
    assert_down_no_answer(&l, &sample, "connection refused");
}

#[tokio::test]
async fn truncated_json_body_is_unknown() {
    let server = Server::fixed(Reply::Raw(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"v\": 1".to_vec(),
    ))
    .await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "end of file"),
        "end of file before message length reached"
    );
}

#[tokio::test]
async fn garbage_instead_of_http_is_down_with_one_line() {
    let server = Server::fixed(Reply::Raw(
        b"SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n".to_vec(),
    ))
    .await;
    let l = one_signal(&http(&server.url("/healthz")), UP);
    let (sample, _) = poll_first(&l).await;
    match &sample.outcome {
        Outcome::Health {
            up: false,
            latency: None,
            detail,
        } => assert_one_line(detail),
        other => panic!("expected down, got {other:?}"),
    }
    assert_eq!(judge_first(&l, &sample).state, State::NoGo);
}

#[tokio::test]
async fn redirect_loop_is_down() {
    let server = Server::start(|_| {
        Reply::Raw(
            b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
        )
    })
    .await;
    let l = one_signal(&http(&server.url("/healthz")), UP);
    let (sample, _) = poll_first(&l).await;
    assert_down_no_answer(&l, &sample, "too many redirects");
}

// ─── HTTP errors ────────────────────────────────────────────────────────

#[tokio::test]
async fn http_500_is_down_with_its_status() {
    let server = Server::fixed(Reply::status(
        500,
        "Internal Server Error",
        "text/plain",
        "boom",
    ))
    .await;
    let l = one_signal(&http(&server.url("/healthz")), UP);
    let (sample, _) = poll_first(&l).await;
    match &sample.outcome {
        Outcome::Health {
            up: false,
            latency: Some(_),
            detail,
        } => assert_eq!(detail, "status 500 Internal Server Error"),
        other => panic!("expected down with a latency, got {other:?}"),
    }
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::NoGo);
    assert_eq!(j.reason, "down: status 500 Internal Server Error");
}

#[tokio::test]
async fn json_500_is_unknown_with_its_status() {
    // A JSON body on an error status is not a value.
    let server = Server::fixed(Reply::status(
        500,
        "Internal Server Error",
        "application/json",
        r#"{"v": 1}"#,
    ))
    .await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "status 500"),
        "status 500 Internal Server Error"
    );
}

#[tokio::test]
async fn prometheus_503_without_json_is_unknown_with_its_status() {
    let server = Server::fixed(Reply::status(
        503,
        "Service Unavailable",
        "text/html",
        "<html>upstream down</html>",
    ))
    .await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "status 503"),
        "status 503 Service Unavailable"
    );
}

// ─── oversized bodies ───────────────────────────────────────────────────

async fn ten_mib(framing: Framing) -> Server {
    Server::fixed(Reply::Big {
        len: 10 * MIB,
        framing,
    })
    .await
}

#[tokio::test]
async fn json_10_mib_body_with_content_length_is_refused() {
    let server = ten_mib(Framing::ContentLength).await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, took) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "response body is larger than 1 MiB"),
        "response body is larger than 1 MiB; refused"
    );
    assert!(took < TIMEOUT, "{took:?}");
}

#[tokio::test]
async fn json_10_mib_body_without_content_length_is_refused() {
    let server = ten_mib(Framing::UntilClose).await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, took) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "response body is larger than 1 MiB"),
        "response body is larger than 1 MiB; refused"
    );
    assert!(took < TIMEOUT + SLACK, "{took:?}");
}

#[tokio::test]
async fn json_10_mib_chunked_body_is_refused() {
    let server = ten_mib(Framing::Chunked).await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "response body is larger than 1 MiB"),
        "response body is larger than 1 MiB; refused"
    );
}

#[tokio::test]
async fn prometheus_10_mib_body_is_refused() {
    let server = ten_mib(Framing::UntilClose).await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "response body is larger than 1 MiB"),
        "response body is larger than 1 MiB; refused"
    );
}

#[tokio::test]
async fn http_health_ignores_a_10_mib_body() {
    // Only the status matters; the body is never read.
    let server = ten_mib(Framing::UntilClose).await;
    let l = one_signal(&http(&server.url("/healthz")), UP);
    let (sample, took) = poll_first(&l).await;
    assert!(
        matches!(&sample.outcome, Outcome::Health { up: true, latency: Some(_), detail } if detail == "status 200 OK"),
        "{:?}",
        sample.outcome
    );
    assert_eq!(judge_first(&l, &sample).state, State::Go);
    assert!(took < TIMEOUT, "{took:?}");
}

// ─── bodies that are not the value ──────────────────────────────────────

#[tokio::test]
async fn malformed_json_is_unknown() {
    let server = Server::fixed(Reply::ok_json(r#"{"v": 1,,}"#)).await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_unknown(&l, &sample, "malformed JSON: ");
}

#[tokio::test]
async fn html_error_page_with_200_is_malformed_json() {
    let server = Server::fixed(Reply::ok_text(
        "<!doctype html>\n<html>\n<body>Maintenance</body>\n</html>\n",
    ))
    .await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_unknown(&l, &sample, "malformed JSON: ");
}

#[tokio::test]
async fn deeply_nested_json_is_unknown_not_a_crash() {
    let depth = 200_000;
    let body = "[".repeat(depth) + &"]".repeat(depth);
    let server = Server::fixed(Reply::ok_json(&body)).await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_unknown(&l, &sample, "malformed JSON: ");
}

#[tokio::test]
async fn json_number_out_of_range_is_unknown_never_inf() {
    let server = Server::fixed(Reply::ok_json(r#"{"v": 1e999}"#)).await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_unknown(&l, &sample, "malformed JSON: ");
}

#[tokio::test]
async fn json_string_where_a_number_is_expected_is_unknown() {
    let server = Server::fixed(Reply::ok_json(r#"{"v": "12"}"#)).await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    // A string is a value (for `equals = "UP"`), but never a number.
    assert_eq!(sample.outcome, Outcome::Text("12".into()));
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::Unknown, "{j:?}");
    assert_eq!(j.reason, "found the string \"12\", expected a number");
    assert_eq!(j.value, None, "an UNKNOWN gate shows no value");
}

#[tokio::test]
async fn json_long_multiline_string_is_quoted_on_one_short_line() {
    let server = Server::fixed(Reply::ok_json(&format!(
        r#"{{"v": "{}\nsecond line\r\nthird"}}"#,
        "x".repeat(5000)
    )))
    .await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_unknown(
        &l,
        &sample,
        "the string is longer than 256 characters: \"xxx",
    );
}

#[tokio::test]
async fn json_null_and_missing_are_unknown_never_zero() {
    let server = Server::fixed(Reply::ok_json(r#"{"v": null}"#)).await;
    let l = one_signal(&json(&server.url("/stats"), "$.v"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "expected a number"),
        "expected a number or a string, found null"
    );

    let l = one_signal(&json(&server.url("/stats"), "$.missing"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "$.missing"),
        "$.missing selected nothing"
    );
}

#[tokio::test]
async fn json_path_selecting_two_values_is_unknown() {
    let server = Server::fixed(Reply::ok_json(r#"{"v": [1, 2]}"#)).await;
    let l = one_signal(&json(&server.url("/stats"), "$.v[*]"), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "$.v[*]"),
        "$.v[*] selected 2 values, expected one"
    );
}

// ─── Prometheus answers ─────────────────────────────────────────────────

fn prom_vector(series: &str) -> Reply {
    Reply::ok_json(&format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{series}]}}}}"#
    ))
}

fn prom_series(value: &str) -> String {
    prom_series_at(chrono::Utc::now().timestamp() as f64 + 0.123, value)
}

/// A series as Prometheus evaluates it at `at` (seconds since the epoch).
fn prom_series_at(at: f64, value: &str) -> String {
    format!(r#"{{"metric":{{"job":"api"}},"value":[{at},"{value}"]}}"#)
}

/// An answer evaluated in 1970 or in 2100 is not about now, and one
/// Prometheus marks partial (a store did not answer) is no answer:
/// UNKNOWN, never GO.
#[tokio::test]
async fn prometheus_far_off_and_partial_answers_are_unknown() {
    for at in [1.0, 4_102_444_800.0] {
        let server = Server::fixed(prom_vector(&prom_series_at(at, "0.25"))).await;
        let l = one_signal(&prometheus(&server.url("")), AT_MOST);
        let (sample, _) = poll_first(&l).await;
        let reason = assert_unknown(&l, &sample, "prometheus answered for ");
        assert!(reason.ends_with("s from now: not about now"), "{reason}");
    }
    let partial = Reply::ok_json(&format!(
        r#"{{"status":"success","warnings":["partial response: store eu-1 unreachable"],"data":{{"resultType":"vector","result":[{}]}}}}"#,
        prom_series("0.25")
    ));
    let server = Server::fixed(partial).await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "prometheus warns"),
        "prometheus warns the answer may be incomplete: partial response: store eu-1 unreachable"
    );
}

#[tokio::test]
async fn prometheus_good_value_is_a_number() {
    // The control case: the same fixture with a real value is a value.
    let server = Server::fixed(prom_vector(&prom_series("0.25"))).await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(sample.outcome, Outcome::Number(0.25));
    assert_eq!(judge_first(&l, &sample).state, State::Go);
    let req = &server.requests()[0];
    assert!(
        req.target.starts_with("/api/v1/query?query=sum%28up%29"),
        "{}",
        req.target
    );
}

#[tokio::test]
async fn prometheus_nan_is_unknown() {
    let server = Server::fixed(prom_vector(&prom_series("NaN"))).await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "value is NaN"),
        "value is NaN, not a usable number"
    );
}

#[tokio::test]
async fn prometheus_infinities_are_unknown() {
    for (text, shown) in [("+Inf", "inf"), ("-Inf", "-inf")] {
        let server = Server::fixed(prom_vector(&prom_series(text))).await;
        let l = one_signal(&prometheus(&server.url("")), AT_MOST);
        let (sample, _) = poll_first(&l).await;
        assert_eq!(
            assert_unknown(&l, &sample, "value is"),
            format!("value is {shown}, not a usable number")
        );
    }
}

#[tokio::test]
async fn prometheus_scalar_nan_is_unknown() {
    let server = Server::fixed(Reply::ok_json(&format!(
        r#"{{"status":"success","data":{{"resultType":"scalar","result":[{},"NaN"]}}}}"#,
        chrono::Utc::now().timestamp()
    )))
    .await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "value is NaN"),
        "value is NaN, not a usable number"
    );
}

#[tokio::test]
async fn prometheus_error_response_is_unknown_with_its_message() {
    let server = Server::fixed(Reply::status(
        400,
        "Bad Request",
        "application/json",
        r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected <op:+>"}"#,
    ))
    .await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "prometheus bad_data: "),
        "prometheus bad_data: invalid parameter \"query\": 1:5: parse error: unexpected <op:+>"
    );
}

#[tokio::test]
async fn prometheus_multiline_error_keeps_one_line() {
    let server = Server::fixed(Reply::status(
        422,
        "Unprocessable Entity",
        "application/json",
        r#"{"status":"error","errorType":"execution","error":"query timed out in expression evaluation\nstack:\n  at foo"}"#,
    ))
    .await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "prometheus execution: "),
        "prometheus execution: query timed out in expression evaluation"
    );
}

#[tokio::test]
async fn prometheus_empty_vector_is_no_data_never_zero() {
    let server = Server::fixed(prom_vector("")).await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "no data"),
        "no data (empty vector)"
    );
}

#[tokio::test]
async fn prometheus_two_series_is_unknown() {
    let two = format!("{},{}", prom_series("1"), prom_series("2"));
    let server = Server::fixed(prom_vector(&two)).await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "2 series returned"),
        "2 series returned, expected one (aggregate with sum() or similar)"
    );
}

#[tokio::test]
async fn prometheus_matrix_and_non_prometheus_answers_are_unknown() {
    let server = Server::fixed(Reply::ok_json(
        r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
    ))
    .await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "prometheus returned a matrix"),
        "prometheus returned a matrix, expected a vector or scalar"
    );

    let server = Server::fixed(Reply::ok_text("<html>login</html>")).await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_unknown(&l, &sample, "not a Prometheus answer: ");
}

// ─── commands ───────────────────────────────────────────────────────────

/// True when `pid` no longer runs (gone, or a zombie nobody reaped yet).
fn is_dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            // The state follows the parenthesised command name.
            let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
            matches!(state, Some('Z' | 'X'))
        }
    }
}

#[tokio::test]
async fn hanging_command_times_out_and_its_whole_group_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    // A background grandchild and a foreground sleep: both must die.
    let script = format!("sleep 30 & echo $! > {}; sleep 30", pidfile.display());
    let l = one_signal(&command(&script, "500ms"), "below = 80");
    let (sample, took) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "timed out after 500ms"),
        "timed out after 500ms; process group killed"
    );
    assert_timed_out_in_time(took);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SIGKILL is delivered at once, but give the kernel a moment to reap.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !is_dead(pid) && std::time::Instant::now() < deadline {
        tokio::time::sleep(ms(20)).await;
    }
    assert!(is_dead(pid), "grandchild {pid} outlived the timeout");
}

/// A descendant that leaves the process group (`setsid`) is found by the
/// mark it inherited, and killed at the timeout too.
#[tokio::test]
async fn a_descendant_that_calls_setsid_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("escaped.pid");
    let script = format!(
        "setsid sleep 30 & echo $! > {}; sleep 30",
        pidfile.display()
    );
    let l = one_signal(&command(&script, "500ms"), "below = 80");
    let (sample, took) = poll_first(&l).await;
    assert_unknown(&l, &sample, "timed out after 500ms");
    assert_timed_out_in_time(took);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !is_dead(pid) && std::time::Instant::now() < deadline {
        tokio::time::sleep(ms(20)).await;
    }
    let escaped = !is_dead(pid);
    if escaped {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(!escaped, "the setsid descendant {pid} outlived the timeout");
}

#[tokio::test]
async fn command_that_closes_stdout_and_hangs_still_times_out() {
    let l = one_signal(&command("exec >&- 2>&-; sleep 30", "500ms"), "below = 80");
    let (sample, took) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "timed out"),
        "timed out after 500ms; process group killed"
    );
    assert_timed_out_in_time(took);
}

#[tokio::test]
async fn command_leaving_a_background_child_still_reports_its_value() {
    // Exits at once but a background child keeps the pipes open.
    let l = one_signal(&command("echo 42; sleep 30 &", "5s"), "below = 80");
    let (sample, took) = poll_first(&l).await;
    assert_eq!(sample.outcome, Outcome::Number(42.0));
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn command_printing_100_mib_is_cut_off() {
    let l = one_signal(
        &command(r#"head -c 104857600 /dev/zero | tr "\0" "1""#, "10s"),
        "below = 80",
    );
    let (sample, took) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "printed more than"),
        "printed more than 1048576 bytes; process group killed"
    );
    assert!(
        took < Duration::from_secs(5),
        "cut off by size, not time: {took:?}"
    );
}

#[tokio::test]
async fn endless_yes_is_cut_off() {
    let l = layout(
        "[signals.s]\nkind = \"command\"\nrun = [\"yes\"]\ntimeout = \"10s\"\n",
        "{ signal = \"s\", below = 80 }",
    );
    let (sample, took) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "printed more than"),
        "printed more than 1048576 bytes; process group killed"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn command_flooding_stderr_ends_by_exit_status() {
    // 20 MiB of stderr, nothing on stdout: read to the end, kept as a tail.
    let l = one_signal(
        &command("head -c 20971520 /dev/zero >&2; exit 0", "10s"),
        UP,
    );
    let (sample, _) = poll_first(&l).await;
    assert!(
        matches!(&sample.outcome, Outcome::Health { up: true, detail, .. } if detail == "exit status 0"),
        "{:?}",
        sample.outcome
    );
}

#[tokio::test]
async fn command_output_that_is_not_a_number_is_unknown() {
    let l = one_signal(&command("echo all good", "5s"), "below = 80");
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "not a number"),
        "not a number: \"all good\""
    );
}

#[tokio::test]
async fn command_printing_nan_is_unknown() {
    let l = one_signal(&command("echo NaN", "5s"), "below = 80");
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "value is NaN"),
        "value is NaN, not a usable number"
    );
}

#[tokio::test]
async fn command_nonzero_exit_with_empty_stdout_is_down() {
    let l = one_signal(&command("echo failing >&2; exit 3", "5s"), UP);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        sample.outcome,
        Outcome::Health {
            up: false,
            latency: None,
            detail: "exit status 3".into()
        }
    );
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::NoGo);
    assert_eq!(j.reason, "down: exit status 3");
}

#[tokio::test]
async fn command_nonzero_exit_with_a_number_is_unknown_not_the_number() {
    let l = one_signal(
        &command("echo 12; echo db unreachable >&2; exit 2", "5s"),
        "below = 80",
    );
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "exit status 2"),
        "exit status 2: \"db unreachable\""
    );
}

#[tokio::test]
async fn command_killed_by_a_signal_is_unknown() {
    let l = one_signal(&command("kill -9 $$", "5s"), "below = 80");
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "killed by signal"),
        "killed by signal 9"
    );
}

#[tokio::test]
async fn missing_program_is_unknown_and_named() {
    let l = layout(
        "[signals.s]\nkind = \"command\"\nrun = [\"/nonexistent/gonogo-probe\"]\n",
        "{ signal = \"s\", below = 80 }",
    );
    let (sample, _) = poll_first(&l).await;
    assert_unknown(&l, &sample, "cannot start /nonexistent/gonogo-probe: ");
}

// ─── ${VAR} expansion and secrets ───────────────────────────────────────

const SECRET: &str = "s3cr3t-7f1c9a";
const TOKEN_VAR: &str = "GONOGO_IT_TOKEN";

fn secret_vars() -> Arc<Overlay> {
    Arc::new(Overlay(vec![(TOKEN_VAR.into(), SECRET.into())]))
}

#[tokio::test]
async fn header_variable_reaches_the_server_expanded_and_never_the_reasons() {
    let expected = format!("Bearer {SECRET}");
    let want = expected.clone();
    // Answers 200 only to the expanded header, 500 otherwise.
    let server = Server::start(move |req| {
        if req.header("authorization") == Some(want.as_str()) {
            Reply::ok_json(r#"{"v": 5}"#)
        } else {
            Reply::status(500, "Internal Server Error", "text/plain", "bad auth")
        }
    })
    .await;
    let headers = format!("headers = {{ Authorization = \"Bearer ${{{TOKEN_VAR}}}\" }}");
    let signals = format!(
        "[signals.h]\n{}\n{headers}\n\n[signals.j]\n{}\n{headers}\n\n[signals.p]\n{}\n{headers}\n",
        http(&server.url(&format!("/healthz?key=${{{TOKEN_VAR}}}"))),
        json(&server.url("/stats"), "$.v"),
        prometheus(&server.url("")),
    );
    let l = layout(
        &signals,
        "{ signal = \"h\", up = true },\n{ signal = \"j\", at_most = 100 },\n{ signal = \"p\", at_most = 100 }",
    );
    let prober = prober_with(secret_vars());
    let (h, _) = timed_poll(&prober, &l.signals[0]).await;
    let (j, _) = timed_poll(&prober, &l.signals[1]).await;
    assert!(
        matches!(&h.outcome, Outcome::Health { up: true, .. }),
        "{h:?}"
    );
    assert_eq!(j.outcome, Outcome::Number(5.0));

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.header("authorization"), Some(expected.as_str()), "{r:?}");
    }
    assert_eq!(requests[0].target, format!("/healthz?key={SECRET}"));

    // The prometheus signal's header too; its answer is not Prometheus JSON,
    // and the reason for that must not carry the secret.
    let (p, _) = timed_poll(&prober, &l.signals[2]).await;
    let reason = unknown_reason(&p.outcome);
    assert!(!reason.contains(SECRET), "{reason}");
    assert_eq!(
        server.requests()[2].header("authorization"),
        Some(expected.as_str())
    );

    // What is shown about a signal is the template, never the value.
    for s in &l.signals {
        let shown = s.probe.describe();
        assert!(!shown.contains(SECRET), "describe() leaks: {shown}");
    }
    assert!(l.signals[0].probe.describe().contains("${GONOGO_IT_TOKEN}"));
    for sample in [&h, &j, &p] {
        assert!(!format!("{sample:?}").contains(SECRET));
    }
}

#[tokio::test]
async fn secret_in_the_url_never_reaches_a_failure_reason() {
    let hang = Server::fixed(Reply::Hang).await;
    let reset = Server::fixed(Reply::Reset).await;
    let status = Server::fixed(Reply::status(
        503,
        "Service Unavailable",
        "text/plain",
        "nope",
    ))
    .await;
    let redirect = Server::fixed(Reply::Raw(
        b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_vec(),
    ))
    .await;
    let refused = Refused::new();
    let bases = [
        hang.url(""),
        reset.url(""),
        status.url(""),
        redirect.url(""),
        refused.url(""),
    ];
    let mut signals = String::new();
    let mut gates = Vec::new();
    for (i, base) in bases.iter().enumerate() {
        let url = format!("{base}/q?token=${{{TOKEN_VAR}}}");
        signals += &format!("[signals.h{i}]\n{}\n\n", http(&url));
        signals += &format!("[signals.j{i}]\n{}\n\n", json(&url, "$.v"));
        signals += &format!(
            "[signals.p{i}]\n{}\n\n",
            prometheus(&url.replace("/q?token=", "/"))
        );
        gates.push(format!("{{ signal = \"h{i}\", up = true }}"));
    }
    let l = layout(&signals, &gates.join(",\n"));
    let prober = prober_with(secret_vars());
    let polls = l.signals.iter().map(|s| prober.poll(s));
    let samples = futures_util::future::join_all(polls).await;
    for (s, sample) in l.signals.iter().zip(&samples) {
        let text = match &sample.outcome {
            Outcome::Health {
                up: false, detail, ..
            } => detail.clone(),
            Outcome::Unknown(r) => r.clone(),
            other => panic!("{}: expected a failure, got {other:?}", s.id),
        };
        assert_one_line(&text);
        assert!(
            !text.contains(SECRET),
            "{}: reason leaks the secret: {text}",
            s.id
        );
        assert!(!s.probe.describe().contains(SECRET));
    }
}

#[tokio::test]
async fn bad_url_after_expansion_is_unknown_without_the_value() {
    let l = one_signal(&json(&format!("${{{TOKEN_VAR}}}"), "$.v"), AT_MOST);
    let vars = Arc::new(Overlay(vec![(
        TOKEN_VAR.into(),
        format!("not a url {SECRET}"),
    )]));
    let (sample, _) = timed_poll(&prober_with(vars), &l.signals[0]).await;
    let reason = assert_unknown(&l, &sample, "bad URL after expanding variables: ");
    assert!(!reason.contains(SECRET), "{reason}");
}

#[tokio::test]
async fn header_value_that_cannot_be_sent_is_a_clear_failure_without_the_value() {
    let server = Server::fixed(Reply::ok_json(r#"{"v": 1}"#)).await;
    let l = one_signal(
        &format!(
            "{}\nheaders = {{ Authorization = \"Bearer ${{{TOKEN_VAR}}}\" }}",
            json(&server.url("/stats"), "$.v")
        ),
        AT_MOST,
    );
    let vars = Arc::new(Overlay(vec![(
        TOKEN_VAR.into(),
        format!("{SECRET}\r\nX-Evil: 1"),
    )]));
    let (sample, _) = timed_poll(&prober_with(vars), &l.signals[0]).await;
    let reason = assert_unknown(&l, &sample, "header ");
    assert_eq!(
        reason,
        "header Authorization: value after expanding variables is not a valid header value"
    );
    assert!(!reason.contains(SECRET), "{reason}");
    assert!(
        server.requests().is_empty(),
        "a bad header must not be sent"
    );
}

#[tokio::test]
async fn unset_variable_is_unknown_and_nothing_is_sent() {
    let server = Server::fixed(Reply::ok_json(r#"{"v": 1}"#)).await;
    let var = "GONOGO_IT_SURELY_UNSET_VAR";
    let headers = format!("headers = {{ Authorization = \"Bearer ${{{var}}}\" }}");
    let signals = format!(
        "[signals.h]\n{}\n{headers}\n\n[signals.j]\n{}\n{headers}\n\n[signals.p]\n{}\n{headers}\n",
        http(&server.url("/healthz")),
        json(&server.url("/stats"), "$.v"),
        prometheus(&server.url("")),
    );
    let l = layout(
        &signals,
        "{ signal = \"h\", up = true },\n{ signal = \"j\", at_most = 100 },\n{ signal = \"p\", at_most = 100 }",
    );
    let prober = util::prober();
    for (i, s) in l.signals.iter().enumerate() {
        let (sample, _) = timed_poll(&prober, s).await;
        assert_eq!(
            unknown_reason(&sample.outcome),
            format!("environment variable {var} is not set"),
            "{}",
            s.id
        );
        // Not down: a missing variable is our problem, not the endpoint's.
        let g = &l.phases[0].gates[i];
        let j = gonogo::gate::judge(g, s, std::slice::from_ref(&sample), sample.at);
        assert_eq!(j.state, State::Unknown);
        assert_eq!(j.reason, format!("environment variable {var} is not set"));
    }
    assert!(server.requests().is_empty());
}

// ─── our own configuration problems are UNKNOWN, never "down" ───────────

/// An http signal with a gate `up = true` and a rollback trigger on
/// `up = false`: a misconfigured signal must block the gate but must never
/// fire the rollback.
fn http_with_trigger(signal_body: &str) -> gonogo::layout::Layout {
    let src = format!(
        "[launch]\nname = \"integration test\"\n\n[signals.h]\n{signal_body}\n\n\
         [[phases]]\nid = \"p\"\ngates = [{{ signal = \"h\", up = true }}]\n\n\
         [rollback]\nrun = [\"true\"]\nauto_from = \"p\"\ntriggers = [{{ signal = \"h\", up = false }}]\n"
    );
    gonogo::layout::parse(&util::layout_path(), &src).unwrap_or_else(|d| panic!("{d}"))
}

fn assert_blind_not_fired(l: &gonogo::layout::Layout, sample: &gonogo::signal::Sample) {
    let t = &l.rollback.as_ref().unwrap().triggers[0];
    let j = gonogo::gate::judge_trigger(t, &l.signals[0], std::slice::from_ref(sample), sample.at);
    assert_eq!(j.state, gonogo::gate::TriggerState::Blind, "{j:?}");
    assert_one_line(&j.reason);
}

#[tokio::test]
async fn http_header_value_that_cannot_be_sent_is_unknown_and_never_fires_a_rollback() {
    let server = Server::fixed(Reply::ok_text("ok")).await;
    let l = http_with_trigger(&format!(
        "{}\nheaders = {{ Authorization = \"Bearer ${{{TOKEN_VAR}}}\" }}",
        http(&server.url("/healthz"))
    ));
    let vars = Arc::new(Overlay(vec![(
        TOKEN_VAR.into(),
        format!("{SECRET}\nX-Evil: 1"),
    )]));
    let (sample, _) = timed_poll(&prober_with(vars), &l.signals[0]).await;
    let reason = assert_unknown(&l, &sample, "header ");
    assert_eq!(
        reason,
        "header Authorization: value after expanding variables is not a valid header value"
    );
    assert!(!reason.contains(SECRET), "{reason}");
    assert_blind_not_fired(&l, &sample);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn http_url_that_expands_to_another_scheme_is_unknown_and_never_fires_a_rollback() {
    let l = http_with_trigger(&http(&format!("${{{TOKEN_VAR}}}")));
    let vars = Arc::new(Overlay(vec![(
        TOKEN_VAR.into(),
        "ftp://127.0.0.1/healthz".into(),
    )]));
    let (sample, _) = timed_poll(&prober_with(vars), &l.signals[0]).await;
    assert_eq!(
        assert_unknown(&l, &sample, "bad URL"),
        "bad URL after expanding variables: not http:// or https://"
    );
    assert_blind_not_fired(&l, &sample);
}

#[tokio::test]
async fn prometheus_error_text_cannot_smuggle_control_characters() {
    // A terminal escape (clear screen) and a tab in the error, a newline
    // in the error type: the reason stays one clean line, and the escape
    // goes whole (no `[2J` left behind).
    let server = Server::fixed(Reply::status(
        400,
        "Bad Request",
        "application/json",
        r#"{"status":"error","errorType":"bad\u001b[2Jdata\nmore","error":"parse\terror\u001b[2J at char 4\rthen"}"#,
    ))
    .await;
    let l = one_signal(&prometheus(&server.url("")), AT_MOST);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        assert_unknown(&l, &sample, "prometheus bad"),
        "prometheus baddata: parse error at char 4 then"
    );
}

#[tokio::test]
async fn redirect_to_another_scheme_is_down() {
    let server = Server::fixed(Reply::Raw(
        b"HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_vec(),
    ))
    .await;
    let l = one_signal(&http(&server.url("/healthz")), UP);
    let (sample, _) = poll_first(&l).await;
    // The endpoint answered, with a redirect that cannot be followed.
    assert_down_no_answer(&l, &sample, "URL scheme is not allowed");
}
