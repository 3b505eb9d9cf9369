//! Polling a signal once: HTTP health, JSON values, Prometheus instant
//! queries, commands and checklists. Each poll is bounded in time (the
//! signal's timeout) and in memory ([`BODY_CAP`]), and every failure turns
//! into an outcome with a one-line reason rather than an error to handle.
//!
//! What leaves [`Prober::poll`] is clean ([`crate::text::clean`]): an
//! endpoint or command that echoes a secret or sends escape sequences
//! gets neither into the board, the journal nor any screen.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, Response};
use tokio::time::Instant;

use super::command::{self, Limits, last_line};
use super::{BODY_CAP, Checklist, Outcome, Sample, quote_short};
use crate::layout::template::Vars;
use crate::layout::{ChecklistSource, Probe, Signal, Template};

/// Polls signals. Cheap to clone; one HTTP connection pool for all signals.
#[derive(Clone)]
pub struct Prober {
    client: Client,
    vars: Arc<dyn Vars>,
}

impl Prober {
    /// # Errors
    /// When the TLS backend cannot be set up.
    pub fn new(vars: Arc<dyn Vars>) -> Result<Prober, String> {
        let client = Client::builder()
            .user_agent(concat!("gonogo/", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {}", chain(&e)))?;
        Ok(Prober { client, vars })
    }

    /// Polls `signal` once. Never takes much longer than its timeout.
    pub async fn poll(&self, signal: &Signal) -> Sample {
        let outcome = match &signal.probe {
            // Samples stamped on a clock this far off would misjudge every
            // window: not taken at all.
            _ if let Some(why) = crate::clock::refusal() => {
                Outcome::Unknown(format!("not polled: {why}"))
            }
            // The command runner enforces its own timeout so it can kill the
            // process group; dropping the future would only orphan it.
            Probe::Command(c) => match &c.refused {
                Some(why) => Outcome::Unknown(why.clone()),
                None => self.command(&c.argv, &c.dir, signal.timeout).await,
            },
            probe => {
                // Slack over the request timeout so reqwest's own, more
                // precise error wins; this only guards against a stuck body.
                let limit = signal.timeout + Duration::from_millis(200);
                match tokio::time::timeout(limit, self.poll_network(probe, signal.timeout)).await {
                    Ok(outcome) => outcome,
                    Err(_) => timed_out(probe, signal.timeout),
                }
            }
        };
        Sample {
            at: crate::clock::now(),
            outcome: cleaned(outcome),
        }
    }

    async fn poll_network(&self, probe: &Probe, timeout: Duration) -> Outcome {
        match probe {
            Probe::Http(p) => {
                self.health(&p.url, &p.headers, &p.expect_status, timeout)
                    .await
            }
            Probe::Json(p) => match self.fetch(&p.url, &p.headers, timeout, true).await {
                Ok(body) => json_value(&body, &p.path, &p.path_text),
                Err(reason) => Outcome::Unknown(reason),
            },
            Probe::Prometheus(p) => self.prometheus(&p.url, &p.headers, &p.query, timeout).await,
            Probe::Checklist(ChecklistSource::Url(url)) => {
                match self.fetch(url, &[], timeout, true).await {
                    Ok(body) => Outcome::Checklist(Checklist::from_markdown(
                        &String::from_utf8_lossy(&body),
                    )),
                    Err(reason) => Outcome::Unknown(reason),
                }
            }
            Probe::Checklist(ChecklistSource::Path(path)) => match tokio::fs::read(path).await {
                Ok(bytes) if bytes.len() > BODY_CAP => {
                    Outcome::Unknown(format!("{} is larger than 1 MiB", path.display()))
                }
                Ok(bytes) => {
                    Outcome::Checklist(Checklist::from_markdown(&String::from_utf8_lossy(&bytes)))
                }
                Err(e) => Outcome::Unknown(format!("cannot read {}: {e}", path.display())),
            },
            Probe::Checklist(ChecklistSource::Items(items)) => {
                Outcome::Checklist(Checklist::from_items(items))
            }
            Probe::Tcp(address) => super::tcp::probe(address).await,
            Probe::Tls(p) => super::tls::probe(p).await,
            Probe::Dns(p) => super::dns::probe(p, timeout).await,
            Probe::Command(_) => Outcome::Unknown("internal: command polled as network".into()),
        }
    }

    fn request(
        &self,
        url: &Template,
        headers: &[(String, Template)],
        timeout: Duration,
    ) -> Result<reqwest::RequestBuilder, String> {
        let url = url.expand_url(self.vars.as_ref())?;
        let parsed = reqwest::Url::parse(&url)
            .map_err(|e| format!("bad URL after expanding variables: {e}"))?;
        // Checked here, not left to reqwest: a request that cannot be built
        // is our configuration problem (UNKNOWN), while reqwest's error
        // would make an http signal "down" and could fire a rollback.
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("bad URL after expanding variables: not http:// or https://".into());
        }
        let mut req = self.client.get(parsed).timeout(timeout);
        for (name, value) in headers {
            req = req.header(name, self.header_value(name, value)?);
        }
        Ok(req)
    }

    /// A header's value, expanded and checked (see [`Prober::request`]).
    fn header_value(
        &self,
        name: &str,
        value: &Template,
    ) -> Result<reqwest::header::HeaderValue, String> {
        let v = value.expand(self.vars.as_ref())?;
        reqwest::header::HeaderValue::from_str(&v).map_err(|_| {
            format!("header {name}: value after expanding variables is not a valid header value")
        })
    }

    async fn health(
        &self,
        url: &Template,
        headers: &[(String, Template)],
        expect: &[u16],
        timeout: Duration,
    ) -> Outcome {
        let req = match self.request(url, headers, timeout) {
            Ok(r) => r,
            Err(reason) => return Outcome::Unknown(reason),
        };
        let started = Instant::now();
        match req.send().await {
            Ok(resp) => {
                let latency = started.elapsed();
                let status = resp.status();
                let up = if expect.is_empty() {
                    status.is_success()
                } else {
                    expect.contains(&status.as_u16())
                };
                // The body is not read: a health check needs only the status,
                // and a 10 MiB error page must not cost 10 MiB.
                drop(resp);
                Outcome::Health {
                    up,
                    latency: Some(latency),
                    detail: status_text(status),
                }
            }
            Err(e) => Outcome::Health {
                up: false,
                latency: None,
                detail: request_error(&e, timeout),
            },
        }
    }

    /// GETs a body of at most [`BODY_CAP`] bytes from a 2xx answer.
    async fn fetch(
        &self,
        url: &Template,
        headers: &[(String, Template)],
        timeout: Duration,
        need_success: bool,
    ) -> Result<Vec<u8>, String> {
        let req = self.request(url, headers, timeout)?;
        let mut resp = req.send().await.map_err(|e| request_error(&e, timeout))?;
        if need_success && !resp.status().is_success() {
            return Err(status_text(resp.status()));
        }
        read_capped(&mut resp, timeout).await
    }

    async fn prometheus(
        &self,
        base: &Template,
        headers: &[(String, Template)],
        query: &str,
        timeout: Duration,
    ) -> Outcome {
        let base = match base.expand_url(self.vars.as_ref()) {
            Ok(b) => b,
            Err(reason) => return Outcome::Unknown(reason),
        };
        let mut url =
            match reqwest::Url::parse(&format!("{}/api/v1/query", base.trim_end_matches('/'))) {
                Ok(u) => u,
                Err(e) => {
                    return Outcome::Unknown(format!("bad URL after expanding variables: {e}"));
                }
            };
        url.query_pairs_mut().append_pair("query", query);
        let mut req = self.client.get(url).timeout(timeout);
        for (name, value) in headers {
            match self.header_value(name, value) {
                Ok(v) => req = req.header(name, v),
                Err(reason) => return Outcome::Unknown(reason),
            }
        }
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Outcome::Unknown(request_error(&e, timeout)),
        };
        let status = resp.status();
        // Prometheus explains errors in a JSON body (400/422/503), so read it
        // whatever the status.
        let body = match read_capped(&mut resp, timeout).await {
            Ok(b) => b,
            Err(reason) => return Outcome::Unknown(reason),
        };
        prometheus_value(status, &body, crate::clock::now())
    }

    async fn command(&self, argv: &[String], dir: &std::path::Path, timeout: Duration) -> Outcome {
        let limits = Limits {
            timeout,
            keep: 4096,
            max_stdout: Some(BODY_CAP as u64),
        };
        let finished = match command::run(argv, dir, &[], &limits).await {
            Ok(f) => f,
            Err(reason) => return Outcome::Unknown(reason),
        };
        let last = last_line(&finished.stdout);
        match (&finished.ending, last) {
            (command::Ending::Exited(0), Some(line)) => Outcome::number_from_text(&line),
            (command::Ending::Exited(code), None) => Outcome::Health {
                up: *code == 0,
                latency: None,
                detail: format!("exit status {code}"),
            },
            (command::Ending::Exited(code), Some(_)) => {
                Outcome::Unknown(match finished.last_stderr_line() {
                    Some(err) => format!("exit status {code}: {}", quote_short(&err)),
                    None => format!("exit status {code}"),
                })
            }
            _ => Outcome::Unknown(finished.describe(&limits)),
        }
    }
}

/// Every text of an outcome cleaned: no escape sequence, no secret.
fn cleaned(outcome: Outcome) -> Outcome {
    let tidy = |s: String| match crate::text::clean(&s) {
        std::borrow::Cow::Borrowed(_) => s,
        std::borrow::Cow::Owned(c) => c,
    };
    match outcome {
        Outcome::Unknown(r) => Outcome::Unknown(tidy(r)),
        Outcome::Health {
            up,
            latency,
            detail,
        } => Outcome::Health {
            up,
            latency,
            detail: tidy(detail),
        },
        Outcome::Checklist(mut c) => {
            for item in &mut c.items {
                item.text = tidy(std::mem::take(&mut item.text));
                item.section = item.section.take().map(tidy);
            }
            Outcome::Checklist(c)
        }
        Outcome::Certificate { up, days, detail } => Outcome::Certificate {
            up,
            days,
            detail: tidy(detail),
        },
        Outcome::Answers { records, detail } => Outcome::Answers {
            // Canonical addresses and names: nothing to clean, and a
            // record must stay what was compared.
            records,
            detail: tidy(detail),
        },
        // Refused at the source when cleaning would change it (see
        // `json_text`): what is compared is what is shown.
        t @ Outcome::Text(_) => t,
        n @ Outcome::Number(_) => n,
    }
}

fn timed_out(probe: &Probe, timeout: Duration) -> Outcome {
    let detail = format!("no answer within {}", crate::unit::format_duration(timeout));
    match probe {
        Probe::Http(_) | Probe::Tcp(_) => Outcome::Health {
            up: false,
            latency: None,
            detail,
        },
        Probe::Tls(_) => Outcome::Certificate {
            up: false,
            days: None,
            detail,
        },
        _ => Outcome::Unknown(detail),
    }
}

fn status_text(status: reqwest::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("status {} {reason}", status.as_u16()),
        None => format!("status {}", status.as_u16()),
    }
}

/// Reads the body, refusing it past [`BODY_CAP`] without buffering the rest.
async fn read_capped(resp: &mut Response, timeout: Duration) -> Result<Vec<u8>, String> {
    let too_big = || "response body is larger than 1 MiB; refused".to_string();
    if resp.content_length().is_some_and(|n| n > BODY_CAP as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| request_error(&e, timeout))? {
        if body.len() + chunk.len() > BODY_CAP {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// One line saying why a request failed, without its URL (which may carry
/// an expanded secret).
fn request_error(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {}", crate::unit::format_duration(timeout));
    }
    let root = chain(e);
    let lower = root.to_lowercase();
    if lower.contains("connection refused") {
        "connection refused".into()
    } else if lower.contains("reset") {
        "connection reset".into()
    } else if lower.contains("closed before message completed") || lower.contains("incomplete") {
        "connection closed before a full answer".into()
    } else if e.is_connect() {
        format!("cannot connect: {root}")
    } else {
        root
    }
}

/// The innermost cause of an error: the part that says what happened.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let text = cur.to_string();
    // reqwest's own top-level text names the URL; the root cause does not.
    text.lines().next().unwrap_or_default().to_string()
}

/// Any JSON document in which no object names a key twice.
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<NoDuplicateKeys>()?;
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "the key {:?} appears twice in one object",
                    crate::text::cut_to(&key, 40)
                )));
            }
        }
        Ok(NoDuplicateKeys)
    }
}

/// Picks exactly one value out of a JSON document: a number, or a string.
pub(crate) fn json_value(
    body: &[u8],
    path: &serde_json_path::JsonPath,
    path_text: &str,
) -> Outcome {
    // A key given twice reads as whichever a parser keeps (serde_json: the
    // last): two readers could see two values, so neither counts.
    if let Err(e) = serde_json::from_slice::<NoDuplicateKeys>(body) {
        return Outcome::Unknown(format!("malformed JSON: {e}"));
    }
    let doc: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Outcome::Unknown(format!("malformed JSON: {e}")),
    };
    let nodes = path.query(&doc);
    match nodes.len() {
        0 => Outcome::Unknown(format!("{path_text} selected nothing")),
        1 => match nodes.exactly_one() {
            Ok(v) => json_scalar(v),
            Err(e) => Outcome::Unknown(e.to_string()),
        },
        n => Outcome::Unknown(format!("{path_text} selected {n} values, expected one")),
    }
}

/// Strings longer than this are refused: a status word or a version fits,
/// a document does not belong in a gate, the board or the journal.
const TEXT_CAP: usize = 256;

fn json_scalar(v: &serde_json::Value) -> Outcome {
    let wanted = "expected a number or a string";
    match v {
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) => Outcome::finite(f),
            None => Outcome::Unknown(format!("number {n} does not fit a float")),
        },
        serde_json::Value::String(s) => json_text(s),
        serde_json::Value::Null => Outcome::Unknown(format!("{wanted}, found null")),
        // Not text "true": a boolean is neither, and nothing is coerced.
        serde_json::Value::Bool(b) => Outcome::Unknown(format!("{wanted}, found {b}")),
        serde_json::Value::Array(_) => Outcome::Unknown(format!("{wanted}, found an array")),
        serde_json::Value::Object(_) => Outcome::Unknown(format!("{wanted}, found an object")),
    }
}

/// A JSON string as a value, only if it can be shown exactly as it is
/// compared: one clean line (no escapes, no secret) of modest length.
fn json_text(s: &str) -> Outcome {
    if s.chars().count() > TEXT_CAP {
        return Outcome::Unknown(format!(
            "the string is longer than {TEXT_CAP} characters: {}",
            quote_short(s)
        ));
    }
    match crate::text::clean(s) {
        std::borrow::Cow::Borrowed(_) => Outcome::Text(s.to_string()),
        std::borrow::Cow::Owned(_) => Outcome::Unknown(format!(
            "the string has control characters or a secret in it: {}",
            quote_short(s)
        )),
    }
}

/// How far an answer's evaluation time may sit from now. An instant query
/// is evaluated at the time it is asked; an answer stamped in 1970 or 2100
/// is not about now, whatever its value.
const PROMETHEUS_SKEW: i64 = 300;

/// Reads one value out of a Prometheus `/api/v1/query` answer asked `now`.
pub(crate) fn prometheus_value(
    status: reqwest::StatusCode,
    body: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> Outcome {
    #[derive(serde::Deserialize)]
    struct Answer {
        status: String,
        #[serde(default)]
        data: Option<Data>,
        #[serde(default, rename = "errorType")]
        error_type: Option<String>,
        #[serde(default)]
        error: Option<String>,
        /// A partial answer (a store or shard did not answer) says so here.
        #[serde(default)]
        warnings: Vec<String>,
    }
    #[derive(serde::Deserialize)]
    struct Data {
        #[serde(rename = "resultType")]
        result_type: String,
        result: serde_json::Value,
    }
    let answer: Answer = match serde_json::from_slice(body) {
        Ok(a) => a,
        Err(_) if !status.is_success() => return Outcome::Unknown(status_text(status)),
        Err(e) => return Outcome::Unknown(format!("not a Prometheus answer: {e}")),
    };
    if answer.status != "success" {
        let kind = answer.error_type.unwrap_or_else(|| "error".into());
        let msg = answer.error.unwrap_or_default();
        return Outcome::Unknown(format!(
            "prometheus {}: {}",
            first_line(&kind),
            first_line(&msg)
        ));
    }
    if let Some(w) = answer.warnings.first() {
        return Outcome::Unknown(format!(
            "prometheus warns the answer may be incomplete: {}",
            first_line(w)
        ));
    }
    let Some(data) = answer.data else {
        return Outcome::Unknown("prometheus answered without data".into());
    };
    let sample_value = |pair: &serde_json::Value| -> Outcome {
        let at = pair.get(0).and_then(serde_json::Value::as_f64);
        let Some(at) = at.filter(|t| t.is_finite()) else {
            return Outcome::Unknown("prometheus sample has no time".into());
        };
        #[allow(clippy::cast_possible_truncation)]
        let off = at as i64 - now.timestamp();
        if off.abs() > PROMETHEUS_SKEW {
            let when = chrono::DateTime::from_timestamp(at as i64, 0).map_or_else(
                || format!("{at}"),
                |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string(),
            );
            return Outcome::Unknown(format!(
                "prometheus answered for {when}, {}s from now: not about now",
                off.abs()
            ));
        }
        match pair.get(1).and_then(serde_json::Value::as_str) {
            Some(text) => Outcome::number_from_text(text),
            None => Outcome::Unknown("prometheus sample has no value".into()),
        }
    };
    match data.result_type.as_str() {
        "scalar" => sample_value(&data.result),
        "vector" => {
            let series = data.result.as_array().map_or(&[][..], Vec::as_slice);
            match series {
                [] => Outcome::Unknown("no data (empty vector)".into()),
                [one] => match one.get("value") {
                    Some(pair) => sample_value(pair),
                    None => Outcome::Unknown("prometheus series has no value".into()),
                },
                many => Outcome::Unknown(format!(
                    "{} series returned, expected one (aggregate with sum() or similar)",
                    many.len()
                )),
            }
        }
        other => Outcome::Unknown(format!(
            "prometheus returned a {other}, expected a vector or scalar"
        )),
    }
}

/// The first line of untrusted text, cleaned (escapes gone, secrets
/// redacted before anything is cut, so no half of a secret is left) and
/// cut to a readable length.
fn first_line(s: &str) -> String {
    let line = crate::text::clean(s.lines().next().unwrap_or_default()).into_owned();
    if line.chars().count() > 120 {
        format!("{}…", line.chars().take(120).collect::<String>())
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> serde_json_path::JsonPath {
        serde_json_path::JsonPath::parse(p).unwrap()
    }

    #[test]
    fn json_picks_exactly_one_number() {
        let body = br#"{"q":{"pending":7,"name":"12","list":[1,2]}}"#;
        assert_eq!(
            json_value(body, &path("$.q.pending"), "$.q.pending"),
            Outcome::Number(7.0)
        );
        assert_eq!(
            json_value(body, &path("$.q.name"), "$.q.name"),
            Outcome::Text("12".into()),
            "a string stays a string, even when it reads as a number"
        );
        assert_eq!(
            json_value(body, &path("$.q.missing"), "$.q.missing"),
            Outcome::Unknown("$.q.missing selected nothing".into())
        );
        assert_eq!(
            json_value(body, &path("$.q.list[*]"), "$.q.list[*]"),
            Outcome::Unknown("$.q.list[*] selected 2 values, expected one".into())
        );
        assert!(
            matches!(json_value(b"{nope", &path("$.a"), "$.a"), Outcome::Unknown(r) if r.starts_with("malformed JSON"))
        );
        // A key twice (last-wins read GO before), at any depth.
        for doubled in [
            &br#"{"status":"DOWN","status":"UP"}"#[..],
            br#"{"a":[{"x":1,"y":{"s":"DOWN","s":"UP"}}]}"#,
        ] {
            let got = json_value(doubled, &path("$.status"), "$.status");
            assert!(
                matches!(&got, Outcome::Unknown(r) if r.contains("appears twice")),
                "{got:?}"
            );
        }
        assert_eq!(
            json_value(br#"{"a":{"s":1},"b":{"s":2}}"#, &path("$.b.s"), "$.b.s"),
            Outcome::Number(2.0)
        );
    }

    #[test]
    fn prometheus_answers_are_read_fail_safe() {
        let ok = reqwest::StatusCode::OK;
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let read = |status, body: &[u8]| prometheus_value(status, body, now);
        let one = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1800000000.5,"0.25"]}]}}"#;
        assert_eq!(read(ok, one), Outcome::Number(0.25));
        let empty = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(
            read(ok, empty),
            Outcome::Unknown("no data (empty vector)".into())
        );
        let nan =
            br#"{"status":"success","data":{"resultType":"scalar","result":[1800000000,"NaN"]}}"#;
        assert!(matches!(read(ok, nan), Outcome::Unknown(r) if r.contains("NaN")));
        let err = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#;
        assert_eq!(
            read(reqwest::StatusCode::BAD_REQUEST, err),
            Outcome::Unknown("prometheus bad_data: parse error at char 4".into())
        );
        // Stamped in 1970 or 2100: not about now.
        for at in ["1", "4102444800"] {
            let body = format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[{at},"0.25"]}}]}}}}"#
            );
            assert!(
                matches!(read(ok, body.as_bytes()), Outcome::Unknown(r) if r.contains("not about now")),
                "{at}"
            );
        }
        // A partial answer is no answer.
        let partial = br#"{"status":"success","warnings":["partial response: store down"],"data":{"resultType":"vector","result":[{"metric":{},"value":[1800000000,"0.25"]}]}}"#;
        assert!(matches!(read(ok, partial), Outcome::Unknown(r) if r.contains("partial response")),);
    }
}
