//! Certificates made for the test (rcgen: a CA and leaves with chosen
//! names and dates) and a real TLS server on 127.0.0.1:0 presenting one
//! (tokio-rustls), so a tls signal meets a real handshake.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate authority of the test's own.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

/// A leaf certificate and its key.
pub struct Leaf {
    cert: CertificateDer<'static>,
    key: Vec<u8>,
    /// The certificate and its key as PEM, for a server configured by
    /// files (PostgreSQL's `ssl_cert_file`, `ssl_key_file`).
    pub cert_pem: String,
    pub key_pem: String,
}

/// Makes `params` valid from `from` until `until` days from now
/// (negative: in the past).
fn valid(params: &mut CertificateParams, from: f64, until: f64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + Duration::from_secs_f64(now + from * 86_400.0);
    params.not_after = epoch + Duration::from_secs_f64(now + until * 86_400.0);
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        valid(&mut params, -365.0, 3650.0);
        let cert = params.self_signed(&key).expect("CA cert");
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// Writes the CA's PEM into `dir` (for a signal's `ca`), returning its path.
    pub fn write_pem(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.pem).expect("write ca.pem");
        path
    }

    /// A leaf for `names`, valid from `from` days until `until` days
    /// from now (negative: in the past).
    pub fn leaf(&self, names: &[&str], from: f64, until: f64) -> Leaf {
        let key = KeyPair::generate().expect("leaf key");
        let names: Vec<String> = names.iter().map(ToString::to_string).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        valid(&mut params, from, until);
        let cert = params.signed_by(&key, &self.issuer).expect("leaf cert");
        Leaf {
            cert: cert.der().clone(),
            key: key.serialize_der(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// A TLS server presenting one leaf. Each connection is handshaken and
/// then closed. Dropping it stops it.
pub struct TlsServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TlsServer {
    pub async fn start(leaf: &Leaf) -> TlsServer {
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key.clone()));
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![leaf.cert.clone()], key)
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let acceptor = acceptor.clone();
                        // A rejected handshake is the client's verdict, not ours.
                        connections.spawn(async move { let _ = acceptor.accept(stream).await; });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        TlsServer { addr, task }
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
