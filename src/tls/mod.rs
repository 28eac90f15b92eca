//! TLS distribution (docs/protocol.md §17, docs/tls.md): the rustls configurations
//! of both sides, built from OTP's `ssl_dist_optfile` ([`optfile`]).
//!
//! Like [`crate::config`] this is configuration, below the drivers: it reads files
//! but opens no socket. `net` (tokio) and `blocking` both wrap their TCP streams with
//! what [`DistTls`] hands them; the distribution protocol over the TLS stream is the
//! plain one, except that handshake messages carry 4-byte lengths
//! ([`crate::proto::handshake::WireFraming::Packet4`], §17.2).
//!
//! The checks are OTP's (§17.4): the server asks for a client certificate only with
//! `verify_peer` and refuses a client without one only with
//! `fail_if_no_peer_cert`; the client checks the server's chain with `verify_peer`
//! (the default) and its host name against the host part of the node name it dials,
//! unless `server_name_indication` names another host or is `disable`. The crypto is
//! rustls's `ring` provider.

pub mod optfile;

pub use optfile::{OptFile, ServerNameIndication, SideOptions, TlsVersion, Verify};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a TLS distribution configuration cannot be used. Every variant names the file
/// or option at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not an Erlang term: {0}")]
    Syntax(crate::term::parse::ParseError),
    #[error(
        "expected [{{server, [Option…]}}, {{client, [Option…]}}], each option {{Name, Value}}"
    )]
    Shape,
    #[error("{side} option {option}: {reason}")]
    BadOption {
        side: &'static str,
        option: String,
        reason: String,
    },
    #[error("{side} option {option} is not supported: {reason}")]
    Refused {
        side: &'static str,
        option: String,
        reason: &'static str,
    },
    #[error("{side}: {reason}")]
    Missing {
        side: &'static str,
        reason: &'static str,
    },
    #[error("{path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("{side}: {source}")]
    Rustls {
        side: &'static str,
        source: rustls::Error,
    },
    #[error("{side}: {reason}")]
    Verifier { side: &'static str, reason: String },
    #[error("{name:?} is not a host name or IP address to check a certificate against")]
    BadServerName { name: String },
    #[error("{file}: {source}")]
    InFile {
        file: PathBuf,
        source: Box<TlsConfigError>,
    },
}

impl TlsConfigError {
    pub(crate) fn in_file(self, path: &Path) -> TlsConfigError {
        match self {
            e @ TlsConfigError::Read { .. } => e,
            e => TlsConfigError::InFile {
                file: path.to_path_buf(),
                source: Box::new(e),
            },
        }
    }
}

/// Which name the client checks the server's certificate against (§17.4).
#[derive(Debug, Clone)]
enum ClientName {
    /// The host part of the node name dialled (OTP's default).
    PeerHost,
    /// `{server_name_indication, Name}`.
    Fixed(String),
    /// `{server_name_indication, disable}`: no SNI, no host name check.
    Disabled,
}

/// The TLS side of a node or client: what to wrap accepted and dialled connections
/// with. Build it from an optfile with [`DistTls::from_optfile`].
#[derive(Clone)]
pub struct DistTls {
    server: Option<Arc<ServerConfig>>,
    client: Option<(Arc<ClientConfig>, ClientName)>,
}

impl std::fmt::Debug for DistTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistTls")
            .field("server", &self.server.is_some())
            .field("client", &self.client.as_ref().map(|(_, n)| n))
            .finish()
    }
}

impl DistTls {
    /// Reads OTP's `ssl_dist_optfile` and the PEM files it names. Ignored options
    /// are logged as warnings; refused ones are an error.
    pub fn from_optfile(path: impl AsRef<Path>) -> Result<DistTls, TlsConfigError> {
        let path = path.as_ref();
        let file = OptFile::read(path)?;
        DistTls::from_options(&file).map_err(|e| e.in_file(path))
    }

    /// Builds both sides from parsed options (the PEM files are read now).
    pub fn from_options(file: &OptFile) -> Result<DistTls, TlsConfigError> {
        // Deprecated since rustls 0.23.48 only because ring has no post-quantum key
        // exchange; OTP's `ssl` offers none either, so the classical groups are what
        // an OTP peer negotiates anyway, and ring builds without cmake (aws-lc-rs
        // would need it).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        for (side, o) in [("server", &file.server), ("client", &file.client)] {
            for (option, why) in o.iter().flat_map(|o| o.ignored.iter()) {
                tracing::warn!(side, option = %option, why, "ssl_dist_optfile option ignored");
            }
        }
        let server = match &file.server {
            Some(o) => Some(Arc::new(server_config(o, &provider)?)),
            None => None,
        };
        let client = match &file.client {
            Some(o) => Some(client_config(o, &provider)?),
            None => None,
        };
        Ok(DistTls { server, client })
    }

    /// The configuration of accepted connections; `None` without a `server` entry.
    pub fn server_config(&self) -> Option<Arc<ServerConfig>> {
        self.server.clone()
    }

    /// The configuration of dialled connections; `None` without a `client` entry.
    pub fn client_config(&self) -> Option<Arc<ClientConfig>> {
        self.client.as_ref().map(|(c, _)| c.clone())
    }

    /// The name to give rustls when dialling a node on `peer_host`: the host itself
    /// unless `server_name_indication` says otherwise (§17.4). With `disable` no SNI
    /// is sent and the name is not checked, so any valid name will do.
    pub fn server_name(&self, peer_host: &str) -> Result<ServerName<'static>, TlsConfigError> {
        let name = match self.client.as_ref().map(|(_, n)| n) {
            Some(ClientName::Fixed(n)) => n.as_str(),
            Some(ClientName::Disabled) => {
                return Ok(ServerName::try_from(peer_host.to_string())
                    .unwrap_or_else(|_| ServerName::try_from("beamnode.invalid").expect("valid")))
            }
            _ => peer_host,
        };
        ServerName::try_from(name.to_string()).map_err(|_| TlsConfigError::BadServerName {
            name: name.to_string(),
        })
    }
}

fn versions(o: &SideOptions) -> Vec<&'static rustls::SupportedProtocolVersion> {
    match &o.versions {
        None => vec![&rustls::version::TLS13, &rustls::version::TLS12],
        Some(vs) => vs
            .iter()
            .map(|v| match v {
                TlsVersion::Tls12 => &rustls::version::TLS12,
                TlsVersion::Tls13 => &rustls::version::TLS13,
            })
            .collect(),
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let pem = |e: rustls::pki_types::pem::Error| TlsConfigError::Pem {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem)?;
    if certs.is_empty() {
        return Err(TlsConfigError::Pem {
            path: path.to_path_buf(),
            reason: "no CERTIFICATE in it".into(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsConfigError::Pem {
        path: path.to_path_buf(),
        reason: match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no unencrypted PRIVATE KEY in it (PKCS#8, PKCS#1 or SEC1)".into()
            }
            e => e.to_string(),
        },
    })
}

/// Our certificate chain and key, if the side has a `certfile`.
fn identity(
    o: &SideOptions,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, TlsConfigError> {
    let Some(certfile) = &o.certfile else {
        return Ok(None);
    };
    let chain = read_certs(certfile)?;
    let key = read_key(o.keyfile.as_deref().unwrap_or(certfile))?;
    Ok(Some((chain, key)))
}

fn roots(side: &'static str, o: &SideOptions) -> Result<Arc<RootCertStore>, TlsConfigError> {
    let Some(path) = &o.cacertfile else {
        return Err(TlsConfigError::Missing {
            side,
            reason: "verify_peer needs a cacertfile",
        });
    };
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path)? {
        roots.add(cert).map_err(|e| TlsConfigError::Pem {
            path: path.clone(),
            reason: format!("not a usable CA certificate: {e}"),
        })?;
    }
    Ok(Arc::new(roots))
}

fn server_config(
    o: &SideOptions,
    provider: &Arc<CryptoProvider>,
) -> Result<ServerConfig, TlsConfigError> {
    const SIDE: &str = "server";
    let rustls = |source| TlsConfigError::Rustls { side: SIDE, source };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(o))
        .map_err(rustls)?;
    let verify = o.verify.unwrap_or(Verify::None);
    let fail_if_no_peer_cert = o.fail_if_no_peer_cert.unwrap_or(false);
    let builder = match verify {
        Verify::None if fail_if_no_peer_cert => {
            return Err(TlsConfigError::Missing {
                side: SIDE,
                reason: "fail_if_no_peer_cert needs {verify, verify_peer} (as in OTP)",
            })
        }
        Verify::None => builder.with_no_client_auth(),
        Verify::Peer => {
            let v = WebPkiClientVerifier::builder_with_provider(roots(SIDE, o)?, provider.clone());
            let v = if fail_if_no_peer_cert {
                v
            } else {
                v.allow_unauthenticated()
            };
            let v = v.build().map_err(|e| TlsConfigError::Verifier {
                side: SIDE,
                reason: e.to_string(),
            })?;
            builder.with_client_cert_verifier(v)
        }
    };
    let (chain, key) = identity(o)?.ok_or(TlsConfigError::Missing {
        side: SIDE,
        reason: "a certfile is required (the node's certificate)",
    })?;
    builder.with_single_cert(chain, key).map_err(rustls)
}

fn client_config(
    o: &SideOptions,
    provider: &Arc<CryptoProvider>,
) -> Result<(Arc<ClientConfig>, ClientName), TlsConfigError> {
    const SIDE: &str = "client";
    let rustls = |source| TlsConfigError::Rustls { side: SIDE, source };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(o))
        .map_err(rustls)?;
    let name = match &o.server_name_indication {
        None => ClientName::PeerHost,
        Some(ServerNameIndication::Name(n)) => ClientName::Fixed(n.clone()),
        Some(ServerNameIndication::Disable) => ClientName::Disabled,
    };
    let builder = match o.verify.unwrap_or(Verify::Peer) {
        Verify::None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(
                provider.signature_verification_algorithms,
            ))),
        Verify::Peer => {
            let v = WebPkiServerVerifier::builder_with_provider(roots(SIDE, o)?, provider.clone())
                .build()
                .map_err(|e| TlsConfigError::Verifier {
                    side: SIDE,
                    reason: e.to_string(),
                })?;
            if matches!(name, ClientName::Disabled) {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(v)))
            } else {
                builder.with_webpki_verifier(v)
            }
        }
    };
    let mut config = match identity(o)? {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(rustls)?,
        None => builder.with_no_client_auth(),
    };
    config.enable_sni = !matches!(name, ClientName::Disabled);
    Ok((Arc::new(config), name))
}

/// `{verify, verify_none}` on the client: any server certificate is accepted; the
/// handshake signatures are still checked (they prove the server holds the key of the
/// certificate it sent).
#[derive(Debug)]
struct AcceptAny(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// `{server_name_indication, disable}` with `verify_peer`: the chain is checked as
/// usual, the host name is not (§17.4). rustls checks the name last, after the chain,
/// so a name error means the chain itself was good.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory with `ca.pem`, `node.pem` and `node.key` (for localhost).
    struct Files(PathBuf);

    impl Files {
        fn new(tag: &str) -> Files {
            let dir = std::env::temp_dir()
                .join(format!("beamnode_tls_unit_{tag}_{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let ca_key = rcgen::KeyPair::generate().unwrap();
            let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let ca_cert = ca.self_signed(&ca_key).unwrap();
            let issuer = rcgen::Issuer::new(ca, ca_key);
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
                .unwrap()
                .signed_by(&key, &issuer)
                .unwrap();
            std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
            std::fs::write(dir.join("node.pem"), cert.pem()).unwrap();
            std::fs::write(dir.join("node.key"), key.serialize_pem()).unwrap();
            // certfile and key in one file, as OTP allows without a keyfile.
            std::fs::write(
                dir.join("both.pem"),
                format!("{}{}", cert.pem(), key.serialize_pem()),
            )
            .unwrap();
            Files(dir)
        }
        fn conf(&self, server: &str, client: &str) -> OptFile {
            let text = format!("[{{server, [{server}]}}, {{client, [{client}]}}].")
                .replace("DIR", &self.0.display().to_string());
            OptFile::parse(&text).unwrap()
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const ID: &str = r#"{certfile, "DIR/node.pem"}, {keyfile, "DIR/node.key"}"#;
    const CA: &str = r#"{cacertfile, "DIR/ca.pem"}"#;

    #[test]
    fn builds_both_sides() {
        let f = Files::new("ok");
        let tls = DistTls::from_options(&f.conf(
            &format!("{ID}, {CA}, {{verify, verify_peer}}, {{fail_if_no_peer_cert, true}}"),
            &format!(r#"{{certfile, "DIR/both.pem"}}, {CA}"#),
        ))
        .unwrap();
        assert!(tls.server_config().is_some() && tls.client_config().is_some());
        assert_eq!(
            tls.server_name("localhost").unwrap(),
            ServerName::try_from("localhost").unwrap()
        );
        // A client that sends no certificate and checks nothing is allowed.
        DistTls::from_options(&f.conf(ID, "{verify, verify_none}")).unwrap();
    }

    #[test]
    fn server_name_indication() {
        let f = Files::new("sni");
        let fixed = DistTls::from_options(&f.conf(
            ID,
            &format!(r#"{CA}, {{server_name_indication, "cluster.example"}}"#),
        ))
        .unwrap();
        assert_eq!(
            fixed.server_name("localhost").unwrap(),
            ServerName::try_from("cluster.example").unwrap()
        );
        let off = DistTls::from_options(
            &f.conf(ID, &format!("{CA}, {{server_name_indication, disable}}")),
        )
        .unwrap();
        assert!(!off.client_config().unwrap().enable_sni);
        assert!(off.server_name("not a host name").is_ok());
    }

    #[test]
    fn refuses_incomplete_sides() {
        let f = Files::new("bad");
        let err = |server: &str, client: &str| {
            DistTls::from_options(&f.conf(server, client))
                .unwrap_err()
                .to_string()
        };
        // verify_peer without a CA, on either side (the client's default is verify_peer).
        assert!(err(ID, "").contains("cacertfile"), "{}", err(ID, ""));
        assert!(err(&format!("{ID}, {{verify, verify_peer}}"), CA).contains("cacertfile"));
        // OTP's incompatible pair.
        assert!(err(&format!("{ID}, {{fail_if_no_peer_cert, true}}"), CA)
            .contains("fail_if_no_peer_cert"));
        // A server needs a certificate.
        assert!(err(CA, CA).contains("certfile"));
        // Files that are not there or hold no key.
        assert!(err(r#"{certfile, "DIR/none.pem"}"#, CA).contains("none.pem"));
        let e = err(r#"{certfile, "DIR/node.pem"}"#, CA);
        assert!(e.contains("PRIVATE KEY"), "{e}");
    }
}
