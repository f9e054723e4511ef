//! Other implementations as referees: Python's argon2-cffi hashes passwords the app must
//! accept, and PyJWT checks the app's tokens and signs tokens the app must accept. `.ci/run`
//! installs both; a machine without them fails these tests rather than skipping them.

use std::process::Command;

/// Runs a Python snippet with arguments (`sys.argv[1:]`); returns its stdout, trimmed.
pub fn run(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3").arg("-c").arg(script).args(args).output().expect("python3 runs");
    assert!(out.status.success(), "python failed (install the referees with `pip install argon2-cffi PyJWT`): {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `valid` when openapi-spec-validator accepts the OpenAPI document `json` (else the test
/// fails with the validator's complaint).
pub fn validate_openapi(json: &str) -> String {
    run_with_stdin("import sys, json\nfrom openapi_spec_validator import validate\nvalidate(json.load(sys.stdin))\nprint('valid')", json)
}

/// Runs a Python snippet with `input` on its stdin; returns its stdout, trimmed.
pub fn run_with_stdin(script: &str, input: &str) -> String {
    run_with_stdin_args(script, &[], input)
}

/// `run_with_stdin` with arguments (`sys.argv[1:]`).
pub fn run_with_stdin_args(script: &str, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("python's stdin");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// An Argon2id hash made by argon2-cffi with the OWASP parameters the app uses.
pub fn argon2_hash(password: &str) -> String {
    run("import sys\nfrom argon2 import PasswordHasher\nprint(PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1).hash(sys.argv[1]))", &[password])
}

/// PyJWT's decoding of `token` (signature, `exp` required), as JSON; `Err` with PyJWT's
/// exception name when it refuses the token.
pub fn jwt_decode(token: &str, secret: &str, alg: &str) -> Result<serde_json::Value, String> {
    let out = run(
        "import sys, json, jwt\ntry:\n    print(json.dumps(jwt.decode(sys.argv[1], sys.argv[2], algorithms=[sys.argv[3]], options={'require': ['exp']})))\nexcept Exception as e:\n    print('ERR ' + type(e).__name__)",
        &[token, secret, alg],
    );
    match out.strip_prefix("ERR ") {
        Some(e) => Err(e.to_string()),
        None => serde_json::from_str(&out).map_err(|e| e.to_string()),
    }
}

/// A token PyJWT signs with `claims` (a JSON object) and the given algorithm.
pub fn jwt_encode(claims: &serde_json::Value, secret: &str, alg: &str) -> String {
    run("import sys, json, jwt\nprint(jwt.encode(json.loads(sys.argv[1]), sys.argv[2], algorithm=sys.argv[3]))", &[&claims.to_string(), secret, alg])
}

/// The AsyncAPI 3.0.0 JSON schema as AsyncAPI publishes it (npm's `@asyncapi/specs`), fetched
/// with `npm pack` into the target directory the first time it is needed.
fn asyncapi_schema() -> std::path::PathBuf {
    const SPECS: &str = "@asyncapi/specs@6.11.1";
    let dir = crate::repo_root().join("target/referees/asyncapi-specs");
    let schema = dir.join("package/schemas/3.0.0-without-$id.json");
    if !schema.exists() {
        std::fs::create_dir_all(&dir).expect("referee directory");
        let out = Command::new("npm").args(["pack", SPECS, "--silent"]).current_dir(&dir).output().expect("npm runs (tests/run.sh installs it)");
        assert!(out.status.success(), "npm pack {SPECS}: {}", String::from_utf8_lossy(&out.stderr));
        let tarball = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let untar = Command::new("tar").args(["xzf", &tarball]).current_dir(&dir).status().expect("tar runs");
        assert!(untar.success() && schema.exists(), "unpacking {tarball}");
    }
    schema
}

/// `valid` when the AsyncAPI document `json` satisfies AsyncAPI's own 3.0.0 schema (checked
/// by Python's jsonschema), else the test fails with what does not.
pub fn validate_asyncapi(json: &str) -> String {
    let schema = asyncapi_schema();
    let script = "import sys, json, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  jsonschema.validators.validator_for(schema)(schema).validate(json.load(sys.stdin))\n\
                  print('valid')";
    run_with_stdin_args(script, &[schema.to_str().expect("a UTF-8 path")], json)
}
