//! The `fitz` imports (see `guest_abi::imports`), each family in its own file and testable
//! without wasm; this file only moves values across the boundary.

pub mod hash;
pub mod jwt;
pub mod wasi;

use wasmtime::format_err;
use guest_abi::imports::FITZ;
use guest_abi::types::ValueType;
use guest_abi::value::Value;
use wasmtime::{Caller, Linker};

use crate::runtime::guest;
use crate::runtime::state::GuestState;

/// A runtime error raised by a host function: it ends the guest's call with this message.
#[derive(Debug)]
pub struct GuestError(pub String);

impl std::fmt::Display for GuestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GuestError {}

const NO_DATABASE: &str = "no database is configured";

/// Answers a host call with a `Result<ok, Str>`.
fn write_result(caller: &mut Caller<'_, GuestState>, ok: &ValueType, value: Result<Value, String>) -> wasmtime::Result<u32> {
    guest::write_ptr_with(caller, |w| match &value {
        Ok(v) => w.ok(|w| w.write(ok, v)),
        Err(e) => w.err(e),
    })
}

/// Logs a database failure on the auth path (in the host's own words) and gives the guest
/// the same words.
fn logged(app: &str, what: &str, e: crate::db::DbError) -> String {
    tracing::warn!(target: "fitz::auth", app = %app, "auth.{what} failed: {e}");
    e.to_string()
}

pub fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    linker.func_wrap_async(FITZ, "hash_password", |mut caller: Caller<'_, GuestState>, (pw,): (u32,)| {
        Box::new(async move {
            let pw = guest::read_str(&mut caller, pw)?;
            let hasher = caller.data().app.hasher.clone();
            let phc = hasher.hash(pw).await?;
            guest::write_str(&mut caller, &phc)
        })
    })?;
    linker.func_wrap_async(FITZ, "hash_verify", |mut caller: Caller<'_, GuestState>, (pw, phc): (u32, u32)| {
        Box::new(async move {
            let pw = guest::read_str(&mut caller, pw)?;
            let phc = guest::read_str(&mut caller, phc)?;
            let hasher = caller.data().app.hasher.clone();
            Ok(u32::from(hasher.verify(pw, phc).await))
        })
    })?;
    linker.func_wrap(FITZ, "jwt_encode", |mut caller: Caller<'_, GuestState>, claims: u32, secret: u32, alg: u32| {
        let claims = guest::read_str_map(&mut caller, claims)?;
        let secret = guest::read_str(&mut caller, secret)?;
        let alg = guest::read_str(&mut caller, alg)?;
        let token = jwt::encode(&claims, &secret, &alg).map_err(|e| GuestError(format!("jwt.encode: {e}")))?;
        guest::write_str(&mut caller, &token)
    })?;
    linker.func_wrap(FITZ, "jwt_decode", |mut caller: Caller<'_, GuestState>, token: u32, secret: u32, alg: u32| {
        let mem = guest::memory(&mut caller)?;
        let data = mem.data(&caller);
        let claims = jwt::decode(guest::str_at(data, token)?, guest::str_at(data, secret)?, guest::str_at(data, alg)?);
        guest::write_ptr_with(&mut caller, |w| match &claims {
            Ok(claims) => w.ok(|w| w.str_map(claims)),
            Err(e) => w.err(e),
        })
    })?;
    linker.func_wrap_async(FITZ, "db_query", |mut caller: Caller<'_, GuestState>, (_db, query, params): (u32, u32, u32)| {
        Box::new(async move {
            let app = caller.data().app.clone();
            let spec = app.manifest.queries.get(query as usize).ok_or_else(|| format_err!("unknown query {query}"))?;
            let values = {
                let mem = guest::memory(&mut caller)?;
                guest_abi::value::read_fields(mem.data(&caller), &app.manifest.records, &spec.params, params)
                    .map_err(|e| format_err!("reading query parameters: {e}"))?
            };
            let value = match &app.db {
                None => Err(NO_DATABASE.to_string()),
                Some(db) => crate::db::exec::run_query(db, &app.manifest, &app.plans, query as usize, &values).await.map_err(|e| {
                    if !matches!(e, crate::db::exec::QueryError::NoRow) {
                        tracing::warn!(target: "fitz::db", app = %app.name, table = %spec.query.table, "query failed: {e}");
                    }
                    e.to_string()
                }),
            };
            write_result(&mut caller, &spec.result, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "auth_blacklist", |mut caller: Caller<'_, GuestState>, (_db, jti, exp): (u32, u32, i64)| {
        Box::new(async move {
            let jti = guest::read_str(&mut caller, jti)?;
            let app = caller.data().app.clone();
            let value = match &app.db {
                None => Err(NO_DATABASE.to_string()),
                Some(db) => db.blacklist(&jti, exp).await.map(|()| Value::Null).map_err(|e| logged(&app.name, "blacklist", e)),
            };
            write_result(&mut caller, &ValueType::Null, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "auth_is_blacklisted", |mut caller: Caller<'_, GuestState>, (_db, jti): (u32, u32)| {
        Box::new(async move {
            let jti = guest::read_str(&mut caller, jti)?;
            let app = caller.data().app.clone();
            // A failure here is an `Err` the provider turns into a refusal: fail closed.
            let value = match &app.db {
                None => Err(NO_DATABASE.to_string()),
                Some(db) => db.is_blacklisted(&jti).await.map(Value::Bool).map_err(|e| logged(&app.name, "is_blacklisted", e)),
            };
            write_result(&mut caller, &ValueType::Bool, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "auth_cleanup_expired", |mut caller: Caller<'_, GuestState>, (_db,): (u32,)| {
        Box::new(async move {
            let app = caller.data().app.clone();
            let value = match &app.db {
                None => Err(NO_DATABASE.to_string()),
                Some(db) => db.cleanup_expired().await.map(Value::Int).map_err(|e| logged(&app.name, "cleanup_expired", e)),
            };
            write_result(&mut caller, &ValueType::Int, value)
        })
    })?;
    linker.func_wrap(FITZ, "secret", |mut caller: Caller<'_, GuestState>, name: u32| {
        let name = guest::read_str(&mut caller, name)?;
        let value = caller.data().app.secrets.get(&name).cloned();
        let value = value.ok_or_else(|| GuestError(format!("secret {name} is not set")))?;
        guest::write_str(&mut caller, &value)
    })?;
    linker.func_wrap(FITZ, "env_or", |mut caller: Caller<'_, GuestState>, name: u32, default: u32| {
        let name = guest::read_str(&mut caller, name)?;
        let value = match caller.data().app.env.get(&name).cloned() {
            Some(v) => v,
            None => guest::read_str(&mut caller, default)?,
        };
        guest::write_str(&mut caller, &value)
    })?;
    linker.func_wrap(FITZ, "log", |mut caller: Caller<'_, GuestState>, level: u32, msg: u32, fields: u32| {
        let msg = guest::read_str(&mut caller, msg)?;
        let fields = guest::read_str_map(&mut caller, fields)?;
        let app = caller.data().app.name.clone();
        let fields: serde_json::Map<String, serde_json::Value> =
            fields.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
        let fields = serde_json::Value::Object(fields).to_string();
        match level {
            0 => tracing::debug!(target: "fitz::app", app = %app, fields = %fields, "{msg}"),
            1 => tracing::info!(target: "fitz::app", app = %app, fields = %fields, "{msg}"),
            2 => tracing::warn!(target: "fitz::app", app = %app, fields = %fields, "{msg}"),
            _ => tracing::error!(target: "fitz::app", app = %app, fields = %fields, "{msg}"),
        }
        Ok(())
    })?;
    Ok(())
}
