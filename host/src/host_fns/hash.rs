//! Password hashing: Argon2id with the OWASP parameters (m = 19456 KiB, t = 2, p = 1), on the
//! blocking pool behind a semaphore sized to the cores, so hashing cannot starve the
//! executor. Verification never fails loudly: a malformed hash, or one whose parameters would
//! cost absurd memory or time, is simply `false`.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
/// Stored hashes asking for more than these are refused rather than computed.
const MAX_MEMORY_KIB: u32 = 256 * 1024;
const MAX_ITERATIONS: u32 = 16;
const MAX_PARALLELISM: u32 = 16;

#[derive(Clone)]
pub struct Hasher {
    /// Hashes running at once in the process.
    permits: Arc<Semaphore>,
    /// On a multi-tenant host, one tenant's share: a tenant that floods hashing waits on its
    /// own permit and cannot take every core.
    tenant: Option<Arc<Semaphore>>,
}

impl Default for Hasher {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Hasher::with_capacity(cores)
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_blocking(password: &str) -> Result<String, super::GuestError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| super::GuestError("hash.password failed".into()))
}

pub fn verify_blocking(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let algorithm = parsed.algorithm.as_str();
    if !matches!(algorithm, "argon2id" | "argon2i" | "argon2d") {
        return false;
    }
    let get = |name: &str| parsed.params.get_decimal(name);
    let (m, t, p) = (get("m"), get("t"), get("p"));
    if m.is_none_or(|m| m > MAX_MEMORY_KIB) || t.is_none_or(|t| t > MAX_ITERATIONS) || p.is_none_or(|p| p > MAX_PARALLELISM) {
        return false;
    }
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

impl Hasher {
    pub fn with_capacity(n: usize) -> Hasher {
        Hasher { permits: Arc::new(Semaphore::new(n.max(1))), tenant: None }
    }

    /// The same process-wide capacity, with a tenant's own single permit in front of it.
    pub fn for_tenant(&self) -> Hasher {
        Hasher { permits: self.permits.clone(), tenant: Some(Arc::new(Semaphore::new(1))) }
    }

    async fn tenant_permit(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        match &self.tenant {
            Some(t) => t.acquire().await.ok(),
            None => None,
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, super::GuestError> {
        let failed = || super::GuestError("hash.password failed".into());
        let _tenant = self.tenant_permit().await;
        let _permit = self.permits.acquire().await.map_err(|_| failed())?;
        tokio::task::spawn_blocking(move || hash_blocking(&password)).await.map_err(|_| failed())?
    }

    pub async fn verify(&self, password: String, phc: String) -> bool {
        let _tenant = self.tenant_permit().await;
        let Ok(_permit) = self.permits.acquire().await else { return false };
        tokio::task::spawn_blocking(move || verify_blocking(&password, &phc)).await.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_uses_owasp_parameters_and_verifies() {
        let h = hash_blocking("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_blocking("correct horse", &h));
        assert!(!verify_blocking("wrong", &h));
    }

    #[test]
    fn malformed_and_absurd_hashes_are_false() {
        assert!(!verify_blocking("x", "not a hash"));
        assert!(!verify_blocking("x", ""));
        assert!(!verify_blocking("x", "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"));
        assert!(!verify_blocking("x", "$argon2id$v=19$m=19456,t=1000,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"));
        assert!(!verify_blocking("x", "$2b$12$abcdefghijklmnopqrstuu"));
    }
}
