//! TLS: a handshake with the server, verified as a client would (chain to
//! the system's roots or the layout's `ca`, name, dates), and the days its
//! leaf certificate has left.
//!
//! The verifier is rustls's own webpki verifier, wrapped only to read the
//! leaf's `notAfter` on the way through: a rejected certificate still says
//! how long it had (or how long ago it expired), so the reason can read
//! "expired 2 days ago" rather than "invalid certificate".

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::{Outcome, tcp};
use crate::layout::TlsProbe;

const DAY: f64 = 86_400.0;

/// A tls signal's poll. Bounded in time by the caller.
pub(super) async fn probe(p: &TlsProbe) -> Outcome {
    let roots = match &p.ca {
        Some(path) => match read_ca(path).await {
            Ok(r) => r,
            Err(reason) => return Outcome::Unknown(reason),
        },
        None => match system_roots() {
            Ok(r) => Arc::clone(r),
            Err(reason) => return Outcome::Unknown(reason.clone()),
        },
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier =
        match WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider)).build() {
            Ok(v) => v,
            Err(e) => return Outcome::Unknown(format!("cannot set up TLS: {e}")),
        };
    let reading = Arc::new(Reading {
        inner: verifier,
        not_after: Mutex::new(None),
    });
    let config = match ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(&reading) as Arc<dyn ServerCertVerifier>)
            .with_no_client_auth(),
        Err(e) => return Outcome::Unknown(format!("cannot set up TLS: {e}")),
    };
    let Ok(name) = ServerName::try_from(p.server_name.clone()) else {
        return Outcome::Unknown(format!("`{}` is not a server name", p.server_name));
    };
    let down = |detail: String, days: Option<f64>| Outcome::Certificate {
        up: false,
        days,
        detail,
    };
    let stream = match tcp::connect(&p.address).await {
        Ok((s, _)) => s,
        Err(detail) => return down(detail, None),
    };
    let handshake = TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await;
    let now = Utc::now();
    let not_after = reading.not_after();
    let days = not_after.map(|t| days_left(t, now));
    match handshake {
        Ok(stream) => {
            drop(stream);
            match (not_after, days) {
                (Some(t), Some(d)) => Outcome::Certificate {
                    up: true,
                    days: Some(d),
                    detail: format!("valid until {}", t.format("%Y-%m-%d %H:%M UTC")),
                },
                // Accepted, but unreadable to us: never guess a number.
                _ => Outcome::Unknown("the certificate's expiry date could not be read".into()),
            }
        }
        Err(e) => down(handshake_reason(&e, not_after, now), days),
    }
}

fn days_left(not_after: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    // Milliseconds are plenty, and exact in an f64 for any real date.
    #[allow(clippy::cast_precision_loss)]
    let ms = (not_after - now).num_milliseconds() as f64;
    ms / 1000.0 / DAY
}

/// Why the handshake failed, in the operator's words.
fn handshake_reason(
    e: &std::io::Error,
    not_after: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> String {
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return match e.kind() {
            std::io::ErrorKind::UnexpectedEof => "connection closed during the handshake".into(),
            _ => tcp::io_reason(e),
        };
    };
    match tls {
        rustls::Error::InvalidCertificate(c) => certificate_reason(c, not_after, now),
        rustls::Error::AlertReceived(alert) => {
            format!("handshake failed: the server sent {alert:?}")
        }
        other => format!("handshake failed: {other}"),
    }
}

fn certificate_reason(
    e: &CertificateError,
    not_after: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> String {
    match e {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => match not_after {
            Some(t) => format!("expired {} ago", ago(now - t)),
            None => "expired".into(),
        },
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "not valid yet".into()
        }
        CertificateError::NotValidForNameContext { presented, .. } if !presented.is_empty() => {
            let names: Vec<&str> = presented.iter().map(|p| presented_name(p)).collect();
            format!("name mismatch: got {}", names.join(", "))
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "name mismatch".into()
        }
        CertificateError::UnknownIssuer => "unknown issuer".into(),
        CertificateError::Revoked => "revoked".into(),
        CertificateError::BadSignature => "bad signature".into(),
        CertificateError::BadEncoding => "malformed certificate".into(),
        other => format!("certificate rejected: {other:?}"),
    }
}

/// A name the certificate presented, as webpki words it (`DnsName("x")`,
/// `IpAddress(1.2.3.4)`), down to the name itself.
fn presented_name(p: &str) -> &str {
    if let (Some(a), Some(b)) = (p.find('"'), p.rfind('"'))
        && a < b
    {
        return &p[a + 1..b];
    }
    match (p.find('('), p.rfind(')')) {
        (Some(a), Some(b)) if a < b => &p[a + 1..b],
        _ => p,
    }
}

/// `2 days`, `1 day`, or under a day `5h`, `12m`.
fn ago(d: chrono::TimeDelta) -> String {
    let secs = d.num_seconds().max(0).unsigned_abs();
    match secs / 86_400 {
        0 => crate::unit::format_seconds(std::time::Duration::from_secs(secs)),
        1 => "1 day".into(),
        n => format!("{n} days"),
    }
}

/// The system's roots, read once (reading them costs milliseconds and
/// they change with a package upgrade, not between polls).
pub(crate) fn system_roots() -> &'static Result<Arc<RootCertStore>, String> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        let mut store = RootCertStore::empty();
        let (added, _) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            Err("no system root certificates found; set `ca` to a PEM file".into())
        } else {
            Ok(Arc::new(store))
        }
    })
}

/// The roots in a PEM file, read on every poll: a replaced file counts
/// from the next poll.
async fn read_ca(path: &Path) -> Result<Arc<RootCertStore>, String> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| format!("cannot read {}: {}", path.display(), tcp::io_reason(&e)))?;
    roots_from_pem(path, &bytes)
}

/// The certificates of a PEM file's `bytes` as roots; `path` names it in
/// the reasons (the layout's `ca`, a journal URL's `sslrootcert`).
pub(crate) fn roots_from_pem(path: &Path, bytes: &[u8]) -> Result<Arc<RootCertStore>, String> {
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(bytes) {
        let cert = cert.map_err(|e| format!("{} is not PEM: {e}", path.display()))?;
        store
            .add(cert)
            .map_err(|e| format!("{}: a certificate is unusable: {e}", path.display()))?;
    }
    if store.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(Arc::new(store))
}

/// rustls's verifier, noting the leaf's `notAfter` before it judges.
#[derive(Debug)]
struct Reading {
    inner: Arc<WebPkiServerVerifier>,
    not_after: Mutex<Option<DateTime<Utc>>>,
}

impl Reading {
    fn not_after(&self) -> Option<DateTime<Utc>> {
        *self
            .not_after
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ServerCertVerifier for Reading {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let not_after = der::not_after(end_entity.as_ref())
            .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, 0));
        *self
            .not_after
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = not_after;
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Just enough DER to read a certificate's `notAfter`: a full X.509
/// parser is a dependency for one date. Every read is bounds-checked; a
/// certificate this cannot read gives `None`, never a guess.
mod der {
    /// Tag, contents and the rest after one TLV (single-byte tags, which
    /// is all the path to `validity` has).
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }

    const SEQUENCE: u8 = 0x30;
    const VERSION: u8 = 0xa0;
    const UTC_TIME: u8 = 0x17;
    const GENERALIZED_TIME: u8 = 0x18;

    /// `notAfter` of a DER certificate, in seconds since the epoch.
    pub(super) fn not_after(cert: &[u8]) -> Option<i64> {
        let (SEQUENCE, cert, _) = tlv(cert)? else {
            return None;
        };
        let (SEQUENCE, tbs, _) = tlv(cert)? else {
            return None;
        };
        let (tag, _, mut rest) = tlv(tbs)?;
        if tag == VERSION {
            // serialNumber follows the version.
            (_, _, rest) = tlv(rest)?;
        }
        // signature, issuer, then validity.
        let (_, _, rest) = tlv(rest)?;
        let (_, _, rest) = tlv(rest)?;
        let (SEQUENCE, validity, _) = tlv(rest)? else {
            return None;
        };
        let (_, _, validity) = tlv(validity)?;
        let (tag, time, _) = tlv(validity)?;
        let text = std::str::from_utf8(time).ok()?;
        let full = match tag {
            // RFC 5280: YY of 50 or more is 19YY.
            UTC_TIME => {
                let yy: u32 = text.get(..2)?.parse().ok()?;
                let century = if yy >= 50 { "19" } else { "20" };
                format!("{century}{text}")
            }
            GENERALIZED_TIME => text.to_string(),
            _ => return None,
        };
        chrono::NaiveDateTime::parse_from_str(full.strip_suffix('Z')?, "%Y%m%d%H%M%S")
            .ok()
            .map(|t| t.and_utc().timestamp())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn garbage_reads_as_nothing_and_never_panics() {
            assert_eq!(not_after(&[]), None);
            assert_eq!(not_after(&[0x30]), None);
            assert_eq!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
            for seed in 0..500u64 {
                let mut rng = fastrand::Rng::with_seed(seed);
                let len = rng.usize(..64);
                let mut bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
                if let Some(b) = bytes.first_mut() {
                    *b = 0x30;
                }
                let _ = not_after(&bytes);
            }
        }

        #[test]
        fn reads_both_time_forms() {
            // SEQ { SEQ { [0]{INT 2}, INT 1, SEQ{}, SEQ{}, SEQ { t1, t2 } } }
            let build = |not_after: &[u8]| {
                let not_before = b"\x17\x0d250101000000Z";
                let mut validity = vec![0x30, (not_before.len() + not_after.len()) as u8];
                validity.extend_from_slice(not_before);
                validity.extend_from_slice(not_after);
                let mut tbs = vec![0xa0, 3, 2, 1, 2, 2, 1, 1, 0x30, 0, 0x30, 0];
                tbs.extend_from_slice(&validity);
                let mut inner = vec![0x30, tbs.len() as u8];
                inner.extend_from_slice(&tbs);
                let mut cert = vec![0x30, inner.len() as u8];
                cert.extend_from_slice(&inner);
                cert
            };
            let utc = build(b"\x17\x0d270112140000Z");
            let generalized = build(b"\x18\x0f20500101000000Z");
            let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
            assert_eq!(not_after(&utc), Some(at("2027-01-12T14:00:00Z")));
            assert_eq!(not_after(&generalized), Some(at("2050-01-01T00:00:00Z")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presented_names_read_bare() {
        assert_eq!(
            presented_name("DnsName(\"*.old.example.com\")"),
            "*.old.example.com"
        );
        assert_eq!(presented_name("IpAddress(10.0.0.1)"), "10.0.0.1");
        assert_eq!(presented_name("plain.example.com"), "plain.example.com");
    }

    #[test]
    fn expiry_reads_in_days_or_hours() {
        let now = Utc::now();
        let t = |secs: i64| now - chrono::TimeDelta::seconds(secs);
        let expired = CertificateError::Expired;
        assert_eq!(
            certificate_reason(&expired, Some(t(2 * 86_400 + 600)), now),
            "expired 2 days ago"
        );
        assert_eq!(
            certificate_reason(&expired, Some(t(86_400)), now),
            "expired 1 day ago"
        );
        assert_eq!(
            certificate_reason(&expired, Some(t(5 * 3600)), now),
            "expired 5h ago"
        );
    }
}
