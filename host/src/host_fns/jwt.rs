//! JWT: HMAC (HS256 by default, HS384 and HS512 by argument) with a secret, or signatures
//! with keys in PEM — RS256/384/512 and PS256/384/512 (RSA), ES256/ES384 (P-256, P-384) and
//! EdDSA (Ed25519): the private key signs, the public key verifies. The algorithm is pinned on
//! decode (so a token signed with HMAC over a public key's text is refused), `exp` required and numeric, `nbf` checked, a small leeway, and secrets shorter than
//! the hash output refused (RFC 7518 §3.2). Claims are `Map<Str, Str>` in Fitz: the registered
//! numeric claims written as decimal strings go out as JSON numbers, and on decode any
//! non-string value comes back as its JSON text. Errors are our own words, never the
//! library's.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

pub const LEEWAY_SECONDS: u64 = 30;
/// The longest token `decode` looks at (tokens travel in headers, capped at 32 KiB in all).
pub const MAX_TOKEN_BYTES: usize = 16 << 10;
/// The longest HMAC secret taken: a key is 32 to 64 bytes, and a longer one only costs work.
pub const MAX_SECRET_BYTES: usize = 4 << 10;
const NUMERIC_CLAIMS: &[&str] = &["exp", "nbf", "iat"];

#[derive(Debug, PartialEq)]
pub enum JwtError {
    UnsupportedAlgorithm(String),
    ShortSecret {
        alg: &'static str,
        min: usize,
    },
    LongSecret,
    NonNumericClaim(String),
    /// Not a PEM key of the kind the algorithm signs (`private`) or verifies with.
    BadKey {
        alg: &'static str,
        private: bool,
    },
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::UnsupportedAlgorithm(a) => write!(f, "unsupported JWT algorithm `{a}` (use HS256/384/512, RS256/384/512, PS256/384/512, ES256, ES384 or EdDSA)"),
            JwtError::BadKey { alg, private: true } => write!(f, "the key for {alg} must be a private key in PEM"),
            JwtError::BadKey { alg, private: false } => write!(f, "the key for {alg} must be a public key in PEM"),
            JwtError::ShortSecret { alg, min } => write!(f, "the JWT secret must be at least {min} bytes for {alg}"),
            JwtError::LongSecret => write!(f, "the JWT secret must be at most {MAX_SECRET_BYTES} bytes"),
            JwtError::NonNumericClaim(c) => write!(f, "JWT claim `{c}` must be a whole number of seconds"),
        }
    }
}

impl std::error::Error for JwtError {}

/// The kinds of key the algorithms take.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Family {
    /// A shared secret of at least this many bytes.
    Hmac(usize),
    Rsa,
    Ec,
    Ed,
}

fn algorithm(name: &str) -> Result<(Algorithm, &'static str, Family), JwtError> {
    Ok(match name {
        "HS256" => (Algorithm::HS256, "HS256", Family::Hmac(32)),
        "HS384" => (Algorithm::HS384, "HS384", Family::Hmac(48)),
        "HS512" => (Algorithm::HS512, "HS512", Family::Hmac(64)),
        "RS256" => (Algorithm::RS256, "RS256", Family::Rsa),
        "RS384" => (Algorithm::RS384, "RS384", Family::Rsa),
        "RS512" => (Algorithm::RS512, "RS512", Family::Rsa),
        "PS256" => (Algorithm::PS256, "PS256", Family::Rsa),
        "PS384" => (Algorithm::PS384, "PS384", Family::Rsa),
        "PS512" => (Algorithm::PS512, "PS512", Family::Rsa),
        "ES256" => (Algorithm::ES256, "ES256", Family::Ec),
        "ES384" => (Algorithm::ES384, "ES384", Family::Ec),
        "EdDSA" => (Algorithm::EdDSA, "EdDSA", Family::Ed),
        // A name is a few letters; a guest's long one is not copied into the message.
        other => return Err(JwtError::UnsupportedAlgorithm(other.chars().take(16).collect())),
    })
}

/// The algorithm and the key `secret` (a secret, or a PEM key) is for it, checked.
fn encoding_key(secret: &str, alg: &str) -> Result<(Algorithm, EncodingKey), JwtError> {
    let (a, name, family) = algorithm(alg)?;
    if secret.len() > MAX_SECRET_BYTES {
        return Err(JwtError::LongSecret);
    }
    let pem = secret.as_bytes();
    let bad = |_| JwtError::BadKey { alg: name, private: true };
    let key = match family {
        Family::Hmac(min) if secret.len() < min => return Err(JwtError::ShortSecret { alg: name, min }),
        Family::Hmac(_) => EncodingKey::from_secret(pem),
        Family::Rsa => EncodingKey::from_rsa_pem(pem).map_err(bad)?,
        Family::Ec => EncodingKey::from_ec_pem(pem).map_err(bad)?,
        Family::Ed => EncodingKey::from_ed_pem(pem).map_err(bad)?,
    };
    Ok((a, key))
}

fn decoding_key(secret: &str, alg: &str) -> Result<(Algorithm, DecodingKey), JwtError> {
    let (a, name, family) = algorithm(alg)?;
    if secret.len() > MAX_SECRET_BYTES {
        return Err(JwtError::LongSecret);
    }
    let pem = secret.as_bytes();
    let bad = |_| JwtError::BadKey { alg: name, private: false };
    let key = match family {
        Family::Hmac(min) if secret.len() < min => return Err(JwtError::ShortSecret { alg: name, min }),
        Family::Hmac(_) => DecodingKey::from_secret(pem),
        Family::Rsa => DecodingKey::from_rsa_pem(pem).map_err(bad)?,
        Family::Ec => DecodingKey::from_ec_pem(pem).map_err(bad)?,
        Family::Ed => DecodingKey::from_ed_pem(pem).map_err(bad)?,
    };
    Ok((a, key))
}

/// How long a token signed without an `exp` lives (upstream's examples sign that way): the
/// app's `FITZ_JWT_TTL` (seconds), else a day.
pub const DEFAULT_TTL_SECONDS: u64 = 24 * 60 * 60;

/// The app's token lifetime: `FITZ_JWT_TTL` when it is a positive number of seconds.
pub fn ttl_from(env: &std::collections::HashMap<String, String>) -> u64 {
    env.get("FITZ_JWT_TTL").and_then(|v| v.trim().parse::<u64>().ok()).filter(|t| *t > 0).unwrap_or(DEFAULT_TTL_SECONDS)
}

/// Signs `claims`; without an `exp` among them the token expires `ttl` seconds after `now`
/// (Unix seconds), so no token this host signs lives for ever.
pub fn encode(claims: &[(String, String)], secret: &str, alg: &str, ttl: u64, now: i64) -> Result<String, JwtError> {
    let (a, key) = encoding_key(secret, alg)?;
    let mut map = Map::new();
    if !claims.iter().any(|(k, _)| k == "exp") {
        map.insert("exp".into(), Value::from(now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX))));
    }
    for (k, v) in claims {
        let value = if NUMERIC_CLAIMS.contains(&k.as_str()) {
            let n: i64 = v.trim().parse().map_err(|_| JwtError::NonNumericClaim(k.clone()))?;
            Value::from(n)
        } else {
            Value::String(v.clone())
        };
        map.insert(k.clone(), value);
    }
    let mut header = Header::new(a);
    // A key's token names it: the RFC 7638 thumbprint `/.well-known/jwks.json` lists it by.
    if !matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        header.kid = super::jwk::Jwk::from_pem(secret).map(|k| k.thumbprint());
    }
    jsonwebtoken::encode(&header, &map, &key).map_err(|_| JwtError::NonNumericClaim("claims".into()))
}

/// The claims as `Map<Str, Str>` pairs in token order: strings as they are, any other value
/// as its JSON text; a repeated name keeps its last value, as a JSON object would.
#[derive(Debug, Default)]
struct Claims(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Claims {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Claims;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
                let mut out: Vec<(String, String)> = Vec::with_capacity(map.size_hint().unwrap_or(6));
                while let Some(k) = map.next_key::<String>()? {
                    let v = match map.next_value::<Value>()? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    match out.iter_mut().find(|(name, _)| *name == k) {
                        Some(slot) => slot.1 = v,
                        None => out.push((k, v)),
                    }
                }
                Ok(Claims(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// What `decode` accepts for algorithm `a` (and only it), with this leeway.
pub(crate) fn validation(a: Algorithm, leeway: u64) -> Validation {
    let mut v = Validation::new(a);
    v.algorithms = vec![a];
    v.leeway = leeway;
    v.validate_exp = true;
    v.validate_nbf = true;
    v.set_required_spec_claims(&["exp"]);
    v
}

/// The claims, or the reason (in words safe to show a client) the token is not accepted.
pub fn decode(token: &str, secret: &str, alg: &str) -> Result<Vec<(String, String)>, String> {
    decode_with_leeway(token, secret, alg, LEEWAY_SECONDS)
}

/// The PEM blocks of a bundle of keys (one key, or several for a rotation), in order.
fn pem_blocks(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let Some(end_marker) = rest[start..].find("-----END ") else { break };
        let after = start + end_marker + "-----END ".len();
        let Some(close) = rest[after..].find("-----") else { break };
        let end = after + close + "-----".len();
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

/// `decode` with the app's clock-skew allowance on `exp` and `nbf` (`@server(jwt_leeway=…)`).
/// With keys, `secret` may hold several public keys in PEM, one after another (a rotation:
/// the new key and the ones still in their grace): the token's `kid` picks one, and a `kid`
/// none of them has is refused; a token without a `kid` is tried against each.
pub fn decode_with_leeway(token: &str, secret: &str, alg: &str, leeway: u64) -> Result<Vec<(String, String)>, String> {
    let blocks = pem_blocks(secret);
    if blocks.len() > 1 && !alg.starts_with("HS") {
        if token.len() > MAX_TOKEN_BYTES {
            return Err("invalid token".into());
        }
        let kid = jsonwebtoken::decode_header(token).map_err(|_| "invalid token".to_string())?.kid;
        return match kid {
            Some(kid) => {
                let key =
                    blocks.iter().find(|b| super::jwk::Jwk::from_pem(b).is_some_and(|k| k.thumbprint() == kid)).ok_or_else(|| "token signed with an unknown key".to_string())?;
                decode_one(token, key, alg, leeway)
            }
            // The first key whose signature matches decides (expired or not); none: refused.
            None => blocks
                .iter()
                .map(|b| decode_one(token, b, alg, leeway))
                .find(|r| r.as_ref().err().is_none_or(|e| e != "invalid token signature"))
                .unwrap_or_else(|| Err("invalid token signature".into())),
        };
    }
    decode_one(token, secret, alg, leeway)
}

fn decode_one(token: &str, secret: &str, alg: &str, leeway: u64) -> Result<Vec<(String, String)>, String> {
    let (a, key) = decoding_key(secret, alg).map_err(|e| e.to_string())?;
    if token.len() > MAX_TOKEN_BYTES {
        return Err("invalid token".into());
    }
    decode_with_key(token, &key, &validation(a, leeway))
}

/// The claims of `token` checked by `v` with `key`, or the refusal in our words.
pub(crate) fn decode_with_key(token: &str, key: &DecodingKey, v: &Validation) -> Result<Vec<(String, String)>, String> {
    match jsonwebtoken::decode::<Claims>(token, key, v) {
        Ok(data) => Ok(data.claims.0),
        Err(e) => Err(match e.kind() {
            ErrorKind::ExpiredSignature => "token expired",
            ErrorKind::ImmatureSignature => "token not yet valid",
            ErrorKind::InvalidSignature => "invalid token signature",
            ErrorKind::InvalidAlgorithm => "token signed with another algorithm",
            ErrorKind::MissingRequiredClaim(c) if c == "exp" => "token has no expiry",
            ErrorKind::MissingRequiredClaim(c) if c == "iss" => "token names no issuer",
            ErrorKind::MissingRequiredClaim(c) if c == "aud" => "token names no audience",
            ErrorKind::MissingRequiredClaim(_) => "token lacks a required claim",
            ErrorKind::InvalidIssuer => "token of another issuer",
            ErrorKind::InvalidAudience => "token for another audience",
            _ => "invalid token",
        }
        .to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn now() -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
    }

    #[test]
    fn round_trip_with_numeric_claims() {
        let exp = now() + 60;
        let claims = vec![("sub".into(), "ada".into()), ("exp".into(), exp.to_string())];
        for alg in ["HS256", "HS384", "HS512"] {
            let t = encode(&claims, SECRET, alg, DEFAULT_TTL_SECONDS, now()).expect("encode");
            let back = decode(&t, SECRET, alg).expect("decode");
            assert!(back.contains(&("exp".into(), exp.to_string())));
            assert!(back.contains(&("sub".into(), "ada".into())));
            // The algorithm is pinned.
            let other = if alg == "HS256" { "HS512" } else { "HS256" };
            assert!(decode(&t, SECRET, other).is_err());
        }
    }

    #[test]
    fn a_token_signed_without_expiry_gets_one() {
        let t = encode(&[("sub".into(), "ada".into())], SECRET, "HS256", 3600, now()).expect("encode");
        let back = decode(&t, SECRET, "HS256").expect("decodes: it has an exp");
        let exp: i64 = back.iter().find(|(k, _)| k == "exp").expect("exp added").1.parse().expect("numeric");
        assert!((exp - now() - 3600).abs() <= 2, "{exp}");
        // One given is kept as it is.
        let t = encode(&[("exp".into(), (now() + 5).to_string())], SECRET, "HS256", 3600, now()).expect("encode");
        let back = decode(&t, SECRET, "HS256").expect("decode");
        assert_eq!(back, vec![("exp".to_string(), (now() + 5).to_string())]);
        // Expired by its own clock: refused.
        let t = encode(&[("sub".into(), "x".into())], SECRET, "HS256", 1, now() - 3600).expect("encode");
        assert_eq!(decode(&t, SECRET, "HS256"), Err("token expired".into()));
        // A token from elsewhere without one is still refused.
        assert_eq!(decode(&signed(r#"{"sub":"ada"}"#), SECRET, "HS256"), Err("token has no expiry".into()));
    }

    #[test]
    fn the_app_sets_the_lifetime() {
        let env = |v: &str| [("FITZ_JWT_TTL".to_string(), v.to_string())].into_iter().collect();
        assert_eq!(ttl_from(&env("600")), 600);
        assert_eq!(ttl_from(&env("0")), DEFAULT_TTL_SECONDS);
        assert_eq!(ttl_from(&env("soon")), DEFAULT_TTL_SECONDS);
        assert_eq!(ttl_from(&Default::default()), DEFAULT_TTL_SECONDS);
    }

    /// A token with exactly this payload text, signed with `SECRET` (HS256).
    fn signed(payload: &str) -> String {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let message = format!("{}.{}", b64(r#"{"typ":"JWT","alg":"HS256"}"#), b64(payload));
        let sig = jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(SECRET.as_bytes()), Algorithm::HS256).expect("sign");
        format!("{message}.{sig}")
    }

    #[test]
    fn claims_come_back_in_token_order_as_text() {
        let exp = now() + 60;
        let t = signed(&format!(r#"{{"role":"viewer","exp":{exp},"admin":true,"n":1.5,"tags":["a",{{"b":null}}],"role":"admin","x":null}}"#));
        let back = decode(&t, SECRET, "HS256").expect("decode");
        let want: Vec<(String, String)> = [("role", "admin"), ("exp", exp.to_string().as_str()), ("admin", "true"), ("n", "1.5"), ("tags", r#"["a",{"b":null}]"#), ("x", "null")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(back, want, "a repeated name keeps its last value in its first place");
        assert_eq!(decode(&signed(r#"["not","an","object"]"#), SECRET, "HS256"), Err("invalid token".into()));
        // jsonwebtoken refuses a repeated registered claim outright.
        assert_eq!(decode(&signed(&format!(r#"{{"sub":"a","exp":{exp},"sub":"b"}}"#)), SECRET, "HS256"), Err("invalid token".into()));
    }

    #[test]
    fn refusals_are_explained() {
        assert_eq!(encode(&[], "short", "HS256", DEFAULT_TTL_SECONDS, now()), Err(JwtError::ShortSecret { alg: "HS256", min: 32 }));
        assert!(matches!(encode(&[], SECRET, "none", DEFAULT_TTL_SECONDS, now()), Err(JwtError::UnsupportedAlgorithm(_))));
        assert!(matches!(encode(&[("exp".into(), "soon".into())], SECRET, "HS256", DEFAULT_TTL_SECONDS, now()), Err(JwtError::NonNumericClaim(_))));
        assert_eq!(decode(&signed(r#"{"sub":"x"}"#), SECRET, "HS256"), Err("token has no expiry".into()));
        let expired = encode(&[("exp".into(), (now() - 3600).to_string())], SECRET, "HS256", DEFAULT_TTL_SECONDS, now()).expect("encode");
        assert_eq!(decode(&expired, SECRET, "HS256"), Err("token expired".into()));
        let later = encode(&[("exp".into(), (now() + 7200).to_string()), ("nbf".into(), (now() + 3600).to_string())], SECRET, "HS256", DEFAULT_TTL_SECONDS, now()).expect("encode");
        assert_eq!(decode(&later, SECRET, "HS256"), Err("token not yet valid".into()));
        let good = encode(&[("exp".into(), (now() + 60).to_string())], SECRET, "HS256", DEFAULT_TTL_SECONDS, now()).expect("encode");
        assert_eq!(decode(&good, &SECRET.replace('0', "1"), "HS256"), Err("invalid token signature".into()));
        assert_eq!(decode("not.a.token", SECRET, "HS256"), Err("invalid token".into()));
        assert_eq!(decode(&format!("{good}{}", "A".repeat(MAX_TOKEN_BYTES)), SECRET, "HS256"), Err("invalid token".into()));
        assert_eq!(encode(&[], &"k".repeat(MAX_SECRET_BYTES + 1), "HS256", DEFAULT_TTL_SECONDS, now()), Err(JwtError::LongSecret));
    }
}
