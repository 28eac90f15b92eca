//! OTP's `ssl_dist_optfile` (docs/protocol.md §17.3, docs/tls.md): one Erlang term,
//! `[{server, Options}, {client, Options}].`, each `Options` an `ssl` option list.
//!
//! This module only reads the file into [`OptFile`]; it decides which options are
//! honoured, which are ignored (each one listed in [`SideOptions::ignored`] so the
//! caller can log it) and which are refused because ignoring them would weaken the
//! security the file asks for. Building the rustls configurations is
//! [`super::DistTls`]'s job.

use super::TlsConfigError;
use crate::term::parse::parse_term;
use crate::term::Term;
use std::path::{Path, PathBuf};

/// `verify`: whether the peer's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// `verify_peer`: check the chain against `cacertfile` (and, on the client, the
    /// host name, §17.4).
    Peer,
    /// `verify_none`: accept any certificate (or none).
    None,
}

/// `server_name_indication` of a client entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerNameIndication {
    /// `disable`: send no SNI and check no host name (the chain is still checked).
    Disable,
    /// A host name: sent as SNI and checked against the server's certificate instead
    /// of the host part of the node name.
    Name(String),
}

/// A TLS protocol version of `versions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// `'tlsv1.2'`.
    Tls12,
    /// `'tlsv1.3'`.
    Tls13,
}

/// The options of one side (`server` or `client`) that beamnode acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SideOptions {
    /// `certfile`: PEM file with our certificate (and its chain).
    pub certfile: Option<PathBuf>,
    /// `keyfile`: PEM file with our private key; default: the `certfile`.
    pub keyfile: Option<PathBuf>,
    /// `cacertfile`: PEM file with the CA certificates peers are checked against.
    pub cacertfile: Option<PathBuf>,
    /// `verify`; default `verify_none` on the server, `verify_peer` on the client.
    pub verify: Option<Verify>,
    /// `fail_if_no_peer_cert` (server only); default `false`.
    pub fail_if_no_peer_cert: Option<bool>,
    /// `server_name_indication` (client only); default: the peer's host name.
    pub server_name_indication: Option<ServerNameIndication>,
    /// `versions`; default TLS 1.2 and 1.3.
    pub versions: Option<Vec<TlsVersion>>,
    /// Options read but not acted on, with why: `(option, reason)`.
    pub ignored: Vec<(String, &'static str)>,
}

/// The whole file: either entry may be missing (a node that only dials needs no
/// `server` entry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OptFile {
    /// The `server` entry: options of connections we accept.
    pub server: Option<SideOptions>,
    /// The `client` entry: options of connections we dial.
    pub client: Option<SideOptions>,
}

impl OptFile {
    /// Reads and parses the file at `path`. Relative paths inside it are taken as
    /// they are (relative to the working directory), as OTP does.
    pub fn read(path: &Path) -> Result<OptFile, TlsConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| TlsConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        OptFile::parse(&text).map_err(|e| e.in_file(path))
    }

    /// Parses the text of an optfile.
    pub fn parse(text: &str) -> Result<OptFile, TlsConfigError> {
        let term = parse_term(text).map_err(TlsConfigError::Syntax)?;
        let mut file = OptFile::default();
        for entry in proper_list(&term).ok_or(TlsConfigError::Shape)? {
            let Term::Tuple(t) = entry else {
                return Err(TlsConfigError::Shape);
            };
            let (side, opts) = match t.as_slice() {
                [Term::Atom(side), opts] => (side.as_str(), opts),
                _ => return Err(TlsConfigError::Shape),
            };
            let opts = proper_list(opts).ok_or(TlsConfigError::Shape)?;
            match side {
                "server" => file.server = Some(side_options("server", opts)?),
                "client" => file.client = Some(side_options("client", opts)?),
                _ => return Err(TlsConfigError::Shape),
            }
        }
        Ok(file)
    }
}

/// The elements of a proper list (`[]` included).
fn proper_list(t: &Term) -> Option<&[Term]> {
    match t {
        Term::Nil => Some(&[]),
        Term::List(ts) => Some(ts.as_slice()),
        _ => None,
    }
}

/// A string value: a charlist (`"x"`) or a binary (`<<"x">>`).
fn string(t: &Term) -> Option<String> {
    match t {
        Term::Nil => Some(String::new()),
        Term::List(ts) => ts
            .iter()
            .map(|c| match c {
                Term::Int(i) => u32::try_from(*i).ok().and_then(char::from_u32),
                _ => None,
            })
            .collect(),
        Term::Binary(b) => std::str::from_utf8(b).ok().map(str::to_owned),
        _ => None,
    }
}

fn atom(t: &Term) -> Option<&str> {
    match t {
        Term::Atom(a) => Some(a.as_str()),
        _ => None,
    }
}

fn boolean(t: &Term) -> Option<bool> {
    match atom(t)? {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn side_options(side: &'static str, opts: &[Term]) -> Result<SideOptions, TlsConfigError> {
    let mut o = SideOptions::default();
    for opt in opts {
        let (name, value) = match opt {
            Term::Tuple(t) => match t.as_slice() {
                [Term::Atom(name), value] => (name.as_str(), value),
                _ => return Err(TlsConfigError::Shape),
            },
            // A bare atom in a proplist means `{Atom, true}`.
            Term::Atom(name) => (name.as_str(), &Term::Atom(crate::term::Atom::new("true"))),
            _ => return Err(TlsConfigError::Shape),
        };
        let bad = |expected: &str| TlsConfigError::BadOption {
            side,
            option: name.to_string(),
            reason: format!("expected {expected}, got {value}"),
        };
        let refused = |reason: &'static str| TlsConfigError::Refused {
            side,
            option: name.to_string(),
            reason,
        };
        match name {
            "certfile" => o.certfile = Some(string(value).ok_or_else(|| bad("a file name"))?.into()),
            "keyfile" => o.keyfile = Some(string(value).ok_or_else(|| bad("a file name"))?.into()),
            "cacertfile" => {
                o.cacertfile = Some(string(value).ok_or_else(|| bad("a file name"))?.into())
            }
            "verify" => {
                o.verify = Some(match atom(value) {
                    Some("verify_peer") => Verify::Peer,
                    Some("verify_none") => Verify::None,
                    _ => return Err(bad("verify_peer or verify_none")),
                })
            }
            "fail_if_no_peer_cert" if side == "server" => {
                o.fail_if_no_peer_cert = Some(boolean(value).ok_or_else(|| bad("a boolean"))?)
            }
            "server_name_indication" if side == "client" => {
                o.server_name_indication = Some(match (atom(value), string(value)) {
                    (Some("disable"), _) => ServerNameIndication::Disable,
                    (_, Some(name)) if !name.is_empty() => ServerNameIndication::Name(name),
                    _ => return Err(bad("disable or a host name")),
                })
            }
            "versions" => {
                let mut versions = Vec::new();
                for v in proper_list(value).ok_or_else(|| bad("a list of versions"))? {
                    match atom(v) {
                        Some("tlsv1.2") => versions.push(TlsVersion::Tls12),
                        Some("tlsv1.3") => versions.push(TlsVersion::Tls13),
                        Some("tlsv1.1" | "tlsv1" | "sslv3") => o
                            .ignored
                            .push((format!("versions: {v}"), "rustls has only TLS 1.2 and 1.3")),
                        _ => return Err(bad("TLS versions such as 'tlsv1.2'")),
                    }
                }
                if versions.is_empty() {
                    return Err(bad("at least one of 'tlsv1.2', 'tlsv1.3'"));
                }
                o.versions = Some(versions);
            }
            // rustls never renegotiates, which is what `true` asks for.
            "secure_renegotiate" if boolean(value) == Some(true) => {}
            "secure_renegotiate" => o
                .ignored
                .push((name.into(), "rustls never renegotiates a session")),
            "password" => {
                return Err(refused(
                    "encrypted private keys are not read; give an unencrypted keyfile",
                ))
            }
            "verify_fun" => {
                return Err(refused(
                    "Erlang code cannot run in beamnode; the certificate checks are those of docs/tls.md",
                ))
            }
            "crl_check" if boolean(value) == Some(false) => {}
            "crl_check" | "crl_cache" => {
                return Err(refused("certificate revocation lists are not checked"))
            }
            "partial_chain" => return Err(refused("partial chains are not accepted")),
            "cacerts" | "cert" | "key" | "certs_keys" => {
                return Err(refused("give the PEM files as cacertfile, certfile, keyfile"))
            }
            "fail_if_no_peer_cert" | "server_name_indication" => o
                .ignored
                .push((name.into(), "meaningless on this side")),
            "depth" => o
                .ignored
                .push((name.into(), "chains are checked to a trusted CA at any length")),
            "ciphers" | "honor_cipher_order" | "eccs" | "signature_algs"
            | "signature_algs_cert" | "supported_groups" => o
                .ignored
                .push((name.into(), "rustls's own safe cipher suites and groups are used")),
            "customize_hostname_check" => o.ignored.push((
                name.into(),
                "host names are matched as HTTPS does (wildcards included)",
            )),
            _ => o
                .ignored
                .push((name.into(), "not used by beamnode's TLS distribution")),
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usual_file() {
        let f = OptFile::parse(
            r#"% cluster TLS
            [{server, [{certfile, "/c/node.pem"}, {keyfile, "/c/node.key"},
                       {cacertfile, "/c/ca.pem"}, {verify, verify_peer},
                       {fail_if_no_peer_cert, true}, {secure_renegotiate, true},
                       {depth, 2}]},
             {client, [{certfile, <<"/c/node.pem">>}, {cacertfile, "/c/ca.pem"},
                       {verify, verify_peer}, {server_name_indication, disable},
                       {versions, ['tlsv1.2', 'tlsv1.3']}]}]."#,
        )
        .unwrap();
        let s = f.server.unwrap();
        assert_eq!(s.certfile.as_deref(), Some(Path::new("/c/node.pem")));
        assert_eq!(s.verify, Some(Verify::Peer));
        assert_eq!(s.fail_if_no_peer_cert, Some(true));
        assert_eq!(s.ignored.len(), 1, "depth is ignored: {:?}", s.ignored);
        let c = f.client.unwrap();
        assert_eq!(c.certfile.as_deref(), Some(Path::new("/c/node.pem")));
        assert_eq!(
            c.server_name_indication,
            Some(ServerNameIndication::Disable)
        );
        assert_eq!(c.versions, Some(vec![TlsVersion::Tls12, TlsVersion::Tls13]));
    }

    #[test]
    fn refuses_what_would_weaken_the_checks() {
        let e =
            OptFile::parse("[{server, [{verify_fun, {fun inet_tls_dist:verify_client/3, []}}]}].")
                .unwrap_err();
        assert!(e.to_string().contains("verify_fun"), "{e}");
        assert!(OptFile::parse(r#"[{client, [{password, "x"}]}]."#).is_err());
        assert!(OptFile::parse("[{client, [{crl_check, peer}]}].").is_err());
    }

    #[test]
    fn rejects_other_shapes() {
        assert!(OptFile::parse("{server, []}.").is_err());
        assert!(OptFile::parse("[{server, [{verify, maybe}]}].").is_err());
        assert!(OptFile::parse("[{servers, []}].").is_err());
        assert!(OptFile::parse("[{server, [").is_err());
        assert_eq!(OptFile::parse("[].").unwrap(), OptFile::default());
    }
}
