//! Little-endian primitives for the hand-written binary encodings of segment records and
//! manifest edits.
//!
//! The decoder never panics and never allocates more than its input could describe: payloads
//! come from disk, and although their checksums have been verified, a checksum only says the
//! bytes are the ones we wrote, not that the code that wrote them was right.

use evert_repr::GlobalId;

/// Appends primitives to a byte buffer.
#[derive(Default)]
pub(crate) struct Encoder {
    pub(crate) bytes: Vec<u8>,
}

impl Encoder {
    pub(crate) fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, value: i64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// A `u32` length followed by the bytes. The caller has checked that the length fits.
    pub(crate) fn bytes(&mut self, value: &[u8]) {
        let len = u32::try_from(value.len()).expect("caller bounds byte strings to u32::MAX");
        self.u32(len);
        self.bytes.extend_from_slice(value);
    }

    /// A collection id: one byte of kind (0 system, 1 user, 2 transient), then the number.
    pub(crate) fn global_id(&mut self, id: GlobalId) {
        let (kind, number) = match id {
            GlobalId::System(n) => (0, n),
            GlobalId::User(n) => (1, n),
            GlobalId::Transient(n) => (2, n),
        };
        self.u8(kind);
        self.u64(number);
    }
}

/// Reads primitives from a byte slice, failing with a reason instead of panicking.
pub(crate) struct Decoder<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Decoder { bytes, position: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// Fails unless every byte has been consumed: trailing bytes mean the encoder and decoder
    /// disagree about the format, which must not pass silently.
    pub(crate) fn finish(&self) -> Result<(), String> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(format!(
                "{n} unexpected trailing bytes at payload byte {}",
                self.position
            )),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.remaining() < n {
            return Err(format!(
                "payload ends at byte {} but {n} more bytes were expected at byte {}",
                self.bytes.len(),
                self.position
            ));
        }
        let slice = &self.bytes[self.position..self.position + n];
        self.position += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    pub(crate) fn global_id(&mut self) -> Result<GlobalId, String> {
        let kind = self.u8()?;
        let number = self.u64()?;
        match kind {
            0 => Ok(GlobalId::System(number)),
            1 => Ok(GlobalId::User(number)),
            2 => Ok(GlobalId::Transient(number)),
            other => Err(format!("unknown collection id kind {other}")),
        }
    }

    /// A count of items each at least `min_item_bytes` long, rejected if the rest of the
    /// payload could not hold that many (so a bad count cannot trigger a huge allocation).
    pub(crate) fn count(&mut self, min_item_bytes: usize) -> Result<usize, String> {
        let count = self.u32()? as usize;
        if count.saturating_mul(min_item_bytes) > self.remaining() {
            return Err(format!(
                "count {count} cannot fit in the {} remaining payload bytes",
                self.remaining()
            ));
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_round_trip() {
        let mut e = Encoder::default();
        e.u8(7);
        e.u32(0xdead_beef);
        e.u64(u64::MAX - 1);
        e.i64(-42);
        e.bytes(b"hello");
        e.global_id(GlobalId::Transient(9));
        let mut d = Decoder::new(&e.bytes);
        assert_eq!(d.u8().unwrap(), 7);
        assert_eq!(d.u32().unwrap(), 0xdead_beef);
        assert_eq!(d.u64().unwrap(), u64::MAX - 1);
        assert_eq!(d.i64().unwrap(), -42);
        assert_eq!(d.bytes().unwrap(), b"hello");
        assert_eq!(d.global_id().unwrap(), GlobalId::Transient(9));
        d.finish().unwrap();
    }

    #[test]
    fn short_input_and_trailing_bytes_are_errors() {
        assert!(Decoder::new(&[1, 2, 3]).u32().is_err());
        let mut d = Decoder::new(&[1, 2]);
        d.u8().unwrap();
        assert!(d.finish().is_err());
        // A huge count with no bytes behind it is refused before anything is allocated.
        let mut e = Encoder::default();
        e.u32(u32::MAX);
        assert!(Decoder::new(&e.bytes).count(8).is_err());
        let mut e = Encoder::default();
        e.u8(3);
        e.u64(1);
        assert!(Decoder::new(&e.bytes).global_id().is_err());
    }
}
