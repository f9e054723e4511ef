//! What a module must satisfy before the host runs any of it: valid WebAssembly, a manifest of
//! this ABI version that is consistent with itself, imports only from `guest_abi`'s table with
//! its signatures, and the exports the manifest promises with the signatures its types imply.
//! Every refusal names what is wrong.

use guest_abi::exports;
use guest_abi::layout::{SlotKind, slot_kind};
use guest_abi::manifest::{Manifest, Param, RouteAuth};
use guest_abi::types::ValueType;
use wasmtime::{ExternType, FuncType, Module, ValType};

#[derive(Debug, Clone, PartialEq)]
pub enum LoadError {
    NotWasm(String),
    Manifest(String),
    Abi {
        found: u32,
        expected: u32,
    },
    Import(String),
    Export(String),
    Compile(String),
    MissingSecrets(Vec<String>),
    TopLevel(String),
    Database(String),
    /// The tables cannot be brought in line with the module's types without losing data.
    Migration(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::NotWasm(e) => write!(f, "the module is not valid WebAssembly: {e}"),
            LoadError::Manifest(e) => write!(f, "the module's manifest is unusable: {e}"),
            LoadError::Abi { found, expected } => {
                write!(f, "the module was built for guest ABI {found}, but this host speaks ABI {expected}; rebuild it with this fitz")
            }
            LoadError::Import(e) | LoadError::Export(e) => f.write_str(e),
            LoadError::Compile(e) => write!(f, "the module could not be compiled: {e}"),
            LoadError::MissingSecrets(names) => {
                write!(f, "secret{} {} not set (set in the environment or in a .env file next to the app)", if names.len() == 1 { "" } else { "s" }, names.join(", "))?;
                Ok(())
            }
            LoadError::TopLevel(e) => write!(f, "the program's top level failed: {e}"),
            LoadError::Database(e) => write!(f, "the database is not usable: {e}"),
            LoadError::Migration(m) => write!(f, "the tables cannot be migrated: {m}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Structure and manifest, before compiling.
pub fn validate_bytes(wasm: &[u8]) -> Result<Manifest, LoadError> {
    let mut validator = wasmparser::Validator::new();
    validator.validate_all(wasm).map_err(|e| LoadError::NotWasm(e.to_string()))?;
    let manifest = Manifest::from_module(wasm).map_err(|e| LoadError::Manifest(e.to_string()))?;
    if manifest.abi_version != guest_abi::ABI_VERSION {
        return Err(LoadError::Abi { found: manifest.abi_version, expected: guest_abi::ABI_VERSION });
    }
    check_manifest(&manifest).map_err(LoadError::Manifest)?;
    Ok(manifest)
}

/// Every record a type names exists, every table and query refers to what exists.
fn check_manifest(m: &Manifest) -> Result<(), String> {
    let n = m.records.len() as u32;
    let check = |ty: &ValueType| check_type(ty, n);
    for r in &m.records {
        for f in &r.fields {
            check(&f.ty)?;
        }
    }
    // The host keeps its own tables (the blacklist, cron claims, column types) in the app's
    // namespace under this prefix.
    if let Some(t) = m.tables.iter().find(|t| t.name.starts_with("fitz_")) {
        return Err(format!("table `{}`: names starting with `fitz_` are the host's", t.name));
    }
    for r in &m.routes {
        check(&r.returns)?;
        if let Some(ws) = &r.ws {
            check(&ws.receives)?;
            check(&ws.sends)?;
        }
        if let Some(problem) = r.cors.as_ref().and_then(|c| c.problem()) {
            return Err(format!("route {} {}: {problem}", r.method, r.path));
        }
        for p in &r.params {
            match p {
                Param::Path { ty, .. } | Param::Query { ty, .. } | Param::Body { ty, .. } | Param::User { ty, .. } => check(ty)?,
                Param::Request { ty, .. } => {
                    if !guest_abi::response::is_request(&m.records, ty) {
                        return Err("a request parameter is the built-in `Request`".into());
                    }
                }
                // Text, or text that may be absent: nothing else is read from a header.
                Param::Header { ty, .. } | Param::Cookie { ty, .. } => {
                    let str_ty = ValueType::Str;
                    if *ty != str_ty && *ty != (ValueType::Nullable { inner: Box::new(str_ty) }) {
                        return Err(format!("a header or cookie parameter is `Str` or `Str?`, not {ty:?}"));
                    }
                }
                Param::Db { .. } | Param::Headers { .. } => {}
                // Only a WebSocket route has a connection to give.
                Param::Ws { .. } if r.ws.is_none() => return Err(format!("route {} {} takes a WebSocket but is not one", r.method, r.path)),
                Param::Ws { .. } => {}
            }
        }
        for resp in &r.responses {
            check(&resp.ty)?;
        }
        if r.auth != RouteAuth::Public && m.auth.is_none() {
            return Err(format!("route {} {} needs authentication but there is no auth provider", r.method, r.path));
        }
    }
    if m.auth.as_ref().is_some_and(|a| a.user >= n) {
        return Err("the auth provider's user type is not a record".into());
    }
    for t in &m.tables {
        let r = m.records.get(t.record as usize).ok_or_else(|| format!("table `{}` names no record", t.name))?;
        // The columns are the record's fields but its relations, in order.
        let stored: Vec<_> = r.fields.iter().filter(|f| !t.relations.iter().any(|rel| rel.field == f.name)).collect();
        if stored.len() != t.columns.len() || stored.iter().zip(&t.columns).any(|(f, c)| f.name != c.name || f.ty != c.ty) {
            return Err(format!("table `{}` does not match its record `{}`", t.name, r.name));
        }
        for rel in &t.relations {
            let child = m.tables.iter().find(|c| c.name == rel.table).ok_or_else(|| format!("relation `{}.{}` names no table `{}`", t.name, rel.field, rel.table))?;
            let field = r.fields.iter().find(|f| f.name == rel.field).ok_or_else(|| format!("relation `{}.{}` names no field", t.name, rel.field))?;
            if field.ty != ValueType::list(ValueType::Record { id: child.record }) {
                return Err(format!("relation `{}.{}` is not a list of `{}` rows", t.name, rel.field, rel.table));
            }
            if !child.columns.iter().any(|c| c.name == rel.foreign_key) {
                return Err(format!("relation `{}.{}` joins on `{}.{}`, which is not a column", t.name, rel.field, rel.table, rel.foreign_key));
            }
        }
        for c in &t.columns {
            if let Some(r) = &c.references
                && !m.tables.iter().any(|p| p.name == r.table && p.columns.iter().any(|pc| pc.name == r.column))
            {
                return Err(format!("column `{}.{}` references `{}.{}`, which is not a column", t.name, c.name, r.table, r.column));
            }
        }
        if !t.columns.iter().any(|c| c.name == t.primary_key) {
            return Err(format!("table `{}` has no column `{}` for its primary key", t.name, t.primary_key));
        }
    }
    for (i, t) in m.tasks.iter().enumerate() {
        // A task's entry is its own: a manifest may not point a task at another entry point.
        if t.export != exports::task(i) {
            return Err(format!("task `{}` must be exported as `{}`", t.name, exports::task(i)));
        }
        check(&t.returns)?;
        for ty in t.value_types() {
            check(&ty)?;
        }
    }
    for (i, a) in m.afters.iter().enumerate() {
        if a.export != exports::after(i) {
            return Err(format!("middleware `{}` must be exported as `{}`", a.name, exports::after(i)));
        }
    }
    for (i, w) in m.wraps.iter().enumerate() {
        if w.export != exports::wrap(i) {
            return Err(format!("middleware `{}` must be exported as `{}`", w.name, exports::wrap(i)));
        }
        for resp in &w.responses {
            check(&resp.ty)?;
        }
    }
    if !m.afters.is_empty() || !m.wraps.is_empty() {
        // A post or wrap middleware takes and answers the built-in `Request` and `Response`.
        if !(0..n).any(|id| guest_abi::response::is_response(&m.records, &ValueType::Record { id }))
            || !(0..n).any(|id| guest_abi::response::is_request(&m.records, &ValueType::Record { id }))
        {
            return Err("a post or wrap middleware needs the built-in `Request` and `Response` types".into());
        }
    }
    for r in &m.routes {
        if let Some(bad) = r.after.iter().find(|a| **a as usize >= m.afters.len()) {
            return Err(format!("route {} {} names middleware {bad}, which the manifest does not declare", r.method, r.path));
        }
        if let Some(bad) = r.wrap.iter().find(|w| **w as usize >= m.wraps.len()) {
            return Err(format!("route {} {} names wrap middleware {bad}, which the manifest does not declare", r.method, r.path));
        }
    }
    for q in &m.queries {
        if !m.tables.iter().any(|t| t.name == q.query.table) {
            return Err(format!("a query uses table `{}`, which the manifest does not declare", q.query.table));
        }
        check(&q.result)?;
        for p in &q.params {
            check(p)?;
        }
    }
    Ok(())
}

fn check_type(ty: &ValueType, records: u32) -> Result<(), String> {
    match ty {
        ValueType::Record { id } if *id >= records => Err(format!("a type names record {id}, which does not exist")),
        ValueType::List { item } => check_type(item, records),
        ValueType::Map { key, value } => check_type(key, records).and(check_type(value, records)),
        ValueType::Nullable { inner } => check_type(inner, records),
        ValueType::Result { ok, err } => check_type(ok, records).and(check_type(err, records)),
        _ => Ok(()),
    }
}

fn val(kind: SlotKind) -> ValType {
    match kind {
        SlotKind::I32 => ValType::I32,
        SlotKind::I64 => ValType::I64,
        SlotKind::F64 => ValType::F64,
    }
}

fn same(ft: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    let eq = |a: &ValType, b: &ValType| ValType::eq(a, b);
    ft.params().len() == params.len() && ft.results().len() == results.len() && ft.params().zip(params).all(|(a, b)| eq(&a, b)) && ft.results().zip(results).all(|(a, b)| eq(&a, b))
}

/// Imports and exports of the compiled module against the table and the manifest.
pub fn check_module(module: &Module, manifest: &Manifest) -> Result<(), LoadError> {
    check_imports(module).map_err(LoadError::Import)?;
    let func = |name: &str| -> Result<FuncType, LoadError> {
        match module.get_export(name) {
            Some(ExternType::Func(f)) => Ok(f),
            _ => Err(LoadError::Export(format!("the module does not export the function `{name}` its manifest needs"))),
        }
    };
    let expect = |name: &str, params: &[ValType], results: &[ValType]| -> Result<(), LoadError> {
        if same(&func(name)?, params, results) { Ok(()) } else { Err(LoadError::Export(format!("the export `{name}` has the wrong signature"))) }
    };
    if !matches!(module.get_export(exports::MEMORY), Some(ExternType::Memory(_))) {
        return Err(LoadError::Export("the module exports no memory".into()));
    }
    expect(exports::ALLOC, &[ValType::I32], &[ValType::I32])?;
    expect(exports::MAIN, &[], &[])?;
    for r in &manifest.routes {
        let params: Vec<ValType> = r
            .params
            .iter()
            .map(|p| match p {
                Param::Path { ty, .. }
                | Param::Query { ty, .. }
                | Param::Body { ty, .. }
                | Param::User { ty, .. }
                | Param::Header { ty, .. }
                | Param::Cookie { ty, .. }
                | Param::Request { ty, .. } => val(slot_kind(ty)),
                Param::Db { .. } | Param::Headers { .. } | Param::Ws { .. } => ValType::I32,
            })
            .collect();
        expect(&r.export, &params, &[ValType::I32])?;
    }
    if let Some(a) = &manifest.auth {
        let params: &[ValType] = if a.takes_db { &[ValType::I32, ValType::I32] } else { &[ValType::I32] };
        expect(&a.export, params, &[ValType::I32])?;
    }
    for c in &manifest.crons {
        let params: &[ValType] = if c.takes_db { &[ValType::I32] } else { &[] };
        expect(&c.export, params, &[ValType::I32])?;
    }
    for t in &manifest.tests {
        let params: &[ValType] = if t.takes_db { &[ValType::I32] } else { &[] };
        expect(&t.export, params, &[ValType::I32])?;
    }
    for a in &manifest.afters {
        expect(&a.export, &[ValType::I32, ValType::I32], &[ValType::I32])?;
    }
    for w in &manifest.wraps {
        expect(&w.export, &[ValType::I32], &[ValType::I32])?;
    }
    for t in &manifest.tasks {
        let params: Vec<ValType> = t
            .params
            .iter()
            .map(|p| match p {
                guest_abi::manifest::TaskParam::Db { .. } => ValType::I32,
                guest_abi::manifest::TaskParam::Value { ty, .. } => val(slot_kind(ty)),
            })
            .collect();
        expect(&t.export, &params, &[ValType::I32])?;
    }
    Ok(())
}

/// Refuses a module that imports anything outside `guest_abi::imports::TABLE`, or with a
/// signature other than the table's.
pub fn check_imports(module: &Module) -> Result<(), String> {
    for import in module.imports() {
        let Some(spec) = guest_abi::imports::find(import.module(), import.name()) else {
            return Err(format!("the module imports `{}.{}`, which the host does not provide", import.module(), import.name()));
        };
        let ExternType::Func(f) = import.ty() else {
            return Err(format!("the import `{}.{}` is not a function", import.module(), import.name()));
        };
        let params: Vec<ValType> = spec.params.iter().map(|k| val(*k)).collect();
        let results: Vec<ValType> = spec.results.iter().map(|k| val(*k)).collect();
        if !same(&f, &params, &results) {
            return Err(format!("the import `{}.{}` has the wrong signature", import.module(), import.name()));
        }
    }
    Ok(())
}
