//! COPY's text and CSV formats.

use bytes::{BufMut, BytesMut};
use evert_adapter::CopyInTarget;
use evert_repr::Row;

/// One row in COPY text format: tab-separated, `\N` for NULL, backslash escapes, newline.
pub fn encode_copy_row(row: &Row, out: &mut BytesMut) {
    for (i, datum) in row.iter().enumerate() {
        if i > 0 {
            out.put_u8(b'\t');
        }
        if datum.is_null() {
            out.put_slice(b"\\N");
            continue;
        }
        let text = match datum {
            evert_repr::Datum::String(s) => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(other.to_string()),
        };
        for b in text.bytes() {
            match b {
                b'\\' => out.put_slice(b"\\\\"),
                b'\t' => out.put_slice(b"\\t"),
                b'\n' => out.put_slice(b"\\n"),
                b'\r' => out.put_slice(b"\\r"),
                other => out.put_u8(other),
            }
        }
    }
    out.put_u8(b'\n');
}

/// Parses COPY input into rows of optional field text.
pub fn parse_copy_rows(
    text: &str,
    target: &CopyInTarget,
) -> Result<Vec<Vec<Option<String>>>, String> {
    if target.csv {
        return parse_csv(text, target);
    }
    let mut rows = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line == "\\." {
            break;
        }
        if line.is_empty() && (n + 1 == text.split('\n').count()) {
            continue;
        }
        if n == 0 && target.header {
            continue;
        }
        let mut fields = Vec::new();
        for raw in line.split(target.delimiter) {
            if raw == target.null {
                fields.push(None);
                continue;
            }
            let mut value = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    value.push(c);
                    continue;
                }
                match chars.next() {
                    Some('t') => value.push('\t'),
                    Some('n') => value.push('\n'),
                    Some('r') => value.push('\r'),
                    Some('b') => value.push('\u{8}'),
                    Some('f') => value.push('\u{c}'),
                    Some('v') => value.push('\u{b}'),
                    Some('\\') => value.push('\\'),
                    Some(other) => value.push(other),
                    None => return Err(format!("line {}: unterminated backslash escape", n + 1)),
                }
            }
            fields.push(Some(value));
        }
        if fields.len() != target.columns.len() {
            return Err(format!(
                "{} data for COPY line {}: expected {} columns, found {}",
                if fields.len() < target.columns.len() {
                    "missing"
                } else {
                    "extra"
                },
                n + 1,
                target.columns.len(),
                fields.len()
            ));
        }
        rows.push(fields);
    }
    Ok(rows)
}

fn parse_csv(text: &str, target: &CopyInTarget) -> Result<Vec<Vec<Option<String>>>, String> {
    let mut rows = Vec::new();
    let mut fields: Vec<Option<String>> = Vec::new();
    let mut field = String::new();
    let mut quoted_field = false;
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut first_row = true;
    let finish_field = |field: &mut String, quoted: &mut bool, fields: &mut Vec<Option<String>>| {
        if !*quoted && *field == target.null {
            fields.push(None);
        } else {
            fields.push(Some(std::mem::take(field)));
        }
        field.clear();
        *quoted = false;
    };
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                in_quotes = true;
                quoted_field = true;
            }
            '\r' => {}
            '\n' => {
                finish_field(&mut field, &mut quoted_field, &mut fields);
                let row = std::mem::take(&mut fields);
                if !(first_row && target.header)
                    && !(row.len() == 1 && row[0].as_deref() == Some("\\."))
                {
                    if row.len() != target.columns.len() {
                        return Err(format!(
                            "CSV line {line}: expected {} columns, found {}",
                            target.columns.len(),
                            row.len()
                        ));
                    }
                    rows.push(row);
                }
                first_row = false;
                line += 1;
            }
            c if c == target.delimiter => finish_field(&mut field, &mut quoted_field, &mut fields),
            c => field.push(c),
        }
    }
    if in_quotes {
        return Err("unterminated CSV quoted field".into());
    }
    if !field.is_empty() || !fields.is_empty() || quoted_field {
        finish_field(&mut field, &mut quoted_field, &mut fields);
        if !(first_row && target.header) {
            if fields.len() != target.columns.len() {
                return Err(format!(
                    "CSV line {line}: expected {} columns, found {}",
                    target.columns.len(),
                    fields.len()
                ));
            }
            rows.push(fields);
        }
    }
    Ok(rows)
}
