//! tls signals against a real TLS server on 127.0.0.1 (tokio-rustls)
//! presenting certificates the test makes (rcgen): the days a good
//! certificate has left, and each way a handshake is refused — expired,
//! the wrong name, an issuer nobody trusts — as *down* with the reason.
//! A rejected certificate is never GO, whatever its days.

use std::path::Path;

use gonogo::gate::State;
use gonogo::layout::Layout;
use gonogo::signal::{Outcome, Sample};

use crate::util::server::{Refused, Reply, Server};
use crate::util::tls::{Ca, TlsServer};
use crate::util::{judge_first, poll_first};

/// A layout in `dir` with one tls signal on `address` (server name
/// `localhost`) and one gate; `ca` as written (relative to `dir`).
fn layout(dir: &Path, address: &str, ca: Option<&str>, gate: &str) -> Layout {
    let ca = ca.map_or_else(String::new, |c| format!("ca = \"{c}\"\n"));
    let src = format!(
        "[launch]\nname = \"t\"\n[signals.cert]\nkind = \"tls\"\naddress = \"{address}\"\nserver_name = \"localhost\"\ntimeout = \"2s\"\n{ca}[[phases]]\nid = \"p\"\ngates = [{{ signal = \"cert\", {gate} }}]\n"
    );
    gonogo::layout::parse(&dir.join("launch.toml"), &src)
        .unwrap_or_else(|d| panic!("invalid test layout:\n{d}\n{src}"))
}

/// A server presenting a leaf for `names` valid until `until` days from
/// now, signed by a CA whose PEM is `dir/ca.pem`.
async fn serve(dir: &Path, names: &[&str], from: f64, until: f64) -> TlsServer {
    let ca = Ca::new("gonogo test CA");
    ca.write_pem(dir);
    TlsServer::start(&ca.leaf(names, from, until)).await
}

fn down(sample: &Sample) -> (&str, Option<f64>) {
    match &sample.outcome {
        Outcome::Certificate {
            up: false,
            days,
            detail,
        } => (detail.as_str(), *days),
        other => panic!("expected a rejected certificate, got {other:?}"),
    }
}

#[tokio::test]
async fn a_good_certificate_gives_its_days_left_and_passes_at_least_14d() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["localhost"], -1.0, 40.0).await;
    // `ca` relative to the layout's directory.
    let l = layout(
        dir.path(),
        &server.address(),
        Some("ca.pem"),
        "at_least = \"14d\"",
    );
    let (sample, _) = poll_first(&l).await;
    let Outcome::Certificate {
        up: true,
        days: Some(days),
        detail,
    } = &sample.outcome
    else {
        panic!("expected an accepted certificate, got {:?}", sample.outcome);
    };
    assert!((39.9..=40.0).contains(days), "{days}");
    assert!(detail.starts_with("valid until "), "{detail}");
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::Go, "{j:?}");
    assert_eq!(j.value.as_deref(), Some("39 days"));

    let l = layout(dir.path(), &server.address(), Some("ca.pem"), "up = true");
    assert_eq!(judge_first(&l, &sample).state, State::Go);
}

#[tokio::test]
async fn a_certificate_expiring_in_3_days_is_no_go_on_at_least_14d() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["localhost"], -80.0, 3.0).await;
    let l = layout(
        dir.path(),
        &server.address(),
        Some("ca.pem"),
        "at_least = \"14d\"",
    );
    let (sample, _) = poll_first(&l).await;
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::NoGo, "{j:?}");
    assert_eq!(j.value.as_deref(), Some("2 days"), "2 days and 23:59 left");
    assert_eq!(j.reason, "2 days, needs ≥ 14d");
}

#[tokio::test]
async fn an_expired_certificate_is_down_saying_how_long_ago() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["localhost"], -90.0, -2.0).await;
    let l = layout(
        dir.path(),
        &server.address(),
        Some("ca.pem"),
        "at_least = \"14d\"",
    );
    let (sample, _) = poll_first(&l).await;
    let (detail, days) = down(&sample);
    assert_eq!(detail, "expired 2 days ago");
    assert!(days.is_some_and(|d| d < -2.0 && d > -2.1), "{days:?}");
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::NoGo);
    assert_eq!(j.reason, "down: expired 2 days ago");
}

#[tokio::test]
async fn a_certificate_for_another_name_is_down_and_never_go_on_its_days() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["*.old.example.com"], -1.0, 60.0).await;
    let l = layout(
        dir.path(),
        &server.address(),
        Some("ca.pem"),
        "at_least = \"14d\"",
    );
    let (sample, _) = poll_first(&l).await;
    let (detail, days) = down(&sample);
    assert_eq!(detail, "name mismatch: got *.old.example.com");
    assert!(
        days.is_some_and(|d| d > 59.0),
        "the days are still read: {days:?}"
    );
    let j = judge_first(&l, &sample);
    assert_eq!(
        j.state,
        State::NoGo,
        "60 days left, but the wrong certificate"
    );
    assert_eq!(j.reason, "down: name mismatch: got *.old.example.com");

    let l = layout(dir.path(), &server.address(), Some("ca.pem"), "up = true");
    assert_eq!(judge_first(&l, &sample).state, State::NoGo);
}

#[tokio::test]
async fn an_issuer_outside_the_system_roots_is_unknown_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["localhost"], -1.0, 40.0).await;
    // No `ca`: the system's roots, which do not hold the test's CA.
    let l = layout(dir.path(), &server.address(), None, "up = true");
    let (sample, _) = poll_first(&l).await;
    if let Outcome::Unknown(r) = &sample.outcome
        && r.starts_with("no system root certificates")
    {
        crate::util::missing("system root certificates (ca-certificates)");
        return;
    }
    assert_eq!(down(&sample).0, "unknown issuer");
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::NoGo);
    assert_eq!(j.reason, "down: unknown issuer");
}

#[tokio::test]
async fn no_connection_is_down_and_a_days_gate_on_it_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let refused = Refused::new();
    let l = layout(dir.path(), &refused.address(), None, "up = true");
    let (sample, _) = poll_first(&l).await;
    assert_eq!(down(&sample), ("connection refused", None));
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::NoGo);
    assert_eq!(j.reason, "down: connection refused");

    let l = layout(dir.path(), &refused.address(), None, "at_least = \"14d\"");
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::Unknown);
    assert_eq!(j.reason, "no certificate: connection refused");
}

#[tokio::test]
async fn a_server_that_never_handshakes_is_down_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::fixed(Reply::Hang).await;
    let src = format!(
        "[launch]\nname = \"t\"\n[signals.cert]\nkind = \"tls\"\naddress = \"{}\"\ntimeout = \"500ms\"\n[[phases]]\nid = \"p\"\ngates = [{{ signal = \"cert\", up = true }}]\n",
        server.address()
    );
    let l = gonogo::layout::parse(&dir.path().join("l.toml"), &src).unwrap();
    let (sample, took) = poll_first(&l).await;
    assert_eq!(down(&sample), ("no answer within 500ms", None));
    assert!(took.as_millis() < 2000, "{took:?}");
}

#[tokio::test]
async fn a_missing_ca_file_is_unknown_not_down() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["localhost"], -1.0, 40.0).await;
    let l = layout(
        dir.path(),
        &server.address(),
        Some("certs/nope.pem"),
        "up = true",
    );
    let (sample, _) = poll_first(&l).await;
    let Outcome::Unknown(reason) = &sample.outcome else {
        panic!("expected UNKNOWN, got {:?}", sample.outcome);
    };
    assert!(reason.starts_with("cannot read "), "{reason}");
    assert!(reason.contains("certs/nope.pem"), "{reason}");
    assert_eq!(judge_first(&l, &sample).state, State::Unknown);
}
