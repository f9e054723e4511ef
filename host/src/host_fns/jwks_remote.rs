//! `jwt.decode_jwks(token, url, …)`: a token of another issuer (Keycloak, Auth0, another Fitz
//! app), verified against the public keys its JWKS document lists. The host fetches the
//! document through the app's egress policy (a tenant reaches the issuer only once its
//! operator allows it), keeps it `CACHE_FOR`, and fetches it again early when a token names a
//! `kid` it does not list (the issuer rotated) — at most once per `REFETCH_EVERY` (or the app's `FITZ_JWKS_REFETCH` seconds), so tokens
//! with made-up `kid`s cannot turn the host into a flood of fetches. A document is read within
//! `FETCH_TIMEOUT` and `MAX_DOCUMENT_BYTES`, with at most `MAX_KEYS` keys, and an app keeps the
//! documents of at most `MAX_ISSUERS` addresses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};

use super::http::{self, Egress};

pub const CACHE_FOR: Duration = Duration::from_secs(300);
pub const REFETCH_EVERY: Duration = Duration::from_secs(30);
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
pub const MAX_DOCUMENT_BYTES: usize = 64 << 10;
pub const MAX_KEYS: usize = 32;
pub const MAX_ISSUERS: usize = 8;

/// An app's fetched documents, by address. Each address has its own lock, held while it is
/// fetched, so concurrent requests wait for one fetch instead of each making one.
#[derive(Default)]
pub struct RemoteKeys {
    sets: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Fetched>>>>>,
}

struct Fetched {
    set: Arc<JwkSet>,
    at: Instant,
}

/// What a token of a remote issuer must carry besides a good signature.
pub struct Expect<'a> {
    pub alg: &'a str,
    pub leeway: u64,
    /// `iss` must be this, when not empty.
    pub issuer: &'a str,
    /// `aud` must hold this, when not empty.
    pub audience: &'a str,
    /// How soon after a fetch an unknown `kid` may fetch again (`REFETCH_EVERY`, or the app's
    /// `FITZ_JWKS_REFETCH` seconds).
    pub refetch_every: Duration,
}

/// How the host reaches the issuer.
pub struct Fetcher<'a> {
    pub client: &'a reqwest::Client,
    pub egress: &'a Egress,
}

impl RemoteKeys {
    fn slot(&self, url: &str) -> Result<Arc<tokio::sync::Mutex<Option<Fetched>>>, String> {
        let mut sets = self.sets.lock().map_err(|_| "jwks: unavailable".to_string())?;
        if !sets.contains_key(url) && sets.len() >= MAX_ISSUERS {
            return Err(format!("jwks: an app may use the keys of at most {MAX_ISSUERS} issuers"));
        }
        Ok(sets.entry(url.to_string()).or_default().clone())
    }

    /// The claims of `token`, verified with the key of `url`'s document its `kid` names.
    pub async fn decode(&self, fetcher: &Fetcher<'_>, url: &str, token: &str, expect: &Expect<'_>) -> Result<Vec<(String, String)>, String> {
        let alg = asymmetric(expect.alg)?;
        if token.len() > super::jwt::MAX_TOKEN_BYTES {
            return Err("invalid token".into());
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| "invalid token".to_string())?;
        if header.alg != alg {
            return Err("token signed with another algorithm".into());
        }
        let slot = self.slot(url)?;
        let mut held = slot.lock().await;
        if held.as_ref().is_none_or(|f| f.at.elapsed() >= CACHE_FOR) {
            renew(&mut held, fetcher, url).await?;
        }
        let mut key = pick(held.as_ref().map(|f| &*f.set), header.kid.as_deref());
        if key.is_none() && header.kid.is_some() && held.as_ref().is_some_and(|f| f.at.elapsed() >= expect.refetch_every) {
            // A `kid` the document does not list: the issuer may have rotated since.
            renew(&mut held, fetcher, url).await?;
            key = pick(held.as_ref().map(|f| &*f.set), header.kid.as_deref());
        }
        let jwk = key.ok_or_else(|| if header.kid.is_some() { "token signed with an unknown key" } else { "token names no key (`kid`)" }.to_string())?;
        if jwk.common.key_algorithm.is_some_and(|a| a.to_string() != expect.alg) {
            return Err("token signed with another algorithm".into());
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| "jwks: the issuer's key is not usable".to_string())?;
        drop(held);
        let mut v = super::jwt::validation(alg, expect.leeway);
        if expect.issuer.is_empty() {
            v.iss = None;
        } else {
            v.set_issuer(&[expect.issuer]);
            v.required_spec_claims.insert("iss".into());
        }
        if expect.audience.is_empty() {
            v.validate_aud = false;
        } else {
            v.set_audience(&[expect.audience]);
            v.required_spec_claims.insert("aud".into());
        }
        super::jwt::decode_with_key(token, &key, &v)
    }
}

/// Fetches the document again. When that fails, keys fetched before keep verifying (an issuer
/// that is down for a while logs no one out) and the next try is `REFETCH_EVERY` later; with
/// none, the failure is the answer.
async fn renew(held: &mut Option<Fetched>, fetcher: &Fetcher<'_>, url: &str) -> Result<(), String> {
    match (fetch(fetcher, url).await, held.as_mut()) {
        (Ok(f), _) => *held = Some(f),
        (Err(e), Some(old)) => {
            tracing::warn!(target: "fitz::jwks", "{e}; the keys fetched before stay in use");
            old.at = Instant::now().checked_sub(CACHE_FOR.saturating_sub(REFETCH_EVERY)).unwrap_or_else(Instant::now);
        }
        (Err(e), None) => return Err(e),
    }
    Ok(())
}

/// The key `kid` names; without a `kid`, the document's only key.
fn pick(set: Option<&JwkSet>, kid: Option<&str>) -> Option<jsonwebtoken::jwk::Jwk> {
    let set = set?;
    match kid {
        Some(kid) => set.find(kid).cloned(),
        None if set.keys.len() == 1 => set.keys.first().cloned(),
        None => None,
    }
}

fn asymmetric(alg: &str) -> Result<Algorithm, String> {
    let a: Algorithm = alg.parse().map_err(|_| format!("unsupported JWT algorithm `{}`", alg.chars().take(16).collect::<String>()))?;
    if matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err("jwt.decode_jwks verifies signatures made with keys (RS256, ES256, EdDSA, …), not HMAC".into());
    }
    Ok(a)
}

async fn fetch(fetcher: &Fetcher<'_>, url: &str) -> Result<Fetched, String> {
    let call = http::Call { method: reqwest::Method::GET, url: url.to_string(), headers: vec![("accept".into(), "application/json".into())], body: None, timeout: FETCH_TIMEOUT };
    let answer = http::send(fetcher.client, fetcher.egress, call, MAX_DOCUMENT_BYTES).await.map_err(|e| format!("jwks: the issuer's keys could not be fetched ({e})"))?;
    if answer.status != 200 {
        return Err(format!("jwks: the issuer answered {}", answer.status));
    }
    let set: JwkSet = serde_json::from_str(&answer.body).map_err(|_| "jwks: the issuer's document is not a JWK set".to_string())?;
    if set.keys.len() > MAX_KEYS {
        return Err(format!("jwks: the issuer's document lists more than {MAX_KEYS} keys"));
    }
    Ok(Fetched { set: Arc::new(set), at: Instant::now() })
}
