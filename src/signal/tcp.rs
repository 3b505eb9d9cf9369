//! TCP connect: whether a port takes connections, and how fast. Also the
//! first step of a TLS check, so both say the same words for the same
//! failure ("cannot resolve host", "connection refused").

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::Outcome;
use crate::layout::Address;

/// A connection and how long it took, or why there is none (one line).
/// The caller bounds the time; this tries each resolved address in turn,
/// as a client would.
pub(super) async fn connect(address: &Address) -> Result<(TcpStream, Duration), String> {
    let started = Instant::now();
    let addrs: Vec<_> = match tokio::net::lookup_host((address.host.as_str(), address.port)).await {
        Ok(addrs) => addrs.collect(),
        Err(_) => return Err("cannot resolve host".into()),
    };
    let mut last = "cannot resolve host".to_string();
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok((stream, started.elapsed())),
            Err(e) => last = io_reason(&e),
        }
    }
    Err(last)
}

/// A tcp signal's poll: up with the connect latency, or down with why.
pub(super) async fn probe(address: &Address) -> Outcome {
    match connect(address).await {
        Ok((stream, latency)) => {
            // Nothing is sent: the check is that the port takes connections.
            drop(stream);
            Outcome::Health {
                up: true,
                latency: Some(latency),
                detail: "connected".into(),
            }
        }
        Err(detail) => Outcome::Health {
            up: false,
            latency: None,
            detail,
        },
    }
}

/// One line for a socket error, without the OS error number.
pub(super) fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset".into(),
        K::HostUnreachable => "host unreachable".into(),
        K::NetworkUnreachable => "network unreachable".into(),
        K::TimedOut => "connection timed out".into(),
        _ => {
            let text = e.to_string();
            // "Connection refused (os error 111)": the number helps nobody.
            match text.split_once(" (os error") {
                Some((head, _)) => head.to_string(),
                None => text,
            }
        }
    }
}
