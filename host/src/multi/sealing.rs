//! Secrets at rest: every secret value a host stores is sealed with XChaCha20-Poly1305 under
//! the host's key, bound to its slot (the app's namespace and the secret's name, as associated
//! data), so a copy of the store — a backup, a stolen disk, a read of the database — shows no
//! value, and a value moved to another slot does not open. Version images are sealed the same
//! way: a top level that reads a secret leaves its value in the memory the image bakes in.
//!
//! The key ring, strongest first: `FITZ_SECRETS_KEY` (the current key) with
//! `FITZ_SECRETS_OLD_KEYS` (comma-separated keys still accepted for opening), else the key file
//! `secrets.key` in the data directory (one key per line, the first current), created with a
//! fresh key and mode 0600 at the first start. Keys are 32 random bytes in base64. Hosts that
//! share a PostgreSQL store must share the key. Rotation: make a new key current and keep the
//! old one among the old keys, restart, then `fitz secrets rotate-key` seals every value
//! again under the current key; the old key can then go.

use std::path::Path;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// What a sealed value starts with; a stored value without it was written before sealing.
const SEALED: &str = "fitz-sealed:v1:";
const NONCE: usize = 24;
pub const KEY_FILE: &str = "secrets.key";

struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn from_base64(text: &str) -> Result<Key, String> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|_| "a secrets key is not base64".to_string())?;
        if bytes.len() != 32 {
            return Err(format!("a secrets key must be 32 bytes, this one is {}", bytes.len()));
        }
        let id = Sha256::digest(&bytes).iter().take(4).map(|b| format!("{b:02x}")).collect();
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| "a secrets key is not usable".to_string())?;
        Ok(Key { id, cipher })
    }
}

/// The keys a host seals and opens secrets with.
pub struct Keyring {
    current: Key,
    old: Vec<Key>,
}

/// Why a stored value did not open.
#[derive(Debug, PartialEq)]
pub enum Unsealed {
    /// Sealed under a key this host does not have (by its id).
    UnknownKey(String),
    /// The value was changed, moved to another slot, or is not one this host wrote.
    Damaged,
}

impl std::fmt::Display for Unsealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsealed::UnknownKey(id) => write!(f, "a secret is sealed under key {id}, which this host does not have (set FITZ_SECRETS_KEY or FITZ_SECRETS_OLD_KEYS)"),
            Unsealed::Damaged => f.write_str("a stored secret does not open: it was changed or moved"),
        }
    }
}

pub fn new_key() -> String {
    let key: [u8; 32] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(key)
}

impl Keyring {
    /// From `env` (`FITZ_SECRETS_KEY`, `FITZ_SECRETS_OLD_KEYS`), else from the key file in
    /// `data_dir`, created when missing.
    pub fn load(env: &std::collections::HashMap<String, String>, data_dir: &Path) -> Result<Keyring, String> {
        if let Some(current) = env.get("FITZ_SECRETS_KEY").filter(|k| !k.trim().is_empty()) {
            let old = env.get("FITZ_SECRETS_OLD_KEYS").map_or(Ok(vec![]), |o| o.split(',').filter(|k| !k.trim().is_empty()).map(Key::from_base64).collect())?;
            return Ok(Keyring { current: Key::from_base64(current)?, old });
        }
        let path = data_dir.join(KEY_FILE);
        if !path.exists() {
            crate::files::write_private(&path, format!("{}\n", new_key()).as_bytes()).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut keys = text.lines().filter(|l| !l.trim().is_empty()).map(Key::from_base64);
        let current = keys.next().ok_or_else(|| format!("{} holds no key", path.display()))??;
        Ok(Keyring { current, old: keys.collect::<Result<_, _>>()? })
    }

    /// A ring of one key (tests and tools).
    pub fn of(key: &str) -> Result<Keyring, String> {
        Ok(Keyring { current: Key::from_base64(key)?, old: vec![] })
    }

    /// The current key's id.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// `value` sealed for `slot` under the current key.
    pub fn seal(&self, slot: &str, value: &str) -> String {
        let bytes = self.seal_raw(slot, value.as_bytes());
        format!("{SEALED}{}:{}", self.current.id, base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// The nonce and the sealed bytes.
    fn seal_raw(&self, slot: &str, plain: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE] = rand::random();
        // Encryption with a valid key and nonce cannot fail; an empty result would only be
        // unreadable, never a plaintext leak.
        let sealed = self.current.cipher.encrypt(&XNonce::from(nonce_bytes), Payload { msg: plain, aad: slot.as_bytes() }).unwrap_or_default();
        let mut bytes = nonce_bytes.to_vec();
        bytes.extend(sealed);
        bytes
    }

    fn open_raw(&self, slot: &str, id: &str, bytes: &[u8]) -> Result<Vec<u8>, Unsealed> {
        let key = std::iter::once(&self.current).chain(&self.old).find(|k| k.id == id).ok_or_else(|| Unsealed::UnknownKey(id.to_string()))?;
        if bytes.len() < NONCE {
            return Err(Unsealed::Damaged);
        }
        let (nonce, sealed) = bytes.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().map_err(|_| Unsealed::Damaged)?;
        key.cipher.decrypt(&XNonce::from(nonce), Payload { msg: sealed, aad: slot.as_bytes() }).map_err(|_| Unsealed::Damaged)
    }

    /// Bytes (a version's image) sealed for `slot`: the prefix and key id as text, then the
    /// nonce and the sealed bytes.
    pub fn seal_bytes(&self, slot: &str, plain: &[u8]) -> Vec<u8> {
        let mut out = format!("{SEALED}{}:", self.current.id).into_bytes();
        out.extend(self.seal_raw(slot, plain));
        out
    }

    /// Bytes `seal_bytes` sealed for `slot`; bytes stored before sealing are returned as
    /// they are (a wasm module starts with `\0asm`, never with the prefix).
    pub fn open_bytes(&self, slot: &str, stored: Vec<u8>) -> Result<Vec<u8>, Unsealed> {
        let Some(rest) = stored.strip_prefix(SEALED.as_bytes()) else { return Ok(stored) };
        let colon = rest.iter().position(|b| *b == b':').ok_or(Unsealed::Damaged)?;
        let id = std::str::from_utf8(&rest[..colon]).map_err(|_| Unsealed::Damaged)?;
        self.open_raw(slot, id, &rest[colon + 1..])
    }

    /// Whether a stored value is sealed under the current key (nothing to rotate).
    pub fn is_current(&self, stored: &str) -> bool {
        stored.strip_prefix(SEALED).and_then(|r| r.split_once(':')).is_some_and(|(id, _)| id == self.current.id)
    }

    /// Whether stored bytes are sealed under the current key.
    pub fn is_current_bytes(&self, stored: &[u8]) -> bool {
        stored.strip_prefix(SEALED.as_bytes()).is_some_and(|r| r.starts_with(self.current.id.as_bytes()) && r.get(self.current.id.len()) == Some(&b':'))
    }

    /// The value stored for `slot`; a value written before sealing is returned as it is.
    pub fn open(&self, slot: &str, stored: &str) -> Result<String, Unsealed> {
        let Some(rest) = stored.strip_prefix(SEALED) else { return Ok(stored.to_string()) };
        let (id, data) = rest.split_once(':').ok_or(Unsealed::Damaged)?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| Unsealed::Damaged)?;
        String::from_utf8(self.open_raw(slot, id, &bytes)?).map_err(|_| Unsealed::Damaged)
    }
}

/// A secret's slot: its app's namespace and its name.
pub fn slot(namespace: &str, name: &str) -> String {
    format!("{namespace}\u{0}{name}")
}

/// A version image's slot: its app's namespace and its number.
pub fn image_slot(namespace: &str, version: i64) -> String {
    format!("{namespace}\u{0}image\u{0}{version}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_slot_and_under_a_known_key() {
        let (a, b) = (new_key(), new_key());
        let ring = Keyring::of(&a).expect("ring");
        let sealed = ring.seal(&slot("shop", "TOKEN"), "hunter2");
        assert!(sealed.starts_with(SEALED) && !sealed.contains("hunter2"), "{sealed}");
        assert_ne!(sealed, ring.seal(&slot("shop", "TOKEN"), "hunter2"), "a fresh nonce every time");
        assert_eq!(ring.open(&slot("shop", "TOKEN"), &sealed), Ok("hunter2".into()));
        assert_eq!(ring.open(&slot("other", "TOKEN"), &sealed), Err(Unsealed::Damaged), "moved to another app");
        assert_eq!(ring.open(&slot("shop", "OTHER"), &sealed), Err(Unsealed::Damaged), "moved to another name");
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 3;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(ring.open(&slot("shop", "TOKEN"), &String::from_utf8(flipped).expect("text")), Err(Unsealed::Damaged));
        assert_eq!(ring.open(&slot("shop", "TOKEN"), "written before sealing"), Ok("written before sealing".into()));

        // Rotation: the new key current, the old one kept for opening.
        let other = Keyring::of(&b).expect("ring");
        assert!(matches!(other.open(&slot("shop", "TOKEN"), &sealed), Err(Unsealed::UnknownKey(_))));
        let env = [("FITZ_SECRETS_KEY".to_string(), b.clone()), ("FITZ_SECRETS_OLD_KEYS".to_string(), a.clone())].into_iter().collect();
        let rotated = Keyring::load(&env, Path::new("/nonexistent")).expect("ring");
        assert!(!rotated.is_current(&sealed));
        assert_eq!(rotated.open(&slot("shop", "TOKEN"), &sealed), Ok("hunter2".into()));
        assert!(rotated.is_current(&rotated.seal("s", "v")));
        assert!(Keyring::of("c2hvcnQ=").is_err(), "a key must be 32 bytes");

        let image = b"\0asm image with hunter2 baked in".to_vec();
        let sealed = ring.seal_bytes(&image_slot("shop", 3), &image);
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(ring.open_bytes(&image_slot("shop", 3), sealed.clone()), Ok(image.clone()));
        assert_eq!(ring.open_bytes(&image_slot("shop", 4), sealed), Err(Unsealed::Damaged), "another version's slot");
        assert_eq!(ring.open_bytes(&image_slot("shop", 3), image.clone()), Ok(image), "stored before sealing");
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("fitz-keyring-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let env = Default::default();
        let first = Keyring::load(&env, &dir).expect("created");
        let mode = std::fs::metadata(dir.join(KEY_FILE)).expect("key file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = Keyring::load(&env, &dir).expect("read");
        assert_eq!(first.current_id(), again.current_id());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
