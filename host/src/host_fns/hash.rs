//! Password hashing: Argon2id with the OWASP parameters (m = 19456 KiB, t = 2, p = 1), on the
//! blocking pool behind a semaphore sized to the cores, so hashing cannot starve the
//! executor. The permits travel into the blocking work: a request cancelled while its hash
//! runs frees them only when the hash ends, so cancelling cannot run more hashes at once than
//! there are permits. Verification never fails loudly: a malformed hash, or one whose
//! parameters would cost absurd memory or time, is simply `false`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
/// Stored hashes asking for more than these are refused rather than computed.
const MAX_MEMORY_KIB: u32 = crate::limits::process::ARGON2_MAX_KIB;
const MAX_ITERATIONS: u32 = 16;
const MAX_PARALLELISM: u32 = 16;
/// A PHC string longer than this is not a hash `verify` will parse.
pub const MAX_PHC_BYTES: usize = 512;

#[derive(Clone)]
pub struct Hasher {
    /// Hashes running at once in the process.
    permits: Arc<Semaphore>,
    /// Hashes computing now, and the most seen at once.
    busy: Arc<Busy>,
    /// On a multi-tenant host, one tenant's share: a tenant that floods hashing waits on its
    /// own permit and cannot take every core.
    tenant: Option<Arc<Semaphore>>,
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::with_capacity(crate::limits::process::hashing_permits(false))
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_blocking(password: &str) -> Result<String, super::GuestError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| super::GuestError("hash.password failed".into()))
}

/// The hash of a random password, made as `hash.password` makes hashes (same algorithm and
/// costs): what `hash.verify(password, null)` verifies against, so it takes as long as a real
/// check. Made once, on first use, on a blocking thread.
fn stand_in() -> &'static str {
    static STAND_IN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let secret: String = (0..32).map(|_| char::from(b'a' + rand::random::<u8>() % 26)).collect();
        hash_blocking(&secret).unwrap_or_default()
    });
    &STAND_IN
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
        Hasher { permits: Arc::new(Semaphore::new(n.max(1))), busy: Arc::default(), tenant: None }
    }

    /// The same process-wide capacity, with a tenant's own single permit in front of it.
    pub fn for_tenant(&self) -> Hasher {
        Hasher { permits: self.permits.clone(), busy: self.busy.clone(), tenant: Some(Arc::new(Semaphore::new(1))) }
    }

    /// The tenant's permit (if any), then one of the process's: both owned, to be moved into
    /// the blocking work.
    async fn permits(&self) -> Option<(Option<OwnedSemaphorePermit>, OwnedSemaphorePermit)> {
        let tenant = match &self.tenant {
            Some(t) => Some(t.clone().acquire_owned().await.ok()?),
            None => None,
        };
        let process = self.permits.clone().acquire_owned().await.ok()?;
        Some((tenant, process))
    }

    pub async fn hash(&self, password: String) -> Result<String, super::GuestError> {
        let failed = || super::GuestError("hash.password failed".into());
        let permits = self.permits().await.ok_or_else(failed)?;
        let busy = self.busy.clone();
        tokio::task::spawn_blocking(move || {
            let _permits = permits;
            busy.during(|| hash_blocking(&password))
        })
        .await
        .map_err(|_| failed())?
    }

    /// Whether `password` matches `phc`; with no hash (`hash.verify(password, null)`, a user
    /// that does not exist) the same work is done against a stand-in and the answer is no.
    pub async fn verify(&self, password: String, phc: Option<String>) -> bool {
        let Some(permits) = self.permits().await else { return false };
        let busy = self.busy.clone();
        tokio::task::spawn_blocking(move || {
            let _permits = permits;
            busy.during(|| match &phc {
                Some(phc) => verify_blocking(&password, phc),
                None => {
                    let _ = verify_blocking(&password, stand_in());
                    false
                }
            })
        })
        .await
        .unwrap_or(false)
    }

    /// Hashes computing now in the process.
    pub fn running(&self) -> usize {
        self.busy.now.load(Ordering::Relaxed)
    }

    /// The most hashes that were ever computing at once in the process.
    pub fn peak(&self) -> usize {
        self.busy.peak.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
struct Busy {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Busy {
    fn during<T>(&self, work: impl FnOnce() -> T) -> T {
        let n = self.now.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(n, Ordering::Relaxed);
        let out = work();
        self.now.fetch_sub(1, Ordering::Relaxed);
        out
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
        // Past the cost a stored hash may ask for (64 MiB), even if well formed.
        assert!(!verify_blocking("x", "$argon2id$v=19$m=131072,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelled_hashes_keep_their_permits_until_they_end() {
        let hasher = Hasher::with_capacity(1);
        // Twenty hashes started and cancelled at once: the first holds the permit while it runs,
        // and no other starts until it ends.
        for _ in 0..20 {
            let h = hasher.clone();
            let task = tokio::spawn(async move { h.hash("pw".into()).await });
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            task.abort();
        }
        let started = std::time::Instant::now();
        while hasher.running() > 0 && started.elapsed() < std::time::Duration::from_secs(10) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(hasher.peak(), 1, "never more hashes at once than permits");
        assert!(hasher.hash("pw".into()).await.is_ok(), "the permit came back when the hash ended");
    }
}
