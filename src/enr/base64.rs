//! URL-safe base64 without padding (RFC 4648 section 5), the alphabet of the ENR text form
//! (EIP-778 "Text Encoding"). Only canonical input is accepted: no `=` padding, no characters
//! outside the alphabet, and zero bits in the unused low bits of the last character, so every
//! accepted string is exactly what [`encode`] would produce.

use std::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Why a string is not canonical unpadded base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base64Error {
    /// A character outside the URL-safe alphabet (this includes `=` padding), at this offset.
    BadCharacter(usize),
    /// A length of 1 modulo 4, which no byte string encodes to.
    BadLength,
    /// The last character carries nonzero bits that encode nothing.
    NonCanonical,
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base64Error::BadCharacter(i) => write!(f, "invalid base64 at input byte {i}"),
            Base64Error::BadLength => write!(f, "invalid base64 length"),
            Base64Error::NonCanonical => write!(f, "non-canonical base64 (stray trailing bits)"),
        }
    }
}

impl std::error::Error for Base64Error {}

/// Encodes bytes as unpadded base64url.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        // A chunk of k bytes needs k + 1 characters.
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes unpadded base64url. The output is three quarters of the input length, so callers
/// bound the input before calling.
pub fn decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    let input = text.as_bytes();
    // Report a bad character before a bad length: it is the more useful message.
    if let Some(i) = input.iter().position(|&c| value(c).is_none()) {
        return Err(Base64Error::BadCharacter(i));
    }
    if input.len() % 4 == 1 {
        return Err(Base64Error::BadLength);
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    for chunk in input.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c).unwrap_or(0) << (18 - 6 * i);
        }
        // A chunk of k characters carries k - 1 whole bytes.
        let bytes = chunk.len() - 1;
        let unused = n & (0x00ff_ffff >> (8 * bytes));
        if unused != 0 {
            return Err(Base64Error::NonCanonical);
        }
        for i in 0..bytes {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors_without_padding() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes(), "{coded}");
        }
    }

    #[test]
    fn url_safe_alphabet_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        let text = encode(&all);
        assert!(!text.contains(['+', '/', '=']));
        assert!(text.contains(['-', '_']));
        assert_eq!(decode(&text).unwrap(), all);
    }

    #[test]
    fn refuses_non_canonical_input() {
        assert_eq!(decode("x"), Err(Base64Error::BadLength));
        assert_eq!(decode("Zg=="), Err(Base64Error::BadCharacter(2)));
        assert_eq!(decode("Zm+v"), Err(Base64Error::BadCharacter(2)));
        assert_eq!(decode("Zh"), Err(Base64Error::NonCanonical));
        assert_eq!(decode("Zm9"), Err(Base64Error::NonCanonical));
    }
}
