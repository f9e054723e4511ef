//! `jwt.decode_jwks`: tokens of another issuer, signed by PyJWT with RSA and EC keys whose
//! JWKS document a server started by the test publishes. The document is fetched once and
//! cached; a token naming a `kid` the document lacks makes the host fetch it again (the issuer
//! rotated), but not more than once per 30 s, whatever `kid`s tokens make up; the issuer,
//! audience and algorithm are checked; the fetch obeys the app's egress policy and is bounded
//! in size and time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use fitz_host::host_fns::http::Egress;
use fitz_host::runtime::app::Limits;
use fitz_tests::python;
use fitz_tests::server::{Backend, TestApp};
use serde_json::{Value, json};

const APP: &str = r#"
@get("/verify?url={url}&alg={alg}&iss={iss}&aud={aud}")
async fn verify(headers: Map<Str, Str>, url: Str, alg: Str, iss: Str, aud: Str) -> Map<Str, Str> {
    let token = match headers.get("x-token") {
        Ok(t) => t,
        Err(_) => "",
    }
    return match jwt.decode_jwks(token, url, alg: alg, issuer: iss, audience: aud).await {
        Ok(claims) => claims,
        Err(e) => ({ "error": e }),
    }
}
"#;

const ISS: &str = "https://issuer.test";
const AUD: &str = "fitz-app";

/// Keys and tokens of an issuer, made by PyJWT: `doc1` lists k1 (RSA) and k2 (P-256), `doc2`
/// adds k3 (RSA); the tokens are named by what they are.
fn issuer() -> Value {
    let out = python::run(
        r#"import json, time, jwt
from jwt.algorithms import RSAAlgorithm, ECAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa, ec
k1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
k2 = ec.generate_private_key(ec.SECP256R1())
k3 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
def jwk(alg, key, kid, use_alg):
    d = alg.to_jwk(key.public_key(), as_dict=True)
    d["kid"] = kid
    d["alg"] = use_alg
    return d
doc1 = {"keys": [jwk(RSAAlgorithm, k1, "k1", "RS256"), jwk(ECAlgorithm, k2, "k2", "ES256")]}
doc2 = {"keys": doc1["keys"] + [jwk(RSAAlgorithm, k3, "k3", "RS256")]}
now = int(time.time())
c = {"sub": "ada", "iss": "https://issuer.test", "aud": "fitz-app", "exp": now + 600}
def t(key, alg, kid, claims=c):
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})
print(json.dumps({
  "doc1": doc1, "doc2": doc2,
  "rsa": t(k1, "RS256", "k1"), "ec": t(k2, "ES256", "k2"), "rotated": t(k3, "RS256", "k3"),
  "unknown": t(k3, "RS256", "k9"), "forged": t(k3, "RS256", "k1"),
  "other_issuer": t(k1, "RS256", "k1", dict(c, iss="https://evil.test")),
  "no_audience": t(k1, "RS256", "k1", {k: v for k, v in c.items() if k != "aud"}),
  "expired": t(k1, "RS256", "k1", dict(c, exp=now - 3600)),
}))"#,
        &[],
    );
    serde_json::from_str(&out).expect("the issuer's JSON")
}

struct Issuer {
    base: String,
    port: u16,
    doc: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

async fn serve(doc: &Value) -> Issuer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let doc = Arc::new(Mutex::new(doc.to_string()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (d, f) = (doc.clone(), fetches.clone());
    let app = Router::new()
        .route(
            "/jwks",
            get(move || {
                let (d, f) = (d.clone(), f.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    let body = d.lock().expect("doc").clone();
                    ([("content-type", "application/json")], body)
                }
            }),
        )
        .route("/big", get(|| async { format!("{{\"keys\": [], \"pad\": \"{}\"}}", "x".repeat(100 << 10)) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(8)).await;
                "{\"keys\": []}"
            }),
        )
        .route("/not-json", get(|| async { "<html>login</html>" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Issuer { base: format!("http://127.0.0.1:{port}"), port, doc, fetches }
}

async fn verify(app: &TestApp, url: &str, alg: &str, token: &str, aud: &str) -> Value {
    let q = form_urlencoded::Serializer::new(String::new()).append_pair("url", url).append_pair("alg", alg).append_pair("iss", ISS).append_pair("aud", aud).finish();
    let r = app.send(app.client.get(app.url(&format!("/verify?{q}"))).header("x-token", token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn allowing(port: u16) -> Limits {
    Limits { egress: Egress::parse(&[format!("127.0.0.1:{port}")]).expect("rule"), ..Limits::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_a_remote_issuer_verify_with_its_published_keys() {
    let keys = issuer();
    let up = serve(&keys["doc1"]).await;
    let app = TestApp::start(APP, Backend::Sqlite, &[], allowing(up.port)).await;
    let url = format!("{}/jwks", up.base);
    let tok = |name: &str| keys[name].as_str().expect("token").to_string();

    let claims = verify(&app, &url, "RS256", &tok("rsa"), AUD).await;
    assert_eq!((claims["sub"].as_str(), claims["iss"].as_str()), (Some("ada"), Some(ISS)), "{claims}");
    assert_eq!(verify(&app, &url, "ES256", &tok("ec"), AUD).await["sub"], "ada");
    assert_eq!(up.fetches.load(Ordering::SeqCst), 1, "fetched once, then cached");

    // Refusals, without another fetch.
    for (name, alg, aud, error) in [
        ("forged", "RS256", AUD, "invalid token signature"),
        ("other_issuer", "RS256", AUD, "token of another issuer"),
        ("no_audience", "RS256", AUD, "token names no audience"),
        ("expired", "RS256", AUD, "token expired"),
        ("rsa", "ES256", AUD, "token signed with another algorithm"),
        ("rsa", "HS256", AUD, "jwt.decode_jwks verifies signatures made with keys (RS256, ES256, EdDSA, …), not HMAC"),
        ("rsa", "RS256", "another-app", "token for another audience"),
    ] {
        assert_eq!(verify(&app, &url, alg, &tok(name), aud).await, json!({ "error": error }), "{name} {alg} {aud}");
    }
    // A token without an audience is taken when the app asks for none.
    assert_eq!(verify(&app, &url, "RS256", &tok("no_audience"), "").await["sub"], "ada");
    assert_eq!(verify(&app, &url, "RS256", "not.a.token", AUD).await, json!({ "error": "invalid token" }));
    assert_eq!(up.fetches.load(Ordering::SeqCst), 1);

    // The issuer rotates: a token of the new key names a `kid` the cached document lacks.
    // Within 30 s of the last fetch it is refused without a fetch (made-up kids cost nothing)…
    *up.doc.lock().expect("doc") = keys["doc2"].to_string();
    assert_eq!(verify(&app, &url, "RS256", &tok("rotated"), AUD).await, json!({ "error": "token signed with an unknown key" }));
    assert_eq!(up.fetches.load(Ordering::SeqCst), 1);
    app.stop().await;

    // …and a fresh app (no fetch for 30 s is what the first showed) fetches and finds it.
    let app = TestApp::start(APP, Backend::Sqlite, &[], allowing(up.port)).await;
    *up.doc.lock().expect("doc") = keys["doc1"].to_string();
    assert_eq!(verify(&app, &url, "RS256", &tok("rsa"), AUD).await["sub"], "ada");
    assert_eq!(up.fetches.load(Ordering::SeqCst), 2);
    *up.doc.lock().expect("doc") = keys["doc2"].to_string();
    // Unknown to the cached document and too soon to fetch again.
    assert_eq!(verify(&app, &url, "RS256", &tok("rotated"), AUD).await["error"], "token signed with an unknown key");
    let unknown = tok("unknown");
    for _ in 0..20 {
        assert_eq!(verify(&app, &url, "RS256", &unknown, AUD).await["error"], "token signed with an unknown key");
    }
    assert_eq!(up.fetches.load(Ordering::SeqCst), 2, "made-up kids fetch nothing");
    app.stop().await;

    // With the app's interval at 1 s, the rotated key is fetched once it has passed.
    let app = TestApp::start(APP, Backend::Sqlite, &[("FITZ_JWKS_REFETCH", "1")], allowing(up.port)).await;
    *up.doc.lock().expect("doc") = keys["doc1"].to_string();
    assert_eq!(verify(&app, &url, "RS256", &tok("rsa"), AUD).await["sub"], "ada");
    assert_eq!(up.fetches.load(Ordering::SeqCst), 3);
    *up.doc.lock().expect("doc") = keys["doc2"].to_string();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(verify(&app, &url, "RS256", &tok("rotated"), AUD).await["sub"], "ada", "the new key, fetched on its unknown kid");
    assert_eq!(up.fetches.load(Ordering::SeqCst), 4);
    assert_eq!(verify(&app, &url, "RS256", &tok("rsa"), AUD).await["sub"], "ada", "the old key still listed");
    assert_eq!(verify(&app, &url, "RS256", &tok("unknown"), AUD).await["error"], "token signed with an unknown key");
    assert_eq!(up.fetches.load(Ordering::SeqCst), 4, "not again within the interval");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fetch_obeys_the_egress_policy_and_its_bounds() {
    let keys = issuer();
    let up = serve(&keys["doc1"]).await;
    let token = keys["rsa"].as_str().expect("token").to_string();

    // A tenant's default: no egress, so the issuer is out of reach.
    let app = TestApp::start(APP, Backend::Sqlite, &[], Limits::default()).await;
    let r = verify(&app, &format!("{}/jwks", up.base), "RS256", &token, AUD).await;
    assert!(r["error"].as_str().is_some_and(|e| e.starts_with("jwks: the issuer's keys could not be fetched") && e.contains("may not call")), "{r}");
    assert_eq!(up.fetches.load(Ordering::SeqCst), 0);
    app.stop().await;

    let app = TestApp::start(APP, Backend::Sqlite, &[], allowing(up.port)).await;
    let r = verify(&app, &format!("{}/big", up.base), "RS256", &token, AUD).await;
    assert!(r["error"].as_str().is_some_and(|e| e.starts_with("jwks: the issuer's keys could not be fetched")), "past 64 KiB: {r}");
    let r = verify(&app, &format!("{}/not-json", up.base), "RS256", &token, AUD).await;
    assert_eq!(r, json!({ "error": "jwks: the issuer's document is not a JWK set" }));
    let r = verify(&app, &format!("{}/nowhere", up.base), "RS256", &token, AUD).await;
    assert_eq!(r, json!({ "error": "jwks: the issuer answered 404" }));
    let started = std::time::Instant::now();
    let r = verify(&app, &format!("{}/slow", up.base), "RS256", &token, AUD).await;
    assert!(r["error"].as_str().is_some_and(|e| e.starts_with("jwks: the issuer's keys could not be fetched")), "{r}");
    assert!(started.elapsed() < Duration::from_secs(8), "the fetch gave up before the issuer answered");
    // At most 8 issuers per app.
    for i in 0..8 {
        let _ = verify(&app, &format!("{}/nowhere/{i}", up.base), "RS256", &token, AUD).await;
    }
    let r = verify(&app, &format!("{}/jwks", up.base), "RS256", &token, AUD).await;
    assert_eq!(r, json!({ "error": "jwks: an app may use the keys of at most 8 issuers" }));
    app.stop().await;
}
