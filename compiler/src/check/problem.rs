//! Everything the checker can find wrong, as data: spans and the facts a good message needs.
//! The words are in `crate::messages`.

use crate::span::Span;
use crate::types::Type;

/// Where a type was expected, for the wording of a mismatch.
#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// No particular reason worth naming.
    Plain,
    Argument {
        callee: String,
        index: usize,
    },
    Return {
        fn_name: String,
    },
    Let {
        name: String,
    },
    Assign,
    Condition,
    Field {
        record: String,
        field: String,
    },
    ListElement,
    MapKey,
    MapValue,
    MatchArm,
    IfBranch,
    Default {
        name: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum PathProblem {
    NoLeadingSlash,
    UnclosedBrace,
    EmptyName,
    PartialSegment,
    DuplicateParam(String),
    QueryKeyMismatch { key: String, param: String },
    BadQueryPair(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ProviderProblem {
    Params,
    ReturnNotAnnotated,
    ReturnNotResult(Type),
    UserNotRecord(Type),
}

#[derive(Clone, Debug, PartialEq)]
pub enum CronProblem {
    Interval(String),
    FieldCount(usize),
    Field { field: &'static str, value: String, reason: &'static str },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    // ---- names
    UnknownName {
        name: String,
        span: Span,
        suggestion: Option<String>,
    },
    UnknownType {
        name: String,
        span: Span,
        suggestion: Option<String>,
    },
    UnknownField {
        ty: Type,
        field: String,
        span: Span,
        suggestion: Option<String>,
    },
    MethodNeeds {
        method: String,
        ty: Type,
        what: &'static str,
        span: Span,
    },
    ReservedLogField {
        name: String,
        span: Span,
    },
    CommandReturn {
        command: String,
        ty: Type,
        span: Span,
    },
    CommandParam {
        name: String,
        span: Span,
    },
    CommandRestNotLast {
        span: Span,
    },
    CommandShortFlag {
        flag: char,
        first: String,
        second: String,
        span: Span,
    },
    /// An option's default that is not a literal (the help prints it, the parser starts from it).
    CommandDefault {
        span: Span,
    },
    /// A user's function named like the ones the compiler writes.
    ReservedName {
        name: String,
        span: Span,
    },
    UnknownMethod {
        ty: Type,
        method: String,
        span: Span,
        suggestion: Option<String>,
    },
    Duplicate {
        what: &'static str,
        name: String,
        span: Span,
        first: Span,
    },
    AssignToUndeclared {
        name: String,
        span: Span,
    },
    /// `break 'name` or `continue 'name` with no enclosing loop of that label.
    UnknownLabel {
        name: String,
        span: Span,
    },
    /// `break value` out of a loop whose value is not used (or that is not a `loop`).
    BreakValueUnused {
        span: Span,
    },
    /// A plain `break` out of a `loop` whose value is used.
    BreakWithoutValue {
        span: Span,
    },
    /// A `_private` member of a type reached from outside its methods.
    Private {
        what: &'static str,
        name: String,
        record: String,
        span: Span,
    },
    /// `Type.m()` where `m` is an instance method.
    MethodNeedsInstance {
        record: String,
        method: String,
        span: Span,
    },
    /// `value.m()` where `m` is a `static fn`.
    StaticOnInstance {
        record: String,
        method: String,
        span: Span,
    },
    /// `...rest` before another parameter.
    VariadicNotLast {
        span: Span,
    },
    /// A name first assigned inside a nested block, read where some path gave it no value.
    MaybeUnassigned {
        name: String,
        span: Span,
        assigned: Span,
    },
    AssignToCapture {
        name: String,
        span: Span,
    },
    NotAssignable {
        span: Span,
    },
    NotAValue {
        name: String,
        what: &'static str,
        span: Span,
    },
    UsedBeforeDefinition {
        name: String,
        span: Span,
        defined: Span,
    },
    // ---- types
    Mismatch {
        expected: Type,
        found: Type,
        span: Span,
        context: Expectation,
    },
    TypeArgCount {
        name: String,
        expected: usize,
        found: usize,
        span: Span,
    },
    MaybeNull {
        ty: Type,
        span: Span,
    },
    BinaryOperands {
        op: &'static str,
        lhs: Type,
        rhs: Type,
        span: Span,
    },
    UnaryOperand {
        op: &'static str,
        ty: Type,
        span: Span,
    },
    NotCallable {
        ty: Type,
        span: Span,
    },
    ArgCount {
        callee: String,
        min: usize,
        max: usize,
        found: usize,
        span: Span,
    },
    UnknownNamedArg {
        callee: String,
        name: String,
        span: Span,
    },
    ArgTwice {
        name: String,
        span: Span,
    },
    PositionalAfterNamed {
        span: Span,
    },
    MissingFields {
        record: String,
        fields: Vec<String>,
        span: Span,
    },
    NotIndexable {
        ty: Type,
        span: Span,
    },
    NoFields {
        ty: Type,
        field: String,
        span: Span,
    },
    CannotInfer {
        name: String,
        span: Span,
    },
    NotIterable {
        ty: Type,
        span: Span,
    },
    MapNeedsPair {
        span: Span,
    },
    MissingReturn {
        name: String,
        ret: Type,
        span: Span,
    },
    ReturnOutsideFn {
        span: Span,
    },
    OutsideLoop {
        keyword: &'static str,
        span: Span,
    },
    NotPrintable {
        ty: Type,
        span: Span,
    },
    FormatSpec {
        spec: String,
        ty: Type,
        why: String,
        span: Span,
    },
    BadFormatSpec {
        spec: String,
        why: String,
        span: Span,
    },
    // ---- Result, ?, match
    TryOnNonResult {
        ty: Type,
        span: Span,
    },
    TryOutsideResultFn {
        fn_name: String,
        ret: Type,
        span: Span,
    },
    ResultMatchNotExhaustive {
        missing: String,
        span: Span,
    },
    PatternMismatch {
        pattern: &'static str,
        ty: Type,
        span: Span,
    },
    BindingInOrPattern {
        span: Span,
    },
    UnreachableArm {
        span: Span,
    },
    /// `1 == "1"`: values of two different types, never equal (upstream answers `false`).
    NeverEqual {
        lhs: Type,
        rhs: Type,
        equal: bool,
        span: Span,
    },
    TupleArity {
        found: usize,
        expected: usize,
        ty: Type,
        span: Span,
    },
    NoTupleItem {
        ty: Type,
        index: i64,
        span: Span,
    },
    JwtDecodeUnhandled {
        expected: Type,
        span: Span,
    },
    // ---- async
    MissingAwait {
        inner: Type,
        span: Span,
    },
    AwaitOutsideAsync {
        fn_name: String,
        span: Span,
        fn_span: Span,
    },
    AwaitNonFuture {
        ty: Type,
        span: Span,
    },
    UnusedFuture {
        span: Span,
    },
    // ---- HTTP
    StatusReturnOutsideHandler {
        span: Span,
    },
    UnknownDecorator {
        name: String,
        span: Span,
        suggestion: Option<String>,
    },
    UnsupportedDecorator {
        name: String,
        span: Span,
    },
    DecoratorPlacement {
        name: String,
        on: &'static str,
        span: Span,
    },
    DecoratorArgs {
        name: String,
        expected: &'static str,
        span: Span,
    },
    DecoratorKey {
        decorator: String,
        key: String,
        span: Span,
        suggestion: Option<String>,
    },
    DecoratorKeyTwice {
        decorator: String,
        key: &'static str,
        span: Span,
    },
    DecoratorKeyType {
        decorator: String,
        key: &'static str,
        expected: &'static str,
        span: Span,
    },
    ServerSetting {
        what: &'static str,
        value: String,
        expected: &'static str,
        span: Span,
    },
    /// `@roles("admin > > viewer")`
    RolesSyntax {
        text: String,
        span: Span,
    },
    /// A role above itself in the declared hierarchy.
    RolesCycle {
        role: String,
        span: Span,
    },
    /// `@requires("edtor")` once roles are declared.
    UnknownRole {
        role: String,
        span: Span,
        suggestion: Option<String>,
    },
    /// `@requires("admin") @requires("editor")` with `admin > editor`.
    RedundantRequires {
        role: String,
        lower: String,
        span: Span,
    },
    /// `@roles` on a function that is not the auth provider.
    RolesNotOnProvider {
        span: Span,
    },
    /// An answer whose type holds a password hash not marked `@hidden` (it is left out).
    HashLeftOut {
        record: String,
        field: String,
        span: Span,
    },
    /// A query on the outer handle inside `db.transaction(…)`'s function: outside the transaction.
    OutsideTransaction {
        db: String,
        tx: String,
        span: Span,
    },
    /// A handler's `return 401` before its first `hash.verify`: unknown users answered faster.
    RefusesBeforeVerify {
        span: Span,
        verify: Span,
    },
    /// An `@server` setting of upstream's for a part this host does not have.
    ServerKeyIgnored {
        key: &'static str,
        span: Span,
    },
    ConflictingDecorators {
        first: String,
        second: String,
        span: Span,
    },
    BadPath {
        path: String,
        problem: PathProblem,
        span: Span,
    },
    PathParamUnbound {
        name: String,
        fn_name: String,
        span: Span,
        fn_span: Span,
    },
    ParamUnbound {
        name: String,
        ty: Type,
        span: Span,
    },
    /// A `@ws` handler not of upstream's shape, or a `WsConn` outside one.
    WsShape {
        why: &'static str,
        help: &'static str,
        span: Span,
    },
    PathParamType {
        name: String,
        ty: Type,
        span: Span,
    },
    QueryParamType {
        name: String,
        ty: Type,
        span: Span,
    },
    /// A `@header`/`@cookie` parameter that is not `Str` or `Str?`.
    CarriedParamType {
        carrier: &'static str,
        name: String,
        ty: Type,
        span: Span,
    },
    /// A `@header`/`@cookie` naming a parameter the handler does not have.
    CarriedParamMissing {
        carrier: &'static str,
        param: String,
        fn_name: String,
        span: Span,
    },
    /// `@middleware(f)` with a function of the program's: not supported yet.
    MiddlewareFn {
        span: Span,
    },
    /// `@middleware(cors(…))` on a function that is not a route handler.
    CorsOffRoute {
        span: Span,
    },
    /// `@flag` on a function that is not a route handler.
    FlagOffRoute {
        span: Span,
    },
    /// `@header`/`@cookie` on a function that is not a route handler.
    CarriedOffRoute {
        carrier: &'static str,
        span: Span,
    },
    TwoBodies {
        span: Span,
        first: Span,
    },
    DuplicateRoute {
        method: &'static str,
        path: String,
        span: Span,
        first: Span,
    },
    BodyOnGet {
        method: &'static str,
        span: Span,
    },
    UserParamOnPublicRoute {
        user: String,
        span: Span,
        /// The handler's name.
        fn_span: Span,
    },
    NotSerializable {
        ty: Type,
        what: &'static str,
        span: Span,
    },
    HandlerParamDefault {
        span: Span,
    },
    // ---- auth
    NoAuthProvider {
        decorator: String,
        fn_name: String,
        span: Span,
    },
    DuplicateAuthProvider {
        span: Span,
        first: Span,
    },
    ProviderShape {
        problem: ProviderProblem,
        span: Span,
    },
    RoleFieldMissing {
        decorator: String,
        user: String,
        span: Span,
        type_span: Span,
    },
    DuplicateRole {
        role: String,
        span: Span,
        first: Span,
    },
    RedundantAuthenticated {
        with: String,
        span: Span,
    },
    UserParamCount {
        fn_name: String,
        user: String,
        found: usize,
        span: Span,
    },
    AuthOnNonRoute {
        decorator: String,
        span: Span,
    },
    // ---- cron
    InvalidCron {
        expr: String,
        problem: CronProblem,
        span: Span,
    },
    CronParams {
        span: Span,
    },
    /// A `@test` function with parameters other than `db: DbConn`.
    TestParams {
        span: Span,
    },
    // ---- background tasks
    /// A `@background` parameter or result that cannot be copied into another sandbox.
    TaskType {
        name: String,
        ty: Type,
        what: &'static str,
        span: Span,
    },
    /// `spawn(x)` where `x` is not a call of a `@background` function.
    SpawnNotBackground {
        callee: Option<String>,
        span: Span,
        /// The declaration of the function named, when it is the program's.
        fn_span: Option<Span>,
    },
    /// A spawned task's future kept instead of awaited at once or let go.
    SpawnKept {
        span: Span,
    },
    // ---- ORM
    /// A `@has_many`/`@belongs_to` that does not fit the types it names.
    BadRelation {
        decorator: &'static str,
        reason: String,
        span: Span,
    },
    NotInWhere {
        construct: String,
        span: Span,
    },
    WhereNotLambda {
        method: &'static str,
        span: Span,
    },
    WhereRowAlone {
        span: Span,
    },
    NotAColumn {
        record: String,
        field: String,
        ty: Type,
        span: Span,
    },
    NeedsWhere {
        terminal: &'static str,
        span: Span,
    },
    UpdateNeedsMapLiteral {
        span: Span,
    },
    UnfinishedQuery {
        span: Span,
    },
    NoPrimaryKey {
        record: String,
        span: Span,
    },
    TwoPrimaryKeys {
        record: String,
        span: Span,
        first: Span,
    },
    // ---- state
    MutatesTopLevel {
        global: String,
        entry: String,
        span: Span,
    },
    // ---- misc
    SecretNameNotLiteral {
        span: Span,
    },
    Unsupported {
        what: &'static str,
        span: Span,
    },
    /// `ws_broadcast(endpoint, …)` whose endpoint is not the literal path of a `@ws` route.
    WsBroadcastEndpoint {
        /// The path written, when it is a literal.
        found: Option<String>,
        endpoints: Vec<String>,
        span: Span,
    },
}

impl Problem {
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            Problem::UnreachableArm { .. }
                | Problem::NeverEqual { .. }
                | Problem::ServerKeyIgnored { .. }
                | Problem::RefusesBeforeVerify { .. }
                | Problem::OutsideTransaction { .. }
                | Problem::HashLeftOut { .. }
                | Problem::RedundantRequires { .. }
                | Problem::RedundantAuthenticated { .. }
                | Problem::BodyOnGet { .. }
                | Problem::UserParamOnPublicRoute { .. }
        )
    }

    pub fn span(&self) -> Span {
        use Problem::*;
        match self {
            UnknownName { span, .. }
            | UnknownType { span, .. }
            | UnknownField { span, .. }
            | MethodNeeds { span, .. }
            | ReservedLogField { span, .. }
            | CommandReturn { span, .. }
            | CommandParam { span, .. }
            | CommandRestNotLast { span }
            | CommandShortFlag { span, .. }
            | CommandDefault { span }
            | ReservedName { span, .. }
            | UnknownMethod { span, .. }
            | Duplicate { span, .. }
            | AssignToUndeclared { span, .. }
            | VariadicNotLast { span }
            | UnknownLabel { span, .. }
            | Private { span, .. }
            | MethodNeedsInstance { span, .. }
            | StaticOnInstance { span, .. }
            | BreakValueUnused { span }
            | BreakWithoutValue { span }
            | MaybeUnassigned { span, .. }
            | AssignToCapture { span, .. }
            | NotAssignable { span }
            | NotAValue { span, .. }
            | UsedBeforeDefinition { span, .. }
            | Mismatch { span, .. }
            | TypeArgCount { span, .. }
            | MaybeNull { span, .. }
            | BinaryOperands { span, .. }
            | UnaryOperand { span, .. }
            | NotCallable { span, .. }
            | ArgCount { span, .. }
            | UnknownNamedArg { span, .. }
            | ArgTwice { span, .. }
            | PositionalAfterNamed { span }
            | MissingFields { span, .. }
            | NotIndexable { span, .. }
            | NoFields { span, .. }
            | CannotInfer { span, .. }
            | NotIterable { span, .. }
            | MapNeedsPair { span }
            | MissingReturn { span, .. }
            | ReturnOutsideFn { span }
            | OutsideLoop { span, .. }
            | NotPrintable { span, .. }
            | FormatSpec { span, .. }
            | BadFormatSpec { span, .. }
            | TryOnNonResult { span, .. }
            | TryOutsideResultFn { span, .. }
            | ResultMatchNotExhaustive { span, .. }
            | PatternMismatch { span, .. }
            | BindingInOrPattern { span }
            | UnreachableArm { span }
            | NeverEqual { span, .. }
            | TupleArity { span, .. }
            | NoTupleItem { span, .. }
            | JwtDecodeUnhandled { span, .. }
            | MissingAwait { span, .. }
            | AwaitOutsideAsync { span, .. }
            | AwaitNonFuture { span, .. }
            | UnusedFuture { span }
            | StatusReturnOutsideHandler { span }
            | UnknownDecorator { span, .. }
            | UnsupportedDecorator { span, .. }
            | DecoratorPlacement { span, .. }
            | DecoratorArgs { span, .. }
            | DecoratorKey { span, .. }
            | DecoratorKeyTwice { span, .. }
            | DecoratorKeyType { span, .. }
            | ServerSetting { span, .. }
            | ServerKeyIgnored { span, .. }
            | RefusesBeforeVerify { span, .. }
            | OutsideTransaction { span, .. }
            | HashLeftOut { span, .. }
            | RolesSyntax { span, .. }
            | RolesCycle { span, .. }
            | UnknownRole { span, .. }
            | RedundantRequires { span, .. }
            | RolesNotOnProvider { span }
            | ConflictingDecorators { span, .. }
            | BadPath { span, .. }
            | PathParamUnbound { span, .. }
            | ParamUnbound { span, .. }
            | WsShape { span, .. }
            | PathParamType { span, .. }
            | QueryParamType { span, .. }
            | CarriedParamType { span, .. }
            | CarriedParamMissing { span, .. }
            | CarriedOffRoute { span, .. }
            | MiddlewareFn { span }
            | CorsOffRoute { span }
            | FlagOffRoute { span }
            | TwoBodies { span, .. }
            | DuplicateRoute { span, .. }
            | BodyOnGet { span, .. }
            | UserParamOnPublicRoute { span, .. }
            | NotSerializable { span, .. }
            | HandlerParamDefault { span }
            | NoAuthProvider { span, .. }
            | DuplicateAuthProvider { span, .. }
            | ProviderShape { span, .. }
            | RoleFieldMissing { span, .. }
            | DuplicateRole { span, .. }
            | RedundantAuthenticated { span, .. }
            | UserParamCount { span, .. }
            | AuthOnNonRoute { span, .. }
            | InvalidCron { span, .. }
            | CronParams { span }
            | TestParams { span }
            | TaskType { span, .. }
            | SpawnNotBackground { span, .. }
            | SpawnKept { span }
            | BadRelation { span, .. }
            | NotInWhere { span, .. }
            | WhereNotLambda { span, .. }
            | WhereRowAlone { span }
            | NotAColumn { span, .. }
            | NeedsWhere { span, .. }
            | UpdateNeedsMapLiteral { span }
            | UnfinishedQuery { span }
            | NoPrimaryKey { span, .. }
            | TwoPrimaryKeys { span, .. }
            | MutatesTopLevel { span, .. }
            | SecretNameNotLiteral { span }
            | Unsupported { span, .. }
            | WsBroadcastEndpoint { span, .. } => *span,
        }
    }
}
