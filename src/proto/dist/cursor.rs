//! Bounds-checked big-endian reader for header bytes.

use super::DistError;
use byteorder::{BigEndian, ByteOrder};

pub(super) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    /// The bytes not read yet.
    pub(super) fn rest(&self) -> &'a [u8] {
        &self.bytes[self.pos..]
    }

    pub(super) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DistError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(DistError::Truncated { what })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8, DistError> {
        Ok(self.take(1, what)?[0])
    }

    pub(super) fn u16(&mut self, what: &'static str) -> Result<u16, DistError> {
        let b = self.take(2, what)?;
        Ok(BigEndian::read_u16(b))
    }

    pub(super) fn u64(&mut self, what: &'static str) -> Result<u64, DistError> {
        let b = self.take(8, what)?;
        Ok(BigEndian::read_u64(b))
    }
}
