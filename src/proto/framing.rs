//! Post-handshake framing (docs/protocol.md §4.1): every frame is `Len:32 | Payload`
//! (big-endian, "packet 4"), and `Len = 0` is a tick.
//!
//! [`FrameReader`] splits a byte stream into frames without copying payloads: feed it
//! whatever the socket produced with [`FrameReader::extend`], then call
//! [`FrameReader::next_frame`] until it returns `Ok(None)`.
//!
//! A hostile peer could announce a 4 GiB frame and trickle bytes in; the reader
//! therefore rejects any length above a configurable maximum
//! ([`DEFAULT_MAX_FRAME_LEN`] = 1 GiB) as soon as the 4 length bytes are visible, and
//! never reserves memory from the length field — the buffer only grows by the bytes that
//! actually arrived.

use byteorder::{BigEndian, ByteOrder};

/// The default upper bound on one frame's payload: 1 GiB. OTP has none but the length
/// field's 4 GiB, and it sends a large message as one frame even when FRAGMENTS is
/// negotiated (OTP 25 and 27 send a 150 MB binary whole), so the bound is set well
/// above what applications send and still bounds what one peer can make us hold;
/// change it with [`FrameReader::with_max_frame_len`] (`--max-frame-size`).
pub const DEFAULT_MAX_FRAME_LEN: usize = 1024 * 1024 * 1024;

/// Size of the length prefix.
pub const HEADER_LEN: usize = 4;

/// A tick frame, as written on the wire.
pub const TICK: [u8; 4] = [0, 0, 0, 0];

/// Framing errors. All are fatal for the connection.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum FrameError {
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
}

/// One frame taken from the input.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Frame<'a> {
    /// `Len = 0`: liveness only, never answered (§4.1).
    Tick,
    /// A distribution payload (header or pass-through message, §4.2), without the
    /// length prefix.
    Data(&'a [u8]),
}

/// Looks at the start of `buf`: `Ok(Some(n))` when a whole frame of `n` bytes (prefix
/// included) is present, `Ok(None)` when more input is needed, an error when the
/// announced length exceeds `max_len`.
pub fn complete_frame_len(buf: &[u8], max_len: usize) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let len = BigEndian::read_u32(prefix) as usize;
    if len > max_len {
        return Err(FrameError::TooLarge { len, max: max_len });
    }
    let total = HEADER_LEN + len;
    Ok((buf.len() >= total).then_some(total))
}

/// Appends a frame header announcing `payload_len` bytes. Fails when the length does not
/// fit the 32-bit field.
pub fn write_frame_header(payload_len: usize, out: &mut Vec<u8>) -> Result<(), FrameError> {
    let len = u32::try_from(payload_len).map_err(|_| FrameError::TooLarge {
        len: payload_len,
        max: u32::MAX as usize,
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Appends a whole frame (header + `payload`).
pub fn write_frame(payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    write_frame_header(payload.len(), out)?;
    out.extend_from_slice(payload);
    Ok(())
}

/// Incremental frame splitter over a growable input buffer (sans-IO).
///
/// A driver can either copy what it read into the reader ([`FrameReader::extend`]) or
/// let the socket read straight into the reader's buffer ([`FrameReader::read_with`]),
/// which saves one copy of every received byte. Memory held is what the largest frame
/// in flight needs; an idle reader gives back what a large frame made it grow to.
#[derive(Debug, Clone)]
pub struct FrameReader {
    /// Initialised storage; `buf[start..end]` holds bytes not yet returned as frames.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    max_frame_len: usize,
    /// Bytes offered to the next direct read: from [`MIN_READ_CHUNK`], doubled each
    /// time a read fills all it was offered, up to [`READ_CHUNK`].
    chunk: usize,
}

/// Most bytes offered to one direct read ([`FrameReader::read_with`]), reached once
/// reads keep filling what they are offered (a stream).
pub const READ_CHUNK: usize = 64 * 1024;

/// Bytes offered to the first direct read. A connection that only carries ticks and
/// the odd message keeps a buffer this size (twice it, with room to compact), not
/// [`READ_CHUNK`]'s: a node with many quiet connections pays little for each.
pub const MIN_READ_CHUNK: usize = 8 * 1024;

impl Default for FrameReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameReader {
    /// A reader with the [`DEFAULT_MAX_FRAME_LEN`] limit.
    pub fn new() -> Self {
        Self::with_max_frame_len(DEFAULT_MAX_FRAME_LEN)
    }

    /// A reader that rejects frames whose payload exceeds `max_frame_len` bytes.
    pub fn with_max_frame_len(max_frame_len: usize) -> Self {
        FrameReader {
            buf: Vec::new(),
            start: 0,
            end: 0,
            max_frame_len,
            chunk: MIN_READ_CHUNK,
        }
    }

    /// The configured payload limit.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// Appends bytes received from the peer.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.compact();
        let end = self.end + bytes.len();
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        self.buf[self.end..end].copy_from_slice(bytes);
        self.end = end;
    }

    /// Lets `read` fill free space at the end of the buffer (at least the current
    /// chunk, [`MIN_READ_CHUNK`] to [`READ_CHUNK`] bytes) and keeps the `n` bytes it
    /// reports. For drivers that read from a socket straight into the reader. `read`'s
    /// error, or `Ok(0)`, is passed through.
    pub fn read_with<E>(
        &mut self,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let chunk = self.chunk;
        if self.start == self.end {
            self.compact();
        } else if self.buf.len() - self.end < chunk && self.start > 0 {
            // Only when the free tail is short: moving a partial frame to the front
            // after every read would copy most large frames twice.
            self.compact();
        }
        let want = self.end + chunk;
        if self.buf.len() < want {
            // Grows only while a frame larger than the buffer is arriving (or the
            // chunk grew); the zeroing touches just the new part.
            self.buf.resize(want.max(2 * chunk), 0);
        }
        let offered = self.buf.len() - self.end;
        let n = read(&mut self.buf[self.end..])?;
        self.end += n.min(offered);
        if n >= offered && chunk < READ_CHUNK {
            // The socket had more than we offered: a stream, which larger reads serve
            // with fewer system calls.
            self.chunk = (chunk * 2).min(READ_CHUNK);
        }
        Ok(n)
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Memory the reader holds (for limits and tests).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Is a whole frame available? (Also reports an oversized announced length.)
    pub fn has_frame(&self) -> Result<bool, FrameError> {
        Ok(complete_frame_len(&self.buf[self.start..self.end], self.max_frame_len)?.is_some())
    }

    /// Takes the next whole frame, or `Ok(None)` when more input is needed. The returned
    /// payload borrows the reader's buffer until the next call.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, FrameError> {
        let rest = &self.buf[self.start..self.end];
        let Some(total) = complete_frame_len(rest, self.max_frame_len)? else {
            return Ok(None);
        };
        let from = self.start + HEADER_LEN;
        let to = self.start + total;
        self.start = to;
        if total == HEADER_LEN {
            Ok(Some(Frame::Tick))
        } else {
            Ok(Some(Frame::Data(&self.buf[from..to])))
        }
    }

    /// Moves unread bytes to the front, and gives back memory a large frame left
    /// behind once nothing is pending.
    fn compact(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > 4 * READ_CHUNK {
                self.buf = Vec::new();
            }
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_ticks_and_frames_across_chunks() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&TICK);
        write_frame(b"abc", &mut wire).unwrap();
        write_frame(b"de", &mut wire).unwrap();
        let mut r = FrameReader::new();
        let mut got = Vec::new();
        for b in &wire {
            r.extend(std::slice::from_ref(b));
            while let Some(f) = r.next_frame().unwrap() {
                got.push(match f {
                    Frame::Tick => None,
                    Frame::Data(d) => Some(d.to_vec()),
                });
            }
        }
        assert_eq!(got, vec![None, Some(b"abc".to_vec()), Some(b"de".to_vec())]);
        assert_eq!(r.buffered(), 0);
    }

    /// A reader that only ever sees small reads keeps a small buffer.
    #[test]
    fn quiet_connection_keeps_a_small_buffer() {
        let mut r = FrameReader::new();
        for _ in 0..100 {
            r.read_with(|buf: &mut [u8]| -> Result<usize, ()> {
                buf[..4].copy_from_slice(&TICK);
                Ok(4)
            })
            .unwrap();
            assert_eq!(r.next_frame().unwrap(), Some(Frame::Tick));
        }
        assert_eq!(r.chunk, MIN_READ_CHUNK);
        assert!(r.capacity() <= 2 * MIN_READ_CHUNK, "{}", r.capacity());
    }

    /// Direct reads land in the same stream as copied ones, and a large frame's
    /// buffer is given back once it has been consumed.
    #[test]
    fn direct_reads_and_memory_given_back() {
        let mut wire = Vec::new();
        write_frame(&vec![7u8; 1_000_000], &mut wire).unwrap();
        write_frame(b"x", &mut wire).unwrap();
        let mut r = FrameReader::new();
        let mut pos = 0;
        let mut sizes = Vec::new();
        while pos < wire.len() {
            let n = r
                .read_with(|buf: &mut [u8]| -> Result<usize, ()> {
                    let n = buf.len().min(wire.len() - pos).min(50_000);
                    buf[..n].copy_from_slice(&wire[pos..pos + n]);
                    Ok(n)
                })
                .unwrap();
            pos += n;
            while let Some(Frame::Data(d)) = r.next_frame().unwrap() {
                sizes.push(d.len());
            }
        }
        assert_eq!(sizes, vec![1_000_000, 1]);
        assert!(r.capacity() > 1_000_000);
        r.extend(&[]);
        assert!(r.capacity() < 1_000_000, "memory of the large frame kept");
        assert_eq!(r.chunk, READ_CHUNK, "a stream grows the reads");
    }

    #[test]
    fn rejects_oversized_length_before_payload_arrives() {
        let mut r = FrameReader::with_max_frame_len(10);
        r.extend(&[0, 0, 0, 11]);
        assert_eq!(
            r.next_frame(),
            Err(FrameError::TooLarge { len: 11, max: 10 })
        );
        let mut r = FrameReader::with_max_frame_len(10);
        r.extend(&[0, 0, 0, 10]);
        assert_eq!(r.has_frame(), Ok(false));
    }
}
