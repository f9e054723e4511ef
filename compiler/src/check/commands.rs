//! `@command` functions (`crate::commands` writes their parsers): what a command may declare
//! so its command line can be read, and the program's entry for the host.

use super::Checker;
use super::problem::Problem;
use crate::ast;
use crate::commands::{ArgKind, DISPATCHER, arg_kind, short_flag};
use crate::tast::FnId;
use crate::types::Type;

impl Checker {
    /// Checks every command; the dispatcher, when there is one, is the program's CLI entry.
    pub fn check_commands(&mut self, fns: &[&ast::FnDecl]) -> Option<FnId> {
        let mut names: Vec<(String, crate::span::Span)> = Vec::new();
        for (i, f) in fns.iter().enumerate() {
            let Some((name, span)) = self.fns[i].decorators.command.clone() else { continue };
            if let Some((_, first)) = names.iter().find(|(n, _)| *n == name) {
                self.report(Problem::Duplicate { what: "command", name: name.clone(), span, first: *first });
            }
            names.push((name.clone(), span));
            let ret = self.unifier.resolve(&self.fns[i].ret);
            if ret != Type::Int && ret != Type::Error {
                let span = f.ret.as_ref().map_or(f.name.span, |t| t.span);
                self.report(Problem::CommandReturn { command: name.clone(), ty: ret, span });
            }
            let mut shorts: Vec<(char, String)> = Vec::new();
            for (j, p) in f.params.iter().enumerate() {
                // A declared type the parser can read the argument as (it writes the same).
                let ty = self.unifier.resolve(&self.fns[i].params[j].ty);
                let text = match &ty {
                    Type::Str => "Str",
                    Type::Int => "Int",
                    Type::Float => "Float",
                    Type::Bool => "Bool",
                    Type::List(t) if **t == Type::Str => "List<Str>",
                    _ => "",
                };
                let kind = if p.ty.is_none() { None } else { arg_kind(text, p.variadic) };
                match kind {
                    None => self.report(Problem::CommandParam { name: p.name.name.clone(), span: p.span }),
                    Some(ArgKind::Rest) if j + 1 != f.params.len() || p.default.is_some() => self.report(Problem::CommandRestNotLast { span: p.span }),
                    Some(_) if p.default.as_ref().is_some_and(|d| !crate::commands::literal_default(d)) => {
                        let span = p.default.as_ref().map_or(p.span, |d| d.span);
                        self.report(Problem::CommandDefault { span })
                    }
                    Some(_) if p.default.is_some() => {
                        if let Some(c) = short_flag(&p.name.name) {
                            match shorts.iter().find(|(s, _)| *s == c) {
                                Some((_, other)) => self.report(Problem::CommandShortFlag { flag: c, first: other.clone(), second: p.name.name.clone(), span: p.span }),
                                None => shorts.push((c, p.name.name.clone())),
                            }
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        if names.is_empty() {
            return None;
        }
        self.fn_ids.get(DISPATCHER).copied()
    }
}
