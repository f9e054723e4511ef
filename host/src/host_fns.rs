//! The `fitz` imports (see `guest_abi::imports`), each family in its own file and testable
//! without wasm; this file only moves values across the boundary.

pub mod hash;
pub mod jwt;

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

fn result_of(ok: ValueType) -> ValueType {
    ValueType::result(ok, ValueType::Str)
}

async fn write_err(caller: &mut Caller<'_, GuestState>, ok: ValueType, message: &str) -> wasmtime::Result<u32> {
    guest::write_ptr(caller, &result_of(ok), &Value::Err(Box::new(Value::Str(message.to_string())))).await
}

pub fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    linker.func_wrap_async(FITZ, "hash_password", |mut caller: Caller<'_, GuestState>, (pw,): (u32,)| {
        Box::new(async move {
            let pw = guest::read_str(&mut caller, pw)?;
            let hasher = caller.data().app.hasher.clone();
            let phc = hasher.hash(pw).await?;
            Ok(guest::write_str(&mut caller, &phc).await?)
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
    linker.func_wrap_async(FITZ, "jwt_encode", |mut caller: Caller<'_, GuestState>, (claims, secret, alg): (u32, u32, u32)| {
        Box::new(async move {
            let claims = guest::read_str_map(&mut caller, claims)?;
            let secret = guest::read_str(&mut caller, secret)?;
            let alg = guest::read_str(&mut caller, alg)?;
            let token = jwt::encode(&claims, &secret, &alg).map_err(|e| GuestError(format!("jwt.encode: {e}")))?;
            Ok(guest::write_str(&mut caller, &token).await?)
        })
    })?;
    linker.func_wrap_async(FITZ, "jwt_decode", |mut caller: Caller<'_, GuestState>, (token, secret, alg): (u32, u32, u32)| {
        Box::new(async move {
            let token = guest::read_str(&mut caller, token)?;
            let secret = guest::read_str(&mut caller, secret)?;
            let alg = guest::read_str(&mut caller, alg)?;
            let map = ValueType::map(ValueType::Str, ValueType::Str);
            let value = match jwt::decode(&token, &secret, &alg) {
                Ok(claims) => Value::Ok(Box::new(Value::Map(
                    claims.into_iter().map(|(k, v)| (Value::Str(k), Value::Str(v))).collect(),
                ))),
                Err(reason) => Value::Err(Box::new(Value::Str(reason))),
            };
            Ok(guest::write_ptr(&mut caller, &result_of(map), &value).await?)
        })
    })?;
    linker.func_wrap_async(FITZ, "db_query", |mut caller: Caller<'_, GuestState>, (_db, query, _params): (u32, u32, u32)| {
        Box::new(async move {
            let manifest = caller.data().app.manifest.clone();
            let spec = manifest.queries.get(query as usize).ok_or_else(|| format_err!("unknown query {query}"))?;
            Ok(write_err(&mut caller, spec.result.clone(), "no database is configured").await?)
        })
    })?;
    linker.func_wrap_async(FITZ, "auth_blacklist", |mut caller: Caller<'_, GuestState>, (_db, _jti, _exp): (u32, u32, i64)| {
        Box::new(async move { Ok(write_err(&mut caller, ValueType::Null, "no database is configured").await?) })
    })?;
    linker.func_wrap_async(FITZ, "auth_is_blacklisted", |mut caller: Caller<'_, GuestState>, (_db, _jti): (u32, u32)| {
        Box::new(async move { Ok(write_err(&mut caller, ValueType::Bool, "no database is configured").await?) })
    })?;
    linker.func_wrap_async(FITZ, "auth_cleanup_expired", |mut caller: Caller<'_, GuestState>, (_db,): (u32,)| {
        Box::new(async move { Ok(write_err(&mut caller, ValueType::Int, "no database is configured").await?) })
    })?;
    linker.func_wrap_async(FITZ, "secret", |mut caller: Caller<'_, GuestState>, (name,): (u32,)| {
        Box::new(async move {
            let name = guest::read_str(&mut caller, name)?;
            let value = caller.data().app.secrets.get(&name).cloned();
            let value = value.ok_or_else(|| GuestError(format!("secret {name} is not set")))?;
            Ok(guest::write_str(&mut caller, &value).await?)
        })
    })?;
    linker.func_wrap_async(FITZ, "env_or", |mut caller: Caller<'_, GuestState>, (name, default): (u32, u32)| {
        Box::new(async move {
            let name = guest::read_str(&mut caller, name)?;
            let value = match caller.data().app.env.get(&name).cloned() {
                Some(v) => v,
                None => guest::read_str(&mut caller, default)?,
            };
            Ok(guest::write_str(&mut caller, &value).await?)
        })
    })?;
    linker.func_wrap_async(FITZ, "log", |mut caller: Caller<'_, GuestState>, (level, msg, fields): (u32, u32, u32)| {
        Box::new(async move {
            let msg = guest::read_str(&mut caller, msg)?;
            let fields = guest::read_str_map(&mut caller, fields)?;
            let app = caller.data().app.manifest.source.clone();
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
        })
    })?;
    Ok(())
}
