//! TLS (issue 17). Before, reqwest and sqlx were built without it: `fitz apps list --to
//! https://…` could not connect, the operator token and `fitz secrets set` values could only
//! travel in clear, and a PostgreSQL that requires TLS could not be used. Now the host's
//! listener speaks TLS with a certificate (`--tls-cert`/`--tls-key`, or `FITZ_TLS_CERT`/
//! `FITZ_TLS_KEY`), the CLI trusts the web's roots and an operator's own CA (`FITZ_CA_CERT`),
//! and connections to PostgreSQL honour `sslmode`.

mod kit;

use std::process::Command;
use std::time::Duration;

use kit::process::{HostProcess, TOKEN, temp_dir};
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// An operator's own CA, and a certificate it signed for `localhost` and 127.0.0.1: the
/// paths of the CA's PEM, the certificate's and its key's.
fn certificates(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("leaf params");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf");
    let (ca_pem, cert, key) = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&ca_pem, ca_cert.pem()).expect("write");
    std::fs::write(&cert, leaf_cert.pem()).expect("write");
    std::fs::write(&key, leaf_key.serialize_pem()).expect("write");
    (ca_pem, cert, key)
}

fn cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fitz"));
    cmd.args(args).env("FITZ_OPERATOR_TOKEN", TOKEN).env_remove("FITZ_CA_CERT").env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("fitz runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_listens_over_tls_and_the_cli_reaches_it() {
    let dir = temp_dir("tls");
    let certs = temp_dir("tls-certs");
    let (ca, cert, key) = certificates(&certs);
    let (cert_s, key_s, ca_s) = (cert.display().to_string(), key.display().to_string(), ca.display().to_string());
    let host = HostProcess::start(dir, &[("FITZ_TLS_CERT", &cert_s), ("FITZ_TLS_KEY", &key_s)]);
    assert!(host.base.starts_with("https://"), "{}", host.base);
    let url = host.base.clone();

    // The CLI, trusting the operator's CA: deploy, set a secret, list.
    let app = certs.join("hello.fitz");
    std::fs::write(&app, "let S = secret(\"S\")\n@get(\"/s\")\nfn s() -> Str => S.expose()\n").expect("write");
    let trust = [("FITZ_CA_CERT", ca_s.as_str())];
    let mut set = Command::new(env!("CARGO_BIN_EXE_fitz"));
    set.args(["secrets", "set", "hello", "S", "--to", &url])
        .env("FITZ_OPERATOR_TOKEN", TOKEN)
        .env("FITZ_CA_CERT", &ca_s)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null());
    let mut child = set.spawn().expect("spawn");
    {
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(b"over tls").expect("value");
    }
    assert!(child.wait().expect("waits").success(), "fitz secrets set over TLS");
    let (code, _, err) = cli(&["deploy", app.to_str().expect("path"), "--to", &url], &trust);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cli(&["apps", "list", "--to", &url], &trust);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"hello\""), "{out}");

    // Without the CA the CLI refuses the certificate; plain HTTP to the TLS port gets nothing.
    let (code, _, err) = cli(&["apps", "list", "--to", &url], &[]);
    assert_eq!(code, 1, "an unknown CA is refused: {err}");
    assert!(err.contains("cannot reach the host"), "{err}");
    let plain = reqwest::Client::new().get(url.replace("https://", "http://") + "/healthz").timeout(Duration::from_secs(5)).send().await;
    assert!(plain.is_err() || plain.is_ok_and(|r| !r.status().is_success()), "plain HTTP is not served on the TLS port");

    // An app over TLS, with the client trusting the CA.
    let client = reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&ca).expect("ca")).expect("pem")).build().expect("client");
    let r = client.get(format!("{url}/s")).header("host", "hello.localhost").send().await.expect("served over TLS");
    assert_eq!(r.version(), reqwest::Version::HTTP_2, "HTTP/2, chosen by ALPN");
    assert_eq!((r.status().as_u16(), r.text().await.expect("body")), (200, "\"over tls\"".to_string()));
    // A client that offers only HTTP/1.1 gets it.
    let http1 =
        reqwest::Client::builder().http1_only().add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&ca).expect("ca")).expect("pem")).build().expect("client");
    let r = http1.get(format!("{url}/s")).header("host", "hello.localhost").send().await.expect("served over TLS");
    assert_eq!((r.version(), r.status().as_u16()), (reqwest::Version::HTTP_11, 200));
    host.kill();
}

#[test]
fn a_host_refuses_to_start_with_half_a_tls_setting_or_a_bad_key() {
    let certs = temp_dir("tls-bad");
    let (_, cert, _) = certificates(&certs);
    std::fs::write(certs.join("junk.pem"), "not a key").expect("write");
    let data = certs.join("data").display().to_string();
    let (code, _, err) = cli(&["host", "--port", "0", "--data", &data, "--tls-cert", cert.to_str().expect("path")], &[]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) =
        cli(&["host", "--port", "0", "--data", &data, "--tls-cert", cert.to_str().expect("path"), "--tls-key", certs.join("junk.pem").to_str().expect("path")], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("private key"), "{err}");
}

/// `sslmode` is honoured: `require` gives an encrypted session for the pool and for the
/// request connections alike; without it, a loopback connection stays plain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_honour_sslmode() {
    let admin = std::env::var("FITZ_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let probe = fitz_host::db::Database::connect(&admin).await.expect("PostgreSQL (see .ci/run)");
    let fitz_host::db::Pool::Postgres(p) = &probe.pool else { unreachable!() };
    let ssl: String = sqlx::query_scalar("SHOW ssl").fetch_one(p).await.expect("show ssl");
    let plain: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(p).await.expect("pg_stat_ssl");
    assert!(!plain, "a loopback connection without sslmode is plain");
    probe.close().await;
    if ssl != "on" {
        eprintln!("skipped: this PostgreSQL serves no TLS (ssl = {ssl}); Debian's cluster has it on with its snakeoil certificate");
        return;
    }
    let db = fitz_host::db::Database::connect(&format!("{admin}?sslmode=require")).await.expect("TLS connection");
    let fitz_host::db::Pool::Postgres(p) = &db.pool else { unreachable!() };
    let pooled: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(p).await.expect("pooled");
    let leased: bool = db.leased(async |c| sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(c).await).await.expect("leased");
    assert!(pooled && leased, "sslmode=require: pool {pooled}, leases {leased}");
    db.close().await;
}
