//! Signing keys as JWKs (RFC 7517): the public half of a PEM key, private or public, as
//! `/.well-known/jwks.json` lists it, and its RFC 7638 thumbprint, which is the `kid` of the
//! tokens it signs — so a verifier picks the key by the token, and a rotated key keeps its id.

use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::Digest;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A public key's JWK members (those RFC 7638 hashes, in its order) and its algorithm family.
#[derive(Clone, Debug, PartialEq)]
pub struct Jwk {
    /// The required members, sorted by name, as RFC 7638 wants them.
    members: Vec<(&'static str, String)>,
}

impl Jwk {
    fn rsa(key: &rsa::RsaPublicKey) -> Jwk {
        Jwk { members: vec![("e", b64(&key.e().to_bytes_be())), ("kty", "RSA".into()), ("n", b64(&key.n().to_bytes_be()))] }
    }

    fn ec(crv: &str, point: &[u8]) -> Option<Jwk> {
        // Uncompressed SEC1: 0x04, x, y.
        let (&tag, xy) = point.split_first()?;
        if tag != 4 || xy.is_empty() || xy.len() % 2 != 0 {
            return None;
        }
        let (x, y) = xy.split_at(xy.len() / 2);
        Some(Jwk { members: vec![("crv", crv.into()), ("kty", "EC".into()), ("x", b64(x)), ("y", b64(y))] })
    }

    fn ed(key: &ed25519_dalek::VerifyingKey) -> Jwk {
        Jwk { members: vec![("crv", "Ed25519".into()), ("kty", "OKP".into()), ("x", b64(key.as_bytes()))] }
    }

    /// The public half of a key in PEM, private (PKCS#8, or PKCS#1 for RSA) or public (SPKI).
    pub fn from_pem(pem: &str) -> Option<Jwk> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
        if let Ok(k) = rsa::RsaPublicKey::from_public_key_pem(pem).or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem)) {
            return Some(Jwk::rsa(&k));
        }
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem).or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem)) {
            return Some(Jwk::rsa(&k.to_public_key()));
        }
        if let Some(p) = p256::PublicKey::from_public_key_pem(pem).ok().or_else(|| p256::SecretKey::from_pkcs8_pem(pem).ok().map(|s| s.public_key())) {
            return Jwk::ec("P-256", p.to_encoded_point(false).as_bytes());
        }
        if let Some(p) = p384::PublicKey::from_public_key_pem(pem).ok().or_else(|| p384::SecretKey::from_pkcs8_pem(pem).ok().map(|s| s.public_key())) {
            return Jwk::ec("P-384", p.to_encoded_point(false).as_bytes());
        }
        if let Some(k) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem).ok().or_else(|| ed25519_dalek::SigningKey::from_pkcs8_pem(pem).ok().map(|s| s.verifying_key())) {
            return Some(Jwk::ed(&k));
        }
        None
    }

    /// RFC 7638: SHA-256 of the required members as compact JSON in name order, base64url.
    pub fn thumbprint(&self) -> String {
        let members: Vec<String> = self.members.iter().map(|(k, v)| format!("{}:{}", Value::from(*k), Value::from(v.as_str()))).collect();
        b64(&sha2::Sha256::digest(format!("{{{}}}", members.join(",")).as_bytes()))
    }

    /// The JWK as `/.well-known/jwks.json` lists it: its members, `kid`, `use`, and the
    /// algorithms of its kind.
    pub fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (k, v) in &self.members {
            out.insert((*k).to_string(), Value::from(v.as_str()));
        }
        out.insert("kid".into(), Value::from(self.thumbprint()));
        out.insert("use".into(), Value::from("sig"));
        let alg = match self.members.iter().find(|(k, _)| *k == "crv").map(|(_, v)| v.as_str()) {
            Some("P-256") => Some("ES256"),
            Some("P-384") => Some("ES384"),
            Some("Ed25519") => Some("EdDSA"),
            // An RSA key signs with several (RS*, PS*): none is named.
            _ => None,
        };
        if let Some(alg) = alg {
            out.insert("alg".into(), Value::from(alg));
        }
        Value::Object(out)
    }
}

/// `{"keys": [...]}` for the keys in PEM, in order; the index of a key that is not one.
pub fn jwks(pems: &[&str]) -> Result<Value, usize> {
    let keys: Vec<Value> = pems.iter().enumerate().map(|(i, p)| Jwk::from_pem(p).map(|k| k.to_json()).ok_or(i)).collect::<Result<_, _>>()?;
    Ok(json!({ "keys": keys }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7638_example_thumbprint() {
        // RFC 7638 §3.1's RSA key and thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwk = Jwk { members: vec![("e", "AQAB".into()), ("kty", "RSA".into()), ("n", n.into())] };
        assert_eq!(jwk.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn text_that_is_no_key_is_refused() {
        assert_eq!(Jwk::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), None);
        assert_eq!(jwks(&["not a key"]), Err(0));
    }
}
