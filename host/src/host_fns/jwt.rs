//! JWT: HMAC only (HS256 by default, HS384 and HS512 by argument), the algorithm pinned on
//! decode, `exp` required and numeric, `nbf` checked, a small leeway, and secrets shorter than
//! the hash output refused (RFC 7518 §3.2). Claims are `Map<Str, Str>` in Fitz: the registered
//! numeric claims written as decimal strings go out as JSON numbers, and on decode any
//! non-string value comes back as its JSON text. Errors are our own words, never the
//! library's.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

pub const LEEWAY_SECONDS: u64 = 30;
const NUMERIC_CLAIMS: &[&str] = &["exp", "nbf", "iat"];

#[derive(Debug, PartialEq)]
pub enum JwtError {
    UnsupportedAlgorithm(String),
    ShortSecret { alg: &'static str, min: usize },
    NonNumericClaim(String),
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::UnsupportedAlgorithm(a) => write!(f, "unsupported JWT algorithm `{a}` (use HS256, HS384 or HS512)"),
            JwtError::ShortSecret { alg, min } => write!(f, "the JWT secret must be at least {min} bytes for {alg}"),
            JwtError::NonNumericClaim(c) => write!(f, "JWT claim `{c}` must be a whole number of seconds"),
        }
    }
}

impl std::error::Error for JwtError {}

fn algorithm(name: &str) -> Result<(Algorithm, &'static str, usize), JwtError> {
    match name {
        "HS256" => Ok((Algorithm::HS256, "HS256", 32)),
        "HS384" => Ok((Algorithm::HS384, "HS384", 48)),
        "HS512" => Ok((Algorithm::HS512, "HS512", 64)),
        other => Err(JwtError::UnsupportedAlgorithm(other.to_string())),
    }
}

fn checked_key(secret: &str, alg: &str) -> Result<Algorithm, JwtError> {
    let (a, name, min) = algorithm(alg)?;
    if secret.len() < min {
        return Err(JwtError::ShortSecret { alg: name, min });
    }
    Ok(a)
}

pub fn encode(claims: &[(String, String)], secret: &str, alg: &str) -> Result<String, JwtError> {
    let a = checked_key(secret, alg)?;
    let mut map = Map::new();
    for (k, v) in claims {
        let value = if NUMERIC_CLAIMS.contains(&k.as_str()) {
            let n: i64 = v.trim().parse().map_err(|_| JwtError::NonNumericClaim(k.clone()))?;
            Value::from(n)
        } else {
            Value::String(v.clone())
        };
        map.insert(k.clone(), value);
    }
    jsonwebtoken::encode(&Header::new(a), &map, &EncodingKey::from_secret(secret.as_bytes()))
        .map_err(|_| JwtError::NonNumericClaim("claims".into()))
}

/// The claims, or the reason (in words safe to show a client) the token is not accepted.
pub fn decode(token: &str, secret: &str, alg: &str) -> Result<Vec<(String, String)>, String> {
    let a = checked_key(secret, alg).map_err(|e| e.to_string())?;
    let mut v = Validation::new(a);
    v.algorithms = vec![a];
    v.leeway = LEEWAY_SECONDS;
    v.validate_exp = true;
    v.validate_nbf = true;
    v.set_required_spec_claims(&["exp"]);
    match jsonwebtoken::decode::<Map<String, Value>>(token, &DecodingKey::from_secret(secret.as_bytes()), &v) {
        Ok(data) => Ok(data
            .claims
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect()),
        Err(e) => Err(match e.kind() {
            ErrorKind::ExpiredSignature => "token expired",
            ErrorKind::ImmatureSignature => "token not yet valid",
            ErrorKind::InvalidSignature => "invalid token signature",
            ErrorKind::InvalidAlgorithm => "token signed with another algorithm",
            ErrorKind::MissingRequiredClaim(_) => "token has no expiry",
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
            let t = encode(&claims, SECRET, alg).expect("encode");
            let back = decode(&t, SECRET, alg).expect("decode");
            assert!(back.contains(&("exp".into(), exp.to_string())));
            assert!(back.contains(&("sub".into(), "ada".into())));
            // The algorithm is pinned.
            let other = if alg == "HS256" { "HS512" } else { "HS256" };
            assert!(decode(&t, SECRET, other).is_err());
        }
    }

    #[test]
    fn refusals_are_explained() {
        assert_eq!(encode(&[], "short", "HS256"), Err(JwtError::ShortSecret { alg: "HS256", min: 32 }));
        assert!(matches!(encode(&[], SECRET, "none"), Err(JwtError::UnsupportedAlgorithm(_))));
        assert!(matches!(encode(&[("exp".into(), "soon".into())], SECRET, "HS256"), Err(JwtError::NonNumericClaim(_))));
        let no_exp = encode(&[("sub".into(), "x".into())], SECRET, "HS256").expect("encode");
        assert_eq!(decode(&no_exp, SECRET, "HS256"), Err("token has no expiry".into()));
        let expired = encode(&[("exp".into(), (now() - 3600).to_string())], SECRET, "HS256").expect("encode");
        assert_eq!(decode(&expired, SECRET, "HS256"), Err("token expired".into()));
        let later = encode(&[("exp".into(), (now() + 7200).to_string()), ("nbf".into(), (now() + 3600).to_string())], SECRET, "HS256").expect("encode");
        assert_eq!(decode(&later, SECRET, "HS256"), Err("token not yet valid".into()));
        let good = encode(&[("exp".into(), (now() + 60).to_string())], SECRET, "HS256").expect("encode");
        assert_eq!(decode(&good, &SECRET.replace('0', "1"), "HS256"), Err("invalid token signature".into()));
        assert_eq!(decode("not.a.token", SECRET, "HS256"), Err("invalid token".into()));
    }
}
