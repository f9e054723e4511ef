//! The static auth rules of `seed/article.txt`: one `@auth_provider` of the right shape, and
//! every `@authenticated` / `@admin` / `@requires` handler wired to it.

use super::Checker;
use super::problem::{Problem, ProviderProblem};
use crate::ast;
use crate::tast::{AuthProvider, FnId};
use crate::types::Type;

impl Checker {
    pub fn check_auth(&mut self, fns: &[&ast::FnDecl]) -> Option<AuthProvider> {
        let mut provider: Option<(FnId, ast::Ident)> = None;
        let mut found: Option<AuthProvider> = None;
        for (i, f) in fns.iter().enumerate() {
            let Some(span) = self.fns[i].decorators.auth_provider else { continue };
            if let Some((_, first)) = &provider {
                self.report(Problem::DuplicateAuthProvider { span, first: first.span });
                continue;
            }
            provider = Some((FnId(i as u32), f.name.clone()));
            found = self.provider_shape(FnId(i as u32), f);
        }
        // The declared role hierarchy, on the provider only.
        let mut hierarchy = None;
        for (i, _) in fns.iter().enumerate() {
            let d = &self.fns[i].decorators;
            if d.roles.is_empty() {
                continue;
            }
            if d.auth_provider.is_none() {
                let span = d.roles[0].1;
                self.report(Problem::RolesNotOnProvider { span });
                continue;
            }
            let chains = d.roles.clone();
            hierarchy = super::roles::parse(&chains, &mut self.problems);
        }
        if let (Some(p), Some(h)) = (found.as_mut(), hierarchy.as_ref()) {
            p.hierarchy = h.clone();
        }
        let user = found.as_ref().map(|p| p.user);
        for (i, f) in fns.iter().enumerate() {
            let info = &self.fns[i];
            let d = info.decorators.clone();
            if !d.is_protected() {
                continue;
            }
            let first_decorator = [d.authenticated.map(|s| ("@authenticated", s)), d.admin.map(|s| ("@admin", s)), d.requires.first().map(|(_, s)| ("@requires", *s))]
                .into_iter()
                .flatten()
                .min_by_key(|(_, s)| *s);
            let Some((deco_name, deco_span)) = first_decorator else { continue };
            if d.route.is_none() {
                self.report(Problem::AuthOnNonRoute { decorator: deco_name.to_string(), span: deco_span });
                continue;
            }
            if let Some(auth_span) = d.authenticated
                && let Some(with) = d.admin.map(|_| "@admin").or(d.requires.first().map(|_| "@requires"))
            {
                self.report(Problem::RedundantAuthenticated { with: with.to_string(), span: auth_span });
            }
            if let Some(h) = &hierarchy {
                let mut required = d.requires.clone();
                if let Some(s) = d.admin {
                    required.insert(0, ("admin".to_string(), s));
                }
                super::roles::check_required(h, &required, &mut self.problems);
            }
            if let (Some(_), Some((_, role_span))) = (d.admin, d.requires.iter().find(|(r, _)| r == "admin")) {
                self.report(Problem::DuplicateRole { role: "admin".into(), span: *role_span, first: d.admin.unwrap_or_default() });
            }
            if provider.is_none() {
                self.report(Problem::NoAuthProvider { decorator: deco_name.to_string(), fn_name: f.name.name.clone(), span: deco_span });
                continue;
            }
            let Some(user) = user else { continue };
            let user_name = self.record_name(user).to_string();
            if d.admin.is_some() || !d.requires.is_empty() {
                // One role (`role: Str`) or several (`roles: List<Str>`).
                let has_role = self.records[user.0 as usize].field("role").is_some_and(|(_, f)| self.unifier.shallow(&f.ty) == Type::Str)
                    || self.records[user.0 as usize].field("roles").is_some_and(|(_, f)| self.unifier.resolve(&f.ty) == Type::list(Type::Str));
                if !has_role {
                    let (decorator, span) = match d.admin {
                        Some(s) => ("@admin".to_string(), s),
                        None => ("@requires".to_string(), d.requires[0].1),
                    };
                    let type_span = self.records[user.0 as usize].span;
                    self.report(Problem::RoleFieldMissing { decorator, user: user_name.clone(), span, type_span });
                }
            }
            let count = self.fns[i].params.iter().filter(|p| self.unifier.shallow(&p.ty) == Type::Record(user)).count();
            if count != 1 {
                self.report(Problem::UserParamCount { fn_name: f.name.name.clone(), user: user_name, found: count, span: f.name.span });
            }
        }
        found
    }

    /// `(headers: Map<Str, Str>)` or `(headers: Map<Str, Str>, db: DbConn)` returning
    /// `Result<U>` for a record type `U`.
    fn provider_shape(&mut self, id: FnId, f: &ast::FnDecl) -> Option<AuthProvider> {
        let headers = Type::map(Type::Str, Type::Str);
        let params: Vec<Type> = self.fns[id.0 as usize].params.iter().map(|p| self.unifier.resolve(&p.ty)).collect();
        let (ret_annotated, ret) = (self.fns[id.0 as usize].ret_annotated, self.fns[id.0 as usize].ret.clone());
        let params_ok = match params.as_slice() {
            [h] => *h == headers,
            [h, d] => *h == headers && *d == Type::DbConn,
            _ => false,
        };
        let mut ok = true;
        if !params_ok {
            let span = f.params.first().map_or(f.name.span, |p| p.span.to(f.params.last().map_or(p.span, |l| l.span)));
            self.report(Problem::ProviderShape { problem: ProviderProblem::Params, span });
            ok = false;
        }
        let takes_db = params.len() == 2;
        if !ret_annotated {
            self.report(Problem::ProviderShape { problem: ProviderProblem::ReturnNotAnnotated, span: f.name.span });
            return None;
        }
        let ret = self.unifier.resolve(&ret);
        let ret_span = f.ret.as_ref().map_or(f.name.span, |r| r.span);
        match &ret {
            Type::Result(u, e) if **e == Type::Str => match **u {
                Type::Record(user) => ok.then_some(AuthProvider { func: id, user, takes_db, hierarchy: Default::default() }),
                ref other => {
                    self.report(Problem::ProviderShape { problem: ProviderProblem::UserNotRecord(other.clone()), span: ret_span });
                    None
                }
            },
            Type::Error => None,
            other => {
                self.report(Problem::ProviderShape { problem: ProviderProblem::ReturnNotResult(other.clone()), span: ret_span });
                None
            }
        }
    }
}
