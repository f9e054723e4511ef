//! The manifest: a JSON custom section `fitz.manifest` in every module, describing all the host
//! needs (DESIGN.md §3). A module is self-describing; the host needs nothing else.

use serde::{Deserialize, Serialize};

use crate::query::Query;
use crate::types::{RecordType, ValueType};

pub const SECTION: &str = "fitz.manifest";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub abi_version: u32,
    /// The source file name, for messages.
    pub source: String,
    /// Every file of a program of several modules (the entry, `source`, first), by their
    /// paths from the project's root; empty for a program of one file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    pub records: Vec<RecordType>,
    pub routes: Vec<Route>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthProvider>,
    pub crons: Vec<Cron>,
    /// `@test` functions (`fitz test` runs them; a server never does).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<Test>,
    /// `@background` functions, by the index `spawn` names them with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    /// Post middlewares the routes name (`Route::after`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub afters: Vec<After>,
    /// Wrap middlewares the routes name (`Route::wrap`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wraps: Vec<Wrap>,
    pub tables: Vec<Table>,
    pub queries: Vec<QuerySpec>,
    /// Names passed to `secret("…")`; the host refuses to start without them.
    pub secrets: Vec<String>,
    /// `@server(port, host)`: where `fitz run` listens unless its flags or environment say
    /// otherwise. A multi-tenant host does not read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<Server>,
    /// The types `Any` values of this module hold, by tag (the first `layout::ANY_JSON_TYPES`
    /// are `types::any_json_types()`); empty when it uses no `Any`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any: Vec<crate::types::ValueType>,
    /// An `@command` program: `fitz run` passes it the command line (`exports::CLI`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cli: bool,
    /// Feature flags and their defaults (`fitz.toml`'s `[flags]`); a flag not listed is off
    /// unless the app's settings turn it on (`FITZ_FLAG_<NAME>`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub flags: std::collections::BTreeMap<String, bool>,
}

impl Manifest {
    /// A module that declares nothing: no routes, types, jobs, queries or secrets.
    pub fn empty(source: &str) -> Manifest {
        Manifest {
            abi_version: crate::ABI_VERSION,
            source: source.to_string(),
            sources: vec![],
            records: vec![],
            routes: vec![],
            auth: None,
            crons: vec![],
            tests: vec![],
            tasks: vec![],
            afters: vec![],
            wraps: vec![],
            tables: vec![],
            queries: vec![],
            secrets: vec![],
            server: None,
            any: vec![],
            cli: false,
            flags: Default::default(),
        }
    }

    /// The type tables a value of this module's types is read and written with.
    pub fn types(&self) -> crate::value::Types<'_> {
        crate::value::Types { records: &self.records, any: &self.any }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Server {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `docs=false`: the app serves no `/openapi.json` or `/docs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<bool>,
    /// The OpenAPI document's `info.version` (default `1.0.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Seconds of clock skew `jwt.decode` allows on `exp` and `nbf` (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_leeway: Option<u64>,
    /// `static_dir`: the folder (relative to the program) whose files `fitz build` bundled
    /// into the module's `fitz.static` section (`statics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_dir: Option<String>,
    /// Where those files are served (`/static` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_prefix: Option<String>,
    /// `jwks="JWT_PUBLIC,JWT_PUBLIC_OLD"`: the secrets holding the keys (PEM) served at
    /// `/.well-known/jwks.json`, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jwks: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub method: String,
    /// Path template, e.g. `/users/{id}`.
    pub path: String,
    pub handler: String,
    pub export: String,
    pub params: Vec<Param>,
    pub auth: RouteAuth,
    /// The declared return type (site 0 of the outcome).
    pub returns: ValueType,
    /// `return STATUS BODY` sites.
    pub responses: Vec<Response>,
    /// `@middleware(cors(…))`: other origins may call this route from a browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<Cors>,
    /// `@flag("name")`: while the flag is off the route answers 404, before anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// Post middlewares, by index into `Manifest::afters`, in the order they run on the
    /// handler's answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<u32>,
    /// Wrap middlewares (upstream's `fn f(req: Request, next: Fn() -> Response) -> Response`),
    /// by index into `Manifest::wraps`, outermost first: the host calls the first with the
    /// `Request`, and each one's `next()` (the `mw_next` import) runs the rest of the chain —
    /// the next wrap, or the handler and its post middlewares — in a sandbox of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrap: Vec<u32>,
    /// For a handler answering the built-in `Response`: the content types its `Response { … }`
    /// literals name (OpenAPI lists them); empty when one names it otherwise than literally.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<Media>,
    /// `@ws`: the route upgrades to a WebSocket whose text messages are JSON of `receives`
    /// (in) and `sends` (out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ws: Option<WsSpec>,
}

/// A content type a handler's `Response` answers with, and whether its body is `body_bytes`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Media {
    pub content_type: String,
    pub binary: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WsSpec {
    pub receives: ValueType,
    pub sends: ValueType,
}

/// A post middleware (upstream's `fn f(req: Request, resp: Response) -> Response`): the host
/// calls `export` with the request and the answer so far, in the same run, and sends the
/// `Response` it returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct After {
    pub name: String,
    pub export: String,
}

/// A wrap middleware: the host calls `export` with the request; it answers a `Response`, or
/// early with `return STATUS BODY` at one of its `responses` sites, as a handler does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Wrap {
    pub name: String,
    pub export: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<Response>,
}

/// A route's CORS policy (upstream's `cors()` keys). The host answers the preflight and adds
/// the `Access-Control-*` headers; it checks every part when it loads the module.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cors {
    /// `*`, or one origin (`https://app.example.com`).
    pub allow_origin: String,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u32>,
    /// Cookies and `Authorization` travel (never with `*`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_credentials: bool,
}

/// `scheme://host[:port]`, as an `Origin` header carries it (http or https).
pub fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else { return false };
    let host = match rest.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) => h,
        Some(_) if !rest.starts_with('[') => return false,
        _ => rest,
    };
    matches!(scheme, "http" | "https") && !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
}

/// RFC 9110's token: what a header name (or a cookie's) may be.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Cors {
    /// What makes this policy unusable, if anything: every part goes into a header.
    pub fn problem(&self) -> Option<String> {
        if self.allow_origin != "*" && !is_origin(&self.allow_origin) {
            return Some(format!("CORS origin {:?} is not `*` or an origin", self.allow_origin));
        }
        if self.allow_credentials && self.allow_origin == "*" {
            return Some("CORS credentials with origin `*`".into());
        }
        if let Some(m) = self.allow_methods.iter().chain(&self.allow_headers).find(|m| !is_token(m)) {
            return Some(format!("CORS method or header {m:?} is not a token"));
        }
        (self.allow_methods.len() + self.allow_headers.len() > 64).then(|| "more than 64 CORS methods and headers".into())
    }

    /// Upstream's `cors()` with no arguments: any origin, the common methods, the two headers
    /// an API needs.
    pub fn permissive() -> Cors {
        Cors {
            allow_origin: "*".into(),
            allow_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"].map(String::from).to_vec(),
            allow_headers: ["content-type", "authorization"].map(String::from).to_vec(),
            max_age: None,
            allow_credentials: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Param {
    Path {
        name: String,
        #[serde(rename = "type")]
        ty: ValueType,
    },
    Query {
        name: String,
        #[serde(rename = "type")]
        ty: ValueType,
    },
    Body {
        name: String,
        #[serde(rename = "type")]
        ty: ValueType,
    },
    Db {
        name: String,
    },
    Headers {
        name: String,
    },
    User {
        name: String,
        #[serde(rename = "type")]
        ty: ValueType,
    },
    /// `@header(name=…)`: the request header `header` (lower case), a `Str`, or a `Str?`
    /// (null when absent; for a `Str`, absent is a 400).
    Header {
        name: String,
        header: String,
        #[serde(rename = "type")]
        ty: ValueType,
    },
    /// A `@ws` handler's connection: a handle the host gives (`Route::ws`).
    Ws {
        name: String,
    },
    /// The built-in `Request` (`response::is_request`): method, path, headers, query,
    /// cookies and the client's address.
    Request {
        name: String,
        #[serde(rename = "type")]
        ty: ValueType,
    },
    /// `@cookie(name=…)`: the request cookie `cookie`, as `Header`.
    Cookie {
        name: String,
        cookie: String,
        #[serde(rename = "type")]
        ty: ValueType,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RouteAuth {
    Public,
    Authenticated,
    /// `@admin` (role "admin") and stacked `@requires`: any of these.
    Roles {
        roles: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub site: u32,
    pub status: u16,
    #[serde(rename = "type")]
    pub ty: ValueType,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthProvider {
    pub function: String,
    pub export: String,
    /// The user record type; the export returns `Result<user>` at site 0.
    pub user: u32,
    pub takes_db: bool,
    pub responses: Vec<Response>,
    /// `@roles(…)`: each declared role with the roles below it, which it also passes as.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hierarchy: Vec<RoleBelow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleBelow {
    pub role: String,
    pub below: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cron {
    pub name: String,
    pub export: String,
    /// As written.
    pub expr: String,
    /// Six fields, seconds first.
    pub schedule: String,
    pub takes_db: bool,
    pub returns: ValueType,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Test {
    pub name: String,
    pub export: String,
    pub takes_db: bool,
    pub returns: ValueType,
}

/// The setting that turns feature flag `name` on or off: `FITZ_FLAG_` and the name in upper
/// case with `-` as `_` (upstream's).
pub fn flag_setting(name: &str) -> String {
    format!("FITZ_FLAG_{}", name.to_ascii_uppercase().replace('-', "_"))
}

/// Whether flag `name` is on: its setting when it is one of `1 true on yes` / `0 false off no`,
/// else the manifest's default, else off.
pub fn flag_enabled(flags: &std::collections::BTreeMap<String, bool>, setting: Option<&str>, name: &str) -> bool {
    match setting.map(|v| v.trim().to_ascii_lowercase()) {
        Some(v) if ["1", "true", "on", "yes"].contains(&v.as_str()) => true,
        Some(v) if ["0", "false", "off", "no"].contains(&v.as_str()) => false,
        _ => flags.get(name).copied().unwrap_or(false),
    }
}

/// A `@background` function: run by `spawn` in a sandbox of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub name: String,
    pub export: String,
    pub params: Vec<TaskParam>,
    pub returns: ValueType,
}

impl Task {
    /// The types of the values `spawn` passes, in order (the `DbConn`s are the host's).
    pub fn value_types(&self) -> Vec<ValueType> {
        self.params.iter().filter_map(|p| if let TaskParam::Value { ty, .. } = p { Some(ty.clone()) } else { None }).collect()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TaskParam {
    /// The app's database.
    Db { name: String },
    /// A value the spawning run passes, copied out of its memory.
    Value { name: String, ty: ValueType },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub record: u32,
    pub primary_key: String,
    /// An `Int` key written as 0 on insert is assigned by the database.
    pub auto_id: bool,
    /// The record's fields that are columns, in order (its `@has_many` fields are not).
    pub columns: Vec<Column>,
    /// `@has_many` fields: filled by `preload` from another table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relations: Vec<Relation>,
}

impl Table {
    /// For each column, the index of its field in `record`; `None` when a column names no field.
    pub fn column_fields(&self, record: &RecordType) -> Option<Vec<usize>> {
        self.columns.iter().map(|c| record.fields.iter().position(|f| f.name == c.name)).collect()
    }
}

/// `@has_many("Post", via="user_id") posts: List<Post>`: the rows of `table` whose column
/// `foreign_key` holds this row's primary key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    pub field: String,
    pub table: String,
    pub foreign_key: String,
}

/// `@belongs_to("User")`: the column's values are keys of `table`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub table: String,
    pub column: String,
    /// `cascade`, `restrict`, `set null` or `no action` (the database's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ValueType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<Reference>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuerySpec {
    pub query: Query,
    pub record: u32,
    /// Types of the run-time parameters, in order; passed as a record laid out like one.
    pub params: Vec<ValueType>,
    /// The `T` of the `Result<T>` the query returns.
    pub result: ValueType,
}

impl Manifest {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the manifest out of a module's bytes. Its nesting is bounded before it is parsed:
    /// a type nested a hundred deep is valid JSON, and parsing and walking it would take the
    /// reader's stack.
    pub fn from_module(wasm: &[u8]) -> Result<Manifest, ManifestError> {
        let bytes = custom_section(wasm, SECTION).ok_or(ManifestError::Missing)?;
        if json_depth(bytes) > MAX_DEPTH {
            return Err(ManifestError::Invalid(format!("it nests deeper than {MAX_DEPTH} levels")));
        }
        serde_json::from_slice(bytes).map_err(|e| ManifestError::Invalid(e.to_string()))
    }
}

/// How deep a manifest's JSON may nest; a type such as `List<List<…>>` adds a level per
/// constructor, and programs stay far below this.
pub const MAX_DEPTH: usize = 48;

/// The deepest nesting of arrays and objects in JSON text (strings skipped).
fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[derive(Clone, Debug, PartialEq)]
pub enum ManifestError {
    Missing,
    Invalid(String),
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManifestError::Missing => write!(f, "the module has no `{SECTION}` section"),
            ManifestError::Invalid(e) => write!(f, "the `{SECTION}` section is not a valid manifest: {e}"),
        }
    }
}

impl std::error::Error for ManifestError {}

fn leb_u32(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    let mut result: u32 = 0;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        result |= u32::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(result);
        }
    }
    None
}

/// The payload of the first custom section called `name`, walking the section headers only.
pub fn custom_section<'a>(wasm: &'a [u8], name: &str) -> Option<&'a [u8]> {
    if wasm.get(0..4)? != b"\0asm" {
        return None;
    }
    let mut pos = 8;
    while pos < wasm.len() {
        let id = wasm[pos];
        pos += 1;
        let size = leb_u32(wasm, &mut pos)? as usize;
        let end = pos.checked_add(size)?;
        let payload = wasm.get(pos..end)?;
        if id == 0 {
            let mut p = 0;
            let len = leb_u32(payload, &mut p)? as usize;
            if payload.get(p..p + len)? == name.as_bytes() {
                return payload.get(p + len..);
            }
        }
        pos = end;
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert_eq!(super::json_depth(br#"{"a": [1, {"b": "[[[{{{"}], "c": "\"]"}"#), 3);
        assert_eq!(super::json_depth(b"[]"), 1);
        assert_eq!(super::json_depth(b"1"), 0);
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert_eq!(super::json_depth(deep.as_bytes()), 100);
    }
}
