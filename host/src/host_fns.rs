//! The `fitz` imports (see `guest_abi::imports`), each family in its own file and testable
//! without wasm; this file only moves values across the boundary.

pub mod bytes;
pub mod hash;
pub mod http;
pub mod jwk;
pub mod jwks_remote;
pub mod jwt;
pub mod smtp;
pub mod tester;
pub mod wasi;

use guest_abi::imports::FITZ;
use guest_abi::types::ValueType;
use guest_abi::value::Value;
use wasmtime::format_err;
use wasmtime::{Caller, Linker};

use crate::db::refresh;
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

/// A WebSocket message of type `sends`: a `Bytes` as a binary frame, anything else as JSON text.
fn ws_message(records: &[guest_abi::types::RecordType], sends: &ValueType, v: &Value) -> crate::ws::Outgoing {
    match v {
        Value::Bytes(b) => crate::ws::Outgoing::Binary(b.clone()),
        v => crate::ws::Outgoing::Text(String::from_utf8_lossy(&crate::json::to_json_bytes(records, sends, v)).into_owned()),
    }
}

/// Logs a database failure on the auth path (in the host's own words), notes a fault, and
/// gives the guest the same words.
fn logged(caller: &mut Caller<'_, GuestState>, what: &str, e: crate::db::DbError) -> String {
    tracing::warn!(target: "fitz::auth", app = %caller.data().app.name, "auth.{what} failed: {}", e.log_text());
    caller.data_mut().db_fault |= e.is_fault();
    e.to_string()
}

/// Logs a database failure of a transaction (in the host's own words), notes a fault, and
/// gives the guest the same words.
fn logged_db(caller: &mut Caller<'_, GuestState>, what: &str, e: crate::db::DbError) -> String {
    tracing::warn!(target: "fitz::db", app = %caller.data().app.name, "{what} failed: {}", e.log_text());
    caller.data_mut().db_fault |= e.is_fault();
    e.to_string()
}

/// An outbound call the guest asked for (its method, URL, headers, body as an `Any`, timeout),
/// or the reason its description is wrong; writes its `Result<HttpClientResponse>`.
async fn outbound(caller: &mut Caller<'_, GuestState>, call: Result<http::Asked, String>) -> wasmtime::Result<u32> {
    let app = caller.data().app.clone();
    let answer_id = guest_abi::response::http_response_id(&app.manifest.records).ok_or_else(|| format_err!("the module declares no `HttpClientResponse`"))?;
    let value = match call {
        Err(e) => Err(e),
        Ok(_) if !caller.data_mut().budget.http_call() => Err("http: too many calls in one run".to_string()),
        Ok((method, url, headers, body, timeout_ms)) => {
            let timeout = if timeout_ms <= 0 { http::DEFAULT_TIMEOUT } else { std::time::Duration::from_millis(timeout_ms as u64).min(http::MAX_TIMEOUT) };
            // Text goes as it is, anything else as JSON.
            let body = match body {
                None => None,
                Some(Value::Any { ty, value }) => match *value {
                    Value::Str(s) => Some((s.into_bytes(), "text/plain; charset=utf-8")),
                    value => Some((
                        crate::json::to_json_bytes_within(&app.manifest.records, &ty, &value, app.limits.host_bytes).ok_or_else(|| format_err!("the request body is too large"))?,
                        "application/json",
                    )),
                },
                Some(_) => return Err(format_err!("the request body is not an `Any`")),
            };
            match client_of(&app) {
                Err(e) => Err(e),
                Ok(client) => {
                    let call = http::Call { method, url, headers, body, timeout };
                    http::send(&client, &app.limits.egress, call, app.limits.http_response_bytes).await
                }
            }
        }
    };
    let value = value.map(|a| guest_abi::response::http_response_value(a.status, &a.headers, a.body, a.duration_ms));
    if let Err(e) = &value {
        tracing::debug!(target: "fitz::http_client", app = %app.name, "{e}");
    }
    write_result(caller, &ValueType::Record { id: answer_id }, value)
}

/// The key and algorithm a pair's access tokens are signed with, as the guest named them.
struct SigningKey {
    secret: String,
    alg: String,
}

impl SigningKey {
    fn signer(&self) -> impl Fn(&[(String, String)]) -> Result<String, String> + Sync + '_ {
        move |claims| jwt::encode(claims, &self.secret, &self.alg, 0, unix_now()).map_err(|e| e.to_string())
    }
}

fn signing_key(caller: &mut Caller<'_, GuestState>, secret: u32, alg: u32) -> wasmtime::Result<SigningKey> {
    Ok(SigningKey { secret: guest::read_str(caller, secret)?, alg: guest::read_str(caller, alg)? })
}

/// A refresh the app's client is refused (in the words `RefreshError` gives), or a database
/// failure logged as `logged` does.
fn refused(caller: &mut Caller<'_, GuestState>, what: &str, e: crate::db::refresh::RefreshError) -> String {
    use crate::db::refresh::RefreshError;
    match e {
        RefreshError::Db(e) => logged(caller, what, e),
        RefreshError::Reused => {
            // Someone holds a token they should not: worth an operator's eye (no token in it).
            tracing::warn!(target: "fitz::auth", app = %caller.data().app.name, "a spent refresh token was presented again: its session is revoked");
            RefreshError::Reused.to_string()
        }
        e => e.to_string(),
    }
}

/// Answers `auth.issue` or `auth.refresh` with its `Result<TokenPair>`.
fn write_pair(caller: &mut Caller<'_, GuestState>, value: Result<crate::db::refresh::Pair, String>) -> wasmtime::Result<u32> {
    let id = guest_abi::response::token_pair_id(&caller.data().app.manifest.records).ok_or_else(|| format_err!("the module declares no `TokenPair`"))?;
    let value = value.map(|p| Value::Record(vec![Value::Str(p.access_token), Value::Str(p.refresh_token), Value::Str("Bearer".into()), Value::Int(p.expires_in)]));
    write_result(caller, &ValueType::Record { id }, value)
}

/// The app's outbound client (its egress policy in its resolver and redirects), built once.
fn client_of(app: &crate::runtime::state::AppContext) -> Result<reqwest::Client, String> {
    if let Some(c) = app.http.get() {
        return Ok(c.clone());
    }
    let client = http::client(&app.limits.egress)?;
    let _ = app.http.set(client.clone());
    Ok(client)
}

/// Every host function starts here: one call of the run's budget.
fn enter(caller: &mut Caller<'_, GuestState>) -> wasmtime::Result<()> {
    Ok(caller.data_mut().budget.call()?)
}

/// The run's WebSocket, if `conn` is its handle (a run without one has none to name).
fn ws_session<'c>(caller: &'c mut Caller<'_, GuestState>, conn: u32) -> Result<&'c mut crate::ws::Session, GuestError> {
    caller.data_mut().ws.as_mut().filter(|_| conn == crate::ws::HANDLE).ok_or_else(|| GuestError("no WebSocket has this handle".into()))
}

/// `enter` for a call that reaches the database.
fn enter_db(caller: &mut Caller<'_, GuestState>) -> wasmtime::Result<()> {
    enter(caller)?;
    Ok(caller.data_mut().budget.db_call()?)
}

/// A password, copied only when it is within `Limits::password_bytes`; `None` past it.
fn password(caller: &mut Caller<'_, GuestState>, ptr: u32) -> wasmtime::Result<Option<String>> {
    let max = caller.data().app.limits.password_bytes;
    let mem = guest::memory(caller)?;
    let pw = guest::str_at(mem.data(&*caller), ptr)?;
    Ok((pw.len() <= max).then(|| pw.to_string()))
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `fmt`: a value laid out by a format spec. The checker accepted the spec for the value's
/// type; a module built otherwise gets a runtime error, never a panic.
fn format_value(kind: u32, value: u64, spec: &str, text: Option<&str>) -> Result<String, String> {
    use guest_abi::format::{self as f, Kind, Spec};
    let parsed = Spec::parse(spec).map_err(|e| format!("format spec `{}`: {e}", cut(spec, 64)))?;
    let fitting = |k: Kind| match parsed.misfit(k) {
        Some(why) => Err(format!("format spec `{}`: {why} does not apply here", cut(spec, 64))),
        None => Ok(()),
    };
    match (kind, text) {
        (0, _) => fitting(Kind::Int).map(|()| f::format_int(&parsed, value as i64)),
        (1, _) => fitting(Kind::Float).map(|()| f::format_float(&parsed, f64::from_bits(value))),
        (2, Some(t)) => fitting(Kind::Text).map(|()| f::format_text(&parsed, t)),
        _ => Err(format!("fmt: no value kind {kind}")),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Logs, once at the end of a run, how many of its log lines were dropped.
pub fn report_dropped_logs(store: &mut wasmtime::Store<GuestState>) {
    let dropped = std::mem::take(&mut store.data_mut().budget.logs_dropped);
    if dropped > 0 {
        let (app, max) = (store.data().app.name.clone(), store.data().app.limits.log_lines);
        tracing::warn!(target: "fitz::app", app = %app, dropped, "{dropped} log lines dropped past the limit of {max} per run");
    }
}

pub fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    linker.func_wrap_async(FITZ, "hash_password", |mut caller: Caller<'_, GuestState>, (pw,): (u32,)| {
        Box::new(async move {
            enter(&mut caller)?;
            let max = caller.data().app.limits.password_bytes;
            let pw = password(&mut caller, pw)?.ok_or_else(|| GuestError(format!("hash.password: the password is longer than {max} bytes")))?;
            let hasher = caller.data().app.hasher.clone();
            let phc = hasher.hash(pw).await?;
            guest::write_str(&mut caller, &phc)
        })
    })?;
    linker.func_wrap_async(FITZ, "hash_verify", |mut caller: Caller<'_, GuestState>, (pw, phc): (u32, u32)| {
        Box::new(async move {
            enter(&mut caller)?;
            let Some(pw) = password(&mut caller, pw)? else { return Ok(0) };
            // A null hash: no such user, checked against a stand-in at the same cost.
            let phc = if phc == 0 { None } else { Some(guest::read_str(&mut caller, phc)?) };
            if phc.as_ref().is_some_and(|p| p.len() > hash::MAX_PHC_BYTES) {
                return Ok(0);
            }
            let hasher = caller.data().app.hasher.clone();
            Ok(u32::from(hasher.verify(pw, phc).await))
        })
    })?;
    linker.func_wrap(FITZ, "jwt_encode", |mut caller: Caller<'_, GuestState>, claims: u32, secret: u32, alg: u32| {
        enter(&mut caller)?;
        let claims = guest::read_str_map(&mut caller, claims)?;
        let (ttl, now) = (jwt::ttl_from(&caller.data().app.env), unix_now());
        let mem = guest::memory(&mut caller)?;
        let data = mem.data(&caller);
        let token = jwt::encode(&claims, guest::str_at(data, secret)?, guest::str_at(data, alg)?, ttl, now).map_err(|e| GuestError(format!("jwt.encode: {e}")))?;
        guest::write_str(&mut caller, &token)
    })?;
    linker.func_wrap(FITZ, "jwt_decode", |mut caller: Caller<'_, GuestState>, token: u32, secret: u32, alg: u32| {
        enter(&mut caller)?;
        let mem = guest::memory(&mut caller)?;
        let data = mem.data(&caller);
        let leeway = caller.data().app.manifest.server.as_ref().and_then(|s| s.jwt_leeway).unwrap_or(jwt::LEEWAY_SECONDS);
        let claims = jwt::decode_with_leeway(guest::str_at(data, token)?, guest::str_at(data, secret)?, guest::str_at(data, alg)?, leeway);
        guest::write_ptr_with(&mut caller, |w| match &claims {
            Ok(claims) => w.ok(|w| w.str_map(claims)),
            Err(e) => w.err(e),
        })
    })?;
    linker.func_wrap_async(FITZ, "jwt_decode_jwks", |mut caller: Caller<'_, GuestState>, (token, url, alg, issuer, audience): (u32, u32, u32, u32, u32)| {
        Box::new(async move {
            enter(&mut caller)?;
            let [token, url, alg, issuer, audience] = [token, url, alg, issuer, audience].map(|p| guest::read_str(&mut caller, p));
            let (token, url, alg, issuer, audience) = (token?, url?, alg?, issuer?, audience?);
            let app = caller.data().app.clone();
            let leeway = app.manifest.server.as_ref().and_then(|s| s.jwt_leeway).unwrap_or(jwt::LEEWAY_SECONDS);
            let claims = match client_of(&app) {
                Err(e) => Err(e),
                Ok(client) => {
                    let fetcher = jwks_remote::Fetcher { client: &client, egress: &app.limits.egress };
                    let refetch_every = app
                        .env
                        .get("FITZ_JWKS_REFETCH")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .filter(|s| *s >= 1)
                        .map_or(jwks_remote::REFETCH_EVERY, std::time::Duration::from_secs);
                    let expect = jwks_remote::Expect { alg: &alg, leeway, issuer: &issuer, audience: &audience, refetch_every };
                    app.jwks.decode(&fetcher, &url, &token, &expect).await
                }
            };
            if let Err(e) = &claims {
                tracing::debug!(target: "fitz::jwks", app = %app.name, "{e}");
            }
            guest::write_ptr_with(&mut caller, |w| match &claims {
                Ok(claims) => w.ok(|w| w.str_map(claims)),
                Err(e) => w.err(e),
            })
        })
    })?;
    linker.func_wrap_async(FITZ, "db_query", |mut caller: Caller<'_, GuestState>, (db, query, params): (u32, u32, u32)| {
        Box::new(async move {
            enter_db(&mut caller)?;
            let app = caller.data().app.clone();
            let spec = app.manifest.queries.get(query as usize).ok_or_else(|| format_err!("unknown query {query}"))?;
            let values = guest::read_block(&mut caller, &spec.params, params)?;
            // The app's own handle (almost every query) is used as it is, with no copy.
            let pinned = if db == crate::runtime::state::DB_HANDLE { None } else { caller.data().database(db).map_err(GuestError)? };
            let value = match pinned.as_ref().or(app.db.as_ref()) {
                None => Err(NO_DATABASE.to_string()),
                Some(db) => crate::db::exec::run_query(db, &app.manifest, &app.plans, query as usize, &values, &app.limits).await.map_err(|e| {
                    if !matches!(e, crate::db::exec::QueryError::NoRow) {
                        tracing::warn!(target: "fitz::db", app = %app.name, table = %spec.query.table, "query failed: {}", e.log_text());
                    }
                    caller.data_mut().db_fault |= matches!(&e, crate::db::exec::QueryError::Db(d) if d.is_fault());
                    e.to_string()
                }),
            };
            write_result(&mut caller, &spec.result, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "db_raw", |mut caller: Caller<'_, GuestState>, (db, sql, params, rows): (u32, u32, u32, u32)| {
        Box::new(async move {
            enter_db(&mut caller)?;
            let app = caller.data().app.clone();
            let sql = guest::read_str(&mut caller, sql)?;
            let params = guest::read(&mut caller, &ValueType::List { item: Box::new(ValueType::Any) }, guest_abi::value::Slot::I32(params))?;
            let Value::List(params) = params else { return Err(format_err!("raw SQL parameters are not a list")) };
            let (answer, ty) = if rows != 0 {
                (crate::db::raw::Answer::Rows, ValueType::List { item: Box::new(ValueType::map(ValueType::Str, ValueType::Any)) })
            } else {
                (crate::db::raw::Answer::Affected, ValueType::Int)
            };
            let pinned = if db == crate::runtime::state::DB_HANDLE { None } else { caller.data().database(db).map_err(GuestError)? };
            let value = match pinned.as_ref().or(app.db.as_ref()) {
                None => Err(NO_DATABASE.to_string()),
                Some(db) => match crate::db::raw::prepare(&sql, db.dialect(), db.schema()) {
                    // What a tenant may not do is its own mistake, not the database's: not logged as a failure.
                    Err(why) => Err(why),
                    Ok(stmt) => {
                        let cap = crate::db::exec::RowCap { rows: app.limits.rows_per_query, bytes: app.limits.host_bytes };
                        crate::db::raw::run(db, &stmt, &params, answer, cap).await
                    }
                },
            };
            write_result(&mut caller, &ty, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "mw_next", |mut caller: Caller<'_, GuestState>, (): ()| {
        Box::new(async move {
            enter(&mut caller)?;
            let (Some(rest), Some(version)) = (caller.data().next.clone(), caller.data().spawner.clone()) else {
                return Err(GuestError("`next()` runs only in a wrap middleware".into()).into());
            };
            let answer = crate::runtime::invoke::next(&version, *rest).await;
            let (_, response) = crate::runtime::invoke::request_response(&version.manifest.records)?;
            guest::write_ptr_with(&mut caller, |w| w.write(&response, &answer))
        })
    })?;
    linker.func_wrap_async(FITZ, "ws_broadcast", |mut caller: Caller<'_, GuestState>, (endpoint, message): (u32, u32)| {
        Box::new(async move {
            enter(&mut caller)?;
            let path = guest::read_str(&mut caller, endpoint)?;
            let app = caller.data().app.clone();
            let Some(spec) = app.manifest.routes.iter().filter(|r| r.path == path).find_map(|r| r.ws.clone()) else {
                return Err(GuestError(format!("ws_broadcast: no `@ws` endpoint at {}", cut(&path, 64))).into());
            };
            let values = guest::read_block(&mut caller, std::slice::from_ref(&spec.sends), message)?;
            let message = ws_message(&app.manifest.records, &spec.sends, &values[0]);
            let hub = caller.data().hub.clone();
            Ok(match hub {
                Some(hub) => hub.broadcast(&path, &message).await as i64,
                None => 0,
            })
        })
    })?;
    linker.func_wrap_async(FITZ, "ws_recv", |mut caller: Caller<'_, GuestState>, (conn,): (u32,)| {
        Box::new(async move {
            enter(&mut caller)?;
            let session = ws_session(&mut caller, conn)?;
            session.idle();
            let (receives, rx) = (session.receives.clone(), session.incoming.take());
            let Some(mut rx) = rx else { return Err(GuestError("a WebSocket is read by one `recv` at a time".into()).into()) };
            let next = rx.recv().await;
            let session = caller.data_mut().ws.as_mut().ok_or_else(|| GuestError("the WebSocket is gone".into()))?;
            session.incoming = Some(rx);
            session.busy();
            // Each message is handled with a run's budget of host, database and log calls.
            let budget = crate::runtime::state::Budget::new(&caller.data().app.limits);
            caller.data_mut().budget = budget;
            let records = caller.data().app.manifest.records.clone();
            let value = match next {
                None => Err("the connection is closed".to_string()),
                // A `WsConn<Bytes>` takes a message's bytes, whichever frame they came in.
                Some(crate::ws::Incoming::Binary(b)) if receives == ValueType::Bytes => Ok(Value::Bytes(b)),
                Some(crate::ws::Incoming::Text(t)) if receives == ValueType::Bytes => Ok(Value::Bytes(t.into_bytes())),
                Some(crate::ws::Incoming::Binary(_)) => Err("a binary message: this endpoint reads JSON text".to_string()),
                Some(crate::ws::Incoming::Text(t)) => match serde_json::from_str::<serde_json::Value>(&t) {
                    Err(_) => Err("the message is not JSON".to_string()),
                    Ok(j) => crate::json::from_json(&records, &receives, &j).map_err(|e| format!("the message is not a {}: {e}", crate::json::type_name(&records, &receives))),
                },
            };
            write_result(&mut caller, &receives, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "ws_send", |mut caller: Caller<'_, GuestState>, (conn, message, broadcast): (u32, u32, u32)| {
        Box::new(async move {
            enter(&mut caller)?;
            let sends = ws_session(&mut caller, conn)?.sends.clone();
            let values = guest::read_block(&mut caller, std::slice::from_ref(&sends), message)?;
            let records = caller.data().app.manifest.records.clone();
            let message = ws_message(&records, &sends, &values[0]);
            let session = caller.data().ws.as_ref().ok_or_else(|| GuestError("the WebSocket is gone".into()))?;
            let value = if broadcast != 0 {
                let (hub, path) = (session.hub.clone(), session.path.clone());
                hub.broadcast(&path, &message).await;
                Ok(Value::Null)
            } else {
                let out = session.outgoing.clone();
                out.send(message).await.map(|()| Value::Null).map_err(|_| "the connection is closed".to_string())
            };
            write_result(&mut caller, &ValueType::Null, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "ws_close", |mut caller: Caller<'_, GuestState>, (conn,): (u32,)| {
        Box::new(async move {
            enter(&mut caller)?;
            let out = ws_session(&mut caller, conn)?.outgoing.clone();
            let _ = out.send(crate::ws::Outgoing::Close(1000, "")).await;
            Ok(0u32)
        })
    })?;
    linker.func_wrap_async(FITZ, "tx_begin", |mut caller: Caller<'_, GuestState>, (db,): (u32,)| {
        Box::new(async move {
            enter_db(&mut caller)?;
            use crate::runtime::state::{DB_HANDLE, MAX_TXS_PER_RUN, TX_HANDLES};
            let state = caller.data();
            let value = if db != DB_HANDLE {
                Err("a transaction cannot begin inside another".to_string())
            } else if state.txs.iter().any(Option::is_some) {
                Err("a transaction is already open in this run".to_string())
            } else if state.txs.len() >= MAX_TXS_PER_RUN {
                Err(format!("at most {MAX_TXS_PER_RUN} transactions per run"))
            } else {
                match state.app.db.clone() {
                    None => Err(NO_DATABASE.to_string()),
                    Some(app_db) => match app_db.begin().await {
                        Ok(tx) => {
                            let txs = &mut caller.data_mut().txs;
                            txs.push(Some(tx));
                            Ok(TX_HANDLES + txs.len() as u32 - 1)
                        }
                        Err(e) => Err(logged_db(&mut caller, "transaction", e)),
                    },
                }
            };
            // A `DbConn` is an `i32` slot.
            guest::write_ptr_with(&mut caller, |w| match &value {
                Ok(handle) => w.ok(|_| Ok(guest_abi::value::Slot::I32(*handle))),
                Err(e) => w.err(e),
            })
        })
    })?;
    linker.func_wrap_async(FITZ, "tx_end", |mut caller: Caller<'_, GuestState>, (tx, commit): (u32, u32)| {
        Box::new(async move {
            enter_db(&mut caller)?;
            let index = tx.checked_sub(crate::runtime::state::TX_HANDLES).map(|i| i as usize);
            let held = index.and_then(|i| caller.data_mut().txs.get_mut(i)).and_then(Option::take);
            let value = match held {
                None => Err("no open transaction has this handle".to_string()),
                Some(t) => t.finish(commit != 0).await.map(|()| Value::Null).map_err(|e| logged_db(&mut caller, if commit != 0 { "commit" } else { "rollback" }, e)),
            };
            write_result(&mut caller, &ValueType::Null, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "auth_blacklist", |mut caller: Caller<'_, GuestState>, (_db, jti, exp): (u32, u32, i64)| {
        Box::new(async move {
            enter_db(&mut caller)?;
            let jti = guest::read_str(&mut caller, jti)?;
            let app = caller.data().app.clone();
            let value = match &app.db {
                None => Err(NO_DATABASE.to_string()),
                Some(db) => db.blacklist(&jti, exp).await.map(|()| Value::Null).map_err(|e| logged(&mut caller, "blacklist", e)),
            };
            write_result(&mut caller, &ValueType::Null, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "auth_is_blacklisted", |mut caller: Caller<'_, GuestState>, (_db, jti): (u32, u32)| {
        Box::new(async move {
            enter_db(&mut caller)?;
            let jti = guest::read_str(&mut caller, jti)?;
            let app = caller.data().app.clone();
            // A failure here is an `Err` the provider turns into a refusal: fail closed.
            let value = match &app.db {
                None => Err(NO_DATABASE.to_string()),
                Some(db) => db.is_blacklisted(&jti).await.map(Value::Bool).map_err(|e| logged(&mut caller, "is_blacklisted", e)),
            };
            write_result(&mut caller, &ValueType::Bool, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "auth_cleanup_expired", |mut caller: Caller<'_, GuestState>, (_db,): (u32,)| {
        Box::new(async move {
            enter_db(&mut caller)?;
            let app = caller.data().app.clone();
            let value = match &app.db {
                None => Err(NO_DATABASE.to_string()),
                Some(db) => match db.cleanup_expired().await {
                    Ok(n) => db.cleanup_refresh().await.map(|f| Value::Int(n + f)),
                    Err(e) => Err(e),
                }
                .map_err(|e| logged(&mut caller, "cleanup_expired", e)),
            };
            write_result(&mut caller, &ValueType::Int, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "auth_issue", |mut caller: Caller<'_, GuestState>, (_db, claims, secret, alg): (u32, u32, u32, u32)| {
        Box::new(async move {
            enter_db(&mut caller)?;
            let claims = guest::read_str_map(&mut caller, claims)?;
            let key = signing_key(&mut caller, secret, alg)?;
            let app = caller.data().app.clone();
            let value = match &app.db {
                None => Err(NO_DATABASE.to_string()),
                Some(db) => db.issue_refresh(&claims, refresh::Settings::from_env(&app.env), &key.signer()).await.map_err(|e| refused(&mut caller, "issue", e)),
            };
            write_pair(&mut caller, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "auth_refresh", |mut caller: Caller<'_, GuestState>, (_db, token, secret, alg): (u32, u32, u32, u32)| {
        Box::new(async move {
            enter_db(&mut caller)?;
            let token = guest::read_str(&mut caller, token)?;
            let key = signing_key(&mut caller, secret, alg)?;
            let app = caller.data().app.clone();
            let value = match &app.db {
                None => Err(NO_DATABASE.to_string()),
                Some(db) => db.refresh(&token, refresh::Settings::from_env(&app.env), &key.signer()).await.map_err(|e| refused(&mut caller, "refresh", e)),
            };
            write_pair(&mut caller, value)
        })
    })?;
    linker.func_wrap_async(FITZ, "auth_revoke", |mut caller: Caller<'_, GuestState>, (_db, token): (u32, u32)| {
        Box::new(async move {
            enter_db(&mut caller)?;
            let token = guest::read_str(&mut caller, token)?;
            let app = caller.data().app.clone();
            let value = match &app.db {
                None => Err(NO_DATABASE.to_string()),
                Some(db) => db.revoke_refresh(&token).await.map(|()| Value::Null).map_err(|e| logged(&mut caller, "revoke", e)),
            };
            write_result(&mut caller, &ValueType::Null, value)
        })
    })?;
    linker.func_wrap(FITZ, "secret", |mut caller: Caller<'_, GuestState>, name: u32| {
        enter(&mut caller)?;
        let name = guest::read_str(&mut caller, name)?;
        let value = caller.data().app.secrets.get(&name).cloned();
        let value = value.ok_or_else(|| GuestError(format!("secret {} is not set", cut(&name, 64))))?;
        guest::write_str(&mut caller, &value)
    })?;
    linker.func_wrap_async(FITZ, "smtp_send", |mut caller: Caller<'_, GuestState>, (message,): (u32,)| {
        Box::new(async move {
            enter(&mut caller)?;
            let app = caller.data().app.clone();
            let id = guest_abi::response::smtp_result_id(&app.manifest.records).ok_or_else(|| format_err!("the module declares no `SmtpResult`"))?;
            let opts: std::collections::HashMap<String, String> = guest::read_str_map(&mut caller, message)?.into_iter().collect();
            let value = if caller.data_mut().budget.http_call() {
                smtp::send(&app.env, &app.limits.egress, &opts).await
            } else {
                Err("smtp: too many outbound calls in one run".to_string())
            };
            if let Err(e) = &value {
                tracing::debug!(target: "fitz::smtp", app = %app.name, "{e}");
            }
            let value = value.map(|s| Value::Record(vec![Value::Bool(true), Value::Str(s.message_id), Value::Int(s.duration_ms)]));
            write_result(&mut caller, &ValueType::Record { id }, value)
        })
    })?;
    linker.func_wrap(FITZ, "flag", |mut caller: Caller<'_, GuestState>, name: u32| {
        enter(&mut caller)?;
        let name = guest::read_str(&mut caller, name)?;
        Ok(u32::from(crate::config::flag_on(&caller.data().app, &name)))
    })?;
    linker.func_wrap(FITZ, "env_or", |mut caller: Caller<'_, GuestState>, name: u32, default: u32| {
        enter(&mut caller)?;
        let name = guest::read_str(&mut caller, name)?;
        let value = match caller.data().app.env.get(&name).cloned() {
            Some(v) => v,
            None => guest::read_str(&mut caller, default)?,
        };
        guest::write_str(&mut caller, &value)
    })?;
    linker.func_wrap_async(FITZ, "sleep", |mut caller: Caller<'_, GuestState>, (ms,): (i64,)| {
        Box::new(async move {
            enter(&mut caller)?;
            // The timer around the run (request, cron tick, top level) cancels this wait with
            // the rest of the run: a guest cannot sleep past its deadline.
            tokio::time::sleep(std::time::Duration::from_millis(ms.max(0) as u64)).await;
            Ok(())
        })
    })?;
    linker.func_wrap_async(FITZ, "spawn", |mut caller: Caller<'_, GuestState>, (task, args, wait): (u32, u32, u32)| {
        Box::new(async move {
            enter(&mut caller)?;
            let app = caller.data().app.clone();
            let spec = app.manifest.tasks.get(task as usize).ok_or_else(|| format_err!("unknown task {task}"))?;
            let values = guest::read_block(&mut caller, &spec.value_types(), args)?;
            let Some(version) = caller.data().spawner.clone() else {
                return Err(GuestError("`spawn` is not available while the top level runs".into()).into());
            };
            let Some(slot) = version.tasks.try_start() else {
                // The app's tasks are at their limit (or the host is shutting down): this run
                // ends as busy, and the client may try again.
                tracing::warn!(target: "fitz::task", app = %app.name, task = %spec.name, "refused: the app has too many background tasks running");
                caller.data_mut().busy = true;
                return Err(GuestError("too many background tasks are running".into()).into());
            };
            // The task reaches the WebSocket connections its spawner does.
            let hub = caller.data().hub.clone();
            if wait == 0 {
                crate::background::start(version, task as usize, values, slot, hub);
                return Ok(0);
            }
            // Awaited: the task runs in its own sandbox while this run waits, within this
            // run's own deadline too (its timer covers this call).
            let value = crate::background::run_logged(&version, task as usize, values, hub).await;
            drop(slot);
            let value = value.map_err(|_| GuestError(format!("background task {} failed", spec.name)))?;
            guest::write_ptr_with(&mut caller, |w| w.cell(|w| w.write(&spec.returns, &value)))
        })
    })?;
    linker.func_wrap_async(FITZ, "http_request", |mut caller: Caller<'_, GuestState>, (method, url, headers, body, timeout_ms): (u32, u32, u32, u32, i64)| {
        Box::new(async move {
            enter(&mut caller)?;
            let method = match method {
                0 => reqwest::Method::GET,
                1 => reqwest::Method::HEAD,
                2 => reqwest::Method::DELETE,
                3 => reqwest::Method::POST,
                4 => reqwest::Method::PUT,
                m => return Err(format_err!("unknown HTTP method {m}")),
            };
            let url = guest::read_str(&mut caller, url)?;
            let headers = guest::read_str_map(&mut caller, headers)?;
            let body = match body {
                0 => None,
                ptr => Some(guest::read(&mut caller, &ValueType::Any, guest_abi::value::Slot::I32(ptr))?),
            };
            outbound(&mut caller, Ok((method, url, headers, body, timeout_ms))).await
        })
    })?;
    linker.func_wrap_async(FITZ, "test_request", |mut caller: Caller<'_, GuestState>, (method, path, headers, body, user): (u32, u32, u32, u32, u32)| {
        Box::new(async move {
            enter(&mut caller)?;
            let Some(served) = caller.data().tester.clone() else {
                return Err(GuestError("`test.get` and its siblings work only in a `@test` run by `fitz test`".into()).into());
            };
            let method = tester::method(method).ok_or_else(|| format_err!("unknown HTTP method {method}"))?;
            let path = guest::read_str(&mut caller, path)?;
            let headers = guest::read_str_map(&mut caller, headers)?;
            let app = caller.data().app.clone();
            let body = match body {
                0 => None,
                ptr => match guest::read(&mut caller, &ValueType::Any, guest_abi::value::Slot::I32(ptr))? {
                    Value::Any { ty, value } => Some(
                        crate::json::to_json_bytes_within(&app.manifest.records, &ty, &value, app.limits.host_bytes)
                            .ok_or_else(|| GuestError("test: the body is too large".into()))?,
                    ),
                    _ => return Err(format_err!("the request body is not an `Any`")),
                },
            };
            let acting = match (user, app.manifest.auth.as_ref()) {
                (0, _) => None,
                (ptr, Some(provider)) => Some(tester::ActingUser(guest::read(&mut caller, &ValueType::Record { id: provider.user }, guest_abi::value::Slot::I32(ptr))?)),
                (_, None) => return Err(format_err!("`as_user` without an auth provider")),
            };
            let id = guest_abi::response::test_response_id(&app.manifest.records).ok_or_else(|| format_err!("the module declares no `TestResponse`"))?;
            let answer = tester::send(&served, method, &path, &headers, body, acting).await.map_err(GuestError)?;
            guest::write_ptr_with(&mut caller, |w| w.write(&ValueType::Record { id }, &answer))
        })
    })?;
    linker.func_wrap_async(FITZ, "http_request_map", |mut caller: Caller<'_, GuestState>, (options,): (u32,)| {
        Box::new(async move {
            enter(&mut caller)?;
            let ty = ValueType::map(ValueType::Str, ValueType::Any);
            let options = guest::read(&mut caller, &ty, guest_abi::value::Slot::I32(options))?;
            outbound(&mut caller, http::call_of_map(options)).await
        })
    })?;
    linker.func_wrap(FITZ, "parse_float", |mut caller: Caller<'_, GuestState>, text: u32| {
        enter(&mut caller)?;
        let parsed = {
            let mem = guest::memory(&mut caller)?;
            let text = guest::str_at(mem.data(&caller), text)?;
            text.parse::<f64>().map_err(|_| format!("not a number: {}", cut(text, 64)))
        };
        write_result(&mut caller, &ValueType::Float, parsed.map(Value::Float))
    })?;
    linker.func_wrap(FITZ, "bytes", |mut caller: Caller<'_, GuestState>, op: u32, data: u32| {
        enter(&mut caller)?;
        let max = caller.data().app.limits.host_bytes;
        let answer = {
            let mem = guest::memory(&mut caller)?;
            let data = guest::bytes_at(mem.data(&caller), data)?;
            // What the host builds is bounded as any value it reads: a literal is up to four
            // times its bytes.
            if data.len().saturating_mul(if op == 3 { 4 } else { 1 }) > max {
                return Err(GuestError(format!("bytes: {} bytes are more than a host call takes", data.len())).into());
            }
            bytes::apply(op, data).ok_or_else(|| GuestError(format!("bytes: no operation {op}")))?
        };
        match answer {
            bytes::Answer::Text(r) => write_result(&mut caller, &ValueType::Str, r.map(Value::Str)),
            bytes::Answer::Bytes(r) => write_result(&mut caller, &ValueType::Bytes, r.map(Value::Bytes)),
            bytes::Answer::Shown(text) => guest::write_str(&mut caller, &text),
        }
    })?;
    linker.func_wrap(FITZ, "parse_time", |mut caller: Caller<'_, GuestState>, text: u32, datetime: u32| {
        enter(&mut caller)?;
        let (ty, parsed) = {
            let mem = guest::memory(&mut caller)?;
            let text = guest::str_at(mem.data(&caller), text)?;
            if datetime == 0 {
                (ValueType::Date, crate::json::parse_date(text).map(Value::Date).ok_or_else(|| format!("not a date (YYYY-MM-DD): {}", cut(text, 64))))
            } else {
                let parsed = crate::json::parse_datetime(text).map(Value::DateTime);
                (ValueType::DateTime, parsed.ok_or_else(|| format!("not a date and time (RFC 3339): {}", cut(text, 64))))
            }
        };
        write_result(&mut caller, &ty, parsed)
    })?;
    linker.func_wrap(FITZ, "math", |mut caller: Caller<'_, GuestState>, a: f64, b: f64, op: u32| {
        enter(&mut caller)?;
        match op {
            0 => Ok(a.powf(b)),
            _ => Err(GuestError(format!("math: no operation {op}")).into()),
        }
    })?;
    linker.func_wrap(FITZ, "fmt", |mut caller: Caller<'_, GuestState>, kind: u32, value: u64, spec: u32| {
        enter(&mut caller)?;
        let text = {
            let mem = guest::memory(&mut caller)?;
            let data = mem.data(&caller);
            let spec = guest::str_at(data, spec)?;
            let text = match kind {
                2 => Some(guest::str_at(data, value as u32)?),
                _ => None,
            };
            format_value(kind, value, spec, text).map_err(GuestError)?
        };
        guest::write_str(&mut caller, &text)
    })?;
    linker.func_wrap(FITZ, "log", |mut caller: Caller<'_, GuestState>, level: u32, msg: u32, fields: u32| {
        enter(&mut caller)?;
        if !caller.data_mut().budget.log_line() {
            return Ok(());
        }
        let max = caller.data().app.limits.log_line_bytes;
        let msg = {
            let mem = guest::memory(&mut caller)?;
            cut(guest::str_at(mem.data(&caller), msg)?, max).to_string()
        };
        // A map too large for one line is named, not read: what a line carries is bounded.
        let fields = match guest::read_str_map_within(&mut caller, fields, max.saturating_mul(8)) {
            Ok(fields) => {
                let fields: serde_json::Map<String, serde_json::Value> = fields.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
                let text = serde_json::Value::Object(fields).to_string();
                cut(&text, max).to_string()
            }
            Err(_) => "{\"(fields)\":\"too large\"}".to_string(),
        };
        let app = caller.data().app.name.clone();
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

#[cfg(test)]
mod tests {
    #[test]
    fn cut_keeps_characters_whole() {
        assert_eq!(super::cut("héllo", 2), "h");
        assert_eq!(super::cut("héllo", 3), "hé");
        assert_eq!(super::cut("abc", 10), "abc");
    }
}
