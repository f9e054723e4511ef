//! Syntax tree back to source: text that parses to the same tree (spans aside), with as few
//! parentheses as the grammar's precedence allows. The property test
//! `tests/tests/print_roundtrip.rs` parses, prints and parses again.
//!
//! `fitz fmt` (`format_source`) prints the same way with the source's comments and its blank
//! lines between statements, items, fields and arms (`Trivia`): a comment between statements
//! stays on its own line there, one after a statement stays at its line's end, and one inside
//! an expression the layout rewrites goes to the end of its statement's line.

use std::cell::RefCell;

use crate::ast::*;

/// The comments and blank lines of the source being formatted.
struct Trivia {
    source: String,
    comments: Vec<(u32, u32)>,
    /// The first comment not yet printed.
    next: usize,
    /// Where the last printed node or comment ended.
    last_end: u32,
}

thread_local! {
    static TRIVIA: RefCell<Option<Trivia>> = const { RefCell::new(None) };
}

/// `source` laid out canonically, comments kept; `None` when it does not parse.
pub fn format_source(source: &str) -> Option<String> {
    let (module, errors) = super::parse_module(source);
    if !errors.is_empty() {
        return None;
    }
    let (_, _, comments) = super::lexer::lex_with_comments(source);
    TRIVIA.with(|t| *t.borrow_mut() = Some(Trivia { source: source.to_string(), comments, next: 0, last_end: 0 }));
    let mut out = module_text(&module);
    out += &leading(u32::MAX, 0, false);
    TRIVIA.with(|t| *t.borrow_mut() = None);
    let trimmed = out.trim_end_matches('\n').to_string();
    Some(if trimmed.is_empty() { trimmed } else { trimmed + "\n" })
}

/// The comments before `start` not yet printed, each on its own line at `indent`, and a blank
/// line wherever the source has one between them and the node (not at a block's start).
fn leading(start: u32, indent: usize, block_start: bool) -> String {
    TRIVIA.with(|t| {
        let mut t = t.borrow_mut();
        let Some(t) = t.as_mut() else { return String::new() };
        let mut out = String::new();
        let mut first = block_start;
        let blank = |t: &Trivia, from: u32, to: u32| {
            let (from, to) = (from as usize, (to as usize).min(t.source.len()));
            from < to && t.source.get(from..to).is_some_and(|gap| gap.matches('\n').count() >= 2)
        };
        while let Some(&(cs, ce)) = t.comments.get(t.next) {
            if cs >= start {
                break;
            }
            if !first && blank(t, t.last_end, cs) {
                out.push('\n');
            }
            first = false;
            out += &pad(indent);
            out += t.source.get(cs as usize..ce as usize).unwrap_or("");
            out.push('\n');
            t.next += 1;
            t.last_end = ce;
        }
        if start != u32::MAX && !first && blank(t, t.last_end, start) {
            out.push('\n');
        }
        out
    })
}

/// After a node spanning `start..end`: the comments inside it that nothing printed yet, and
/// one that follows it on its line, as the end of its line (` // …`).
fn trailing(end: u32) -> String {
    TRIVIA.with(|t| {
        let mut t = t.borrow_mut();
        let Some(t) = t.as_mut() else { return String::new() };
        let mut out = String::new();
        while let Some(&(cs, ce)) = t.comments.get(t.next) {
            let same_line = cs >= end && t.source.get(end as usize..cs as usize).is_some_and(|gap| !gap.contains('\n'));
            if cs >= end && !same_line {
                break;
            }
            out += " ";
            out += t.source.get(cs as usize..ce as usize).unwrap_or("");
            t.next += 1;
            t.last_end = ce;
        }
        t.last_end = t.last_end.max(end);
        out
    })
}

/// Where an item starts in the source: its first decorator, or its own start.
fn item_start(item: &Item) -> u32 {
    match item {
        Item::Fn(f) => f.decorators.first().map_or(f.span.start, |d| d.span.start.min(f.span.start)),
        Item::Type(t) => t.decorators.first().map_or(t.span.start, |d| d.span.start.min(t.span.start)),
        Item::Stmt(s) => s.span.start,
    }
}

fn item_end(item: &Item) -> u32 {
    match item {
        Item::Fn(f) => f.span.end,
        Item::Type(t) => t.span.end,
        Item::Stmt(s) => s.span.end,
    }
}

pub fn module(m: &Module) -> String {
    module_text(m)
}

fn module_text(m: &Module) -> String {
    let mut p = Printer::default();
    let mut first = true;
    for i in &m.imports {
        p.out += &leading(i.span.start, 0, first);
        p.out += &import(i);
        p.out += &trailing(i.span.end);
        p.out.push('\n');
        first = false;
    }
    // One blank line between the imports and the rest.
    if !m.imports.is_empty() && !m.items.is_empty() {
        p.out.push('\n');
        first = true;
    }
    for item in &m.items {
        p.out += &leading(item_start(item), 0, first);
        p.item(item);
        p.end_line(&trailing(item_end(item)));
        first = false;
    }
    p.out
}

/// One import line, as written canonically.
pub fn import(i: &Import) -> String {
    let alias = |a: &Option<Ident>| a.as_ref().map(|a| format!(" as {}", a.name)).unwrap_or_default();
    match &i.names {
        Some(names) => {
            let names: Vec<String> = names.iter().map(|n| format!("{}{}", n.name.name, alias(&n.alias))).collect();
            format!("from {} import {}", i.dotted(), names.join(", "))
        }
        None => format!("import {}{}", i.dotted(), alias(&i.alias)),
    }
}

#[derive(Default)]
struct Printer {
    out: String,
    indent: usize,
}

/// The indentation of code inside an interpolation: one line, statements and arms separated
/// by `;` and `,` (a one-line string cannot hold a newline).
const INLINE: usize = usize::MAX;

fn pad(ind: usize) -> String {
    if ind == INLINE { String::new() } else { "    ".repeat(ind) }
}

fn deeper(ind: usize) -> usize {
    if ind == INLINE { INLINE } else { ind + 1 }
}

/// The name the parser gives a comprehension's accumulator (`builders::comprehension`).
const COMP_ACC: &str = "__comp";

impl Printer {
    /// Appends `suffix` (a trailing comment) to the last line printed.
    fn end_line(&mut self, suffix: &str) {
        if suffix.is_empty() {
            return;
        }
        if self.out.ends_with('\n') {
            self.out.pop();
        }
        self.out += suffix;
        self.out.push('\n');
    }

    fn line(&mut self, text: &str) {
        self.out.push_str(&"    ".repeat(self.indent));
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Fn(f) => self.fn_decl(f, ""),
            Item::Type(t) => self.type_decl(t),
            Item::Stmt(s) => self.stmt(s),
        }
    }

    fn decorators(&mut self, ds: &[Decorator]) {
        for d in ds {
            let text = decorator(d);
            self.line(&text);
        }
    }

    fn fn_decl(&mut self, f: &FnDecl, prefix: &str) {
        self.decorators(&f.decorators);
        let head = format!("{prefix}{}fn {}({}){}", if f.is_async { "async " } else { "" }, f.name.name, params(&f.params), ret(&f.ret));
        self.fn_body(&head, &f.body);
    }

    fn fn_body(&mut self, head: &str, body: &FnBody) {
        match body {
            FnBody::Expr(e) => self.line(&format!("{head} => {}", body_expr(e))),
            FnBody::Block(b) => {
                let text = format!("{head} {}", self.block(b));
                self.out.push_str(&"    ".repeat(self.indent));
                self.out.push_str(&text);
                self.out.push('\n');
            }
        }
    }

    fn type_decl(&mut self, t: &TypeDecl) {
        self.decorators(&t.decorators);
        self.line(&format!("type {} {{", t.name.name));
        self.indent += 1;
        let mut first = true;
        for f in &t.fields {
            let start = f.decorators.first().map_or(f.span.start, |d| d.span.start.min(f.span.start));
            self.out += &leading(start, self.indent, first);
            let decorators: String = f.decorators.iter().map(|d| decorator(d) + " ").collect();
            let default = f.default.as_ref().map(|d| format!(" = {}", expr(d))).unwrap_or_default();
            self.line(&format!("{decorators}{}: {}{default}", f.name.name, ty(&f.ty)));
            self.end_line(&trailing(f.span.end));
            first = false;
        }
        for m in &t.methods {
            let start = m.decl.decorators.first().map_or(m.decl.span.start, |d| d.span.start.min(m.decl.span.start));
            self.out += &leading(start, self.indent, first);
            self.fn_decl(&m.decl, if m.is_static { "static " } else { "" });
            self.end_line(&trailing(m.decl.span.end));
            first = false;
        }
        self.out += &leading(t.span.end.saturating_sub(1), self.indent, first);
        self.indent -= 1;
        self.line("}");
    }

    fn stmt(&mut self, s: &Stmt) {
        let text = stmt_text(s, self.indent);
        self.line(&text);
    }

    fn block(&self, b: &Block) -> String {
        block(b, self.indent)
    }
}

fn decorator(d: &Decorator) -> String {
    match &d.args {
        None => format!("@{}", d.name.name),
        Some(args) => {
            let args: Vec<String> = args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{}={}", n.name, expr(&a.value)),
                    None => expr(&a.value),
                })
                .collect();
            format!("@{}({})", d.name.name, args.join(", "))
        }
    }
}

fn params(ps: &[Param]) -> String {
    let ps: Vec<String> = ps
        .iter()
        .map(|p| {
            let mut s = if p.variadic { format!("...{}", p.name.name) } else { p.name.name.clone() };
            if let Some(t) = &p.ty {
                s.push_str(&format!(": {}", ty(t)));
            }
            if let Some(d) = &p.default {
                s.push_str(&format!(" = {}", expr(d)));
            }
            s
        })
        .collect();
    ps.join(", ")
}

fn ret(t: &Option<TypeExpr>) -> String {
    t.as_ref().map(|t| format!(" -> {}", ty(t))).unwrap_or_default()
}

pub fn ty(t: &TypeExpr) -> String {
    match &t.kind {
        TypeExprKind::Named { name, args } if args.is_empty() => name.name.clone(),
        TypeExprKind::Named { name, args } => {
            let args: Vec<String> = args.iter().map(ty).collect();
            // The lexer reads `>>` in a type as two closing brackets: `List<List<Int>>`.
            format!("{}<{}>", name.name, args.join(", "))
        }
        TypeExprKind::Nullable(inner) => format!("{}?", ty(inner)),
        TypeExprKind::Fn { params, ret } => {
            let params: Vec<String> = params.iter().map(ty).collect();
            format!("Fn({}) -> {}", params.join(", "), ty(ret))
        }
        TypeExprKind::Tuple(items) if items.len() == 1 => format!("({},)", ty(&items[0])),
        TypeExprKind::Tuple(items) => format!("({})", items.iter().map(ty).collect::<Vec<_>>().join(", ")),
        TypeExprKind::Error => "?".into(),
    }
}

fn label(l: &Option<Ident>) -> String {
    l.as_ref().map(|l| format!("'{}: ", l.name)).unwrap_or_default()
}

fn stmt_text(s: &Stmt, indent: usize) -> String {
    match &s.kind {
        StmtKind::Let { name, ty: t, value } => {
            let t = t.as_ref().map(|t| format!(": {}", ty(t))).unwrap_or_default();
            format!("let {}{t} = {}", name.name, expr_in(value, indent))
        }
        StmtKind::LetPattern { pattern: p, value } => format!("let {} = {}", pattern(p), expr_in(value, indent)),
        StmtKind::Assign { target, op, value } => {
            let op = match op {
                AssignOp::Set => "=",
                AssignOp::Add => "+=",
                AssignOp::Sub => "-=",
                AssignOp::Mul => "*=",
                AssignOp::Div => "/=",
                AssignOp::BitAnd => "&=",
                AssignOp::BitOr => "|=",
                AssignOp::BitXor => "^=",
                AssignOp::Shl => "<<=",
                AssignOp::Shr => ">>=",
            };
            format!("{} {op} {}", expr_in(target, indent), expr_in(value, indent))
        }
        // Keep a statement's map literal from being read as something else.
        StmtKind::Expr(e) if opens_brace(e) => format!("({})", expr_in(e, indent)),
        StmtKind::Expr(e) => expr_in(e, indent),
        StmtKind::While { label: l, cond, body } => format!("{}while {} {}", label(l), head(cond, indent), block(body, indent)),
        StmtKind::For { label: l, pattern: p, iter, body } => {
            format!("{}for {} in {} {}", label(l), pattern(p), head(iter, indent), block(body, indent))
        }
        StmtKind::Error => "?error".into(),
    }
}

fn block(b: &Block, indent: usize) -> String {
    if b.stmts.is_empty() {
        return "{}".into();
    }
    if indent == INLINE {
        let stmts: Vec<String> = b.stmts.iter().map(|st| stmt_text(st, INLINE)).collect();
        return format!("{{ {} }}", stmts.join("; "));
    }
    let mut s = String::from("{\n");
    for (i, st) in b.stmts.iter().enumerate() {
        s.push_str(&leading(st.span.start, indent + 1, i == 0));
        s.push_str(&pad(indent + 1));
        s.push_str(&stmt_text(st, indent + 1));
        s.push_str(&trailing(st.span.end));
        s.push('\n');
    }
    // Comments before the closing brace.
    s.push_str(&leading(b.span.end.saturating_sub(1), indent + 1, false));
    s.push_str(&pad(indent));
    s.push('}');
    s
}

pub fn expr(e: &Expr) -> String {
    expr_in(e, 0)
}

/// An expression where any may stand (`ExprS`).
fn expr_in(e: &Expr, ind: usize) -> String {
    match &e.kind {
        ExprKind::Binary { op, lhs, rhs } => format!("{} {} {}", operand(lhs, *op, false, ind), op.symbol(), operand(rhs, *op, true, ind)),
        ExprKind::Unary { op, expr: inner } => {
            let op = match op {
                UnaryOp::Neg => "-",
                UnaryOp::Not => "not ",
                UnaryOp::BitNot => "~",
            };
            format!("{op}{}", atom(inner, ind))
        }
        ExprKind::Range { start, end, inclusive } => {
            format!("{}{}{}", atom(start, ind), if *inclusive { "..=" } else { ".." }, atom(end, ind))
        }
        ExprKind::Lambda(l) => {
            let head = format!("{}fn({}){}", if l.is_async { "async " } else { "" }, params(&l.params), ret(&l.ret));
            match &l.body {
                FnBody::Expr(b) => format!("{head} => {}", body_expr_in(b, ind)),
                FnBody::Block(b) => format!("{head} {}", block(b, ind)),
            }
        }
        ExprKind::If { cond, then, otherwise } => {
            let mut s = format!("if {} {}", head(cond, ind), block(then, ind));
            match otherwise.as_deref() {
                None => {}
                Some(Expr { kind: ExprKind::Block(b), .. }) if !is_comprehension(b) => s.push_str(&format!(" else {}", block(b, ind))),
                Some(other) => s.push_str(&format!(" else {}", expr_in(other, ind))),
            }
            s
        }
        ExprKind::Match { scrutinee, arms } => {
            let inner = deeper(ind);
            let arms: Vec<String> = arms
                .iter()
                .enumerate()
                .map(|(i, arm)| {
                    let before = if ind == INLINE { String::new() } else { leading(arm.span.start, inner, i == 0) };
                    let guard = arm.guard.as_ref().map(|g| format!(" if {}", expr_in(g, inner))).unwrap_or_default();
                    let body = match &arm.body.kind {
                        ExprKind::Block(b) if !is_comprehension(b) => block(b, inner),
                        _ if opens_brace(&arm.body) => format!("({})", expr_in(&arm.body, inner)),
                        _ => expr_in(&arm.body, inner),
                    };
                    // Upstream's layout: one arm a line, each ending with a comma.
                    let (comma, after) = if ind == INLINE { ("", String::new()) } else { (",", trailing(arm.span.end)) };
                    format!("{before}{}{}{guard} => {body}{comma}{after}", pad(inner), pattern(&arm.pattern))
                })
                .collect();
            if ind == INLINE {
                format!("match {} {{ {} }}", head(scrutinee, ind), arms.join(", "))
            } else {
                format!("match {} {{\n{}\n{}}}", head(scrutinee, ind), arms.join("\n"), pad(ind))
            }
        }
        ExprKind::Return(None) => "return".into(),
        ExprKind::Return(Some(v)) => format!("return {}", expr_in(v, ind)),
        ExprKind::ReturnStatus { status, body, .. } => format!("return {status} {}", expr_in(body, ind)),
        ExprKind::Break { label: l, value } => {
            let mut s = String::from("break");
            if let Some(l) = l {
                s.push_str(&format!(" '{}", l.name));
            }
            if let Some(v) = value {
                s.push_str(&format!(" {}", expr_in(v, ind)));
            }
            s
        }
        ExprKind::Continue { label: l } => match l {
            Some(l) => format!("continue '{}", l.name),
            None => "continue".into(),
        },
        ExprKind::Loop { label: l, body } => format!("{}loop {}", label(l), block(body, ind)),
        ExprKind::Map(entries) => {
            let entries: Vec<String> = entries.iter().map(|(k, v)| format!("{}: {}", expr_in(k, ind), expr_in(v, ind))).collect();
            format!("{{{}}}", entries.join(", "))
        }
        ExprKind::Struct { name, fields } => {
            let fields: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.name.name, expr_in(&f.value, ind))).collect();
            format!("{} {{ {} }}", name.name, fields.join(", "))
        }
        ExprKind::Block(b) => comprehension(b, ind).unwrap_or_else(|| format!("?block{}", block(b, ind))),
        _ => postfix(e, ind),
    }
}

/// Atoms and postfix chains: what needs no parentheses as an operand.
fn postfix(e: &Expr, ind: usize) -> String {
    match &e.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(v) => float(*v),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Null => "null".into(),
        ExprKind::Str(parts) => string(parts),
        ExprKind::Bytes(b) => guest_abi::bytes::bytes_literal(b),
        ExprKind::Name(n) => n.clone(),
        ExprKind::List(items) => format!("[{}]", items.iter().map(|i| expr_in(i, ind)).collect::<Vec<_>>().join(", ")),
        ExprKind::Tuple(items) if items.len() == 1 => format!("({},)", expr_in(&items[0], ind)),
        ExprKind::Tuple(items) => format!("({})", items.iter().map(|i| expr_in(i, ind)).collect::<Vec<_>>().join(", ")),
        ExprKind::Call { callee, args } => {
            let args: Vec<String> = args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{}: {}", n.name, expr_in(&a.value, ind)),
                    None => expr_in(&a.value, ind),
                })
                .collect();
            format!("{}({})", base(callee, ind), args.join(", "))
        }
        ExprKind::Field { expr: inner, name } => format!("{}.{}", base(inner, ind), name.name),
        ExprKind::TupleField { expr: inner, index, .. } => format!("{}.{index}", base(inner, ind)),
        ExprKind::Index { expr: inner, index } => format!("{}[{}]", base(inner, ind), expr_in(index, ind)),
        ExprKind::Slice { expr: inner, start, end, inclusive } => {
            let start = start.as_ref().map(|s| atom(s, ind)).unwrap_or_default();
            let end = end.as_ref().map(|s| atom(s, ind)).unwrap_or_default();
            format!("{}[{start}{}{end}]", base(inner, ind), if *inclusive { "..=" } else { ".." })
        }
        ExprKind::Try(inner) => format!("{}?", base(inner, ind)),
        ExprKind::Await(inner) => format!("{}.await", base(inner, ind)),
        ExprKind::Error => "?error".into(),
        _ => format!("({})", expr_in(e, ind)),
    }
}

/// How tightly a binary operator binds (the grammar's tiers, all left-associative).
fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Or | BinOp::Xor => 1,
        BinOp::And => 2,
        BinOp::Eq | BinOp::NotEq => 3,
        BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq => 4,
        BinOp::BitOr => 5,
        BinOp::BitXor => 6,
        BinOp::BitAnd => 7,
        BinOp::Shl | BinOp::Shr => 8,
        BinOp::Add | BinOp::Sub => 9,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 10,
    }
}

/// An operand of `parent`: a binary operand without parentheses where the grammar reads it the
/// same (tighter, or as tight on the left); anything else as `atom` prints it.
fn operand(e: &Expr, parent: BinOp, right: bool, ind: usize) -> String {
    if let ExprKind::Binary { op, .. } = &e.kind {
        let (mine, theirs) = (precedence(*op), precedence(parent));
        if mine > theirs || (mine == theirs && !right) {
            return expr_in(e, ind);
        }
        return format!("({})", expr_in(e, ind));
    }
    atom(e, ind)
}

/// An operand: parenthesised unless it is an atom or a postfix chain.
fn atom(e: &Expr, ind: usize) -> String {
    let simple = match &e.kind {
        ExprKind::Int(v) => *v >= 0,
        ExprKind::Float(v) => v.is_sign_positive(),
        ExprKind::Block(b) => is_comprehension(b) && !opens_brace(e),
        ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Str(_)
        | ExprKind::Name(_)
        | ExprKind::List(_)
        | ExprKind::Tuple(_)
        | ExprKind::Call { .. }
        | ExprKind::Field { .. }
        | ExprKind::TupleField { .. }
        | ExprKind::Index { .. }
        | ExprKind::Slice { .. }
        | ExprKind::Try(_)
        | ExprKind::Await(_) => true,
        _ => false,
    };
    if simple { expr_in(e, ind) } else { format!("({})", expr_in(e, ind)) }
}

/// What a postfix chain starts from: a number there would take the `.` as its own.
fn base(e: &Expr, ind: usize) -> String {
    match e.kind {
        ExprKind::Int(_) | ExprKind::Float(_) => format!("({})", expr_in(e, ind)),
        _ => atom(e, ind),
    }
}

/// The head of `if`, `while`, `for … in` and `match`, where `{` opens the body.
fn head(e: &Expr, ind: usize) -> String {
    match &e.kind {
        ExprKind::Struct { .. } | ExprKind::Map(_) | ExprKind::Lambda(_) => format!("({})", expr_in(e, ind)),
        _ if opens_brace(e) => format!("({})", expr_in(e, ind)),
        _ => expr_in(e, ind),
    }
}

/// The body of `fn f() => body`: a map literal there would be read as a block.
fn body_expr(e: &Expr) -> String {
    body_expr_in(e, 0)
}

fn body_expr_in(e: &Expr, ind: usize) -> String {
    if opens_brace(e) { format!("({})", expr_in(e, ind)) } else { expr_in(e, ind) }
}

/// A map literal or comprehension: printed with a leading `{`, which after `=>` opens a block.
fn opens_brace(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Map(_) => true,
        ExprKind::Block(b) => is_comprehension(b) && matches!(b.stmts.first(), Some(Stmt { kind: StmtKind::Let { value: Expr { kind: ExprKind::Map(_), .. }, .. }, .. })),
        _ => false,
    }
}

fn float(v: f64) -> String {
    // `{:?}` always shows a `.` or an exponent, so the lexer reads a float back.
    format!("{v:?}")
}

fn is_comprehension(b: &Block) -> bool {
    matches!(b.stmts.first(), Some(Stmt { kind: StmtKind::Let { name, .. }, .. }) if name.name == COMP_ACC)
        && matches!(b.stmts.last(), Some(Stmt { kind: StmtKind::Expr(Expr { kind: ExprKind::Name(n), .. }), .. }) if n == COMP_ACC)
        && b.stmts.len() == 3
}

/// `[item for p in xs if c]` and `{k: v for …}`, from the loops the parser made of them.
fn comprehension(b: &Block, ind: usize) -> Option<String> {
    if !is_comprehension(b) {
        return None;
    }
    let mut clauses = String::new();
    let mut at = &b.stmts[1];
    loop {
        match &at.kind {
            StmtKind::For { label: None, pattern: p, iter, body } if body.stmts.len() == 1 => {
                clauses.push_str(&format!(" for {} in {}", pattern(p), head(iter, ind)));
                at = &body.stmts[0];
            }
            StmtKind::Expr(Expr { kind: ExprKind::If { cond, then, otherwise: None }, .. }) if then.stmts.len() == 1 && !clauses.is_empty() => {
                clauses.push_str(&format!(" if {}", head(cond, ind)));
                at = &then.stmts[0];
            }
            StmtKind::Expr(Expr { kind: ExprKind::Call { callee, args }, .. }) if args.len() == 1 => {
                let ExprKind::Field { expr: acc, .. } = &callee.kind else { return None };
                if !matches!(&acc.kind, ExprKind::Name(n) if n == COMP_ACC) {
                    return None;
                }
                return Some(format!("[{}{clauses}]", expr_in(&args[0].value, ind)));
            }
            StmtKind::Assign { target: Expr { kind: ExprKind::Index { index, .. }, .. }, value, .. } => {
                return Some(format!("{{{}: {}{clauses}}}", expr_in(index, ind), expr_in(value, ind)));
            }
            _ => return None,
        }
    }
}

fn string(parts: &[StrPart]) -> String {
    let mut s = String::from("\"");
    for part in parts {
        match part {
            StrPart::Text(t) => s.push_str(&escape(t)),
            StrPart::Interp { expr: e, spec } => {
                s.push('{');
                s.push_str(&atom(e, INLINE));
                if let Some(spec) = spec {
                    s.push(':');
                    s.push_str(spec);
                }
                s.push('}');
            }
        }
    }
    s.push('"');
    s
}

/// Text as the contents of a string literal.
pub fn escape(t: &str) -> String {
    let mut s = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '{' => s.push_str("\\{"),
            '}' => s.push_str("\\}"),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            '\r' => s.push_str("\\r"),
            c if c.is_control() => s.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => s.push(c),
        }
    }
    s
}

pub fn pattern(p: &Pattern) -> String {
    match &p.kind {
        PatternKind::Wildcard => "_".into(),
        PatternKind::Bind(n) => n.clone(),
        PatternKind::Int(v) => v.to_string(),
        PatternKind::Float(v) => float(*v),
        PatternKind::Str(s) => format!("\"{}\"", escape(s)),
        PatternKind::Bool(b) => b.to_string(),
        PatternKind::Null => "null".into(),
        PatternKind::Ok(inner) => format!("Ok({})", pattern(inner)),
        PatternKind::Err(inner) => format!("Err({})", pattern(inner)),
        PatternKind::Range { start, end, inclusive } => format!("{start}{}{end}", if *inclusive { "..=" } else { ".." }),
        PatternKind::Or(items) => items.iter().map(pattern).collect::<Vec<_>>().join(" | "),
        PatternKind::Tuple(items) => format!("({})", items.iter().map(pattern).collect::<Vec<_>>().join(", ")),
        PatternKind::Error => "?error".into(),
    }
}
