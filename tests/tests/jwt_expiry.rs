//! `jwt.encode` on claims without `exp`, as upstream's own auth examples sign: the token gets
//! one (a day, or the app's `FITZ_JWT_TTL`), which PyJWT, requiring `exp`, accepts and reads.

use fitz_tests::{compile_and_run_with, python, test_env};

#[test]
fn tokens_signed_without_expiry_expire_after_the_apps_lifetime() {
    let program = "key = secret(\"TEST_SECRET\").expose()\nprint(jwt.encode({ \"sub\": \"ada\", \"role\": \"admin\" }, key))\n";
    let secret = &test_env()["TEST_SECRET"];
    for (env, ttl) in [(vec![], 24 * 3600), (vec![("FITZ_JWT_TTL", "600")], 600)] {
        let (code, out, err) = compile_and_run_with(program, "sign.fitz", &env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(code, 0, "{err}");
        let claims = python::jwt_decode(out.trim(), secret, "HS256").expect("PyJWT accepts the token: it has an exp");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
        let exp = claims["exp"].as_i64().expect("a numeric exp");
        assert!((exp - now - ttl).abs() <= 5, "{ttl} s from now: {exp} vs {now}");
        assert_eq!(claims["sub"], "ada");
    }
}
