//! `bytea` functions: `encode`, `decode`, `get_byte`, `sha256`.
//!
//! The text forms are PostgreSQL's: `hex` is lowercase and its input may have whitespace
//! between byte pairs; `base64` output is broken into lines of 76 characters and its input
//! may contain whitespace; `escape` writes NUL, backslash and bytes with the high bit set as
//! `\ooo` octal (a backslash as `\\`) and reads them back.

use sha2::{Digest, Sha256};

use crate::error::EvalError;

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn unrecognized(format: &str) -> EvalError {
    EvalError::InvalidParameterValue(format!("unrecognized encoding: \"{format}\""))
}

/// `encode(bytes, format)`.
pub fn encode(bytes: &[u8], format: &str) -> Result<String, EvalError> {
    Ok(match format.to_ascii_lowercase().as_str() {
        "hex" => {
            let mut out = String::with_capacity(bytes.len() * 2);
            for b in bytes {
                out.push_str(&format!("{b:02x}"));
            }
            out
        }
        "base64" => base64_encode(bytes),
        "escape" => {
            let mut out = String::with_capacity(bytes.len());
            for &b in bytes {
                if b == 0 || b >= 0x80 {
                    out.push_str(&format!("\\{b:03o}"));
                } else if b == b'\\' {
                    out.push_str("\\\\");
                } else {
                    out.push(char::from(b));
                }
            }
            out
        }
        _ => return Err(unrecognized(format)),
    })
}

/// Base64 with a line break after every 76 characters of whole groups, as PostgreSQL
/// writes it (so 57 bytes give 76 characters and a newline).
fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + bytes.len() / 57 + 4);
    let mut line = 0;
    let chunks = bytes.chunks_exact(3);
    let rest = chunks.remainder();
    for chunk in chunks {
        let group = (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]);
        for shift in [18, 12, 6, 0] {
            out.push(char::from(BASE64[((group >> shift) & 0x3f) as usize]));
        }
        line += 4;
        if line >= 76 {
            out.push('\n');
            line = 0;
        }
    }
    if !rest.is_empty() {
        let group = (u32::from(rest[0]) << 16) | rest.get(1).map_or(0, |b| u32::from(*b) << 8);
        out.push(char::from(BASE64[((group >> 18) & 0x3f) as usize]));
        out.push(char::from(BASE64[((group >> 12) & 0x3f) as usize]));
        if rest.len() == 2 {
            out.push(char::from(BASE64[((group >> 6) & 0x3f) as usize]));
        } else {
            out.push('=');
        }
        out.push('=');
    }
    out
}

/// `decode(text, format)`.
pub fn decode(text: &str, format: &str) -> Result<Vec<u8>, EvalError> {
    match format.to_ascii_lowercase().as_str() {
        "hex" => hex_decode(text),
        "base64" => base64_decode(text),
        "escape" => escape_decode(text),
        _ => Err(unrecognized(format)),
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn hex_decode(text: &str) -> Result<Vec<u8>, EvalError> {
    let digit = |s: &str, i: usize| -> Result<u8, EvalError> {
        let c = s[i..].chars().next().unwrap_or(' ');
        c.to_digit(16).map(|d| d as u8).ok_or_else(|| {
            EvalError::InvalidParameterValue(format!("invalid hexadecimal digit: \"{c}\""))
        })
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 2);
    let mut i = 0;
    while i < bytes.len() {
        if is_space(bytes[i]) {
            i += 1;
            continue;
        }
        let high = digit(text, i)?;
        i += 1;
        if i >= bytes.len() {
            return Err(EvalError::InvalidParameterValue(
                "invalid hexadecimal data: odd number of digits".into(),
            ));
        }
        let low = digit(text, i)?;
        i += 1;
        out.push(high << 4 | low);
    }
    Ok(out)
}

fn base64_decode(text: &str) -> Result<Vec<u8>, EvalError> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut position = 0;
    // Once padding is seen, how many bytes each further group yields less (1 or 2).
    let mut end = 0;
    for c in text.chars() {
        if c.is_ascii() && is_space(c as u8) {
            continue;
        }
        let value = if c == '=' {
            if end == 0 {
                end = match position {
                    2 => 1,
                    3 => 2,
                    _ => {
                        return Err(EvalError::InvalidParameterValue(
                            "unexpected \"=\" while decoding base64 sequence".into(),
                        ))
                    }
                };
            }
            0
        } else {
            match BASE64.iter().position(|b| u32::from(*b) == c as u32) {
                Some(v) => v as u32,
                None => {
                    return Err(EvalError::InvalidParameterValue(format!(
                        "invalid symbol \"{c}\" found while decoding base64 sequence"
                    )))
                }
            }
        };
        buffer = (buffer << 6) | value;
        position += 1;
        if position == 4 {
            out.push((buffer >> 16) as u8);
            if end == 0 || end > 1 {
                out.push((buffer >> 8) as u8);
            }
            if end == 0 || end > 2 {
                out.push(buffer as u8);
            }
            buffer = 0;
            position = 0;
        }
    }
    if position != 0 {
        return Err(EvalError::InvalidParameterValue(
            "invalid base64 end sequence".into(),
        ));
    }
    Ok(out)
}

fn escape_decode(text: &str) -> Result<Vec<u8>, EvalError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let octal = |b: u8, max: u8| (b'0'..=max).contains(&b);
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if i + 3 < bytes.len()
            && octal(bytes[i + 1], b'3')
            && octal(bytes[i + 2], b'7')
            && octal(bytes[i + 3], b'7')
        {
            out.push(
                ((bytes[i + 1] - b'0') << 6) | ((bytes[i + 2] - b'0') << 3) | (bytes[i + 3] - b'0'),
            );
            i += 4;
        } else if i + 1 < bytes.len() && bytes[i + 1] == b'\\' {
            out.push(b'\\');
            i += 2;
        } else {
            return Err(EvalError::InvalidTextRepresentation(
                "invalid input syntax for type bytea".into(),
            ));
        }
    }
    Ok(out)
}

/// `get_byte(bytes, n)`: the n-th byte (from 0).
pub fn get_byte(bytes: &[u8], index: i32) -> Result<i32, EvalError> {
    usize::try_from(index)
        .ok()
        .and_then(|i| bytes.get(i))
        .map(|b| i32::from(*b))
        .ok_or_else(|| {
            EvalError::ArraySubscript(format!(
                "index {index} out of valid range, 0..{}",
                bytes.len() as i64 - 1
            ))
        })
}

/// `sha256(bytes)`.
pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_round_trip_as_postgres_writes_them() {
        let bytes = [0x00, 0xff, 0x5c, 0x41];
        assert_eq!(encode(&bytes, "hex").unwrap(), "00ff5c41");
        assert_eq!(encode(&bytes, "base64").unwrap(), "AP9cQQ==");
        assert_eq!(encode(&bytes, "escape").unwrap(), "\\000\\377\\\\A");
        for format in ["hex", "base64", "escape", "HEX"] {
            let text = encode(&bytes, format).unwrap();
            assert_eq!(decode(&text, format).unwrap(), bytes, "{format}");
        }
        assert_eq!(encode(&[b'x'; 57], "base64").unwrap().len(), 77);
        assert_eq!(encode(&[b'x'; 58], "base64").unwrap().len(), 81);
        assert_eq!(encode(&[b'x'; 114], "base64").unwrap().len(), 154);
        assert_eq!(decode("QQ==QQ==", "base64").unwrap(), b"AA");
        assert_eq!(decode(" 01 ", "hex").unwrap(), [1]);
        assert!(decode("0 1", "hex").is_err());
        assert!(decode("QQ=", "base64").is_err());
        assert!(decode("Q=Q=", "base64").is_err());
        assert!(decode("\\9", "escape").is_err());
        assert!(encode(&bytes, "foo").is_err());
        assert_eq!(
            hex_of(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    fn hex_of(b: &[u8]) -> String {
        encode(b, "hex").unwrap()
    }
}
