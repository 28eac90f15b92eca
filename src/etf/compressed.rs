//! COMPRESSED (tag 80): `term_to_binary(T, [compressed])` and its decoding (§6.1).
//! Only valid at the top level of a standalone term, never inside distribution
//! messages.

use super::{encode, tag, DecodeError, EncodeError, VERSION_MAGIC};
use crate::term::Term;
use flate2::{Decompress, FlushDecompress, Status};
use std::io::Write;

/// The best ratio zlib's deflate can reach is about 1032:1, so a declared size above
/// `1032 × compressed bytes` cannot be genuine and is never preallocated.
const MAX_ZLIB_RATIO: usize = 1032;

/// Encodes `term` like `term_to_binary(Term, [{compressed, Level}])`: version byte,
/// tag 80, the uncompressed size and the zlib stream of the term body. `level` is zlib's
/// 0..=9 (larger values are clamped). As OTP does, the plain encoding is returned
/// instead when compressing would not make the result smaller.
pub fn encode_compressed(term: &Term, level: u32) -> Result<Vec<u8>, EncodeError> {
    let mut body = Vec::new();
    encode::encode_body_into(term, &mut body)?;
    let size = u32::try_from(body.len()).map_err(|_| EncodeError::TooLarge { what: "term" })?;
    let mut z = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(body.len() / 2 + 16),
        flate2::Compression::new(level.min(9)),
    );
    z.write_all(&body)
        .map_err(|e| EncodeError::Compression(e.to_string()))?;
    let packed = z
        .finish()
        .map_err(|e| EncodeError::Compression(e.to_string()))?;
    let mut out = Vec::with_capacity(6 + packed.len());
    out.push(VERSION_MAGIC);
    if 5 + packed.len() >= body.len() {
        out.extend_from_slice(&body);
        return Ok(out);
    }
    out.push(tag::COMPRESSED);
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(&packed);
    Ok(out)
}

/// Inflates the COMPRESSED term starting at `bytes[pos]` (the tag). Returns the
/// uncompressed term bytes and the offset just after the zlib stream. The output must
/// be exactly the declared size; inflation stops as soon as it would exceed it.
pub(super) fn inflate_term(bytes: &[u8], pos: usize) -> Result<(Vec<u8>, usize), DecodeError> {
    let header_end = pos + 5;
    if bytes.len() < header_end {
        return Err(DecodeError::Truncated {
            offset: bytes.len(),
            needed: header_end - bytes.len(),
        });
    }
    let mut sz = [0u8; 4];
    sz.copy_from_slice(&bytes[pos + 1..header_end]);
    let declared = u32::from_be_bytes(sz) as usize;
    let input = &bytes[header_end..];
    let bad = |reason| DecodeError::BadCompressed { reason };
    if declared > input.len().saturating_mul(MAX_ZLIB_RATIO) {
        return Err(bad(
            "declared size larger than the compressed data can hold",
        ));
    }
    // One byte more than declared lets us notice an over-long stream.
    let limit = declared.saturating_add(1);
    let mut out: Vec<u8> = Vec::with_capacity(declared.min(64 * 1024) + 1);
    let mut z = Decompress::new(true);
    loop {
        if out.len() == out.capacity() {
            let more = (out.capacity()).min(limit - out.len()).max(1);
            out.reserve_exact(more);
        }
        let in_before = z.total_in();
        let out_before = z.total_out();
        let consumed = z.total_in() as usize;
        let status = z
            .decompress_vec(&input[consumed..], &mut out, FlushDecompress::None)
            .map_err(|_| bad("corrupt zlib data"))?;
        if out.len() > declared {
            return Err(bad("inflates to more than the declared size"));
        }
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                let stalled = z.total_in() == in_before && z.total_out() == out_before;
                if stalled && out.len() < out.capacity() {
                    return Err(bad("zlib data ends early"));
                }
            }
        }
    }
    if out.len() != declared {
        return Err(bad("inflates to less than the declared size"));
    }
    Ok((out, header_end + z.total_in() as usize))
}
