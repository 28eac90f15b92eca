//! TLS distribution helpers (tests/interop/interop_tls.rs and the newer-OTP TLS test):
//! a CA and node certificates made with rcgen, OTP optfiles naming them, `erl` started
//! with `-proto_dist inet_tls`, and a log capture for a test's node.

use super::otp::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// Log lines of the test's node (a thread-local subscriber: the test's runtime has
/// one thread, so every task of its node logs here).
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    /// Waits for a log line containing every one of `words`.
    pub async fn expect(&self, words: &[&str]) {
        let found = eventually(T, || {
            self.text()
                .lines()
                .any(|l| words.iter().all(|w| l.contains(w)))
        })
        .await;
        assert!(found, "no log line with {words:?}; log:\n{}", self.text());
    }
}

/// A CA with the certificates it signed, as PEM files in a directory of their own.
pub struct Pki {
    dir: PathBuf,
    /// Where the files really are when `dir` is a symlink into an OTP root.
    real: Option<PathBuf>,
}

fn ca(name: &str) -> (CertificateParams, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (params, key)
}

impl Pki {
    /// Makes `ca.pem` (trusted) and `rogue_ca.pem` (trusted by nobody), and the
    /// certificate/key pairs `node` (for localhost, by the CA), `rogue` (for localhost,
    /// by the rogue CA) and `other_host` (for another host name, by the CA).
    pub fn new() -> Pki {
        let dir = std::env::temp_dir().join(unique("beamnode_tls_"));
        std::fs::create_dir_all(&dir).unwrap();
        Pki::make(Pki { dir, real: None })
    }

    /// [`Pki::new`] with the files inside the OTP root `root` (for `erl` run there
    /// through chroot), at `/tmp/X` in the root and reached from the host through a
    /// symlink `/tmp/X`, so one optfile names them for both.
    pub fn in_root(root: &Path) -> Pki {
        let name = unique("beamnode_tls_");
        let real = root.join("tmp").join(&name);
        std::fs::create_dir_all(&real).unwrap();
        let dir = Path::new("/tmp").join(&name);
        std::os::unix::fs::symlink(&real, &dir).unwrap();
        Pki::make(Pki {
            dir,
            real: Some(real),
        })
    }

    fn make(pki: Pki) -> Pki {
        for (ca_name, certs) in [
            (
                "ca",
                &[("node", "localhost"), ("other_host", "elsewhere.invalid")][..],
            ),
            ("rogue_ca", &[("rogue", "localhost")][..]),
        ] {
            let (params, key) = ca(ca_name);
            let cert = params.self_signed(&key).unwrap();
            pki.write(&format!("{ca_name}.pem"), &cert.pem());
            let issuer = Issuer::new(params, key);
            for (name, host) in certs {
                let key = KeyPair::generate().unwrap();
                let mut p =
                    CertificateParams::new(vec![host.to_string(), "127.0.0.1".into()]).unwrap();
                p.distinguished_name.push(DnType::CommonName, *name);
                p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                p.extended_key_usages = vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ];
                let cert = p.signed_by(&key, &issuer).unwrap();
                pki.write(&format!("{name}.pem"), &cert.pem());
                pki.write(&format!("{name}.key"), &key.serialize_pem());
            }
        }
        // Both CAs, for a peer that must trust us while presenting a rogue certificate.
        let both = format!(
            "{}{}",
            std::fs::read_to_string(pki.path("ca.pem")).unwrap(),
            std::fs::read_to_string(pki.path("rogue_ca.pem")).unwrap()
        );
        pki.write("both_ca.pem", &both);
        pki
    }
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.path(file), text).unwrap();
    }
    /// `{certfile, …}, {keyfile, …}` of the pair `name`.
    pub fn identity(&self, name: &str) -> String {
        format!(
            r#"{{certfile, "{}"}}, {{keyfile, "{}"}}"#,
            self.path(&format!("{name}.pem")).display(),
            self.path(&format!("{name}.key")).display()
        )
    }
    pub fn ca(&self, file: &str) -> String {
        format!(r#"{{cacertfile, "{}"}}"#, self.path(file).display())
    }
    /// Writes an optfile `file` with these server and client option lists (without
    /// brackets) and returns its path.
    pub fn optfile(&self, file: &str, server: &str, client: &str) -> PathBuf {
        self.write(
            file,
            &format!(
                "%% made by interop_tls\n[{{server, [{server}]}},\n {{client, [{client}]}}].\n"
            ),
        );
        self.path(file)
    }
    /// The cluster's file: mutual TLS with the `node` pair, peers checked against the
    /// CA, a client without a certificate refused.
    pub fn mutual(&self) -> PathBuf {
        let (id, ca) = (self.identity("node"), self.ca("ca.pem"));
        self.optfile(
            "mutual.conf",
            &format!("{id}, {ca}, {{verify, verify_peer}}, {{fail_if_no_peer_cert, true}}, {{secure_renegotiate, true}}"),
            &format!("{id}, {ca}, {{verify, verify_peer}}, {{secure_renegotiate, true}}"),
        )
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        match &self.real {
            Some(real) => {
                let _ = std::fs::remove_file(&self.dir);
                let _ = std::fs::remove_dir_all(real);
            }
            None => {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
        }
    }
}

/// `erl` with TLS distribution and the optfile `conf`.
pub fn erl_tls(prefix: &str, epmd: u16, conf: &Path, eval: &str) -> Erl {
    let conf = conf.display().to_string();
    Erl::start_with(
        &unique(prefix),
        COOKIE,
        epmd,
        eval,
        &["-proto_dist", "inet_tls", "-ssl_dist_optfile", &conf],
    )
}

/// [`erl_tls`] with the `erl` of the OTP root `root` (chroot, as
/// [`Erl::start_in_root`]); `conf` must name files visible there ([`Pki::in_root`]).
pub fn erl_tls_in_root(root: &Path, prefix: &str, epmd: u16, conf: &Path, eval: &str) -> Erl {
    let name = format!("{}@localhost", unique(prefix));
    let mut cmd = Command::new("chroot");
    cmd.arg(root)
        .args(["env", &format!("ERL_EPMD_PORT={epmd}"), "HOME=/root", "erl"])
        .args(["-sname", &name, "-setcookie", COOKIE, "-noshell"])
        .args(["-proto_dist", "inet_tls", "-ssl_dist_optfile"])
        .arg(conf)
        .args(["-eval", eval]);
    Erl::from_command(cmd, &name)
}
