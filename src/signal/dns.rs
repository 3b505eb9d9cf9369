//! DNS: the answer set for one name and type, from the layout's server or
//! the system's (`/etc/resolv.conf`).
//!
//! A cutover gate asks "does the name resolve to the new address yet?",
//! so the answer must be the server's, now: no cache, no hosts file, no
//! search domains. NXDOMAIN and "no records of this type" are answers (the
//! empty set); a server that fails or never answers is UNKNOWN.

use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};

use super::Outcome;
use crate::layout::{DnsProbe, RecordKind};

/// A dns signal's poll. Bounded in time by the caller too; the resolver
/// gets the same timeout and one attempt, so its own error wins.
pub(super) async fn probe(p: &DnsProbe, timeout: Duration) -> Outcome {
    let resolver = match resolver(p, timeout) {
        Ok(r) => r,
        Err(reason) => return Outcome::Unknown(reason),
    };
    // Fully qualified: the name as written, never a search-domain variant.
    let fqdn = format!("{}.", p.name.trim_end_matches('.'));
    let record_type = match p.record {
        RecordKind::A => RecordType::A,
        RecordKind::Aaaa => RecordType::AAAA,
        RecordKind::Cname => RecordType::CNAME,
    };
    match resolver.lookup(fqdn.as_str(), record_type).await {
        Ok(lookup) => {
            let mut records: Vec<String> = lookup
                .answers()
                .iter()
                .filter_map(|r| match (&r.data, p.record) {
                    (RData::A(a), RecordKind::A) => Some(a.0.to_string()),
                    (RData::AAAA(a), RecordKind::Aaaa) => Some(a.0.to_string()),
                    (RData::CNAME(c), RecordKind::Cname) => {
                        RecordKind::Cname.canonical(&c.0.to_ascii())
                    }
                    _ => None,
                })
                .collect();
            records.sort();
            records.dedup();
            answers(records, p.record)
        }
        Err(e) => failure(&e, p.record, timeout),
    }
}

/// The set, or why it is empty.
fn answers(records: Vec<String>, kind: RecordKind) -> Outcome {
    let detail = if records.is_empty() {
        format!("no {} records", kind.name())
    } else {
        String::new()
    };
    Outcome::Answers { records, detail }
}

fn failure(e: &NetError, kind: RecordKind, timeout: Duration) -> Outcome {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(no)) => match no.response_code {
            ResponseCode::NXDomain => Outcome::Answers {
                records: Vec::new(),
                detail: "NXDOMAIN".into(),
            },
            ResponseCode::NoError => answers(Vec::new(), kind),
            code => Outcome::Unknown(rcode(code)),
        },
        NetError::Dns(DnsError::ResponseCode(code)) => Outcome::Unknown(rcode(*code)),
        // Worded as every other poll that runs out of time.
        NetError::Timeout => Outcome::Unknown(format!(
            "no answer within {}",
            crate::unit::format_duration(timeout)
        )),
        NetError::Io(io) => Outcome::Unknown(format!("DNS: {}", super::tcp::io_reason(io))),
        other => Outcome::Unknown(format!("DNS: {other}")),
    }
}

/// `SERVFAIL`, as dig says it.
fn rcode(code: ResponseCode) -> String {
    let name = match code {
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::NXDomain => "NXDOMAIN",
        other => return format!("DNS server answered {other}"),
    };
    format!("DNS server answered {name}")
}

fn resolver(p: &DnsProbe, timeout: Duration) -> Result<TokioResolver, String> {
    let provider = TokioRuntimeProvider::default();
    let mut builder = match p.server {
        Some(server) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = server.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = server.port();
            let ns = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                provider,
            )
        }
        None => TokioResolver::builder(provider)
            .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?,
    };
    let opts: &mut ResolverOpts = builder.options_mut();
    opts.timeout = timeout;
    opts.attempts = 1;
    opts.cache_size = 0;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.ndots = 0;
    builder
        .build()
        .map_err(|e| format!("cannot set up DNS: {e}"))
}
