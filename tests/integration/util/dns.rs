//! A real DNS server on UDP 127.0.0.1:0, answering each query with what
//! the test says ([`Answer`]): records, NXDOMAIN, SERVFAIL, an empty
//! answer, or silence. Messages are built with hickory-proto; nothing
//! about the resolver is mocked.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// How the server answers one query.
#[derive(Debug, Clone)]
pub enum Answer {
    /// These records, in this order (each named as the query).
    Records(Vec<Rec>),
    NxDomain,
    ServFail,
    /// NOERROR with no records.
    Empty,
    /// Read the query, never answer.
    Silent,
}

#[derive(Debug, Clone)]
pub enum Rec {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(&'static str),
}

type Handler = Arc<dyn Fn(&str, RecordType) -> Answer + Send + Sync>;

pub struct DnsServer {
    pub addr: SocketAddr,
    queries: Arc<Mutex<Vec<(String, RecordType)>>>,
    task: JoinHandle<()>,
}

impl DnsServer {
    /// Answers every query with `answer`.
    pub async fn fixed(answer: Answer) -> DnsServer {
        DnsServer::start(move |_, _| answer.clone()).await
    }

    /// Answers each query (name without its trailing dot, type) with what
    /// `handler` says.
    pub async fn start(
        handler: impl Fn(&str, RecordType) -> Answer + Send + Sync + 'static,
    ) -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        let addr = socket.local_addr().expect("local addr");
        let handler: Handler = Arc::new(handler);
        let queries = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&queries);
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let Some(q) = query.queries.first().cloned() else {
                    continue;
                };
                let name = q.name.to_ascii();
                let name = name.trim_end_matches('.').to_string();
                seen.lock().unwrap().push((name.clone(), q.query_type));
                let answer = handler(&name, q.query_type);
                let id = query.metadata.id;
                let op = query.metadata.op_code;
                let mut reply = match answer {
                    Answer::Silent => continue,
                    Answer::NxDomain => Message::error_msg(id, op, ResponseCode::NXDomain),
                    Answer::ServFail => Message::error_msg(id, op, ResponseCode::ServFail),
                    Answer::Empty => Message::response(id, op),
                    Answer::Records(recs) => {
                        let mut m = Message::response(id, op);
                        for r in recs {
                            let data = match r {
                                Rec::A(ip) => RData::A(A(ip)),
                                Rec::Aaaa(ip) => RData::AAAA(AAAA(ip)),
                                Rec::Cname(target) => {
                                    RData::CNAME(CNAME(Name::from_ascii(target).expect("name")))
                                }
                            };
                            m.add_answer(Record::from_rdata(q.name.clone(), 60, data));
                        }
                        m
                    }
                };
                reply.metadata.recursion_desired = query.metadata.recursion_desired;
                reply.metadata.recursion_available = true;
                reply.add_query(q);
                if let Ok(bytes) = reply.to_vec() {
                    let _ = socket.send_to(&bytes, from).await;
                }
            }
        });
        DnsServer {
            addr,
            queries,
            task,
        }
    }

    /// Every query seen: name (no trailing dot) and type.
    pub fn queries(&self) -> Vec<(String, RecordType)> {
        self.queries.lock().unwrap().clone()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
