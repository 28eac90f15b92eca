//! The magic cookie, found as `erl` finds it: `--cookie` first, else
//! `$HOME/.erlang.cookie`, which is created (20 random capital letters, mode 0400) when
//! missing, like `erl -sname` does. The cookie is never logged.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the cookie could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    #[error("HOME is not set, so ~/.erlang.cookie cannot be found; pass --cookie")]
    NoHome,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: cookie file must be accessible by owner only (chmod 400)")]
    Permissions(PathBuf),
    #[error("{0}: cookie file is empty")]
    Empty(PathBuf),
    #[error("the OS random source failed: {0}")]
    Random(String),
}

/// The default cookie file, `$HOME/.erlang.cookie`.
pub fn default_path() -> Result<PathBuf, CookieError> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| Path::new(&h).join(".erlang.cookie"))
        .ok_or(CookieError::NoHome)
}

/// Reads the cookie from `path`, creating the file first if it does not exist.
pub fn read_or_create(path: &Path) -> Result<String, CookieError> {
    let io = |source| CookieError::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(CookieError::Permissions(path.to_path_buf()));
                }
            }
            // erl takes the first line, trimmed of trailing white space.
            let text: String = bytes.iter().map(|&b| b as char).collect();
            let cookie = text.lines().next().unwrap_or("").trim_end().to_string();
            if cookie.is_empty() {
                return Err(CookieError::Empty(path.to_path_buf()));
            }
            Ok(cookie)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let cookie = random_cookie()?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o400);
            }
            let mut f = opts.open(path).map_err(io)?;
            f.write_all(cookie.as_bytes()).map_err(io)?;
            Ok(cookie)
        }
        Err(e) => Err(io(e)),
    }
}

fn random_cookie() -> Result<String, CookieError> {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| CookieError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| (b'A' + b % 26) as char).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_reads_back_an_owner_only_cookie() {
        let dir = std::env::temp_dir().join(format!("beamnode-cookie-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".erlang.cookie");
        let _ = std::fs::remove_file(&path);
        let c = read_or_create(&path).unwrap();
        assert_eq!(c.len(), 20);
        assert!(c.bytes().all(|b| b.is_ascii_uppercase()));
        assert_eq!(read_or_create(&path).unwrap(), c);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
