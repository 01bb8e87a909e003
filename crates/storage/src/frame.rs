//! File headers and record framing, shared by segments and the manifest.
//!
//! ```text
//!  file   = header record*
//!  record = length:u32 LE | crc:u32 LE | payload[length]
//!           crc = CRC-32 (IEEE, as crc32fast computes it) of the 4 length bytes then the payload
//! ```
//!
//! The checksum covers the length too, so a flipped bit in a length is caught even when the
//! wrong length happens to land on a plausible boundary. Checksums are computed over the
//! final bytes just before they are written ([`append_frame`]) and verified on every read
//! ([`scan`]): the pair of checks the style guide asks for.
//!
//! [`scan`] reads records until the first one that is not intact and classifies the damage:
//! damage that reaches the end of the scanned bytes ("at the tail") is what an interrupted
//! append leaves behind; damage with intact-looking bytes after it is not, and its caller
//! treats it as corruption.

use crate::error::StorageError;

/// Bytes of `length` and `crc` before each payload.
pub(crate) const FRAME_HEADER_BYTES: usize = 8;

pub(crate) const FORMAT_VERSION: u32 = 1;

pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"EVRTSEG\0";
/// magic (8) | version u32 | file number u64 | crc u32 of the first 20 bytes.
pub(crate) const SEGMENT_HEADER_BYTES: usize = 24;

pub(crate) const MANIFEST_MAGIC: [u8; 8] = *b"EVRTMAN\0";
/// magic (8) | version u32 | crc u32 of the first 12 bytes.
pub(crate) const MANIFEST_HEADER_BYTES: usize = 16;

fn record_checksum(length: [u8; 4], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&length);
    hasher.update(payload);
    hasher.finalize()
}

/// Frames `payload` as one record at the end of `out`.
pub(crate) fn append_frame(out: &mut Vec<u8>, payload: &[u8]) -> Result<(), StorageError> {
    let length = u32::try_from(payload.len()).map_err(|_| StorageError::RecordTooLarge {
        bytes: payload.len(),
    })?;
    let length = length.to_le_bytes();
    out.extend_from_slice(&length);
    out.extend_from_slice(&record_checksum(length, payload).to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

pub(crate) fn segment_header(file_number: u64) -> [u8; SEGMENT_HEADER_BYTES] {
    let mut header = [0; SEGMENT_HEADER_BYTES];
    header[..8].copy_from_slice(&SEGMENT_MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[12..20].copy_from_slice(&file_number.to_le_bytes());
    let crc = crc32fast::hash(&header[..20]);
    header[20..].copy_from_slice(&crc.to_le_bytes());
    header
}

pub(crate) fn manifest_header() -> [u8; MANIFEST_HEADER_BYTES] {
    let mut header = [0; MANIFEST_HEADER_BYTES];
    header[..8].copy_from_slice(&MANIFEST_MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = crc32fast::hash(&header[..12]);
    header[12..].copy_from_slice(&crc.to_le_bytes());
    header
}

/// Checks a segment file's header, including that it is the file the manifest names.
pub(crate) fn check_segment_header(bytes: &[u8], file_number: u64) -> Result<(), String> {
    if bytes.len() < SEGMENT_HEADER_BYTES {
        return Err(format!(
            "file is {} bytes, shorter than a segment header",
            bytes.len()
        ));
    }
    if bytes[..SEGMENT_HEADER_BYTES] == segment_header(file_number) {
        return Ok(());
    }
    if bytes[..8] != SEGMENT_MAGIC {
        return Err("not a segment file (bad magic)".into());
    }
    let crc = u32::from_le_bytes(bytes[20..24].try_into().expect("4 bytes"));
    if crc32fast::hash(&bytes[..20]) != crc {
        return Err("segment header checksum mismatch".into());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(format!("unsupported segment format version {version}"));
    }
    let found = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    Err(format!(
        "header names segment {found}, expected {file_number}"
    ))
}

pub(crate) fn check_manifest_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < MANIFEST_HEADER_BYTES {
        return Err(format!(
            "file is {} bytes, shorter than a manifest header",
            bytes.len()
        ));
    }
    if bytes[..MANIFEST_HEADER_BYTES] == manifest_header() {
        return Ok(());
    }
    if bytes[..8] != MANIFEST_MAGIC {
        return Err("not a manifest file (bad magic)".into());
    }
    let crc = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
    if crc32fast::hash(&bytes[..12]) != crc {
        return Err("manifest header checksum mismatch".into());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    Err(format!("unsupported manifest format version {version}"))
}

/// One intact record found by [`scan`].
pub(crate) struct Frame<'a> {
    /// Offset of the record's frame header in the file.
    pub(crate) offset: u64,
    pub(crate) payload: &'a [u8],
}

/// The first record [`scan`] could not read.
#[derive(Debug)]
pub(crate) struct Damage {
    /// Offset in the file where the damaged record starts.
    pub(crate) offset: u64,
    pub(crate) reason: String,
    /// True when nothing intact can follow the damage: the record runs past the end of the
    /// scanned bytes, ends exactly there, or is followed only by zeros (which is what some
    /// file systems show for blocks allocated but never written before a crash).
    pub(crate) at_tail: bool,
}

pub(crate) struct Scan<'a> {
    pub(crate) frames: Vec<Frame<'a>>,
    /// Offset in the file just past the last intact record.
    pub(crate) valid_end: u64,
    pub(crate) damage: Option<Damage>,
}

/// Reads records from `bytes`, which start at offset `base` of their file, stopping at the
/// first record that is not intact.
pub(crate) fn scan(bytes: &[u8], base: u64) -> Scan<'_> {
    let mut frames = Vec::new();
    let mut position = 0;
    let damage = loop {
        let rest = &bytes[position..];
        if rest.is_empty() {
            break None;
        }
        let offset = base + position as u64;
        if rest.len() < FRAME_HEADER_BYTES {
            break Some(Damage {
                offset,
                reason: format!(
                    "torn record: {} bytes, less than a record header",
                    rest.len()
                ),
                at_tail: true,
            });
        }
        let length: [u8; 4] = rest[..4].try_into().expect("4 bytes");
        let stored_crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        let payload_len = u32::from_le_bytes(length) as usize;
        let available = rest.len() - FRAME_HEADER_BYTES;
        if payload_len > available {
            break Some(Damage {
                offset,
                reason: format!(
                    "torn record: header promises {payload_len} payload bytes, {available} remain"
                ),
                at_tail: true,
            });
        }
        let end = FRAME_HEADER_BYTES + payload_len;
        let payload = &rest[FRAME_HEADER_BYTES..end];
        let computed = record_checksum(length, payload);
        if computed != stored_crc {
            let after = &rest[end..];
            break Some(Damage {
                offset,
                reason: format!(
                    "record checksum mismatch (stored {stored_crc:#010x}, computed {computed:#010x})"
                ),
                at_tail: after.iter().all(|&b| b == 0),
            });
        }
        frames.push(Frame { offset, payload });
        position += end;
    };
    let valid_end = damage
        .as_ref()
        .map_or(base + bytes.len() as u64, |d| d.offset);
    Scan {
        frames,
        valid_end,
        damage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            append_frame(&mut out, p).unwrap();
        }
        out
    }

    #[test]
    fn intact_records_scan_back() {
        let bytes = framed(&[b"one", b"", b"three"]);
        let scan = scan(&bytes, 100);
        assert!(scan.damage.is_none());
        let payloads: Vec<&[u8]> = scan.frames.iter().map(|f| f.payload).collect();
        assert_eq!(payloads, vec![&b"one"[..], b"", b"three"]);
        assert_eq!(scan.frames[1].offset, 100 + 8 + 3);
        assert_eq!(scan.valid_end, 100 + bytes.len() as u64);
    }

    #[test]
    fn every_truncation_is_a_torn_tail() {
        let bytes = framed(&[b"first record", b"second record"]);
        let first_len = 8 + 12;
        for cut in first_len + 1..bytes.len() {
            let scan = scan(&bytes[..cut], 0);
            let damage = scan.damage.expect("a cut record is damage");
            assert!(damage.at_tail, "cut at {cut}");
            assert_eq!(damage.offset, first_len as u64);
            assert_eq!(scan.frames.len(), 1);
        }
    }

    #[test]
    fn bad_checksum_is_tail_only_when_nothing_follows() {
        let mut bytes = framed(&[b"first record", b"second record"]);
        bytes[10] ^= 1; // inside the first payload
        let damage = scan(&bytes, 0).damage.unwrap();
        assert!(!damage.at_tail);
        assert_eq!(damage.offset, 0);

        let mut bytes = framed(&[b"first record", b"second record"]);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let damage = scan(&bytes, 0).damage.unwrap();
        assert!(damage.at_tail);
        assert_eq!(damage.offset, 20);

        // A zero-filled tail (allocated, never written) is a torn tail, not corruption.
        let mut bytes = framed(&[b"first record"]);
        bytes.extend_from_slice(&[0; 64]);
        let scan = scan(&bytes, 0);
        assert!(scan.damage.unwrap().at_tail);
        assert_eq!(scan.valid_end, 20);
    }

    #[test]
    fn a_flipped_length_bit_is_caught() {
        let mut bytes = framed(&[b"abcdefgh", b"ijklmnop"]);
        bytes[0] ^= 0b100; // length 8 becomes 12: still within the file
        let damage = scan(&bytes, 0).damage.unwrap();
        assert_eq!(damage.offset, 0);
        assert!(damage.reason.contains("checksum"));
    }

    #[test]
    fn headers_are_checked() {
        let header = segment_header(7);
        assert!(check_segment_header(&header, 7).is_ok());
        assert!(check_segment_header(&header, 8)
            .unwrap_err()
            .contains("expected 8"));
        let mut bad = header;
        bad[9] ^= 1;
        assert!(check_segment_header(&bad, 7)
            .unwrap_err()
            .contains("checksum"));
        assert!(check_segment_header(&header[..10], 7).is_err());
        assert!(check_manifest_header(&manifest_header()).is_ok());
        assert!(check_manifest_header(&header)
            .unwrap_err()
            .contains("magic"));
    }
}
