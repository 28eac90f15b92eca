//! The challenge digest (docs/protocol.md §2.3) and the cookie it is computed from.

use super::HandshakeError;
use md5::{Digest as _, Md5};
use std::fmt;

/// A 16-byte MD5 challenge digest.
pub type Digest = [u8; 16];

/// A distribution cookie, stored as the Latin-1 bytes OTP hashes.
///
/// OTP feeds `atom_to_list(Cookie)` to `erlang:md5/1` as an iolist, so each character
/// is one byte (§2.3, trap 9 in §15); a cookie with a character above U+00FF cannot be
/// hashed by OTP and is refused here with [`HandshakeError::CookieNotLatin1`].
/// `Debug` never shows the cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie(Vec<u8>);

impl Cookie {
    /// Builds a cookie from its text (the atom's characters).
    pub fn new(text: &str) -> Result<Cookie, HandshakeError> {
        text.chars()
            .map(|c| u8::try_from(u32::from(c)).map_err(|_| HandshakeError::CookieNotLatin1))
            .collect::<Result<Vec<u8>, _>>()
            .map(Cookie)
    }

    /// The bytes that go into the digest.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cookie(<redacted>)")
    }
}

/// `MD5(cookie bytes ++ decimal text of the unsigned challenge)` (§2.3).
pub fn gen_digest(challenge: u32, cookie: &Cookie) -> Digest {
    let mut md5 = Md5::new();
    md5.update(cookie.as_bytes());
    md5.update(challenge.to_string().as_bytes());
    md5.finalize().into()
}

/// Compares two digests in constant time: every byte is looked at, with no early exit,
/// so the timing does not tell an attacker how many leading bytes were right.
pub fn digests_equal(a: &Digest, b: &Digest) -> bool {
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_vector_a() {
        // §16.3 Vector A: MD5("testcookie497204596").
        let cookie = Cookie::new("testcookie").unwrap();
        let d = gen_digest(0x1DA2_BD74, &cookie);
        assert_eq!(
            d,
            [
                0xea, 0x6a, 0x0a, 0xe4, 0xb7, 0x23, 0x9f, 0x00, 0x96, 0x85, 0xf0, 0x8d, 0x84, 0xe3,
                0x64, 0x4e
            ]
        );
    }

    #[test]
    fn latin1_cookie_is_one_byte_per_char() {
        let c = Cookie::new("caf\u{e9}").unwrap();
        assert_eq!(c.as_bytes(), &[b'c', b'a', b'f', 0xe9]);
        assert_eq!(Cookie::new("\u{100}"), Err(HandshakeError::CookieNotLatin1));
        assert_eq!(format!("{c:?}"), "Cookie(<redacted>)");
    }

    #[test]
    fn digest_comparison() {
        let a = [7u8; 16];
        let mut b = a;
        assert!(digests_equal(&a, &b));
        b[15] ^= 1;
        assert!(!digests_equal(&a, &b));
    }
}
