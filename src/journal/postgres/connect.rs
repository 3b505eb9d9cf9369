//! From the operator's URL to a connection: libpq's URL syntax and
//! defaults (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `~/.pgpass`),
//! `${VAR}`s expanded as secrets, and `sslmode` as libpq means it.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, Connection, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::journal::{JournalError, Location};

/// How the server's certificate is checked, by `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// `disable`, `prefer`, `require`: encrypted when TLS is used, the
    /// certificate not checked (libpq's meaning; use `verify-full` across
    /// a network you do not trust).
    None,
    /// `verify-ca`: the chain, not the name.
    Chain,
    /// `verify-full`: the chain and the host name.
    Full,
}

/// Where and how to connect, resolved once.
#[derive(Clone)]
pub struct Target {
    config: Config,
    check: Check,
    root_cert: Option<PathBuf>,
}

impl Target {
    /// Reads a `postgres://` URL the libpq way.
    ///
    /// # Errors
    /// A URL that does not parse, a `${VAR}` that is not set, a
    /// `sslrootcert` that cannot be read.
    pub fn parse(url: &str) -> Result<Target, String> {
        let url = expand(url)?;
        // Options libpq has and tokio-postgres does not are taken out
        // first; `sslmode=verify-*` is TLS required, checked here.
        let (base, query) = url.split_once('?').unwrap_or((&url, ""));
        let mut kept = Vec::new();
        let mut check = Check::None;
        let mut root_cert = None;
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match (k, v) {
                ("sslmode", "verify-ca") => {
                    check = Check::Chain;
                    kept.push("sslmode=require".to_string());
                }
                ("sslmode", "verify-full") => {
                    check = Check::Full;
                    kept.push("sslmode=require".to_string());
                }
                ("sslmode", "allow") => kept.push("sslmode=prefer".to_string()),
                ("sslrootcert", path) => root_cert = Some(PathBuf::from(decode(path))),
                _ => kept.push(kv.to_string()),
            }
        }
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config: Config = url
            .parse()
            .map_err(|e| format!("not a PostgreSQL URL: {e}"))?;
        if config.get_hosts().is_empty() {
            match std::env::var("PGHOST") {
                Ok(h) if !h.is_empty() => {
                    config.host(h);
                }
                _ if std::path::Path::new("/var/run/postgresql").is_dir() => {
                    config.host_path("/var/run/postgresql");
                }
                _ => {
                    config.host("localhost");
                }
            }
        }
        if config.get_ports().is_empty()
            && let Some(port) = std::env::var("PGPORT").ok().and_then(|p| p.parse().ok())
        {
            config.port(port);
        }
        if config.get_user().is_none() {
            let user = std::env::var("PGUSER")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(crate::session::os_user);
            config.user(user);
        }
        // A password typed into `--journal` is a secret like any other:
        // redacted wherever a message might echo it.
        if let Some(password) = config.get_password() {
            crate::text::remember(&String::from_utf8_lossy(password));
        }
        if config.get_password().is_none()
            && let Some(password) = password_for(&config)
        {
            crate::text::remember(&password);
            config.password(password);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(5));
        }
        // A peer that vanishes without a word (a cut VPN) is noticed in
        // seconds, not after the kernel's two hours.
        config.keepalives_idle(std::time::Duration::from_secs(10));
        if config.get_application_name().is_none() {
            config.application_name("gonogo");
        }
        if check != Check::None && config.get_ssl_mode() == SslMode::Disable {
            return Err("sslmode=verify-* needs TLS".into());
        }
        Ok(Target {
            config,
            check,
            root_cert,
        })
    }

    /// Connects; the caller drives the connection.
    pub async fn connect(
        &self,
    ) -> Result<
        (
            Client,
            Connection<Socket, <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream>,
        ),
        String,
    > {
        let tls = self.tls()?;
        self.config.connect(tls).await.map_err(|e| self.explain(&e))
    }

    fn tls(&self) -> Result<MakeRustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?;
        let verifier: Arc<dyn ServerCertVerifier> = match self.check {
            Check::None => Arc::new(Unchecked(provider)),
            Check::Chain | Check::Full => {
                let roots = match &self.root_cert {
                    Some(path) => read_roots(path)?,
                    None => Arc::clone(crate::signal::tls::system_roots().as_ref()?),
                };
                let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| format!("cannot set up TLS: {e}"))?;
                Arc::new(Checked {
                    inner,
                    name: self.check == Check::Full,
                })
            }
        };
        let config = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }

    /// The words for a failed connection, with the fix when there is one.
    fn explain(&self, e: &tokio_postgres::Error) -> String {
        let user = self.config.get_user().unwrap_or_default();
        let db = self.config.get_dbname().unwrap_or(user);
        match e.code() {
            Some(c) if *c == tokio_postgres::error::SqlState::INVALID_PASSWORD => format!(
                "password authentication failed for user `{user}` (the password comes from the URL, PGPASSWORD or ~/.pgpass)"
            ),
            Some(c) if *c == tokio_postgres::error::SqlState::INVALID_CATALOG_NAME => format!(
                "database `{db}` does not exist: create it first (`createdb -O {user} {db}`) or fix the URL"
            ),
            Some(c)
                if *c == tokio_postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
            {
                format!("the server refused user `{user}`: {}", reason(e))
            }
            _ => reason(e),
        }
    }
}

/// A tokio-postgres error in one line: the server's message, or the
/// connection's failure with its cause.
pub fn reason(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = s.source();
    }
    crate::text::redact(&text).into_owned()
}

/// A statement the database refused, as a journal error.
pub fn db_error(at: &Location, e: &tokio_postgres::Error) -> JournalError {
    use tokio_postgres::error::SqlState;
    match e.code() {
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => JournalError::Unreachable(
            at.clone(),
            format!(
                "{} (an operator's database user gets what it needs from the gonogo schema's owner: `gonogo journal grant URL USER`)",
                reason(e)
            ),
        ),
        Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => JournalError::Sql(format!(
            "{}: the database is read-only (a standby?); point the URL at the primary",
            reason(e)
        )),
        _ => JournalError::Sql(reason(e)),
    }
}

/// `${VAR}`s in the URL, from the environment. Their values are secrets
/// (a password, usually) and percent-encoded.
fn expand(url: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = url;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err("an unclosed `${` in the journal URL".into());
        };
        let name = &after[..end];
        let value = std::env::var(name)
            .map_err(|_| format!("the journal URL names ${{{name}}}, which is not set"))?;
        crate::text::remember(&value);
        out.push_str(&crate::text::percent_encode(&value));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `%XX` decoded (a query value).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The password libpq would use when the URL has none: `PGPASSWORD`, else
/// the first matching line of `PGPASSFILE` or `~/.pgpass` — which, as
/// libpq requires, nobody but its owner may read.
fn password_for(config: &Config) -> Option<String> {
    if let Ok(p) = std::env::var("PGPASSWORD")
        && !p.is_empty()
    {
        return Some(p);
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let meta = std::fs::metadata(&file).ok()?;
    {
        use std::os::unix::fs::PermissionsExt;
        if !meta.is_file() || meta.permissions().mode() & 0o077 != 0 {
            return None;
        }
    }
    let text = std::fs::read_to_string(&file).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // libpq matches a socket connection as `localhost`.
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default().to_string();
    let db = config
        .get_dbname()
        .map_or_else(|| user.clone(), str::to_string);
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| pgpass_match(line, [&host, &port, &db, &user]))
}

/// The password on a `host:port:database:user:password` line when its
/// first four fields match (`*` matches anything; `\:` and `\\` escape).
fn pgpass_match(line: &str, want: [&str; 4]) -> Option<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => field.extend(chars.next()),
            ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    if fields.len() != 5 {
        return None;
    }
    let matches = fields[..4]
        .iter()
        .zip(want)
        .all(|(have, want)| have == "*" || have == want);
    matches.then(|| fields.pop().unwrap_or_default())
}

fn read_roots(path: &std::path::Path) -> Result<Arc<RootCertStore>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?;
    crate::signal::tls::roots_from_pem(path, &bytes).map_err(|e| format!("sslrootcert {e}"))
}

/// libpq's `require`: encrypted, the certificate taken as offered (the
/// handshake's signatures are still checked).
#[derive(Debug)]
struct Unchecked(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca` and `verify-full`: rustls's verifier; `verify-ca` forgives
/// only a name that does not match.
#[derive(Debug)]
struct Checked {
    inner: Arc<WebPkiServerVerifier>,
    name: bool,
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_lines_match_as_libpq_reads_them() {
        let want = ["db.internal", "5432", "launch", "ops"];
        assert_eq!(
            pgpass_match("db.internal:5432:launch:ops:s3cret", want),
            Some("s3cret".into())
        );
        assert_eq!(pgpass_match("*:*:*:ops:a\\:b", want), Some("a:b".into()));
        assert_eq!(pgpass_match("*:*:*:dba:x", want), None);
        assert_eq!(pgpass_match("db.internal:5433:*:*:x", want), None);
        assert_eq!(pgpass_match("garbage", want), None);
    }

    #[test]
    fn libpq_options_tokio_postgres_lacks_are_understood() {
        let t = Target::parse("postgres://ops:pw@db/launch?sslmode=verify-full").unwrap();
        assert_eq!(t.check, Check::Full);
        assert_eq!(t.config.get_ssl_mode(), SslMode::Require);
        let t = Target::parse(
            "postgresql://ops@db/launch?sslmode=verify-ca&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(t.check, Check::Chain);
        assert_eq!(t.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        let t = Target::parse("postgres://ops@db/launch?sslmode=require").unwrap();
        assert_eq!(t.check, Check::None);
        let e = Target::parse("postgres://ops@db/launch?sslmode=sometimes")
            .err()
            .unwrap();
        assert!(e.starts_with("not a PostgreSQL URL"), "{e}");
        let e = Target::parse("postgres://ops:${GONOGO_TEST_UNSET_VAR}@db/x")
            .err()
            .unwrap();
        assert!(
            e.contains("${GONOGO_TEST_UNSET_VAR}, which is not set"),
            "{e}"
        );
    }
}
