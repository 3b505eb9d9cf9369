//! dns signals against a real DNS server on UDP 127.0.0.1 that answers as
//! each test says: the answer set compared as a set (order, case and a
//! trailing dot ignored), NXDOMAIN and an empty answer as answers (NO-GO),
//! SERVFAIL and silence as UNKNOWN.

use gonogo::gate::State;
use gonogo::signal::Outcome;
use hickory_proto::rr::RecordType;

use crate::util::dns::{Answer, DnsServer, Rec};
use crate::util::{judge_first, ms, one_signal, poll_first};

fn dns(server: &DnsServer, kind: &str) -> String {
    format!(
        "kind = \"dns\"\nname = \"checkout.example.com\"\ntype = \"{kind}\"\nserver = \"{}\"\ntimeout = \"500ms\"",
        server.addr
    )
}

fn a(ip: &str) -> Rec {
    Rec::A(ip.parse().unwrap())
}

const NEW_IPS: &str = r#"resolves_to = ["203.0.113.7", "203.0.113.8"]"#;

#[tokio::test]
async fn the_answer_set_is_compared_as_a_set() {
    let server = DnsServer::fixed(Answer::Records(vec![a("203.0.113.8"), a("203.0.113.7")])).await;
    let l = one_signal(&dns(&server, "A"), NEW_IPS);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        sample.outcome,
        Outcome::Answers {
            records: vec!["203.0.113.7".into(), "203.0.113.8".into()],
            detail: String::new()
        }
    );
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::Go, "{j:?}");
    assert_eq!(j.value.as_deref(), Some("203.0.113.7, 203.0.113.8"));
    // Asked as written, fully qualified: no search-domain variants.
    assert_eq!(
        server.queries(),
        vec![("checkout.example.com".to_string(), RecordType::A)]
    );
}

#[tokio::test]
async fn another_address_or_a_missing_one_is_no_go() {
    let server = DnsServer::fixed(Answer::Records(vec![a("198.51.100.4")])).await;
    let l = one_signal(&dns(&server, "A"), NEW_IPS);
    let (sample, _) = poll_first(&l).await;
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::NoGo);
    assert_eq!(
        j.reason,
        "198.51.100.4, needs resolves to 203.0.113.7, 203.0.113.8"
    );

    // A subset is not the set: half the traffic still goes elsewhere.
    let server = DnsServer::fixed(Answer::Records(vec![a("203.0.113.7")])).await;
    let l = one_signal(&dns(&server, "A"), NEW_IPS);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(judge_first(&l, &sample).state, State::NoGo);
}

#[tokio::test]
async fn nxdomain_and_an_empty_answer_are_answers_and_no_go() {
    let server = DnsServer::fixed(Answer::NxDomain).await;
    let l = one_signal(&dns(&server, "A"), NEW_IPS);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        sample.outcome,
        Outcome::Answers {
            records: vec![],
            detail: "NXDOMAIN".into()
        }
    );
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::NoGo);
    assert_eq!(j.value.as_deref(), Some("NXDOMAIN"));
    assert_eq!(
        j.reason,
        "NXDOMAIN, needs resolves to 203.0.113.7, 203.0.113.8"
    );

    let server = DnsServer::fixed(Answer::Empty).await;
    let l = one_signal(&dns(&server, "A"), NEW_IPS);
    let (sample, _) = poll_first(&l).await;
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::NoGo);
    assert_eq!(j.value.as_deref(), Some("no A records"));

    // "The old name is gone": the empty set, written as such.
    let server = DnsServer::fixed(Answer::NxDomain).await;
    let l = one_signal(&dns(&server, "A"), "resolves_to = []");
    let (sample, _) = poll_first(&l).await;
    assert_eq!(judge_first(&l, &sample).state, State::Go);
}

#[tokio::test]
async fn servfail_is_unknown_with_the_reason() {
    let server = DnsServer::fixed(Answer::ServFail).await;
    let l = one_signal(&dns(&server, "A"), NEW_IPS);
    let (sample, _) = poll_first(&l).await;
    assert_eq!(
        sample.outcome,
        Outcome::Unknown("DNS server answered SERVFAIL".into())
    );
    assert_eq!(judge_first(&l, &sample).state, State::Unknown);
}

#[tokio::test]
async fn a_server_that_never_answers_is_unknown_at_the_timeout() {
    let server = DnsServer::fixed(Answer::Silent).await;
    let l = one_signal(&dns(&server, "A"), NEW_IPS);
    let (sample, took) = poll_first(&l).await;
    let Outcome::Unknown(reason) = &sample.outcome else {
        panic!("expected UNKNOWN, got {:?}", sample.outcome);
    };
    assert_eq!(reason, "no answer within 500ms");
    assert!(
        took >= ms(450),
        "returned after {took:?}: before the timeout?"
    );
    assert!(took < ms(2000), "returned after {took:?}, timeout 500ms");
    assert_eq!(judge_first(&l, &sample).state, State::Unknown);
}

#[tokio::test]
async fn cname_targets_compare_without_case_or_trailing_dot() {
    let server = DnsServer::fixed(Answer::Records(vec![Rec::Cname("Edge.Example.NET.")])).await;
    let l = one_signal(
        &dns(&server, "CNAME"),
        r#"resolves_to = ["edge.example.net."]"#,
    );
    let (sample, _) = poll_first(&l).await;
    let j = judge_first(&l, &sample);
    assert_eq!(j.state, State::Go, "{j:?}");
    assert_eq!(j.value.as_deref(), Some("edge.example.net"));
}

#[tokio::test]
async fn ipv6_addresses_compare_canonically() {
    let server = DnsServer::fixed(Answer::Records(vec![Rec::Aaaa(
        "2001:db8::1".parse().unwrap(),
    )]))
    .await;
    let l = one_signal(
        &dns(&server, "AAAA"),
        r#"resolves_to = ["2001:DB8:0:0:0:0:0:1"]"#,
    );
    let (sample, _) = poll_first(&l).await;
    assert_eq!(judge_first(&l, &sample).state, State::Go);
}
