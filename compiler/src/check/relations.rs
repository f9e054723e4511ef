//! `@has_many` and `@belongs_to` (upstream's relations): checked against the records they
//! name, then used three ways — `T.preload("posts")` in a query chain (one more statement for
//! all the rows read, never one per row), and navigation from a row: `user.posts(db)` (the
//! rows that point at it) and `post.user_id(db)` (the row it points at).

use guest_abi::manifest::{Reference, Relation};
use guest_abi::query as q;

use super::Checker;
use super::problem::{Expectation, Problem};
use crate::ast;
use crate::span::Span;
use crate::tast::{TExpr, TExprKind};
use crate::types::{RecordId, Type};

/// A table's `@has_many` fields and `@belongs_to` columns, by field index.
type Relations = (Vec<(usize, Relation)>, Vec<(usize, Reference)>);

impl Checker {
    /// The primary key's field: the `@primary` one, else one named `id`.
    pub fn primary_index(&self, rid: RecordId) -> Option<usize> {
        let r = &self.records[rid.0 as usize];
        r.fields.iter().position(|f| f.decorators.primary.is_some()).or_else(|| r.fields.iter().position(|f| f.name == "id"))
    }

    fn base_type(&self, t: &Type) -> Type {
        match self.unifier.resolve(t) {
            Type::Nullable(inner) => *inner,
            other => other,
        }
    }

    /// The relations and references of table `rid`, each checked against what it names.
    pub fn relations_of(&mut self, rid: RecordId) -> Relations {
        let (mut relations, mut references) = (Vec::new(), Vec::new());
        let key_ty = self.primary_index(rid).map(|k| self.base_type(&self.records[rid.0 as usize].fields[k].ty));
        for i in 0..self.records[rid.0 as usize].fields.len() {
            let f = &self.records[rid.0 as usize].fields[i];
            let (name, ty) = (f.name.clone(), self.unifier.resolve(&f.ty));
            if let Some(h) = f.decorators.has_many.clone() {
                let bad = |reason: String| Problem::BadRelation { decorator: "has_many", reason, span: h.span };
                let Some(&target) = self.record_ids.get(&h.target) else {
                    self.report(bad(format!("names `{}`, which is not a type of this program", h.target)));
                    continue;
                };
                if ty != Type::list(Type::Record(target)) {
                    self.report(bad(format!("needs its field to be `List<{}>`, not `{}`", h.target, crate::types::TypeDisplay::new(&ty, &self.record_names))));
                    continue;
                }
                let via = self.records[target.0 as usize].field(&h.via).map(|(_, f)| self.base_type(&f.ty));
                match (via, &key_ty) {
                    (None, _) => self.report(bad(format!("names column `{}`, which `{}` does not have", h.via, h.target))),
                    (Some(v), Some(k)) if v != *k => self.report(bad(format!("joins on `{}.{}`, which is not of this table's key type", h.target, h.via))),
                    _ => relations.push((i, Relation { field: name, table: self.table_name(target), foreign_key: h.via.clone() })),
                }
            }
            let f = &self.records[rid.0 as usize].fields[i];
            if let Some(b) = f.decorators.belongs_to.clone() {
                let bad = |reason: String| Problem::BadRelation { decorator: "belongs_to", reason, span: b.span };
                let Some(&target) = self.record_ids.get(&b.target) else {
                    self.report(bad(format!("names `{}`, which is not a type of this program", b.target)));
                    continue;
                };
                let Some(pk) = self.primary_index(target) else { continue };
                let pk_field = &self.records[target.0 as usize].fields[pk];
                let (pk_name, pk_ty) = (pk_field.name.clone(), self.base_type(&pk_field.ty));
                if self.base_type(&ty) != pk_ty {
                    self.report(bad(format!("needs its column to hold `{}`'s key, of type `{}`", b.target, crate::types::TypeDisplay::new(&pk_ty, &self.record_names))));
                    continue;
                }
                references.push((i, Reference { table: self.table_name(target), column: pk_name, on_delete: b.on_delete.clone() }));
            }
        }
        (relations, references)
    }

    /// `.preload("posts")`: the name of a `@has_many` field of `rid`.
    pub fn preload_field(&mut self, rid: RecordId, args: &[ast::Arg], span: Span) -> Option<String> {
        let name = match args {
            [a] if a.name.is_none() => match &a.value.kind {
                ast::ExprKind::Str(parts) => match parts.as_slice() {
                    [ast::StrPart::Text(s)] => Some((s.clone(), a.value.span)),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        let Some((name, at)) = name else {
            self.report(Problem::DecoratorArgs { name: "preload".into(), expected: "the name of a `@has_many` field, as a string literal", span });
            return None;
        };
        let record = &self.records[rid.0 as usize];
        match record.field(&name) {
            Some((_, f)) if f.decorators.has_many.is_some() => Some(name),
            _ => {
                let relations = record.fields.iter().filter(|f| f.decorators.has_many.is_some()).map(|f| f.name.as_str());
                let suggestion = super::names::closest(&name, relations);
                self.report(Problem::UnknownField { ty: Type::Record(rid), field: name, span: at, suggestion });
                None
            }
        }
    }

    /// `user.posts(db)` or `post.user_id(db)` on a row `recv` of table `rid`: a query, or `None`
    /// when `method` names no relation of the record.
    pub fn navigate(&mut self, recv: &TExpr, rid: RecordId, method: &ast::Ident, args: &[ast::Arg], span: Span) -> Option<TExpr> {
        let (field_index, field) = self.records[rid.0 as usize].field(&method.name)?;
        let (has_many, belongs_to) = (field.decorators.has_many.clone(), field.decorators.belongs_to.clone());
        if has_many.is_none() && belongs_to.is_none() {
            return None;
        }
        let callee = format!(".{}()", method.name);
        let [db] = args else {
            self.report(Problem::ArgCount { callee, min: 1, max: 1, found: args.len(), span });
            self.infer_args_loosely(args);
            return Some(Self::error_expr(span));
        };
        let db = self.check_expr(&db.value, &Type::DbConn, Expectation::Argument { callee, index: 0 });
        let field_of = |c: &Self, record: RecordId, index: usize| TExpr {
            kind: TExprKind::Field { expr: Box::new(recv.clone()), record, field: index },
            ty: c.records[record.0 as usize].fields[index].ty.clone(),
            span: recv.span,
        };
        let eq = |column: String| q::Expr::Binary { op: q::BinaryOp::Eq, lhs: Box::new(q::Expr::Column { name: column }), rhs: Box::new(q::Expr::Param { index: 0 }) };
        let (target, kind, column, param, ret) = if let Some(h) = has_many {
            let target = *self.record_ids.get(&h.target)?;
            let key = field_of(self, rid, self.primary_index(rid)?);
            (target, q::QueryKind::All, h.via, key, Type::result(Type::list(Type::Record(target))))
        } else {
            let b = belongs_to?;
            let target = *self.record_ids.get(&b.target)?;
            let pk = self.primary_index(target)?;
            let column = self.records[target.0 as usize].fields[pk].name.clone();
            (target, q::QueryKind::First, column, field_of(self, rid, field_index), Type::result(Type::Record(target)))
        };
        let query = q::Query { table: self.table_name(target), kind, filter: Some(eq(column)), order: vec![], limit: None, offset: None, preload: vec![], group_by: None };
        Some(TExpr { kind: TExprKind::Query { record: target, query: Box::new(query), db: Box::new(db), params: vec![param] }, ty: Type::future(ret), span })
    }
}
