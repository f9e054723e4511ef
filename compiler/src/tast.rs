//! The typed tree the checker produces: names resolved to ids, every expression typed,
//! implicit conversions explicit, built-ins and ORM chains recognised. Lowering reads only
//! this.

use crate::ast::{BinOp, UnaryOp};
use crate::span::Span;
use crate::types::{RecordId, Type};

pub mod visit;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalId(pub u32);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GlobalId(pub u32);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnId(pub u32);

#[derive(Clone, Debug, Default)]
pub struct Program {
    pub records: Vec<RecordDef>,
    /// User functions first (in source order), then lambdas lifted out of them, and the
    /// top level as a function of its own (`main`).
    pub functions: Vec<FnDef>,
    pub globals: Vec<GlobalDef>,
    pub main: Option<FnId>,
    pub routes: Vec<Route>,
    pub auth: Option<AuthProvider>,
    pub crons: Vec<CronJob>,
    /// `@test` functions, in source order.
    pub tests: Vec<TestCase>,
    /// `@background` functions, in the order `spawn` numbers them.
    pub tasks: Vec<Task>,
    /// Post middlewares (`fn f(req: Request, resp: Response) -> Response`) and their entries.
    pub afters: Vec<Task>,
    /// Wrap middlewares' entries (`__fitz_wrap_f`) and the exports made for them.
    pub wraps: Vec<Task>,
    /// Names passed to `secret("…")`, sorted.
    pub secrets: Vec<String>,
    pub server: Option<ServerConfig>,
    /// `@command` programs: the dispatcher the host calls with the command line.
    pub cli: Option<FnId>,
}

/// `@server(…)`: what the manifest says of the server (`fitz run`'s defaults, docs, the JWT
/// leeway, static files), as the manifest says it.
pub type ServerConfig = guest_abi::manifest::Server;

#[derive(Clone, Debug)]
pub struct RecordDef {
    pub name: String,
    pub fields: Vec<FieldDef>,
    pub table: Option<TableDef>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct FieldDef {
    pub name: String,
    pub ty: Type,
    pub default: Option<TExpr>,
    /// `@hidden`: never serialised into responses.
    pub hidden: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TableDef {
    pub name: String,
    /// Index of the primary-key field.
    pub primary_key: usize,
    /// An `Int` key: written as `0` on insert, assigned by the database.
    pub auto_id: bool,
    /// `@has_many` fields (not columns), by field index.
    pub relations: Vec<(usize, guest_abi::manifest::Relation)>,
    /// `@belongs_to` columns, by field index.
    pub references: Vec<(usize, guest_abi::manifest::Reference)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FnKind {
    User,
    Lambda,
    Main,
}

#[derive(Clone, Debug)]
pub struct FnDef {
    pub name: String,
    pub kind: FnKind,
    pub is_async: bool,
    pub params: Vec<LocalId>,
    pub ret: Type,
    pub locals: Vec<LocalDef>,
    /// For a lambda: the locals of this function that receive the captured values, paired with
    /// the enclosing function's locals they copy.
    pub captures: Vec<(LocalId, LocalId)>,
    pub body: TExpr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct LocalDef {
    pub name: String,
    pub ty: Type,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct GlobalDef {
    pub name: String,
    pub ty: Type,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum RouteAuth {
    Public,
    Authenticated,
    /// `@admin` and stacked `@requires`: any of these roles.
    Roles(Vec<String>),
}

/// Where the value of one handler parameter comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Binding {
    Path {
        name: String,
    },
    Query {
        name: String,
        optional: bool,
    },
    Body,
    Db,
    Headers,
    User,
    /// The built-in `Request`.
    Request,
    /// A `@ws` handler's `WsConn`.
    Ws,
    /// `@header(name=…)` / `@cookie(name=…)`: `name` is the header (lower case) or cookie.
    Carried {
        carrier: crate::check::decorators::Carrier,
        name: String,
        optional: bool,
    },
}

#[derive(Clone, Debug)]
pub struct Route {
    pub method: Method,
    /// The path template without the query part, e.g. `/users/{id}`.
    pub path: String,
    pub handler: FnId,
    /// One per handler parameter, in order.
    pub bindings: Vec<Binding>,
    pub auth: RouteAuth,
    /// Statuses of `return STATUS BODY` in the handler.
    pub statuses: Vec<u16>,
    /// `@middleware(cors(…))`.
    pub cors: Option<guest_abi::manifest::Cors>,
    /// `@flag("name")`.
    pub flag: Option<String>,
    /// Post middlewares, in the order they run on the handler's answer (the nearest first).
    pub after: Vec<FnId>,
    /// Wrap middlewares' entries, outermost first.
    pub wrap: Vec<FnId>,
    /// `@ws`: what the connection receives and sends.
    pub ws: Option<(Type, Type)>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct AuthProvider {
    pub func: FnId,
    pub user: RecordId,
    pub takes_db: bool,
    /// `@roles(…)`: each declared role and the roles below it.
    pub hierarchy: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
}

#[derive(Clone, Debug)]
pub struct CronJob {
    pub func: FnId,
    pub name: String,
    /// The expression as written.
    pub expr: String,
    /// Normalised to six fields, seconds first.
    pub schedule: String,
    pub takes_db: bool,
}

/// A `@test` function: run by `fitz test` against a fresh database of the app.
#[derive(Clone, Debug)]
pub struct TestCase {
    pub func: FnId,
    pub name: String,
    pub takes_db: bool,
}

/// A `@background` function and the entry the host calls it through (a wrapper that returns
/// an outcome, so the function stays an ordinary one for its other callers).
#[derive(Clone, Debug)]
pub struct Task {
    pub func: FnId,
    pub name: String,
    pub entry: FnId,
}

#[derive(Clone, Debug)]
pub struct TBlock {
    pub stmts: Vec<TStmt>,
    pub span: Span,
    /// The locals `[start, end)` that die with the block (a built-in method's body inlined at
    /// its call): the lowering lets later code reuse their wasm locals, so a function with
    /// thousands of such calls stays within wasm's limit on locals.
    pub scoped: Option<(u32, u32)>,
}

#[derive(Clone, Debug)]
pub enum TStmt {
    Let {
        local: LocalId,
        value: TExpr,
    },
    /// `let (a, b) = value`: a value that does not match stops the program (or request).
    LetPattern {
        pattern: TPattern,
        value: TExpr,
        span: Span,
    },
    Assign {
        place: Place,
        op: Option<BinOp>,
        value: TExpr,
        span: Span,
    },
    Expr(TExpr),
    While {
        cond: TExpr,
        body: TBlock,
    },
    For {
        binding: ForBinding,
        iter: TExpr,
        body: TBlock,
    },
    Loop {
        body: TBlock,
    },
}

#[derive(Clone, Debug)]
pub enum ForBinding {
    One(Option<LocalId>),
    /// `for (k, v) in map`
    Pair(Option<LocalId>, Option<LocalId>),
}

#[derive(Clone, Debug)]
pub enum Place {
    Local(LocalId),
    Global(GlobalId),
    Index { base: Box<TExpr>, index: Box<TExpr> },
    Field { base: Box<TExpr>, record: RecordId, field: usize },
}

#[derive(Clone, Debug)]
pub struct TExpr {
    pub kind: TExprKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TStrPart {
    Text(String),
    Value { expr: TExpr, spec: Option<String> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coercion {
    IntToFloat,
    /// `T` to `T?`
    ToNullable,
    /// A value boxed as an `Any`.
    ToAny,
    /// An `Any` taken as the expression's type, checked at run time.
    FromAny,
}

/// What `?` does with an `Err`, decided by where it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryExit {
    /// Return the `Err` from the enclosing function.
    Return,
    /// End the HTTP request with 500 `{"error": …}`.
    Respond500,
    /// Stop the program (top level) or the cron tick, reporting the error.
    Abort,
}

#[derive(Clone, Debug)]
pub enum TExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Str(String),
    Bytes(Vec<u8>),
    Interp(Vec<TStrPart>),
    Local(LocalId),
    Global(GlobalId),
    /// A user function used as a value.
    FnRef(FnId),
    List(Vec<TExpr>),
    Tuple(Vec<TExpr>),
    Map(Vec<(TExpr, TExpr)>),
    /// Field values in declaration order, defaults already filled in.
    Record {
        record: RecordId,
        fields: Vec<TExpr>,
    },
    Unary {
        op: UnaryOp,
        expr: Box<TExpr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<TExpr>,
        rhs: Box<TExpr>,
    },
    Call {
        func: FnId,
        args: Vec<TExpr>,
    },
    CallValue {
        callee: Box<TExpr>,
        args: Vec<TExpr>,
    },
    Builtin {
        builtin: Builtin,
        args: Vec<TExpr>,
    },
    Field {
        expr: Box<TExpr>,
        record: RecordId,
        field: usize,
    },
    TupleField {
        expr: Box<TExpr>,
        index: u32,
    },
    Index {
        expr: Box<TExpr>,
        index: Box<TExpr>,
    },
    Try {
        expr: Box<TExpr>,
        exit: TryExit,
    },
    Await(Box<TExpr>),
    /// `spawn(f(args))`: `call` is the `Call` of task `task`'s function; with `wait` (written
    /// `spawn(…).await`) the run waits for the task's value, otherwise the task runs on its own.
    Spawn {
        task: u32,
        call: Box<TExpr>,
        wait: bool,
    },
    Lambda {
        func: FnId,
        captures: Vec<LocalId>,
    },
    If {
        cond: Box<TExpr>,
        then: TBlock,
        otherwise: Option<Box<TExpr>>,
    },
    Match {
        scrutinee: Box<TExpr>,
        arms: Vec<TArm>,
    },
    /// A block's value is its last expression statement, or `null`.
    Block(TBlock),
    Range {
        start: Box<TExpr>,
        end: Box<TExpr>,
        inclusive: bool,
    },
    Return(Option<Box<TExpr>>),
    ReturnStatus {
        status: u16,
        body: Box<TExpr>,
    },
    /// Out of the loop `depth` loops out from the innermost (0), with the value of a `loop`
    /// used as a value.
    Break {
        depth: u32,
        value: Option<Box<TExpr>>,
    },
    Continue {
        depth: u32,
    },
    /// A `loop` used as a value: what its `break`s carry.
    Loop(TBlock),
    Coerce {
        expr: Box<TExpr>,
        coercion: Coercion,
    },
    /// A finished ORM chain: the query template and the guest-computed parameters.
    Query {
        record: RecordId,
        query: Box<guest_abi::query::Query>,
        db: Box<TExpr>,
        params: Vec<TExpr>,
    },
    Error,
}

#[derive(Clone, Debug)]
pub struct TArm {
    pub pattern: TPattern,
    pub guard: Option<TExpr>,
    pub body: TExpr,
}

#[derive(Clone, Debug)]
pub enum TPattern {
    Wildcard,
    Bind(LocalId),
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
    Ok(Box<TPattern>),
    Err(Box<TPattern>),
    Range { start: i64, end: i64, inclusive: bool },
    Or(Vec<TPattern>),
    Tuple(Vec<TPattern>),
}

/// Built-in functions and methods, resolved by the checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    Print,
    Len,
    /// A wrap middleware's `next()`.
    MwNext,
    /// `ws_broadcast(endpoint, message) -> Int`
    WsBroadcast,
    /// `n` bytes of host entropy (`rand.bytes(n)`'s, `n` checked in range).
    RandBytes,
    /// `b.len()`: the number of bytes (a `Str`'s `len` counts characters).
    BytesLen,
    /// What the `bytes` import does (`guest_abi::imports`).
    Bytes(BytesOp),
    EnvOr,
    Secret,
    Ok,
    Err,
    HashPassword,
    HashVerify,
    JwtEncode,
    JwtDecode,
    /// `jwt.decode_jwks(token, jwks_url, alg, issuer, audience) -> Future<Result<Map<Str, Str>>>`
    JwtDecodeJwks,
    AuthBlacklist,
    AuthIsBlacklisted,
    AuthCleanupExpired,
    /// `(db) -> Result<DbConn>`: a transaction begun (prelude primitive of `db.transaction`).
    TxBegin,
    /// `(tx, commit) -> Result<Null>`: the transaction committed or rolled back.
    TxEnd,
    /// `db.connect(url) -> Future<Result<DbConn>>` (and `conn.connect(url)`): the app's own
    /// database, whatever the URL names (the host owns the database).
    DbConnect,
    /// `conn.recv() -> Future<Result<In>>`: the next message of a `@ws` connection.
    WsRecv,
    /// `conn.send(m)` (`broadcast: false`) and `conn.broadcast(m)` (to every connection of the
    /// endpoint, the sender's too) `-> Future<Result<Null>>`.
    WsSend {
        broadcast: bool,
    },
    /// `conn.close() -> Future<Null>`.
    WsClose,
    /// `conn.exec(sql, params)` (`rows: false`, the rows changed) and `conn.query(sql, params)`
    /// (`rows: true`, `List<Map<Str, Any>>`): raw SQL the host checks before it runs.
    DbRaw {
        rows: bool,
    },
    /// `auth.issue(db, claims, secret, alg) -> Future<Result<TokenPair>>`
    AuthIssue,
    /// `auth.refresh(db, refresh_token, secret, alg) -> Future<Result<TokenPair>>`
    AuthRefresh,
    /// `auth.revoke(db, refresh_token) -> Future<Result<Null>>`
    AuthRevoke,
    DateTimeNow,
    UuidV4,
    Log(LogLevel),
    // methods: the receiver is the first argument
    SecretExpose,
    DateTimeTimestamp,
    UuidToStr,
    StrLen,
    StrSplit,
    StrContains,
    StrStartsWith,
    StrEndsWith,
    StrTrim,
    StrUpper,
    StrLower,
    StrReplace,
    StrIsEmpty,
    /// `List<Str>` of the characters.
    StrChars,
    /// `(s, part)` → the character index of the first (or last) occurrence, or -1.
    StrIndexOf {
        last: bool,
    },
    /// `(list, n)`: drops the items from `n` on (prelude primitive).
    ListTruncate,
    /// Parts of a `Range` (prelude primitives).
    RangeStart,
    RangeEnd,
    RangeInclusive,
    /// `(receiver, message)`: a runtime error at the call (prelude primitive).
    Fail,
    /// Global numeric functions the machine does directly.
    Num(NumOp),
    /// `sleep(ms) -> Future<Null>`
    Sleep,
    /// `flag(name) -> Bool`
    Flag,
    /// `http.request({…})`: upstream's map form.
    HttpRequestMap,
    /// `smtp.send(message) -> Future<Result<SmtpResult>>`
    SmtpSend,
    /// `http.get(url, headers, timeout_ms)` and its siblings (`method` as the import numbers
    /// them); `body`: the call takes a body (`post`, `put`) as its second argument.
    Http {
        method: u8,
        body: bool,
    },
    /// `test.get(path, headers)` and its siblings (`fitz test`'s client of the app's own
    /// routes): `method` as `Http` numbers them, 5 for PATCH.
    TestRequest {
        method: u8,
        body: bool,
    },
    /// `any.type_name() -> Str`
    AnyTypeName,
    /// `(text) -> Result<Float>`
    StrToFloat,
    /// `(receiver, message)`: a line on stderr (prelude primitive).
    Eprint,
    /// `rand.seeded(seed) -> RandGen`
    RandSeeded,
    /// A generator seeded from the host's entropy (prelude primitive behind `rand.*`).
    RandFresh,
    /// `(gen) -> Int`: the next SplitMix64 output (prelude primitive).
    RandNext,
    /// `(a, b) -> Int`: unsigned remainder (prelude primitive).
    IntURem,
    /// `(bits) -> Float`: the top 53 bits as a fraction in [0, 1) (prelude primitive).
    UnitFloat,
    /// `(x: Float, spec: Str) -> Str`: a format spec known only at run time (prelude primitive).
    FmtWith,
    /// The same bits as another type (`Date` ↔ days, `DateTime` ↔ microseconds; prelude primitive).
    Reinterpret,
    /// `(text) -> Result<Date>` or `Result<DateTime>`, read by the host (prelude primitive).
    ParseTime {
        datetime: bool,
    },
    ListLen,
    /// `(list, start, end)`, a copy of `[start, end)`: negative bounds count from the end,
    /// and both are clamped to the list, as Python's slices are.
    ListSlice,
    /// `(str, start, end)`, as `ListSlice` by characters.
    StrSlice,
    ListPush,
    ListMap,
    ListFilter,
    ListFind,
    ListAny,
    ListAll,
    ListContains,
    ListFirst,
    ListLast,
    ListJoin,
    MapGet,
    MapHas,
    MapKeys,
    MapValues,
    MapLen,
}

/// The operations of the `bytes` import, by their number there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BytesOp {
    /// `b.to_str() -> Result<Str>`
    ToStr = 0,
    /// `bytes_from_b64(s) -> Result<Bytes>`
    FromB64 = 1,
    /// `bytes_from_hex(s) -> Result<Bytes>`
    FromHex = 2,
    /// How `print` shows a `Bytes`: `b"…"`.
    Show = 3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumOp {
    /// `sqrt(Float) -> Float`
    Sqrt,
    /// `ceil`, `floor`, `round` (half away from zero): `Float -> Int`, saturating.
    Ceil,
    Floor,
    Round,
    /// `pow(Float, Float) -> Float`, by the host (`math` import).
    Pow,
    Popcount,
    LeadingZeros,
    TrailingZeros,
    RotateLeft,
    RotateRight,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}
