//! Helpers shared by the fuzz targets (each target includes this file as a module).
#![allow(dead_code)]

use beamnode::etf;
use beamnode::proto::connection::{Connection, ConnectionConfig, Endpoints};
use beamnode::proto::dist::FragmentLimits;
use beamnode::Term;
use std::time::{Duration, Instant};

/// Splits fuzz input into chunks: each is a big-endian `u16` length and that many
/// bytes; a chunk cut short by the end of the input is the rest of the input.
pub struct Chunks<'a>(pub &'a [u8]);

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.0.len() < 2 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([self.0[0], self.0[1]]));
        let rest = &self.0[2..];
        let n = len.min(rest.len());
        self.0 = &rest[n..];
        Some(&rest[..n])
    }
}

/// Nesting depth of a term, computed without recursion.
pub fn depth(t: &Term) -> usize {
    let mut max = 0;
    let mut stack = vec![(t, 1usize)];
    while let Some((t, d)) = stack.pop() {
        max = max.max(d);
        match t {
            Term::Tuple(ts) | Term::List(ts) => stack.extend(ts.iter().map(|c| (c, d + 1))),
            Term::ImproperList(l) => {
                stack.extend(l.elements.iter().map(|c| (c, d + 1)));
                stack.push((&l.tail, d + 1));
            }
            Term::Map(m) => {
                for (k, v) in m.iter() {
                    stack.push((k, d + 1));
                    stack.push((v, d + 1));
                }
            }
            Term::InternalFun(f) => stack.extend(f.free_vars.iter().map(|c| (c, d + 1))),
            Term::Record(r) => stack.extend(r.fields.iter().map(|(_, v)| (v, d + 1))),
            _ => {}
        }
    }
    max
}

/// What must hold for every term the decoder produced: it re-encodes, the encoding
/// decodes to an equal term, and encoding that gives the same bytes again. Printing,
/// cloning, hashing and comparing it must not panic either.
pub fn check_term(t: &Term) {
    let bytes = etf::encode(t).expect("a decoded term must re-encode");
    let back = etf::decode(&bytes).expect("our own encoding must decode");
    assert!(back == *t, "decode(encode(t)) != t");
    assert_eq!(back.cmp(t), std::cmp::Ordering::Equal);
    let again = etf::encode(&back).expect("re-encode");
    assert_eq!(again, bytes, "encoding is not stable");
    let _ = format!("{t}");
    let _ = format!("{t:?}");
    let c = t.clone();
    assert!(c == *t);
}

/// Drives an up connection with the remaining chunks: every chunk is input, after it
/// all complete messages are taken (and sent back, to exercise the encoder), some of
/// the output is "written", and the clock moves by a few seconds derived from the
/// chunk. Stops at the first error, as a driver closes the connection.
pub fn drive_connection<'a>(
    ends: Endpoints,
    cfg: &ConnectionConfig,
    leftover: &[u8],
    chunks: impl Iterator<Item = &'a [u8]>,
) {
    let mut now = Instant::now();
    let mut conn = Connection::new(ends, cfg, leftover, now);
    if !poll_all(&mut conn) {
        return;
    }
    for chunk in chunks {
        conn.handle_input(chunk);
        if !poll_all(&mut conn) {
            return;
        }
        // Everything due comes out of the vectored view (large binaries are pieces of
        // their own, docs/protocol.md §4.6), the first piece being poll_transmit's.
        let mut bufs = [std::io::IoSlice::new(&[]); 64];
        let k = conn.poll_transmit_vectored(&mut bufs);
        let due: usize = bufs[..k].iter().map(|b| b.len()).sum();
        if k < bufs.len() {
            assert_eq!(due, conn.transmit_len());
        } else {
            assert!(due <= conn.transmit_len());
        }
        assert_eq!(k > 0, conn.transmit_len() > 0);
        if k > 0 {
            assert_eq!(conn.poll_transmit(), &bufs[0][..]);
        }
        let n = conn.transmit_len() / 2 + usize::from(chunk.first().is_some_and(|b| b & 1 == 1));
        conn.transmitted(n);
        now += Duration::from_secs(u64::from(chunk.last().copied().unwrap_or(0) % 32));
        if conn.handle_timeout(now).is_err() {
            return;
        }
        let at = conn.poll_timeout();
        if at <= now && conn.handle_timeout(now).is_err() {
            return;
        }
    }
}

/// `poll_message` until it has nothing more; false once the connection must end.
fn poll_all(conn: &mut Connection) -> bool {
    loop {
        match conn.poll_message() {
            Ok(Some(msg)) => {
                if let Some(p) = &msg.payload {
                    check_term(p);
                }
                check_term(&msg.control.to_term());
                // Whatever arrived can be sent back (or is refused with an error).
                let _ = conn.send_term(&msg.control, msg.payload.as_ref());
            }
            Ok(None) => return true,
            Err(e) => {
                let _ = e.nodedown_reason();
                let _ = e.to_string();
                return false;
            }
        }
    }
}

/// Connection settings picked by a selector byte: the default ones, or small frame
/// and fragment limits so that the limit checks are reached.
pub fn connection_config(sel: u8) -> ConnectionConfig {
    let mut cfg = ConnectionConfig::default();
    if sel & 0x10 != 0 {
        cfg.max_frame_size = 1024;
    }
    if sel & 0x20 != 0 {
        cfg.fragment_limits = FragmentLimits {
            max_open_sequences: 2,
            max_buffered_bytes: 512,
        };
    }
    cfg
}
