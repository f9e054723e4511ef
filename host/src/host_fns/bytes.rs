//! The `bytes` import: what a `Bytes` value needs that wasm has no instruction for (checking
//! UTF-8, base64 and hex, showing it as a literal), one number per operation as
//! `guest_abi::imports` lists them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// What an operation answers: the guest's `Result<Str>`, `Result<Bytes>` or plain `Str`.
#[derive(Debug, PartialEq)]
pub enum Answer {
    Text(Result<String, String>),
    Bytes(Result<Vec<u8>, String>),
    Shown(String),
}

/// Operation `op` on `data`; `None` for an operation the import does not have.
pub fn apply(op: u32, data: &[u8]) -> Option<Answer> {
    Some(match op {
        0 => Answer::Text(String::from_utf8(data.to_vec()).map_err(|e| format!("Bytes.to_str(): not UTF-8 (byte {} is not part of a character)", e.utf8_error().valid_up_to()))),
        1 => Answer::Bytes(BASE64.decode(data).map_err(|_| "bytes_from_b64(): not standard base64 (A–Z a–z 0–9 + /, padded with =)".to_string())),
        2 => Answer::Bytes(from_hex(data).ok_or_else(|| "bytes_from_hex(): not an even number of hex digits".to_string())),
        3 => Answer::Shown(guest_abi::bytes::bytes_literal(data)),
        _ => return None,
    })
}

fn from_hex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    text.chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::{Answer, apply};

    #[test]
    fn each_operation_answers_what_the_guest_expects() {
        assert_eq!(apply(0, b"hola"), Some(Answer::Text(Ok("hola".into()))));
        let Some(Answer::Text(Err(e))) = apply(0, b"ab\xff") else { panic!("invalid UTF-8 is an Err") };
        assert!(e.contains("byte 2"), "{e}");
        assert_eq!(apply(1, b"aG9sYQ=="), Some(Answer::Bytes(Ok(b"hola".to_vec()))));
        assert!(matches!(apply(1, b"aG9sYQ=!"), Some(Answer::Bytes(Err(_)))));
        assert_eq!(apply(2, b"00ffA0"), Some(Answer::Bytes(Ok(vec![0, 0xff, 0xa0]))));
        assert!(matches!(apply(2, b"abc"), Some(Answer::Bytes(Err(_)))));
        assert!(matches!(apply(2, b"zz"), Some(Answer::Bytes(Err(_)))));
        // `+` and `-` are not hex digits, though `u8::from_str_radix` would take a sign.
        assert!(matches!(apply(2, b"+1"), Some(Answer::Bytes(Err(_)))));
        assert_eq!(apply(3, b"a\x00"), Some(Answer::Shown("b\"a\\x00\"".into())));
        assert_eq!(apply(4, b""), None);
    }
}
