//! The host imports: the only way out of the sandbox (DESIGN.md §5). The compiler emits imports
//! from this table and the host links from it; a test checks both sides cover it.

use crate::layout::SlotKind;

pub const FITZ: &str = "fitz";

/// The `DbConn` of the app's own database: what the host passes every `db: DbConn` parameter,
/// and what `db.connect(…)` answers.
pub const APP_DB_HANDLE: u32 = 1;
pub const WASI: &str = "wasi_snapshot_preview1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Import {
    HashPassword,
    HashVerify,
    JwtEncode,
    JwtDecode,
    JwtDecodeJwks,
    DbQuery,
    TxBegin,
    TxEnd,
    DbRaw,
    AuthBlacklist,
    AuthIsBlacklisted,
    AuthCleanupExpired,
    AuthIssue,
    AuthRefresh,
    AuthRevoke,
    Secret,
    EnvOr,
    Log,
    Fmt,
    Math,
    Sleep,
    Spawn,
    HttpRequest,
    HttpRequestMap,
    Flag,
    SmtpSend,
    TestRequest,
    ParseFloat,
    ParseTime,
    FdWrite,
    ClockTimeGet,
    RandomGet,
    ProcExit,
}

pub struct ImportSpec {
    pub import: Import,
    pub module: &'static str,
    pub name: &'static str,
    pub params: &'static [SlotKind],
    pub results: &'static [SlotKind],
    pub doc: &'static str,
}

use SlotKind::{F64, I32, I64};

/// Every import a module may have. Pointers are `i32`; strings, maps and results are objects
/// laid out as `crate::layout` says. The host allocates what it hands back the way
/// `fitz_alloc` does — 8-byte aligned, at the heap pointer stored at `HEAP_POINTER_ADDR`,
/// growing memory as needed — but by itself, without calling into the module.
pub const TABLE: &[ImportSpec] = &[
    ImportSpec {
        import: Import::HashPassword,
        module: FITZ,
        name: "hash_password",
        params: &[I32],
        results: &[I32],
        doc: "(password: Str) -> Str: Argon2id PHC string (m=19456 KiB, t=2, p=1)",
    },
    ImportSpec {
        import: Import::HashVerify,
        module: FITZ,
        name: "hash_verify",
        params: &[I32, I32],
        results: &[I32],
        doc: "(password: Str, phc: Str) -> Bool; a malformed hash is false",
    },
    ImportSpec {
        import: Import::JwtEncode,
        module: FITZ,
        name: "jwt_encode",
        params: &[I32, I32, I32],
        results: &[I32],
        doc: "(claims: Map<Str, Str>, secret: Str, alg: Str) -> Str; a bad algorithm or short secret traps",
    },
    ImportSpec {
        import: Import::JwtDecode,
        module: FITZ,
        name: "jwt_decode",
        params: &[I32, I32, I32],
        results: &[I32],
        doc: "(token: Str, secret: Str, alg: Str) -> Result<Map<Str, Str>>",
    },
    ImportSpec {
        import: Import::JwtDecodeJwks,
        module: FITZ,
        name: "jwt_decode_jwks",
        params: &[I32, I32, I32, I32, I32],
        results: &[I32],
        doc: "(token: Str, jwks_url: Str, alg: Str, issuer: Str, audience: Str) -> Result<Map<Str, Str>>: verified with the issuer's published keys, fetched under the app's egress policy and cached",
    },
    ImportSpec {
        import: Import::DbQuery,
        module: FITZ,
        name: "db_query",
        params: &[I32, I32, I32],
        results: &[I32],
        doc: "(db: DbConn, query: index into manifest.queries, params: record of the query's parameter types) -> Result<T>",
    },
    ImportSpec {
        import: Import::DbRaw,
        module: FITZ,
        name: "db_raw",
        params: &[I32, I32, I32, I32],
        results: &[I32],
        doc: "(db: DbConn, sql: Str, params: List<Any>, rows: Bool) -> Result<List<Map<Str, Any>>> (rows) or Result<Int> (rows changed): raw SQL, checked by the host before it runs",
    },
    ImportSpec {
        import: Import::TxBegin,
        module: FITZ,
        name: "tx_begin",
        params: &[I32],
        results: &[I32],
        doc: "(db: DbConn) -> Result<DbConn>: a transaction on a connection of its own, whose handle the queries then name; one at a time per run",
    },
    ImportSpec {
        import: Import::TxEnd,
        module: FITZ,
        name: "tx_end",
        params: &[I32, I32],
        results: &[I32],
        doc: "(tx: DbConn, commit: Bool) -> Result<Null>: COMMIT or ROLLBACK; the handle is spent",
    },
    ImportSpec {
        import: Import::AuthBlacklist,
        module: FITZ,
        name: "auth_blacklist",
        params: &[I32, I32, I64],
        results: &[I32],
        doc: "(db: DbConn, jti: Str, expires_at: Int) -> Result<Null>",
    },
    ImportSpec {
        import: Import::AuthIsBlacklisted,
        module: FITZ,
        name: "auth_is_blacklisted",
        params: &[I32, I32],
        results: &[I32],
        doc: "(db: DbConn, jti: Str) -> Result<Bool>; expired entries are ignored",
    },
    ImportSpec {
        import: Import::AuthCleanupExpired,
        module: FITZ,
        name: "auth_cleanup_expired",
        params: &[I32],
        results: &[I32],
        doc: "(db: DbConn) -> Result<Int>: rows removed (blacklist entries, and refresh-token families that expired or were revoked)",
    },
    ImportSpec {
        import: Import::AuthIssue,
        module: FITZ,
        name: "auth_issue",
        params: &[I32, I32, I32, I32],
        results: &[I32],
        doc: "(db: DbConn, claims: Map<Str, Str>, secret: Str, alg: Str) -> Result<TokenPair>: a new refresh-token family and its first pair",
    },
    ImportSpec {
        import: Import::AuthRefresh,
        module: FITZ,
        name: "auth_refresh",
        params: &[I32, I32, I32, I32],
        results: &[I32],
        doc: "(db: DbConn, refresh_token: Str, secret: Str, alg: Str) -> Result<TokenPair>: spends the token for a new pair; a spent token revokes its family (a retry within the grace window gets the same pair)",
    },
    ImportSpec {
        import: Import::AuthRevoke,
        module: FITZ,
        name: "auth_revoke",
        params: &[I32, I32],
        results: &[I32],
        doc: "(db: DbConn, refresh_token: Str) -> Result<Null>: revokes the token's family and blacklists its access tokens; an unknown token is no error",
    },
    ImportSpec {
        import: Import::Secret,
        module: FITZ,
        name: "secret",
        params: &[I32],
        results: &[I32],
        doc: "(name: Str) -> Secret<Str>; the host checked at load that every secret the manifest names is set",
    },
    ImportSpec { import: Import::EnvOr, module: FITZ, name: "env_or", params: &[I32, I32], results: &[I32], doc: "(name: Str, default: Str) -> Str" },
    ImportSpec {
        import: Import::Log,
        module: FITZ,
        name: "log",
        params: &[I32, I32, I32],
        results: &[],
        doc: "(level: 0 debug | 1 info | 2 warn | 3 error, message: Str, fields: Map<Str, Str>)",
    },
    ImportSpec {
        import: Import::Fmt,
        module: FITZ,
        name: "fmt",
        params: &[I32, I64, I32],
        results: &[I32],
        doc: "(kind: 0 Int | 1 Float (its bits) | 2 Str (its pointer), value, spec: Str) -> Str: the value laid out by a format spec (crate::format); a spec that does not parse or fit traps",
    },
    ImportSpec {
        import: Import::Math,
        module: FITZ,
        name: "math",
        params: &[F64, F64, I32],
        results: &[F64],
        doc: "(a, b, op: 0 pow) -> Float: what wasm has no instruction for, computed as Rust's f64 does; another op traps",
    },
    ImportSpec {
        import: Import::Sleep,
        module: FITZ,
        name: "sleep",
        params: &[I64],
        results: &[],
        doc: "(ms: Int): waits that long (none when negative); a request's or job's deadline still ends it",
    },
    ImportSpec {
        import: Import::Spawn,
        module: FITZ,
        name: "spawn",
        params: &[I32, I32, I32],
        results: &[I32],
        doc: "(task: index into the manifest's tasks, args: a block laid out as a record of the task's value parameters, wait: Bool) -> 0; with `wait`, a pointer to an 8-byte cell holding the task's value",
    },
    ImportSpec {
        import: Import::HttpRequest,
        module: FITZ,
        name: "http_request",
        params: &[I32, I32, I32, I32, I64],
        results: &[I32],
        doc: "(method: 0 GET, 1 HEAD, 2 DELETE, 3 POST, 4 PUT; url: Str; headers: Map<Str, Str>; body: Any or 0; timeout_ms: Int, 0 for the default) -> Result<HttpClientResponse>; the app's egress policy decides what it may reach",
    },
    ImportSpec {
        import: Import::HttpRequestMap,
        module: FITZ,
        name: "http_request_map",
        params: &[I32],
        results: &[I32],
        doc: "(options: Map<Str, Any>: method, url, headers, body, timeout_ms) -> Result<HttpClientResponse>, under the app's egress policy",
    },
    ImportSpec {
        import: Import::Flag,
        module: FITZ,
        name: "flag",
        params: &[I32],
        results: &[I32],
        doc: "(name: Str) -> Bool: whether feature flag `name` is on (the app's settings, else the manifest's default, else off)",
    },
    ImportSpec {
        import: Import::SmtpSend,
        module: FITZ,
        name: "smtp_send",
        params: &[I32],
        results: &[I32],
        doc: "(message: Map<Str, Str>) -> Result<SmtpResult>: sent through the app's SMTP settings, within its egress policy",
    },
    ImportSpec {
        import: Import::TestRequest,
        module: FITZ,
        name: "test_request",
        params: &[I32, I32, I32, I32, I32],
        results: &[I32],
        doc: "(method: 0 GET, 2 DELETE, 3 POST, 4 PUT, 5 PATCH; path: Str; headers: Map<Str, Str>; body: Any or 0; as_user: the provider's user record, or 0) -> TestResponse: the app's own route answers, in a sandbox of its own (only under `fitz test`)",
    },
    ImportSpec {
        import: Import::ParseFloat,
        module: FITZ,
        name: "parse_float",
        params: &[I32],
        results: &[I32],
        doc: "(text: Str) -> Result<Float>: the number the text spells, as Rust reads an f64",
    },
    ImportSpec {
        import: Import::ParseTime,
        module: FITZ,
        name: "parse_time",
        params: &[I32, I32],
        results: &[I32],
        doc: "(text: Str, kind) -> Result<Date> (kind 0: `YYYY-MM-DD`) or Result<DateTime> (kind 1: RFC 3339)",
    },
    ImportSpec {
        import: Import::FdWrite,
        module: WASI,
        name: "fd_write",
        params: &[I32, I32, I32, I32],
        results: &[I32],
        doc: "WASI: print to stdout (1) and runtime errors to stderr (2)",
    },
    ImportSpec { import: Import::ClockTimeGet, module: WASI, name: "clock_time_get", params: &[I32, I64, I32], results: &[I32], doc: "WASI: DateTime.now()" },
    ImportSpec { import: Import::RandomGet, module: WASI, name: "random_get", params: &[I32, I32], results: &[I32], doc: "WASI: Uuid.v4()" },
    ImportSpec { import: Import::ProcExit, module: WASI, name: "proc_exit", params: &[I32], results: &[], doc: "WASI: end the program after a runtime error (exit status 1)" },
];

pub fn spec(import: Import) -> &'static ImportSpec {
    TABLE.iter().find(|s| s.import == import).expect("every import is in the table")
}

pub fn find(module: &str, name: &str) -> Option<&'static ImportSpec> {
    TABLE.iter().find(|s| s.module == module && s.name == name)
}
