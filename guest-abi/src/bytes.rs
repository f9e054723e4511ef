//! How a `Bytes` value is written as text: the way `print` shows it and the formatter writes a
//! literal, one function for both so what a program prints reads back as the same bytes.

/// `b"…"`: printable ASCII as itself, `\n \r \t \\ \"` escaped, every other byte as `\xHH`.
pub fn bytes_literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push_str("b\"");
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::bytes_literal;

    #[test]
    fn literals_escape_what_is_not_printable_ascii() {
        assert_eq!(bytes_literal(b"hola"), "b\"hola\"");
        assert_eq!(bytes_literal(b""), "b\"\"");
        assert_eq!(bytes_literal(&[0, 1, 0xff]), "b\"\\x00\\x01\\xff\"");
        assert_eq!(bytes_literal(b"a\nb\t\"c\\"), "b\"a\\nb\\t\\\"c\\\\\"");
        assert_eq!(bytes_literal("ñ".as_bytes()), "b\"\\xc3\\xb1\"");
    }
}
