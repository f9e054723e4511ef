//! Secrets at rest (issue 17). Before, secret values sat in plaintext in `host.db`, which was
//! `-rw-r--r--`. Now the host's files are its user's only (folders 0700, files 0600), secret
//! values are sealed under the host's key (and bound to their app and name), values stored
//! before sealing are sealed at the next start, and `rotate-key` seals everything again under
//! a new key, after which the old one can go.

use std::os::unix::fs::PermissionsExt;

use fitz_host::multi::HostConfig;
use fitz_tests::multi::{TOKEN, TestHost};
use serde_json::json;

const APP: &str = "let S = secret(\"API_KEY\")\n@get(\"/s\")\nfn s() -> Str => S.expose()\n";
const VALUE: &str = "value-that-must-not-be-on-disk-7f3a";

fn config(keys: &[(&str, &str)]) -> HostConfig {
    let mut c = HostConfig::new("localhost", TOKEN);
    c.secrets_env = keys.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    c
}

/// Every byte the host keeps in its data directory, as one lossy string.
fn everything_on_disk(dir: &std::path::Path) -> String {
    let mut all = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all += &String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    all
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|_| panic!("{} exists", p.display())).permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_sealed_on_disk_files_are_private_and_keys_rotate() {
    let dir = std::env::temp_dir().join(format!("fitz-sealed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (old, new) = (fitz_host::multi::sealing::new_key(), fitz_host::multi::sealing::new_key());

    // Sealed on disk; private files; the app reads its value.
    let host = TestHost::start_with(&dir, None, config(&[("FITZ_SECRETS_KEY", &old)])).await;
    assert_eq!(host.set_secret("vault", "API_KEY", VALUE).await.status, 200);
    assert_eq!(host.deploy("vault", APP).await.status, 200);
    assert_eq!(host.get("vault", "/s", None).await.body, json!(VALUE));
    host.stop().await;
    assert!(!everything_on_disk(&dir).contains(VALUE), "the secret's value is on disk in plaintext");
    assert_eq!((mode(&dir), mode(&dir.join("apps"))), (0o700, 0o700));
    for f in ["host.db", "apps/vault.db"] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }

    // A value written before sealing (a store from an earlier host) is sealed at the next start.
    {
        let db = fitz_host::db::Database::connect(&format!("sqlite:{}", dir.join("host.db").display())).await.expect("open");
        db.execute("INSERT INTO \"secrets\" (app, name, value) VALUES ('vault', 'LEGACY', 'legacy-plaintext-9c1e')").await.expect("insert");
        db.close().await;
    }
    let host = TestHost::start_with(&dir, None, config(&[("FITZ_SECRETS_KEY", &old)])).await;
    assert_eq!(host.get("vault", "/s", None).await.body, json!(VALUE));
    host.stop().await;
    assert!(!everything_on_disk(&dir).contains("legacy-plaintext-9c1e"), "a legacy value was sealed at start");

    // Rotation: the new key current, the old one kept for opening; rotate; then the old key goes.
    let host = TestHost::start_with(&dir, None, config(&[("FITZ_SECRETS_KEY", &new), ("FITZ_SECRETS_OLD_KEYS", &old)])).await;
    assert_eq!(host.get("vault", "/s", None).await.body, json!(VALUE), "opened with the old key");
    let rotated = host.operator(reqwest::Method::POST, "/secrets/rotate-key", None).await;
    assert_eq!((rotated.status, &rotated.body["resealed"]), (200, &json!(2)), "{}", rotated.text);
    let again = host.operator(reqwest::Method::POST, "/secrets/rotate-key", None).await;
    assert_eq!(again.body["resealed"], json!(0), "nothing left under the old key");
    host.stop().await;
    let host = TestHost::start_with(&dir, None, config(&[("FITZ_SECRETS_KEY", &new)])).await;
    assert_eq!(host.get("vault", "/s", None).await.body, json!(VALUE), "the old key is no longer needed");
    host.stop().await;

    // A host without the key cannot open the values: the app does not load, and says why.
    let host = TestHost::start_with(&dir, None, config(&[("FITZ_SECRETS_KEY", &old)])).await;
    let r = host.get("vault", "/s", None).await;
    assert_ne!(r.status, 200, "{}", r.text);
    let inspect = host.operator(reqwest::Method::GET, "/apps/vault", None).await;
    let why = inspect.body["load_failure"]["error"].as_str().unwrap_or_default().to_string();
    assert!(why.contains("sealed under key") && !why.contains(VALUE), "{}", inspect.text);
    host.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
