//! JWTs signed with keys, against PyJWT (with `cryptography`) as the referee: for RS256, PS256,
//! ES256, ES384 and EdDSA, tokens PyJWT signs with a private key verify here with the public
//! key, and tokens signed here verify in PyJWT; a token signed by another key, or for another
//! algorithm, is refused — including the classic confusion of an HMAC token whose "secret" is
//! the public key's text — and a key of the wrong kind is a clear error.

use fitz_tests::python;
use fitz_tests::server::{Backend, TestApp};
use serde_json::json;

use fitz_host::runtime::app::Limits;

const APP: &str = r#"
let PRIVATE = secret("JWT_PRIVATE")
let PUBLIC = secret("JWT_PUBLIC")

@get("/sign?alg={alg}")
fn sign(alg: Str) -> Str => jwt.encode({"sub": "ada", "role": "admin"}, PRIVATE.expose(), alg)

@get("/verify?alg={alg}")
fn verify(headers: Map<Str, Str>, alg: Str) -> Map<Str, Str> {
    let token = match headers.get("x-token") {
        Ok(t) => t,
        Err(_) => "",
    }
    return match jwt.decode(token, PUBLIC.expose(), alg) {
        Ok(claims) => claims,
        Err(e) => ({ "error": e }),
    }
}
"#;

/// A private and a public key in PEM for `kind`: `rsa`, `ec256`, `ec384` or `ed25519`.
fn keys(kind: &str) -> (String, String) {
    let out = python::run(
        "import sys, json\n\
from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519\n\
from cryptography.hazmat.primitives import serialization as s\n\
k = {'rsa': lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), 'ec256': lambda: ec.generate_private_key(ec.SECP256R1()), 'ec384': lambda: ec.generate_private_key(ec.SECP384R1()), 'ed25519': ed25519.Ed25519PrivateKey.generate}[sys.argv[1]]()\n\
private = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode()\n\
public = k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo).decode()\n\
print(json.dumps([private, public]))",
        &[kind],
    );
    let pair: (String, String) = serde_json::from_str(&out).expect("two PEM keys");
    pair
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_with_keys_agree_with_pyjwt() {
    for (kind, algs) in [("rsa", &["RS256", "PS256", "RS512"][..]), ("ec256", &["ES256"][..]), ("ec384", &["ES384"][..]), ("ed25519", &["EdDSA"][..])] {
        let (private, public) = keys(kind);
        let (other_private, _) = keys(kind);
        let env = [("JWT_PRIVATE", private.as_str()), ("JWT_PUBLIC", public.as_str())];
        let app = TestApp::start(APP, Backend::Sqlite, &env, Limits::default()).await;
        for alg in algs {
            // Ours, checked by PyJWT with the public key.
            let token = app.get(&format!("/sign?alg={alg}"), None).await.body.as_str().expect("a token").to_string();
            let claims = python::jwt_decode(&token, &public, alg).unwrap_or_else(|e| panic!("{alg}: PyJWT refused our token: {e}"));
            assert_eq!((claims["sub"].as_str(), claims["role"].as_str()), (Some("ada"), Some("admin")), "{alg}");
            // PyJWT's, checked here.
            let theirs = python::jwt_encode(&json!({ "sub": "grace", "exp": now() + 60 }), &private, alg);
            let verify = |token: &str, alg: &str| app.send(app.client.get(app.url(&format!("/verify?alg={alg}"))).header("x-token", token));
            let r = verify(&theirs, alg).await;
            assert_eq!(r.body["sub"], "grace", "{alg}: {}", r.text);
            // Signed by another key: refused.
            let forged = python::jwt_encode(&json!({ "sub": "mallory", "exp": now() + 60 }), &other_private, alg);
            assert_eq!(verify(&forged, alg).await.body, json!({ "error": "invalid token signature" }), "{alg}");
            // HMAC over the public key's text, presented where a signature is pinned: refused.
            let confused = python::run(
                "import sys, json, hmac, hashlib, base64\n\
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b'=').decode()\n\
m = b(b'{\"alg\":\"HS256\",\"typ\":\"JWT\"}') + '.' + b(json.dumps({'sub': 'mallory', 'exp': int(sys.argv[2])}).encode())\n\
print(m + '.' + b(hmac.new(sys.argv[1].encode(), m.encode(), hashlib.sha256).digest()))",
                &[&public, &(now() + 60).to_string()],
            );
            assert_eq!(verify(&confused, alg).await.body, json!({ "error": "token signed with another algorithm" }), "{alg}");
        }
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_the_wrong_kind_is_named() {
    let (private, public) = keys("ec256");
    let env = [("JWT_PRIVATE", private.as_str()), ("JWT_PUBLIC", public.as_str())];
    let app = TestApp::start(APP, Backend::Sqlite, &env, Limits::default()).await;
    // An EC key where RSA is asked: signing fails its request (500), verifying is an `Err`.
    assert_eq!(app.get("/sign?alg=RS256", None).await.status, 500);
    let r = app.send(app.client.get(app.url("/verify?alg=RS256")).header("x-token", "a.b.c")).await;
    assert_eq!(r.body, json!({ "error": "the key for RS256 must be a public key in PEM" }));
    app.stop().await;
}

const PUBLISHING: &str = r#"
@server(jwks="JWT_PUBLIC,JWT_PUBLIC_OLD")
fn main() => 0

let PRIVATE = secret("JWT_PRIVATE")

@get("/sign?alg={alg}")
fn sign(alg: Str) -> Str => jwt.encode({"sub": "ada"}, PRIVATE.expose(), alg)
"#;

/// PyJWT verifies our tokens with the key `/.well-known/jwks.json` lists under the token's
/// `kid`, and the `kid`s are the keys' RFC 7638 thumbprints, computed here in Python.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_document_verifies_our_tokens_in_pyjwt() {
    for (kind, alg) in [("rsa", "RS256"), ("ec256", "ES256"), ("ed25519", "EdDSA")] {
        let (private, public) = keys(kind);
        let (_, old_public) = keys(kind);
        let env = [("JWT_PRIVATE", private.as_str()), ("JWT_PUBLIC", public.as_str()), ("JWT_PUBLIC_OLD", old_public.as_str())];
        let app = TestApp::start(PUBLISHING, Backend::Sqlite, &env, Limits::default()).await;
        let r = app.get("/.well-known/jwks.json", None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["cache-control"], "public, max-age=300");
        assert_eq!(r.body["keys"].as_array().map(Vec::len), Some(2), "both keys, newest first: {}", r.text);
        let token = app.get(&format!("/sign?alg={alg}"), None).await.body.as_str().expect("a token").to_string();
        let out = python::run(
            "import sys, json, jwt, hashlib, base64\n\
doc = json.loads(sys.argv[1]); token = sys.argv[2]; alg = sys.argv[3]\n\
req = {'RSA': ['e', 'kty', 'n'], 'EC': ['crv', 'kty', 'x', 'y'], 'OKP': ['crv', 'kty', 'x']}\n\
thumb = lambda k: base64.urlsafe_b64encode(hashlib.sha256(json.dumps({m: k[m] for m in req[k['kty']]}, separators=(',', ':'), sort_keys=True).encode()).digest()).rstrip(b'=').decode()\n\
assert all(k['kid'] == thumb(k) for k in doc['keys']), 'kid is not the RFC 7638 thumbprint'\n\
kid = jwt.get_unverified_header(token)['kid']\n\
key = next(k for k in doc['keys'] if k['kid'] == kid)\n\
assert key is doc['keys'][0], 'signed with the newest key'\n\
print(json.dumps(jwt.decode(token, jwt.PyJWK(key, algorithm=alg).key, algorithms=[alg])))",
            &[&r.text, &token, alg],
        );
        let claims: serde_json::Value = serde_json::from_str(&out).expect("claims");
        assert_eq!(claims["sub"], "ada", "{alg}");
        app.stop().await;
    }
    // A named secret that holds no key: the app does not start, and says which secret.
    let env = [("JWT_PRIVATE", "x"), ("JWT_PUBLIC", "not a key"), ("JWT_PUBLIC_OLD", "nor this")];
    let e = TestApp::start_at(PUBLISHING, "sqlite::memory:", &env).await.err().expect("refused");
    assert!(e.contains("secret JWT_PUBLIC is not a key in PEM") && !e.contains("not a key\""), "{e}");
}

/// A rotation: the verifying secret holds the new public key and the old one (its grace); the
/// token's `kid` picks the key. Once the old key is dropped from the bundle, its tokens are
/// refused, and a token naming a key nobody has is refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_verifies_during_its_grace_and_not_after() {
    let (new_private, new_public) = keys("rsa");
    let (old_private, old_public) = keys("rsa");
    let kid_of = |public: &str| fitz_host::host_fns::jwk::Jwk::from_pem(public).expect("a key").thumbprint();
    let signed = |private: &str, kid: &str| {
        python::run(
            "import sys, json, jwt\nprint(jwt.encode({'sub': sys.argv[3], 'exp': int(sys.argv[4])}, sys.argv[1], algorithm='RS256', headers={'kid': sys.argv[2]}))",
            &[private, kid, "grace", &(now() + 60).to_string()],
        )
    };
    let old_token = signed(&old_private, &kid_of(&old_public));
    let new_token = signed(&new_private, &kid_of(&new_public));
    let unknown = signed(&new_private, "no-such-key");
    let verify = async |app: &TestApp, token: &str| app.send(app.client.get(app.url("/verify?alg=RS256")).header("x-token", token)).await.body;

    let during = format!("{new_public}{old_public}");
    let env = [("JWT_PRIVATE", new_private.as_str()), ("JWT_PUBLIC", during.as_str())];
    let app = TestApp::start(APP, Backend::Sqlite, &env, Limits::default()).await;
    assert_eq!(verify(&app, &new_token).await["sub"], "grace");
    assert_eq!(verify(&app, &old_token).await["sub"], "grace", "the old key verifies during its grace");
    assert_eq!(verify(&app, &unknown).await, json!({ "error": "token signed with an unknown key" }));
    // Our own tokens name the new key, and verify.
    let ours = app.get("/sign?alg=RS256", None).await.body.as_str().expect("a token").to_string();
    assert_eq!(verify(&app, &ours).await["sub"], "ada");
    app.stop().await;

    let env = [("JWT_PRIVATE", new_private.as_str()), ("JWT_PUBLIC", new_public.as_str())];
    let app = TestApp::start(APP, Backend::Sqlite, &env, Limits::default()).await;
    assert_eq!(verify(&app, &new_token).await["sub"], "grace");
    assert_eq!(verify(&app, &old_token).await, json!({ "error": "invalid token signature" }), "after the grace, the old key's tokens are refused");
    app.stop().await;
}
