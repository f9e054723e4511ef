//! ORM chains: `T.where(fn(u) => …).order_by(…).limit(n).first(db)` and friends become one
//! query template (`guest_abi::query`) plus the guest-evaluated parameters. Inside a `where`
//! lambda only what SQL can express may touch the row; any sub-expression that does not
//! mention the row is ordinary Fitz, evaluated in the guest and passed as a parameter.

use guest_abi::query as q;

use super::Checker;
use super::problem::{Expectation, Problem};
use crate::ast::{self, BinOp, ExprKind, UnaryOp};
use crate::span::Span;
use crate::tast::{TExpr, TExprKind};
use crate::types::{RecordId, Type};

pub const ORM_METHODS: &[&str] =
    &["where", "order_by", "limit", "offset", "preload", "group_by", "first", "all", "count", "sum", "avg", "min", "max", "update", "delete", "insert"];

struct Chain {
    filter: Option<q::Expr>,
    order: Vec<q::Order>,
    limit: Option<q::Expr>,
    offset: Option<q::Expr>,
    params: Vec<TExpr>,
    preload: Vec<String>,
    group_by: Option<String>,
    builders: usize,
}

impl Checker {
    /// The record type at the root of a method chain such as `User.where(…).first(db)`.
    pub fn orm_root(&mut self, obj: &ast::Expr) -> Option<RecordId> {
        match &obj.kind {
            ExprKind::Name(n) => {
                if self.is_value_name(n) {
                    None
                } else {
                    self.record_ids.get(n).copied()
                }
            }
            ExprKind::Call { callee, .. } => match &callee.kind {
                // `Type.m(…)` of a method the type declares is a call, not a query.
                ExprKind::Field { expr, name } if matches!(&expr.kind, ExprKind::Name(n) if self.methods.contains_key(&(n.clone(), name.name.clone()))) => None,
                ExprKind::Field { expr, .. } => self.orm_root(expr),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn check_orm_chain(&mut self, e: &ast::Expr, rid: RecordId) -> TExpr {
        let mut steps: Vec<(&ast::Ident, &[ast::Arg], Span)> = Vec::new();
        flatten(e, &mut steps);
        let mut chain = Chain { filter: None, order: vec![], limit: None, offset: None, params: vec![], preload: vec![], group_by: None, builders: 0 };
        let mut result: Option<TExpr> = None;
        for (i, (method, args, span)) in steps.iter().enumerate() {
            if let Some(done) = result.take() {
                // Methods after the terminal apply to its result (a future, until awaited).
                result = Some(self.call_method(done, method, args, None, *span));
                continue;
            }
            match method.name.as_str() {
                "where" => {
                    if let Some(pred) = self.where_predicate(args, rid, *span, &mut chain.params) {
                        chain.filter = Some(match chain.filter.take() {
                            None => pred,
                            Some(prev) => q::Expr::Binary { op: q::BinaryOp::And, lhs: Box::new(prev), rhs: Box::new(pred) },
                        });
                    }
                    chain.builders += 1;
                }
                "order_by" => {
                    self.order_by(args, rid, *span, &mut chain.order);
                    chain.builders += 1;
                }
                "limit" | "offset" => {
                    let value = match args {
                        [a] if a.name.is_none() => {
                            let te = self.check_expr(&a.value, &Type::Int, Expectation::Plain);
                            Some(push_param(&mut chain.params, te))
                        }
                        _ => {
                            self.report(Problem::ArgCount { callee: format!(".{}()", method.name), min: 1, max: 1, found: args.len(), span: *span });
                            None
                        }
                    };
                    if method.name == "limit" {
                        chain.limit = value
                    } else {
                        chain.offset = value
                    }
                    chain.builders += 1;
                }
                "group_by" => {
                    if let Some(column) = self.ordered_column("group_by", args, rid, *span) {
                        chain.group_by = Some(column);
                    }
                    chain.builders += 1;
                }
                "preload" => {
                    if let Some(field) = self.preload_field(rid, args, *span)
                        && !chain.preload.contains(&field)
                    {
                        chain.preload.push(field);
                    }
                    chain.builders += 1;
                }
                "first" | "all" | "count" | "sum" | "avg" | "min" | "max" | "delete" | "update" | "insert" => {
                    result = Some(self.terminal(rid, method, args, *span, i, &mut chain));
                }
                other => {
                    let suggestion = super::names::closest(other, ORM_METHODS.iter().copied());
                    self.report(Problem::UnknownMethod { ty: Type::Query(rid), method: other.to_string(), span: method.span, suggestion });
                    self.infer_args_loosely(args);
                    return Self::error_expr(e.span);
                }
            }
        }
        match result {
            Some(r) => r,
            None => {
                self.report(Problem::UnfinishedQuery { span: e.span });
                Self::error_expr(e.span)
            }
        }
    }

    fn terminal(&mut self, rid: RecordId, method: &ast::Ident, args: &[ast::Arg], span: Span, index: usize, chain: &mut Chain) -> TExpr {
        let name = method.name.as_str();
        let callee = format!(".{name}()");
        let record = Type::Record(rid);
        let aggregate = match name {
            "sum" => Some(q::Aggregate::Sum),
            "avg" => Some(q::Aggregate::Avg),
            "min" => Some(q::Aggregate::Min),
            "max" => Some(q::Aggregate::Max),
            _ => None,
        };
        let expected_args = if matches!(name, "update" | "insert") || aggregate.is_some() { 2 } else { 1 };
        if args.len() != expected_args || args.iter().any(|a| a.name.is_some()) {
            self.report(Problem::ArgCount { callee: callee.clone(), min: expected_args, max: expected_args, found: args.len(), span });
            self.infer_args_loosely(args);
            return Self::error_expr(span);
        }
        // `T.sum(fn(u) => u.col, db)`: the column first, the connection last (upstream's order).
        let db_at = if aggregate.is_some() { 1 } else { 0 };
        let db = self.check_expr(&args[db_at].value, &Type::DbConn, Expectation::Argument { callee: callee.clone(), index: db_at });
        if self.records[rid.0 as usize].table_use.is_none() {
            self.records[rid.0 as usize].table_use = Some(span);
        }
        let (kind, ret) = match name {
            "first" => (q::QueryKind::First, Type::result(record.clone())),
            "all" => (q::QueryKind::All, Type::result(Type::list(record.clone()))),
            "count" => (q::QueryKind::Count, Type::result(Type::Int)),
            "sum" | "avg" | "min" | "max" => {
                let method: &'static str = match name {
                    "sum" => "sum",
                    "avg" => "avg",
                    "min" => "min",
                    _ => "max",
                };
                let column = self.aggregated_column(method, &args[..1], rid, span).unwrap_or_default();
                (q::QueryKind::Aggregate { func: aggregate.unwrap_or(q::Aggregate::Sum), column }, Type::result(Type::Float))
            }
            "delete" => (q::QueryKind::Delete, Type::result(Type::Int)),
            "insert" => {
                if index > 0 {
                    self.report(Problem::Unsupported { what: "a query chain before `.insert()`", span });
                }
                let value = self.check_expr(&args[1].value, &record, Expectation::Argument { callee: callee.clone(), index: 1 });
                chain.params.insert(0, value);
                (q::QueryKind::Insert, Type::result(record.clone()))
            }
            _ => {
                let set = self.update_set(&args[1].value, rid, &mut chain.params);
                (q::QueryKind::Update { set }, Type::result(Type::Int))
            }
        };
        if matches!(name, "update" | "delete") && chain.filter.is_none() {
            self.report(Problem::NeedsWhere { terminal: if name == "update" { "update" } else { "delete" }, span: method.span });
        }
        if (matches!(name, "update" | "delete" | "count") || aggregate.is_some()) && (chain.limit.is_some() || chain.offset.is_some() || !chain.order.is_empty()) {
            self.report(Problem::Unsupported { what: "`.order_by()`, `.limit()` or `.offset()` before this terminal", span: method.span });
        }
        let _ = chain.builders;
        let grouped = chain.group_by.is_some();
        if grouped && !(name == "count" || aggregate.is_some()) {
            self.report(Problem::Unsupported { what: "`.group_by()` before a terminal other than `.count()`, `.sum()`, `.avg()`, `.min()` or `.max()`", span: method.span });
        }
        let ret = if grouped { Type::result(Type::list(Type::map(Type::Str, Type::Any))) } else { ret };
        if !chain.preload.is_empty() && !matches!(name, "first" | "all") {
            self.report(Problem::Unsupported { what: "`.preload()` before a terminal other than `.first()` or `.all()`", span: method.span });
        }
        let query = q::Query {
            table: self.table_name(rid),
            kind,
            filter: chain.filter.take(),
            order: std::mem::take(&mut chain.order),
            limit: chain.limit.take(),
            offset: chain.offset.take(),
            preload: std::mem::take(&mut chain.preload),
            group_by: chain.group_by.take(),
        };
        let params = std::mem::take(&mut chain.params);
        TExpr { kind: TExprKind::Query { record: rid, query: Box::new(query), db: Box::new(db), params }, ty: Type::future(ret), span }
    }

    /// The table a record maps to: `@table("name")`, else snake_case plus `s`.
    pub fn table_name(&self, rid: RecordId) -> String {
        let r = &self.records[rid.0 as usize];
        match &r.decorators.table {
            Some((name, _)) => name.clone(),
            // `module.Name` (a type two modules declare): `module_name`.
            None => format!("{}s", r.name.split('.').map(snake_case).collect::<Vec<_>>().join("_")),
        }
    }

    fn update_set(&mut self, value: &ast::Expr, rid: RecordId, params: &mut Vec<TExpr>) -> Vec<q::Assignment> {
        let ExprKind::Map(entries) = &value.kind else {
            self.report(Problem::UpdateNeedsMapLiteral { span: value.span });
            self.infer_expr(value, None);
            return vec![];
        };
        let mut set = Vec::new();
        for (k, v) in entries {
            let column = match &k.kind {
                ExprKind::Str(parts) => match parts.as_slice() {
                    [ast::StrPart::Text(s)] => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            };
            let Some(column) = column else {
                self.report(Problem::UpdateNeedsMapLiteral { span: k.span });
                continue;
            };
            let record = &self.records[rid.0 as usize];
            let Some((_, field)) = record.field(&column) else {
                let suggestion = super::names::closest(&column, record.fields.iter().map(|f| f.name.as_str()));
                self.report(Problem::UnknownField { ty: Type::Record(rid), field: column, span: k.span, suggestion });
                self.infer_expr(v, None);
                continue;
            };
            let fty = field.ty.clone();
            let why = Expectation::Field { record: record.name.clone(), field: column.clone() };
            let te = self.check_expr(v, &fty, why);
            let param = params.len() as u32;
            params.push(te);
            set.push(q::Assignment { column, param });
        }
        set
    }

    /// The single `fn(row) => …` argument of `where`/`order_by`: its parameter name and body.
    fn row_lambda<'a>(&mut self, method: &'static str, args: &'a [ast::Arg], rid: RecordId, span: Span) -> Option<(String, &'a ast::Expr)> {
        let lambda = match args.first() {
            Some(a) if a.name.is_none() => match &a.value.kind {
                ExprKind::Lambda(l) => Some(l),
                _ => None,
            },
            _ => None,
        };
        let Some(l) = lambda else {
            self.report(Problem::WhereNotLambda { method, span: args.first().map_or(span, |a| a.value.span) });
            self.infer_args_loosely(args);
            return None;
        };
        let [param] = l.params.as_slice() else {
            self.report(Problem::WhereNotLambda { method, span: args[0].value.span });
            return None;
        };
        if let Some(t) = &param.ty {
            let ty = self.resolve_type_expr(t);
            if !self.unifier.try_unify(&ty, &Type::Record(rid)) {
                let found = self.res(&ty);
                self.report(Problem::Mismatch { expected: Type::Record(rid), found, span: t.span, context: Expectation::Plain });
            }
        }
        let body = match &l.body {
            ast::FnBody::Expr(e) => &**e,
            ast::FnBody::Block(b) => match b.stmts.as_slice() {
                [ast::Stmt { kind: ast::StmtKind::Expr(e), .. }] => e,
                _ => {
                    self.report(Problem::WhereNotLambda { method, span: args[0].value.span });
                    return None;
                }
            },
        };
        Some((param.name.name.clone(), body))
    }

    fn where_predicate(&mut self, args: &[ast::Arg], rid: RecordId, span: Span, params: &mut Vec<TExpr>) -> Option<q::Expr> {
        if args.len() != 1 {
            self.report(Problem::ArgCount { callee: ".where()".into(), min: 1, max: 1, found: args.len(), span });
            self.infer_args_loosely(args);
            return None;
        }
        let (row, body) = self.row_lambda("where", args, rid, span)?;
        let (expr, ty) = self.row_expr(body, &row, rid, params)?;
        let ty = self.unifier.shallow(&ty);
        if ty != Type::Bool && ty != Type::Error {
            let found = self.res(&ty);
            self.report(Problem::Mismatch { expected: Type::Bool, found, span: body.span, context: Expectation::Condition });
            return None;
        }
        Some(expr)
    }

    fn order_by(&mut self, args: &[ast::Arg], rid: RecordId, span: Span, order: &mut Vec<q::Order>) {
        let mut ascending = true;
        for a in args.iter().skip(1) {
            match (&a.name, &a.value.kind) {
                (Some(n), ExprKind::Bool(b)) if n.name == "ascending" => ascending = *b,
                (None, ExprKind::Bool(b)) if args.len() == 2 => ascending = *b,
                _ => {
                    self.report(Problem::DecoratorArgs { name: "order_by".into(), expected: "`ascending: true` or `ascending: false`", span: a.span });
                }
            }
        }
        if args.is_empty() || args.len() > 2 {
            self.report(Problem::ArgCount { callee: ".order_by()".into(), min: 1, max: 2, found: args.len(), span });
            return;
        }
        let Some((row, body)) = self.row_lambda("order_by", &args[..1], rid, span) else { return };
        // `fn(u) => -u.age`: descending.
        let body = match &body.kind {
            ExprKind::Unary { op: UnaryOp::Neg, expr } => {
                ascending = !ascending;
                &**expr
            }
            _ => body,
        };
        match &body.kind {
            ExprKind::Field { expr, name } if matches!(&expr.kind, ExprKind::Name(n) if *n == row) => {
                if self.column(rid, name).is_some() {
                    order.push(q::Order { column: name.name.clone(), ascending });
                }
            }
            _ => self.report(Problem::WhereNotLambda { method: "order_by", span: body.span }),
        }
    }

    /// `fn(u) => u.col` of an aggregate: a numeric column.
    fn aggregated_column(&mut self, method: &'static str, args: &[ast::Arg], rid: RecordId, span: Span) -> Option<String> {
        let (row, body) = self.row_lambda(method, args, rid, span)?;
        match &body.kind {
            ExprKind::Field { expr, name } if matches!(&expr.kind, ExprKind::Name(n) if *n == row) => {
                let ty = self.column(rid, name)?;
                let base = match self.unifier.resolve(&ty) {
                    Type::Nullable(inner) => *inner,
                    other => other,
                };
                if !matches!(base, Type::Int | Type::Float | Type::Error) {
                    self.report(Problem::Mismatch { expected: Type::Float, found: base, span: body.span, context: Expectation::Plain });
                    return None;
                }
                Some(name.name.clone())
            }
            _ => {
                self.report(Problem::WhereNotLambda { method, span: body.span });
                None
            }
        }
    }

    /// `fn(r) => r.col` naming a column (of any type) for `method`.
    fn ordered_column(&mut self, method: &'static str, args: &[ast::Arg], rid: RecordId, span: Span) -> Option<String> {
        if args.len() != 1 {
            self.report(Problem::ArgCount { callee: format!(".{method}()"), min: 1, max: 1, found: args.len(), span });
            return None;
        }
        let (row, body) = self.row_lambda(method, args, rid, span)?;
        match &body.kind {
            ExprKind::Field { expr, name } if matches!(&expr.kind, ExprKind::Name(n) if *n == row) => {
                self.column(rid, name)?;
                Some(name.name.clone())
            }
            _ => {
                self.report(Problem::WhereNotLambda { method, span: body.span });
                None
            }
        }
    }

    /// A field of the row that is a table column.
    fn column(&mut self, rid: RecordId, name: &ast::Ident) -> Option<Type> {
        let record = &self.records[rid.0 as usize];
        match record.field(&name.name) {
            Some((_, f)) => Some(f.ty.clone()),
            None => {
                let suggestion = super::names::closest(&name.name, record.fields.iter().map(|f| f.name.as_str()));
                self.report(Problem::UnknownField { ty: Type::Record(rid), field: name.name.clone(), span: name.span, suggestion });
                None
            }
        }
    }

    /// Translates one sub-expression of a `where` body.
    fn row_expr(&mut self, e: &ast::Expr, row: &str, rid: RecordId, params: &mut Vec<TExpr>) -> Option<(q::Expr, Type)> {
        if !mentions(e, row) {
            let te = self.infer_expr(e, None);
            let te = match self.unifier.shallow(&te.ty) {
                Type::Future(inner) => {
                    let inner = self.res(&inner);
                    self.report(Problem::MissingAwait { inner, span: te.span });
                    return None;
                }
                _ => te,
            };
            let ty = te.ty.clone();
            return Some((push_param(params, te), ty));
        }
        let not_sql = |c: &mut Self, construct: &str| {
            c.report(Problem::NotInWhere { construct: construct.to_string(), span: e.span });
            None
        };
        match &e.kind {
            ExprKind::Name(_) => {
                self.report(Problem::WhereRowAlone { span: e.span });
                None
            }
            ExprKind::Field { expr, name } => match &expr.kind {
                ExprKind::Name(n) if n == row => {
                    let ty = self.column(rid, name)?;
                    Some((q::Expr::Column { name: name.name.clone() }, ty))
                }
                _ => not_sql(self, "nested field access"),
            },
            ExprKind::Binary { op: op @ (BinOp::And | BinOp::Or), lhs, rhs } => {
                let l = self.row_bool(lhs, row, rid, params);
                let r = self.row_bool(rhs, row, rid, params);
                let (l, r) = (l?, r?);
                let op = if *op == BinOp::And { q::BinaryOp::And } else { q::BinaryOp::Or };
                Some((q::Expr::Binary { op, lhs: Box::new(l), rhs: Box::new(r) }, Type::Bool))
            }
            ExprKind::Binary { op: op @ (BinOp::Eq | BinOp::NotEq), lhs, rhs } if matches!(rhs.kind, ExprKind::Null) || matches!(lhs.kind, ExprKind::Null) => {
                let side = if matches!(rhs.kind, ExprKind::Null) { lhs } else { rhs };
                let (x, _) = self.row_expr(side, row, rid, params)?;
                let x = Box::new(x);
                Some((if *op == BinOp::Eq { q::Expr::IsNull { expr: x } } else { q::Expr::IsNotNull { expr: x } }, Type::Bool))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.row_expr(lhs, row, rid, params);
                let r = self.row_expr(rhs, row, rid, params);
                let ((l, lt), (r, rt)) = (l?, r?);
                let ty = self.row_binary_type(*op, (&l, &lt), (&r, &rt), params, e.span)?;
                let op = match op {
                    BinOp::Eq => q::BinaryOp::Eq,
                    BinOp::NotEq => q::BinaryOp::Ne,
                    BinOp::Lt => q::BinaryOp::Lt,
                    BinOp::LtEq => q::BinaryOp::Le,
                    BinOp::Gt => q::BinaryOp::Gt,
                    BinOp::GtEq => q::BinaryOp::Ge,
                    BinOp::Add => q::BinaryOp::Add,
                    BinOp::Sub => q::BinaryOp::Sub,
                    BinOp::Mul => q::BinaryOp::Mul,
                    BinOp::Div => q::BinaryOp::Div,
                    BinOp::Rem => q::BinaryOp::Rem,
                    BinOp::And | BinOp::Or => unreachable!("handled above"),
                    BinOp::Xor | BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor | BinOp::Shl | BinOp::Shr => {
                        return not_sql(self, "a bitwise operator or `xor`");
                    }
                };
                Some((q::Expr::Binary { op, lhs: Box::new(l), rhs: Box::new(r) }, ty))
            }
            ExprKind::Unary { op: UnaryOp::Not, expr } => {
                let x = self.row_bool(expr, row, rid, params)?;
                Some((q::Expr::Not { expr: Box::new(x) }, Type::Bool))
            }
            ExprKind::Unary { op: UnaryOp::Neg, expr } => {
                let (x, t) = self.row_expr(expr, row, rid, params)?;
                if !matches!(self.unifier.shallow(&t), Type::Int | Type::Float) {
                    let ty = self.res(&t);
                    self.report(Problem::UnaryOperand { op: "-", ty, span: e.span });
                    return None;
                }
                Some((q::Expr::Neg { expr: Box::new(x) }, t))
            }
            ExprKind::Call { callee, args } => match &callee.kind {
                ExprKind::Field { expr: recv, name } if mentions(recv, row) => self.row_method(e, recv, name, args, row, rid, params),
                ExprKind::Name(n) => not_sql(self, &format!("a call to `{n}`")),
                _ => not_sql(self, "a function call"),
            },
            ExprKind::If { .. } => not_sql(self, "`if`"),
            ExprKind::Match { .. } => not_sql(self, "`match`"),
            ExprKind::Loop { .. } => not_sql(self, "`loop`"),
            ExprKind::Str(_) => not_sql(self, "string interpolation"),
            ExprKind::Index { .. } | ExprKind::Slice { .. } => not_sql(self, "indexing"),
            ExprKind::Lambda(_) => not_sql(self, "a lambda"),
            ExprKind::List(_) => not_sql(self, "a list literal"),
            ExprKind::Map(_) => not_sql(self, "a map literal"),
            ExprKind::Struct { .. } => not_sql(self, "a record literal"),
            ExprKind::Try(_) => not_sql(self, "`?`"),
            ExprKind::Await(_) => not_sql(self, "`.await`"),
            ExprKind::Range { .. } => not_sql(self, "a range"),
            ExprKind::Block(_) => not_sql(self, "a block"),
            _ => not_sql(self, "this expression"),
        }
    }

    fn row_bool(&mut self, e: &ast::Expr, row: &str, rid: RecordId, params: &mut Vec<TExpr>) -> Option<q::Expr> {
        let (x, t) = self.row_expr(e, row, rid, params)?;
        let t = self.unifier.shallow(&t);
        if t != Type::Bool && t != Type::Error {
            if let q::Expr::Param { index } = x {
                let te = take_param(params, index);
                params[index as usize] = self.coerce(te, &Type::Bool, Expectation::Condition);
                return Some(x);
            }
            let found = self.res(&t);
            self.report(Problem::Mismatch { expected: Type::Bool, found, span: e.span, context: Expectation::Condition });
            return None;
        }
        Some(x)
    }

    /// Types an operator inside a `where`, widening parameters to the column's type.
    fn row_binary_type(&mut self, op: BinOp, (l, lt): (&q::Expr, &Type), (r, rt): (&q::Expr, &Type), params: &mut [TExpr], span: Span) -> Option<Type> {
        let lt = self.unifier.shallow(lt);
        let rt = self.unifier.shallow(rt);
        let strip = |t: &Type| match t {
            Type::Nullable(inner) => (**inner).clone(),
            other => other.clone(),
        };
        let (a, b) = (strip(&lt), strip(&rt));
        // Fit a parameter to the other side's type (an Int literal compared with a Float column).
        let widen = |c: &mut Self, side: &q::Expr, params: &mut [TExpr], to: &Type| {
            if let q::Expr::Param { index } = side {
                let te = take_param(params, *index);
                params[*index as usize] = c.coerce(te, to, Expectation::Plain);
            }
        };
        let numeric = |t: &Type| matches!(t, Type::Int | Type::Float);
        let is_cmp = matches!(op, BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq);
        let ok = if is_cmp {
            if numeric(&a) && numeric(&b) {
                if a == Type::Float {
                    widen(self, r, params, &Type::Float)
                }
                if b == Type::Float {
                    widen(self, l, params, &Type::Float)
                }
                true
            } else if matches!(a, Type::Var(_)) || matches!(b, Type::Var(_)) {
                self.unifier.unify(&a, &b)
            } else {
                let same = a == b && !matches!(a, Type::List(_) | Type::Map(..) | Type::Record(_) | Type::Fn(..) | Type::DbConn);
                let ordered = matches!(op, BinOp::Eq | BinOp::NotEq) || matches!(a, Type::Int | Type::Float | Type::Str | Type::DateTime | Type::Date);
                same && ordered
            }
        } else {
            numeric(&a) && numeric(&b) && !(op == BinOp::Rem && (a == Type::Float || b == Type::Float))
        };
        if lt == Type::Error || rt == Type::Error {
            return Some(if is_cmp { Type::Bool } else { Type::Error });
        }
        if !ok {
            let (lhs, rhs) = (self.res(&lt), self.res(&rt));
            self.report(Problem::BinaryOperands { op: op.symbol(), lhs, rhs, span });
            return None;
        }
        if is_cmp {
            Some(Type::Bool)
        } else if a == Type::Float || b == Type::Float {
            Some(Type::Float)
        } else {
            Some(Type::Int)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn row_method(&mut self, e: &ast::Expr, recv: &ast::Expr, name: &ast::Ident, args: &[ast::Arg], row: &str, rid: RecordId, params: &mut Vec<TExpr>) -> Option<(q::Expr, Type)> {
        let m = name.name.as_str();
        if !matches!(m, "starts_with" | "ends_with" | "contains" | "is_null" | "is_not_null" | "is_in" | "between") {
            self.report(Problem::NotInWhere { construct: format!("the method `.{m}()`"), span: e.span });
            return None;
        }
        let (x, t) = self.row_expr(recv, row, rid, params)?;
        let t = self.unifier.shallow(&t);
        let base = match &t {
            Type::Nullable(inner) => (**inner).clone(),
            other => other.clone(),
        };
        let wanted_args = match m {
            "is_null" | "is_not_null" => 0,
            "between" => 2,
            _ => 1,
        };
        if args.len() != wanted_args {
            self.report(Problem::ArgCount { callee: format!(".{m}()"), min: wanted_args, max: wanted_args, found: args.len(), span: e.span });
            return None;
        }
        if let Some(a) = args.iter().find(|a| mentions(&a.value, row)) {
            self.report(Problem::NotInWhere { construct: format!("the row inside the argument of `.{m}()`"), span: a.value.span });
            return None;
        }
        let x = Box::new(x);
        match m {
            "is_null" => Some((q::Expr::IsNull { expr: x }, Type::Bool)),
            "is_not_null" => Some((q::Expr::IsNotNull { expr: x }, Type::Bool)),
            // `u.col.between(a, b)`: both ends included, as SQL's `BETWEEN`.
            "between" => {
                if !matches!(base, Type::Int | Type::Float | Type::Str | Type::DateTime | Type::Date | Type::Error) {
                    let ty = self.res(&t);
                    self.report(Problem::UnknownMethod { ty, method: m.to_string(), span: name.span, suggestion: None });
                    return None;
                }
                let mut ends = Vec::new();
                for (i, a) in args.iter().enumerate() {
                    let te = self.check_expr(&a.value, &base, Expectation::Argument { callee: ".between()".into(), index: i });
                    ends.push(push_param(params, te));
                }
                let [low, high] = <[q::Expr; 2]>::try_from(ends).ok()?;
                let ge = q::Expr::Binary { op: q::BinaryOp::Ge, lhs: x.clone(), rhs: Box::new(low) };
                let le = q::Expr::Binary { op: q::BinaryOp::Le, lhs: x, rhs: Box::new(high) };
                Some((q::Expr::Binary { op: q::BinaryOp::And, lhs: Box::new(ge), rhs: Box::new(le) }, Type::Bool))
            }
            "is_in" => {
                let te = self.check_expr(&args[0].value, &Type::list(base), Expectation::Argument { callee: ".is_in()".into(), index: 0 });
                let index = params.len() as u32;
                params.push(te);
                Some((q::Expr::In { expr: x, list: index }, Type::Bool))
            }
            _ => {
                if base != Type::Str && base != Type::Error {
                    let ty = self.res(&t);
                    self.report(Problem::UnknownMethod { ty, method: m.to_string(), span: name.span, suggestion: None });
                    return None;
                }
                let mode = match m {
                    "starts_with" => q::LikeMode::StartsWith,
                    "ends_with" => q::LikeMode::EndsWith,
                    _ => q::LikeMode::Contains,
                };
                let te = self.check_expr(&args[0].value, &Type::Str, Expectation::Argument { callee: format!(".{m}()"), index: 0 });
                let pattern = Box::new(push_param(params, te));
                Some((q::Expr::Like { expr: x, mode, pattern }, Type::Bool))
            }
        }
    }
}

fn push_param(params: &mut Vec<TExpr>, te: TExpr) -> q::Expr {
    let index = params.len() as u32;
    params.push(te);
    q::Expr::Param { index }
}

fn take_param(params: &mut [TExpr], index: u32) -> TExpr {
    let slot = &mut params[index as usize];
    let span = slot.span;
    std::mem::replace(slot, Checker::error_expr(span))
}

fn flatten<'a>(e: &'a ast::Expr, out: &mut Vec<(&'a ast::Ident, &'a [ast::Arg], Span)>) {
    if let ExprKind::Call { callee, args } = &e.kind
        && let ExprKind::Field { expr, name } = &callee.kind
    {
        flatten(expr, out);
        out.push((name, args, e.span));
    }
}

/// `BlogPost` → `blog_post`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_uppercase())) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// Whether the expression refers to `name` (not shadowed by an inner lambda's parameter).
pub fn mentions(e: &ast::Expr, name: &str) -> bool {
    use ExprKind::*;
    let m = |x: &ast::Expr| mentions(x, name);
    match &e.kind {
        Name(n) => n == name,
        Int(_) | Float(_) | Bytes(_) | Bool(_) | Null | Continue { .. } | Error => false,
        Break { value, .. } => value.as_ref().is_some_and(|v| m(v)),
        Loop { body, .. } => block_mentions(body, name),
        Str(parts) => parts.iter().any(|p| matches!(p, ast::StrPart::Interp { expr, .. } if m(expr))),
        List(items) | Tuple(items) => items.iter().any(m),
        Map(entries) => entries.iter().any(|(k, v)| m(k) || m(v)),
        Struct { fields, .. } => fields.iter().any(|f| m(&f.value)),
        Unary { expr, .. } | Field { expr, .. } | TupleField { expr, .. } | Try(expr) | Await(expr) => m(expr),
        Binary { lhs, rhs, .. } => m(lhs) || m(rhs),
        Call { callee, args } => m(callee) || args.iter().any(|a| m(&a.value)),
        Index { expr, index } => m(expr) || m(index),
        Slice { expr, start, end, .. } => m(expr) || start.as_ref().is_some_and(|x| m(x)) || end.as_ref().is_some_and(|x| m(x)),
        Lambda(l) => {
            if l.params.iter().any(|p| p.name.name == name) {
                return false;
            }
            match &l.body {
                ast::FnBody::Expr(b) => m(b),
                ast::FnBody::Block(b) => block_mentions(b, name),
            }
        }
        If { cond, then, otherwise } => m(cond) || block_mentions(then, name) || otherwise.as_ref().is_some_and(|o| m(o)),
        Match { scrutinee, arms } => m(scrutinee) || arms.iter().any(|a| a.guard.as_ref().is_some_and(m) || m(&a.body)),
        Block(b) => block_mentions(b, name),
        Range { start, end, .. } => m(start) || m(end),
        Return(v) => v.as_ref().is_some_and(|v| m(v)),
        ReturnStatus { body, .. } => m(body),
    }
}

fn block_mentions(b: &ast::Block, name: &str) -> bool {
    b.stmts.iter().any(|s| match &s.kind {
        ast::StmtKind::Let { value, .. } | ast::StmtKind::LetPattern { value, .. } => mentions(value, name),
        ast::StmtKind::Assign { target, value, .. } => mentions(target, name) || mentions(value, name),
        ast::StmtKind::Expr(e) => mentions(e, name),
        ast::StmtKind::While { cond, body, .. } => mentions(cond, name) || block_mentions(body, name),
        ast::StmtKind::For { iter, body, .. } => mentions(iter, name) || block_mentions(body, name),
        ast::StmtKind::Error => false,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn snake_case_of_type_names() {
        assert_eq!(super::snake_case("User"), "user");
        assert_eq!(super::snake_case("BlogPost"), "blog_post");
        assert_eq!(super::snake_case("HTTPLog"), "http_log");
    }
}
