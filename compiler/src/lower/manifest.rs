//! The manifest (DESIGN.md §3): everything the host needs to serve the module.

use guest_abi::exports::{self, FIRST_STATUS_SITE};
use guest_abi::manifest as m;
use guest_abi::types::{FieldType, RecordType, ValueType};

use super::{FnState, Lowerer};
use crate::check::decorators::Carrier;
use crate::tast::{Binding, RouteAuth, TExpr};
use crate::types::{RecordId, Type};

impl Lowerer<'_> {
    pub fn value_type(&self, ty: &Type) -> ValueType {
        match ty {
            Type::Int => ValueType::Int,
            Type::Float => ValueType::Float,
            Type::Str => ValueType::Str,
            Type::Bytes => ValueType::Bytes,
            Type::Bool => ValueType::Bool,
            Type::DateTime => ValueType::DateTime,
            Type::Date => ValueType::Date,
            Type::Uuid => ValueType::Uuid,
            Type::Secret => ValueType::Secret,
            Type::List(t) => ValueType::list(self.value_type(t)),
            Type::Map(k, v) => ValueType::map(self.value_type(k), self.value_type(v)),
            Type::Nullable(t) => ValueType::nullable(self.value_type(t)),
            Type::Result(t, e) => ValueType::result(self.value_type(t), self.value_type(e)),
            Type::Record(id) => ValueType::Record { id: id.0 },
            Type::Future(t) => self.value_type(t),
            Type::Any => ValueType::Any,
            // Nothing else crosses the boundary (the checker makes sure).
            _ => ValueType::Null,
        }
    }

    /// The content types of the `Response { … }` literals in a handler's body, and whether each
    /// sets `body_bytes`; empty when any names its content type otherwise than literally (the
    /// document then says `*/*`).
    fn response_media(&self, ret: &Type, body: &TExpr) -> Vec<m::Media> {
        use crate::tast::TExprKind;
        let Some(response) = self.program.records.iter().position(|r| r.name == "Response") else { return vec![] };
        // Only a handler that answers a `Response` (or `Result<Response>`) is walked.
        let answers = match ret {
            Type::Result(ok, _) => &**ok,
            other => other,
        };
        if *answers != Type::Record(RecordId(response as u32)) {
            return vec![];
        }
        fn is_null(e: &TExpr) -> bool {
            match &e.kind {
                TExprKind::Null => true,
                TExprKind::Coerce { expr, .. } => is_null(expr),
                _ => false,
            }
        }
        fn walk(e: &TExpr, response: usize, out: &mut Vec<Option<m::Media>>) {
            if let TExprKind::Record { record, fields } = &e.kind
                && record.0 as usize == response
                && let [_, content_type, _, _, body_bytes, _] = fields.as_slice()
            {
                out.push(match &content_type.kind {
                    TExprKind::Str(ct) => Some(m::Media { content_type: ct.clone(), binary: !is_null(body_bytes) }),
                    _ => None,
                });
            }
            crate::tast::visit::children(e, &mut |c| walk(c, response, out));
        }
        let mut found = Vec::new();
        walk(body, response, &mut found);
        let Some(mut media) = found.into_iter().collect::<Option<Vec<_>>>() else { return vec![] };
        media.sort();
        media.dedup();
        media
    }

    /// A new `return STATUS BODY` site of the entry point being lowered.
    pub fn status_site(&mut self, f: &FnState, status: u16, body: &Type) -> u32 {
        let ty = self.value_type(body);
        let sites = self.sites.entry(f.id).or_default();
        let site = FIRST_STATUS_SITE + sites.len() as u32;
        sites.push(m::Response { site, status, ty });
        site
    }

    /// Registers a query template; returns its index for `db_query`.
    pub fn register_query(&mut self, record: RecordId, query: &guest_abi::query::Query, params: &[TExpr]) -> u32 {
        use guest_abi::query::QueryKind;
        let row = ValueType::Record { id: record.0 };
        let result = match (&query.kind, &query.group_by) {
            (QueryKind::Count | QueryKind::Aggregate { .. }, Some(column)) => {
                // Grouped rows are maps of `Any`: the host boxes the column's values, counts
                // and aggregates with these tags.
                let field = self.program.records[record.0 as usize].fields.iter().find(|f| f.name == *column).map(|f| f.ty.clone());
                let base = match field {
                    Some(Type::Nullable(inner)) => *inner,
                    Some(t) => t,
                    None => Type::Null,
                };
                self.any_tag(&base);
                ValueType::list(ValueType::map(ValueType::Str, ValueType::Any))
            }
            (QueryKind::First | QueryKind::Insert, _) => row,
            (QueryKind::All, _) => ValueType::list(row),
            (QueryKind::Count | QueryKind::Update { .. } | QueryKind::Delete, _) => ValueType::Int,
            (QueryKind::Aggregate { .. }, _) => ValueType::Float,
        };
        let spec = m::QuerySpec { query: query.clone(), record: record.0, params: params.iter().map(|p| self.value_type(&p.ty)).collect(), result };
        self.queries.push(spec);
        self.queries.len() as u32 - 1
    }

    pub fn build_manifest(&self) -> m::Manifest {
        let p = self.program;
        let records = p
            .records
            .iter()
            .map(|r| RecordType {
                name: r.name.clone(),
                fields: r.fields.iter().map(|f| FieldType { name: f.name.clone(), ty: self.value_type(&f.ty), hidden: f.hidden, has_default: f.default.is_some() }).collect(),
            })
            .collect();
        let routes = p
            .routes
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let def = &p.functions[r.handler.0 as usize];
                let params = r
                    .bindings
                    .iter()
                    .zip(&def.params)
                    .map(|(b, local)| {
                        let l = &def.locals[local.0 as usize];
                        let (name, ty) = (l.name.clone(), self.value_type(&l.ty));
                        match b {
                            Binding::Path { .. } => m::Param::Path { name, ty },
                            Binding::Query { .. } => m::Param::Query { name, ty },
                            Binding::Body => m::Param::Body { name, ty },
                            Binding::Db => m::Param::Db { name },
                            Binding::Headers => m::Param::Headers { name },
                            Binding::User => m::Param::User { name, ty },
                            Binding::Request => m::Param::Request { name, ty },
                            Binding::Ws => m::Param::Ws { name },
                            Binding::Carried { carrier: Carrier::Header, name: header, .. } => m::Param::Header { name, header: header.clone(), ty },
                            Binding::Carried { carrier: Carrier::Cookie, name: cookie, .. } => m::Param::Cookie { name, cookie: cookie.clone(), ty },
                        }
                    })
                    .collect();
                m::Route {
                    method: r.method.as_str().to_string(),
                    path: r.path.clone(),
                    handler: def.name.clone(),
                    export: exports::route(i),
                    params,
                    auth: match &r.auth {
                        RouteAuth::Public => m::RouteAuth::Public,
                        RouteAuth::Authenticated => m::RouteAuth::Authenticated,
                        RouteAuth::Roles(roles) => m::RouteAuth::Roles { roles: roles.clone() },
                    },
                    returns: self.value_type(&def.ret),
                    responses: self.sites.get(&r.handler).cloned().unwrap_or_default(),
                    cors: r.cors.clone(),
                    flag: r.flag.clone(),
                    after: r.after.iter().filter_map(|f| p.afters.iter().position(|a| a.func == *f).map(|i| i as u32)).collect(),
                    wrap: r.wrap.iter().filter_map(|f| p.wraps.iter().position(|a| a.func == *f).map(|i| i as u32)).collect(),
                    media: self.response_media(&def.ret, &def.body),
                    ws: r.ws.as_ref().map(|(rx, tx)| m::WsSpec { receives: self.value_type(rx), sends: self.value_type(tx) }),
                }
            })
            .collect();
        let auth = p.auth.as_ref().map(|a| m::AuthProvider {
            function: p.functions[a.func.0 as usize].name.clone(),
            export: exports::AUTH.to_string(),
            user: a.user.0,
            takes_db: a.takes_db,
            responses: self.sites.get(&a.func).cloned().unwrap_or_default(),
            hierarchy: a.hierarchy.iter().map(|(role, below)| m::RoleBelow { role: role.clone(), below: below.iter().cloned().collect() }).collect(),
        });
        let crons = p
            .crons
            .iter()
            .enumerate()
            .map(|(i, c)| m::Cron {
                name: c.name.clone(),
                export: exports::cron(i),
                expr: c.expr.clone(),
                schedule: c.schedule.clone(),
                takes_db: c.takes_db,
                returns: self.value_type(&p.functions[c.func.0 as usize].ret),
            })
            .collect();
        let tests = p
            .tests
            .iter()
            .enumerate()
            .map(|(i, t)| m::Test { name: t.name.clone(), export: exports::test(i), takes_db: t.takes_db, returns: self.value_type(&p.functions[t.func.0 as usize].ret) })
            .collect();
        let tasks = p
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let def = &p.functions[t.func.0 as usize];
                let params = def
                    .params
                    .iter()
                    .map(|local| {
                        let l = &def.locals[local.0 as usize];
                        match l.ty {
                            Type::DbConn => m::TaskParam::Db { name: l.name.clone() },
                            _ => m::TaskParam::Value { name: l.name.clone(), ty: self.value_type(&l.ty) },
                        }
                    })
                    .collect();
                m::Task { name: t.name.clone(), export: exports::task(i), params, returns: self.value_type(&def.ret) }
            })
            .collect();
        let tables = p
            .records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let t = r.table.as_ref()?;
                Some(m::Table {
                    name: t.name.clone(),
                    record: i as u32,
                    primary_key: r.fields[t.primary_key].name.clone(),
                    auto_id: t.auto_id,
                    columns: r
                        .fields
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !t.relations.iter().any(|(f, _)| f == i))
                        .map(|(i, f)| m::Column {
                            name: f.name.clone(),
                            ty: self.value_type(&f.ty),
                            references: t.references.iter().find(|(at, _)| *at == i).map(|(_, r)| r.clone()),
                        })
                        .collect(),
                    relations: t.relations.iter().map(|(_, r)| r.clone()).collect(),
                })
            })
            .collect();
        m::Manifest {
            abi_version: guest_abi::ABI_VERSION,
            source: self.source_name.clone(),
            sources: if self.sources.files.len() > 1 { self.sources.names() } else { vec![] },
            records,
            routes,
            auth,
            crons,
            tests,
            tasks,
            afters: p.afters.iter().enumerate().map(|(i, a)| m::After { name: a.name.clone(), export: exports::after(i) }).collect(),
            // Named as the program names the middleware, not its entry.
            wraps: p
                .wraps
                .iter()
                .enumerate()
                .map(|(i, a)| m::Wrap {
                    name: a.name.trim_start_matches(crate::project::middleware::WRAP_ENTRY_PREFIX).to_string(),
                    export: exports::wrap(i),
                    responses: self.sites.get(&a.entry).cloned().unwrap_or_default(),
                })
                .collect(),
            tables,
            queries: self.queries.clone(),
            secrets: p.secrets.clone(),
            server: p.server.clone(),
            any: self.any_types.iter().map(|t| self.value_type(t)).collect(),
            cli: p.cli.is_some(),
            flags: Default::default(),
        }
    }
}
