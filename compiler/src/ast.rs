//! The untyped syntax tree, as the parser builds it. Every node has a span; a part the parser
//! could not make sense of is an `Error` node, so later phases can still look at the rest.

use crate::span::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Module {
    /// The file's `import` and `from … import` lines (`project` resolves them).
    pub imports: Vec<Import>,
    pub items: Vec<Item>,
}

/// `import a.b`, `import a.b as n`, or `from a.b import x, T as U`.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// The module's dotted path, `a.b` for `a/b.fitz` beside the importing file.
    pub path: Vec<Ident>,
    /// `import a.b as n`
    pub alias: Option<Ident>,
    /// `from … import …`: each name taken, with its alias.
    pub names: Option<Vec<ImportName>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ImportName {
    pub name: Ident,
    pub alias: Option<Ident>,
}

impl Import {
    pub fn dotted(&self) -> String {
        self.path.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(".")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Fn(FnDecl),
    Type(TypeDecl),
    Stmt(Stmt),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decorator {
    pub name: Ident,
    /// `None` for `@admin`, `Some(vec![])` for `@admin()`.
    pub args: Option<Vec<Arg>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FnDecl {
    pub decorators: Vec<Decorator>,
    pub is_async: bool,
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    pub body: FnBody,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FnBody {
    Block(Block),
    /// `fn f() => expr`
    Expr(Box<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    /// For a variadic parameter, the type of each of its values.
    pub ty: Option<TypeExpr>,
    pub default: Option<Expr>,
    /// `...rest: T`: every positional argument from here on, as a `List<T>`.
    pub variadic: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TypeDecl {
    pub decorators: Vec<Decorator>,
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
    /// `fn` (its fields are its body's variables) and `static fn` (no instance) declared in
    /// the type's body.
    pub methods: Vec<MethodDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MethodDecl {
    pub decl: FnDecl,
    pub is_static: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    pub decorators: Vec<Decorator>,
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeExprKind {
    /// `Int`, `List<T>`, `Map<K, V>`, `User`
    Named {
        name: Ident,
        args: Vec<TypeExpr>,
    },
    /// `T?`
    Nullable(Box<TypeExpr>),
    /// `Fn(A, B) -> R`
    Fn {
        params: Vec<TypeExpr>,
        ret: Box<TypeExpr>,
    },
    /// `(A, B)`, `(A,)`, `()`
    Tuple(Vec<TypeExpr>),
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignOp {
    Set,
    Add,
    Sub,
    Mul,
    Div,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    Let {
        name: Ident,
        ty: Option<TypeExpr>,
        value: Expr,
    },
    /// `let (a, (b, _)) = value`: the value taken apart; a pattern it does not match stops
    /// the program (or the request) there.
    LetPattern {
        pattern: Pattern,
        value: Expr,
    },
    Assign {
        target: Expr,
        op: AssignOp,
        value: Expr,
    },
    Expr(Expr),
    While {
        label: Option<Ident>,
        cond: Expr,
        body: Block,
    },
    For {
        label: Option<Ident>,
        pattern: Pattern,
        iter: Expr,
        body: Block,
    },
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    /// Boolean exclusive or: both sides are evaluated.
    Xor,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    /// Arithmetic (the sign is kept), as upstream's and Python's.
    Shr,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::NotEq => "!=",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Xor => "xor",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
    /// `~`: the bits of an `Int` inverted.
    BitNot,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    Text(String),
    Interp { expr: Expr, spec: Option<String> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldInit {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Lambda {
    pub is_async: bool,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    pub body: FnBody,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Str(Vec<StrPart>),
    /// `b"…"`
    Bytes(Vec<u8>),
    Name(String),
    List(Vec<Expr>),
    /// `(a, b)`, `(a,)`, `()`
    Tuple(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Struct {
        name: Ident,
        fields: Vec<FieldInit>,
    },
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Call {
        callee: Box<Expr>,
        args: Vec<Arg>,
    },
    Field {
        expr: Box<Expr>,
        name: Ident,
    },
    /// `pair.0`
    TupleField {
        expr: Box<Expr>,
        index: i64,
        index_span: Span,
    },
    Index {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    /// `xs[a..b]`, `xs[..b]`, `xs[a..]`, `xs[..]`, `xs[a..=b]`: a copy of part of a list or a
    /// string (`xs[a..b]` is parsed as an index by a range, and taken as this).
    Slice {
        expr: Box<Expr>,
        start: Option<Box<Expr>>,
        end: Option<Box<Expr>>,
        inclusive: bool,
    },
    Try(Box<Expr>),
    Await(Box<Expr>),
    Lambda(Box<Lambda>),
    If {
        cond: Box<Expr>,
        then: Block,
        otherwise: Option<Box<Expr>>,
    },
    Match {
        scrutinee: Box<Expr>,
        arms: Vec<Arm>,
    },
    Block(Block),
    Range {
        start: Box<Expr>,
        end: Box<Expr>,
        inclusive: bool,
    },
    Return(Option<Box<Expr>>),
    /// `return 401 { ... }`
    ReturnStatus {
        status: i64,
        status_span: Span,
        body: Box<Expr>,
    },
    /// `break`, `break 'outer`, `break value` (out of a `loop` used as a value).
    Break {
        label: Option<Ident>,
        value: Option<Box<Expr>>,
    },
    Continue {
        label: Option<Ident>,
    },
    /// `loop { … }` or `'name: loop { … }`: a statement, or a value when a `break` carries one.
    Loop {
        label: Option<Ident>,
        body: Block,
    },
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arm {
    pub pattern: Pattern,
    pub guard: Option<Expr>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    pub kind: PatternKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PatternKind {
    Wildcard,
    Bind(String),
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
    Ok(Box<Pattern>),
    Err(Box<Pattern>),
    Range { start: i64, end: i64, inclusive: bool },
    Or(Vec<Pattern>),
    Tuple(Vec<Pattern>),
    Error,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }
}
