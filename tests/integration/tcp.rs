//! tcp signals against real sockets on 127.0.0.1: a listener is up with
//! its connect latency; a port that refuses is down "connection refused";
//! a listener whose backlog is full never completes a connect, so the
//! poll is down "no answer within …" at its timeout, not later.

use gonogo::gate::State;
use gonogo::signal::Outcome;
use tokio::net::{TcpSocket, TcpStream};

use crate::util::server::{Refused, Reply, Server};
use crate::util::{judge_first, ms, one_signal, poll_first};

fn tcp(address: &str) -> String {
    format!("kind = \"tcp\"\naddress = \"{address}\"\ntimeout = \"500ms\"")
}

#[tokio::test]
async fn a_listening_port_is_up_with_its_connect_latency() {
    let server = Server::fixed(Reply::Hang).await;
    let l = one_signal(&tcp(&server.address()), "up = true");
    let (sample, took) = poll_first(&l).await;
    let Outcome::Health {
        up: true,
        latency: Some(latency),
        detail,
    } = &sample.outcome
    else {
        panic!("expected up with a latency, got {:?}", sample.outcome);
    };
    assert_eq!(detail, "connected");
    assert!(*latency <= took, "{latency:?} > {took:?}");
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::Go);
    assert_eq!(j.value.as_deref(), Some("up (connected)"));

    // A latency gate reads it in ms, as for http.
    let l = one_signal(&tcp(&server.address()), "below = \"400ms\"");
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::Go, "{j:?}");
    assert!(j.value.as_deref().unwrap().ends_with(" ms"), "{j:?}");
}

#[tokio::test]
async fn a_refusing_port_is_down_and_a_latency_gate_on_it_unknown() {
    let refused = Refused::new();
    let l = one_signal(&tcp(&refused.address()), "up = true");
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        sample.outcome,
        Outcome::Health {
            up: false,
            latency: None,
            detail: "connection refused".into()
        }
    );
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::NoGo);
    assert_eq!(j.reason, "down: connection refused");

    let l = one_signal(&tcp(&refused.address()), "below = \"50ms\"");
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::Unknown);
    assert_eq!(j.reason, "no answer: connection refused");
}

#[tokio::test]
async fn a_connect_that_never_completes_is_down_at_the_timeout() {
    // listen(0) and never accept: once the accept queue is full, Linux
    // drops further SYNs, so a connect hangs (retrying) — deterministic,
    // offline, and nothing to do with routing.
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    let addr = socket.local_addr().expect("addr");
    let _listener = socket.listen(0).expect("listen");
    let mut held = Vec::new();
    loop {
        match tokio::time::timeout(ms(300), TcpStream::connect(addr)).await {
            Ok(Ok(s)) => held.push(s),
            Ok(Err(e)) => panic!("filling the backlog: {e}"),
            Err(_) => break,
        }
        assert!(held.len() < 64, "the backlog never filled");
    }
    let l = one_signal(&tcp(&addr.to_string()), "up = true");
    let (sample, took) = poll_first(&l).await;
    assert_eq!(
        sample.outcome,
        Outcome::Health {
            up: false,
            latency: None,
            detail: "no answer within 500ms".into()
        }
    );
    assert!(
        took >= ms(450),
        "returned after {took:?}: before the timeout?"
    );
    assert!(took < ms(2000), "returned after {took:?}, timeout 500ms");
    assert_eq!(judge_first(&l, &sample).state, State::NoGo);
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_down_saying_so() {
    let body = "kind = \"tcp\"\naddress = \"no-such-host.invalid:5432\"\ntimeout = \"3s\"";
    let l = one_signal(body, "up = true");
    let (sample, _) = poll_first(&l).await;
    // A resolver that answers says NXDOMAIN at once: "cannot resolve
    // host". One that does not answer (a CI machine with its nameserver
    // unreachable) runs into the timeout instead: down either way, with
    // the reason, never up and never a latency.
    match &sample.outcome {
        Outcome::Health {
            up: false,
            latency: None,
            detail,
        } if detail == "cannot resolve host" || detail.starts_with("no answer within") => {}
        other => panic!("not down with the reason: {other:?}"),
    }
    assert_eq!(judge_first(&l, &sample).state, State::NoGo);
}
