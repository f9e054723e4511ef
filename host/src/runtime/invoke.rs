//! One request through a fresh instance (DESIGN.md §7): instantiate from the version's image,
//! run the auth provider when the route asks for it, check roles, call the handler with its
//! arguments written into guest memory, and read back the outcome. HTTP-agnostic: the caller
//! binds the request and turns the `Reply` into a response.

use std::collections::BTreeSet;
use std::sync::Arc;

use guest_abi::exports::{OUTCOME_PAYLOAD, OUTCOME_SITE, SITE_ERROR, SITE_RETURN};
use guest_abi::layout::{RESULT_ERR, RESULT_OK, RESULT_PAYLOAD, RESULT_TAG, SlotKind, slot_kind};
use guest_abi::manifest::{Param, Response, RouteAuth, TaskParam};
use guest_abi::types::{RecordType, ValueType};
use guest_abi::value::{Slot, Value};
use serde_json::{Value as Json, json};
use wasmtime::{Extern, Instance, ModuleExport, Store, Val};

use super::app::{AppVersion, describe_failure};
use super::guest::GuestMemory;
use super::state::GuestState;
use crate::json::{from_json_with, to_json, to_json_bytes_within};

/// The `DbConn` a guest is handed (the app's database; transactions' handles follow it), as
/// an `i32` argument.
const DB_HANDLE: i32 = super::state::DB_HANDLE as i32;

/// One handler argument, as the HTTP layer bound it.
#[derive(Clone)]
pub enum Arg {
    Value(Value),
    /// A request body, parsed but not yet checked against its type (defaults come from the
    /// guest, so this happens in the instance).
    Body(Json),
    /// A binding that failed; reported only once authentication passed, so an anonymous
    /// client learns nothing about a protected route's parameters.
    Invalid {
        status: u16,
        message: String,
    },
    /// Injected by type: `DbConn`, the headers, the user.
    Injected,
}

#[derive(Clone)]
pub struct Call {
    pub route: usize,
    /// One per route parameter, in order.
    pub args: Vec<Arg>,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    /// Under `fitz test`, the user the request runs as without asking the provider
    /// (`test.get(…, as_user: u)`); `None` for every request from a client.
    pub acting: Option<Value>,
    /// The `Request` a route's post and wrap middlewares read (`None` for a route without
    /// any).
    pub request: Option<Value>,
    /// The first of the route's wrap middlewares this run starts at (0 for a client's request;
    /// past the last, the handler): what a wrap's `next()` runs is the rest.
    pub wrap: usize,
    /// The app's WebSocket connections, which `ws_broadcast` reaches.
    pub hub: Option<Arc<crate::ws::Hub>>,
}

/// What the app answered.
#[derive(Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Payload,
}

/// A reply's JSON: built by the host (errors, cron results), or a guest value already
/// written as JSON text, which is how a handler's answer goes out.
#[derive(Debug, PartialEq)]
pub enum Payload {
    Json(Json),
    Text(Vec<u8>),
    /// A handler's `Response`: status, headers and body as it said, checked.
    Raw(crate::http::answer::Raw),
}

impl Payload {
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Payload::Json(j) => serde_json::to_vec(&j).unwrap_or_else(|_| b"null".to_vec()),
            Payload::Text(t) => t,
            Payload::Raw(r) => r.body,
        }
    }

    pub fn into_json(self) -> Json {
        match self {
            Payload::Json(j) => j,
            Payload::Text(t) => serde_json::from_slice(&t).unwrap_or(Json::Null),
            Payload::Raw(r) => Json::String(String::from_utf8_lossy(&r.body).into_owned()),
        }
    }
}

impl Reply {
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply::json(status, json!({ "error": message.into() }))
    }

    fn json(status: u16, body: Json) -> Reply {
        Reply { status, body: Payload::Json(body) }
    }

    /// A guest value of type `ty`, as JSON text of at most `cap` bytes; a `Response` as the
    /// answer it describes.
    fn value(status: u16, records: &[RecordType], ty: &ValueType, v: &Value, cap: usize) -> wasmtime::Result<Reply> {
        if guest_abi::response::is_response(records, ty) {
            let r = guest_abi::response::read(v).ok_or_else(|| wasmtime::format_err!("a Response value of the wrong shape"))?;
            let raw = crate::http::answer::from_response(r, cap).map_err(|why| wasmtime::format_err!("the handler's Response cannot be sent: {why}"))?;
            return Ok(Reply { status: raw.status, body: Payload::Raw(raw) });
        }
        let text = to_json_bytes_within(records, ty, v, cap).ok_or_else(|| wasmtime::format_err!("the answer is larger than {cap} bytes"))?;
        Ok(Reply { status, body: Payload::Text(text) })
    }
}

/// The request could not be answered by the app; the message is for the log only.
#[derive(Debug, PartialEq)]
pub enum Fault {
    /// Past the deadline.
    Timeout,
    /// No instance slot free.
    Busy,
    /// A trap, a runtime error, memory exhausted, a broken module.
    Failed(String),
}

pub async fn call(app: &Arc<AppVersion>, call: Call) -> Result<Reply, Fault> {
    let deadline = app.limits().request_deadline;
    let mut store = app.serving_store();
    let result = guarded(deadline, &mut store, |store| Box::pin(run(app, store, call))).await;
    finish(app, &mut store, result)
}

/// Runs cron job `index` once in a fresh instance; returns the job's value as JSON (a job
/// whose value is an `Err` is reported as `Fault::Failed` with its message).
pub async fn run_cron(app: &Arc<AppVersion>, index: usize, hub: Option<Arc<crate::ws::Hub>>) -> Result<Json, Fault> {
    let deadline = app.limits().cron_deadline;
    let mut store = app.serving_store();
    store.data_mut().hub = hub;
    let result = guarded(deadline, &mut store, |store| Box::pin(cron(app, store, index))).await;
    match finish(app, &mut store, result)? {
        Reply { status: 200, body } => Ok(body.into_json()),
        Reply { body, .. } => Err(Fault::Failed(error_text(body))),
    }
}

fn error_text(body: Payload) -> String {
    let body = body.into_json();
    body.get("error").map_or_else(|| body.to_string(), |e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
}

/// Runs `@background` task `index` once in a fresh instance with `args` (its value
/// parameters, in order); returns its value (an `Err` value, or `?` on one, fails it).
pub async fn run_task(app: &Arc<AppVersion>, index: usize, args: Vec<Value>, hub: Option<Arc<crate::ws::Hub>>) -> Result<Value, Fault> {
    let deadline = app.limits().task_deadline;
    let mut store = app.serving_store();
    store.data_mut().hub = hub;
    let mut value = None;
    let result = guarded(deadline, &mut store, |store| Box::pin(task(app, store, index, args, &mut value))).await;
    match finish(app, &mut store, result)? {
        Reply { status: 200, .. } => value.ok_or_else(|| Fault::Failed("the task left no value".into())),
        Reply { body, .. } => Err(Fault::Failed(error_text(body))),
    }
}

async fn task(app: &AppVersion, store: &mut Store<GuestState>, index: usize, args: Vec<Value>, out: &mut Option<Value>) -> wasmtime::Result<Reply> {
    let manifest = app.manifest.clone();
    let spec = manifest.tasks.get(index).ok_or_else(|| wasmtime::format_err!("no task {index}"))?;
    let guest = Guest::start(app, store).await?;
    let mut values = args.into_iter();
    let mut wasm_args = Vec::with_capacity(spec.params.len());
    for p in &spec.params {
        wasm_args.push(match p {
            TaskParam::Db { .. } => Val::I32(DB_HANDLE),
            TaskParam::Value { ty, .. } => {
                let v = values.next().ok_or_else(|| wasmtime::format_err!("too few arguments for task {index}"))?;
                val(guest.write(store, ty, &v)?)
            }
        });
    }
    let (site, ty, slot) = guest.enter(store, &spec.export, None, &wasm_args, &[], &spec.returns).await?;
    let value = guest.read(store, ty, slot)?;
    Ok(match (site, value) {
        (SITE_RETURN, Value::Err(e)) => Reply::error(500, message_of(&e)),
        (SITE_ERROR, e) => Reply::error(500, message_of(&e)),
        (_, v) => {
            *out = Some(v);
            Reply::json(200, Json::Null)
        }
    })
}

/// Runs `@test` `index` of the app `served` serves in a fresh instance that may call the app's
/// routes (`test.get(…)`); `Ok` when it returned, else the failure (an `assert`'s message).
pub async fn run_test(served: &Arc<crate::http::Served>, index: usize) -> Result<(), Fault> {
    let app = served.app.load_full();
    let deadline = app.limits().cron_deadline;
    let mut store = app.serving_store();
    store.data_mut().tester = Some(served.clone());
    let result = guarded(deadline, &mut store, |store| Box::pin(test(&app, store, index))).await;
    match finish(&app, &mut store, result)? {
        Reply { status: 200, .. } => Ok(()),
        Reply { body, .. } => Err(Fault::Failed(error_text(body))),
    }
}

async fn test(app: &AppVersion, store: &mut Store<GuestState>, index: usize) -> wasmtime::Result<Reply> {
    let manifest = app.manifest.clone();
    let t = manifest.tests.get(index).ok_or_else(|| wasmtime::format_err!("no test {index}"))?;
    entry(app, store, &t.export, t.takes_db, &t.returns).await
}

async fn cron(app: &AppVersion, store: &mut Store<GuestState>, index: usize) -> wasmtime::Result<Reply> {
    let manifest = app.manifest.clone();
    let job = manifest.crons.get(index).ok_or_else(|| wasmtime::format_err!("no cron job {index}"))?;
    entry(app, store, &job.export, job.takes_db, &job.returns).await
}

/// Calls an entry that takes nothing or the database: a cron job or a test.
async fn entry(app: &AppVersion, store: &mut Store<GuestState>, export: &str, takes_db: bool, returns: &ValueType) -> wasmtime::Result<Reply> {
    let guest = Guest::start(app, store).await?;
    let args: Vec<Val> = if takes_db { vec![Val::I32(DB_HANDLE)] } else { vec![] };
    let (site, ty, slot) = guest.enter(store, export, None, &args, &[], returns).await?;
    let value = guest.read(store, ty, slot)?;
    Ok(match (site, value) {
        (SITE_RETURN, Value::Err(e)) => Reply::error(500, message_of(&e)),
        (SITE_ERROR, e) => Reply::error(500, message_of(&e)),
        (_, v) => Reply::json(200, to_json(guest.records(), ty, &v)),
    })
}

type Run<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = wasmtime::Result<Reply>> + Send + 'a>>;

/// Runs `f` under a deadline: the guest yields at every epoch tick, so the timer fires on time
/// even in a tight loop, and it covers a host call that never returns as well.
async fn guarded<'a>(
    deadline: std::time::Duration,
    store: &'a mut Store<GuestState>,
    f: impl FnOnce(&'a mut Store<GuestState>) -> Run<'a>,
) -> Result<wasmtime::Result<Reply>, TimedOut> {
    tokio::time::timeout(deadline, f(store)).await.map_err(|_| TimedOut)
}

/// A run stopped at its deadline.
struct TimedOut;

/// Runs a `@ws` handler for its connection's life: `deadline` bounds each stretch the handler
/// spends on a message (from `recv` answering to its next call), not the waits in `recv`.
pub async fn call_ws(app: &Arc<AppVersion>, call: Call, session: crate::ws::Session) -> Result<Reply, Fault> {
    let deadline = app.limits().request_deadline.as_millis() as u64;
    let (busy, started) = (session.busy_since.clone(), session.started);
    let mut store = app.serving_store();
    store.data_mut().ws = Some(session);
    let result = {
        let run = run(app, &mut store, call);
        tokio::pin!(run);
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(20));
        loop {
            tokio::select! {
                r = &mut run => break Ok(r),
                _ = tick.tick() => {
                    let since = busy.load(std::sync::atomic::Ordering::Acquire);
                    if since != 0 && (started.elapsed().as_millis() as u64).saturating_sub(since) > deadline {
                        break Err(TimedOut);
                    }
                }
            }
        }
    };
    let reply = finish(app, &mut store, result);
    // The connection's place in its room goes with the sandbox.
    store.data_mut().ws = None;
    reply
}

fn finish(app: &AppVersion, store: &mut Store<GuestState>, result: Result<wasmtime::Result<Reply>, TimedOut>) -> Result<Reply, Fault> {
    let printed = store.data_mut().output.stdout.take_text();
    for line in printed.lines() {
        tracing::info!(target: "fitz::print", app = %app.ctx.name, "{line}");
    }
    crate::host_fns::report_dropped_logs(store);
    if store.data().busy {
        return Err(Fault::Busy);
    }
    match result {
        Err(_) => Err(Fault::Timeout),
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(e)) => {
            if matches!(e.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::Interrupt)) {
                return Err(Fault::Timeout);
            }
            if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() {
                return Err(Fault::Busy);
            }
            let stderr = store.data_mut().output.stderr.take_text();
            Err(Fault::Failed(describe_failure(&e, stderr.trim())))
        }
    }
}

/// The address of a field at `offset` in the guest object at `ptr`; a pointer near the top of
/// the address space is the guest's error, not a reason to overflow.
fn field(ptr: u32, offset: u32) -> wasmtime::Result<u32> {
    ptr.checked_add(offset).ok_or_else(|| wasmtime::format_err!("the module returned a pointer out of bounds"))
}

fn val(slot: Slot) -> Val {
    match slot {
        Slot::I32(v) => Val::I32(v as i32),
        Slot::I64(v) => Val::I64(v),
        Slot::F64(v) => Val::F64(v.to_bits()),
    }
}

struct Guest<'a> {
    app: &'a AppVersion,
    instance: Instance,
    mem: GuestMemory,
}

impl<'a> Guest<'a> {
    /// A fresh instance of `app` in `store`, its memory found through the export resolved at
    /// load and cached in the store for the host functions.
    async fn start(app: &'a AppVersion, store: &mut Store<GuestState>) -> wasmtime::Result<Guest<'a>> {
        let instance = app.pre.instantiate_async(&mut *store).await?;
        let mem = GuestMemory::of_export(&mut *store, &instance, &app.entries.memory)?;
        store.data_mut().mem = Some(mem.clone());
        Ok(Guest { app, instance, mem })
    }

    fn records(&self) -> &[RecordType] {
        &self.app.manifest.records
    }

    fn write(&self, store: &mut Store<GuestState>, ty: &ValueType, v: &Value) -> wasmtime::Result<Slot> {
        self.mem.write(&mut *store, self.app.manifest.types(), ty, v)
    }

    /// Calls an entry point; returns its outcome's site, the payload's type (borrowed from
    /// `returns` and `sites`) and the payload's slot.
    async fn enter<'t>(
        &self,
        store: &mut Store<GuestState>,
        export: &str,
        resolved: Option<&ModuleExport>,
        args: &[Val],
        sites: &'t [Response],
        returns: &'t ValueType,
    ) -> wasmtime::Result<(u32, &'t ValueType, Slot)> {
        let f = match resolved {
            Some(e) => self.instance.get_module_export(&mut *store, e).and_then(Extern::into_func),
            None => self.instance.get_func(&mut *store, export),
        };
        let f = f.ok_or_else(|| wasmtime::format_err!("the module does not export `{export}`"))?;
        let mut out = [Val::I32(0)];
        f.call_async(&mut *store, args, &mut out).await?;
        let ptr = out[0].i32().unwrap_or(0) as u32;
        let site = match self.mem.read_slot(&*store, field(ptr, OUTCOME_SITE)?, SlotKind::I32)? {
            Slot::I32(s) => s,
            _ => 0,
        };
        static STR: ValueType = ValueType::Str;
        let ty = match site {
            SITE_RETURN => returns,
            SITE_ERROR => &STR,
            s => sites.iter().find(|r| r.site == s).map(|r| &r.ty).ok_or_else(|| wasmtime::format_err!("the module returned an unknown outcome site {s}"))?,
        };
        let slot = self.mem.read_slot(&*store, field(ptr, OUTCOME_PAYLOAD)?, slot_kind(ty))?;
        Ok((site, ty, slot))
    }

    fn read(&self, store: &Store<GuestState>, ty: &ValueType, slot: Slot) -> wasmtime::Result<Value> {
        self.mem.read(store, self.app.manifest.types(), ty, slot, self.app.limits().host_bytes)
    }

    fn status_of(sites: &[Response], site: u32) -> u16 {
        sites.iter().find(|r| r.site == site).map_or(500, |r| r.status)
    }

    /// Field defaults a body of type `ty` may need, computed by the guest.
    async fn defaults(&self, store: &mut Store<GuestState>, ty: &ValueType) -> wasmtime::Result<Vec<((u32, usize), Value)>> {
        let mut wanted = BTreeSet::new();
        collect_defaults(self.records(), ty, &mut wanted, &mut BTreeSet::new());
        let mut out = Vec::new();
        for (rid, i) in wanted {
            if let Some(v) = self.default_of(store, rid, i).await? {
                out.push(((rid, i), v));
            }
        }
        Ok(out)
    }

    /// The default of field `field` of record `record`, from the guest's export for it;
    /// `None` when the field has none.
    async fn default_of(&self, store: &mut Store<GuestState>, record: u32, field: usize) -> wasmtime::Result<Option<Value>> {
        let export = guest_abi::exports::field_default(record as usize, field);
        let Some(f) = self.instance.get_func(&mut *store, &export) else { return Ok(None) };
        let Some(ty) = self.records().get(record as usize).and_then(|r| r.fields.get(field)).map(|f| &f.ty) else { return Ok(None) };
        let mut result = [match slot_kind(ty) {
            SlotKind::I32 => Val::I32(0),
            SlotKind::I64 => Val::I64(0),
            SlotKind::F64 => Val::F64(0),
        }];
        f.call_async(&mut *store, &[], &mut result).await?;
        let slot = match result[0] {
            Val::I64(v) => Slot::I64(v),
            Val::F64(v) => Slot::F64(f64::from_bits(v)),
            ref v => Slot::I32(v.i32().unwrap_or(0) as u32),
        };
        Ok(Some(self.read(store, ty, slot)?))
    }
}

/// The default of field `field` of record `record`, computed by the app in a fresh instance
/// (for migrations that add a required column); `None` when the field has no default.
pub async fn field_default(app: &AppVersion, record: u32, field: usize) -> Result<Option<Value>, Fault> {
    let mut store = app.new_store();
    let deadline = app.limits().request_deadline;
    let result: Result<wasmtime::Result<Option<Value>>, _> = tokio::time::timeout(deadline, async {
        let guest = Guest::start(app, &mut store).await?;
        guest.default_of(&mut store, record, field).await
    })
    .await;
    match result {
        Err(_) => Err(Fault::Timeout),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Fault::Failed(describe_failure(&e, ""))),
    }
}

fn collect_defaults(records: &[RecordType], ty: &ValueType, out: &mut BTreeSet<(u32, usize)>, seen: &mut BTreeSet<u32>) {
    match ty {
        ValueType::Record { id } => {
            if !seen.insert(*id) {
                return;
            }
            let Some(r) = records.get(*id as usize) else { return };
            for (i, f) in r.fields.iter().enumerate() {
                if f.has_default {
                    out.insert((*id, i));
                }
                collect_defaults(records, &f.ty, out, seen);
            }
        }
        ValueType::List { item } => collect_defaults(records, item, out, seen),
        ValueType::Map { value, .. } => collect_defaults(records, value, out, seen),
        ValueType::Nullable { inner } => collect_defaults(records, inner, out, seen),
        _ => {}
    }
}

/// The 403 for a user who holds none of `roles` (a role passes as itself and as every role
/// declared below it); `None` when one passes.
fn forbidden(records: &[RecordType], provider: &guest_abi::manifest::AuthProvider, roles: &[String], user: &Value) -> Option<Reply> {
    let (held, several) = roles_of(records, provider.user, user);
    let passes = |r: &String| roles.contains(r) || provider.hierarchy.iter().any(|h| &h.role == r && h.below.iter().any(|b| roles.contains(b)));
    if held.iter().any(passes) {
        return None;
    }
    // The 403 names what the user has as the type holds it: one role or several.
    let body = if several {
        json!({ "error": "forbidden", "current_roles": held, "required_roles": roles })
    } else {
        json!({ "error": "forbidden", "current_role": held.first(), "required_roles": roles })
    };
    Some(Reply::json(403, body))
}

async fn run(app: &AppVersion, store: &mut Store<GuestState>, call: Call) -> wasmtime::Result<Reply> {
    let manifest = app.manifest.clone();
    let route = manifest.routes.get(call.route).ok_or_else(|| wasmtime::format_err!("no route {}", call.route))?;
    store.data_mut().hub = call.hub.clone();
    let guest = Guest::start(app, store).await?;
    let cap = app.limits().response_bytes;
    let headers = |guest: &Guest<'_>, store: &mut Store<GuestState>| guest.mem.write_with(&mut *store, guest.app.manifest.types(), |w| w.str_map(&call.headers));

    // Authentication and roles.
    let mut user_slot = None;
    if route.auth != RouteAuth::Public
        && let (Some(provider), Some(acting)) = (manifest.auth.as_ref(), &call.acting)
    {
        // The test's user, as the provider would have answered it; the roles still apply.
        let user = guest.write(store, &ValueType::Record { id: provider.user }, acting)?;
        user_slot = Some(user);
        if let RouteAuth::Roles { roles } = &route.auth
            && let Some(refused) = forbidden(guest.records(), provider, roles, acting)
        {
            return Ok(refused);
        }
    } else if route.auth != RouteAuth::Public {
        let provider = manifest.auth.as_ref().ok_or_else(|| wasmtime::format_err!("no auth provider"))?;
        let h = headers(&guest, store)?;
        let mut args = vec![val(h)];
        if provider.takes_db {
            args.push(Val::I32(DB_HANDLE));
        }
        // The provider returns `Result<User, Str>`, a pointer read below by hand, so any
        // pointer-slot type stands for it here and no `Result` type is built per request.
        let entered = guest.enter(store, &provider.export, app.entries.provider.as_ref(), &args, &provider.responses, &ValueType::Str).await;
        let (site, ty, slot) = match entered {
            Ok(outcome) => outcome,
            // A provider that fails (a runtime error, a trap) refuses the request: a 401 that
            // names nothing inside, and the failure with its position in the log. The deadline
            // and a full instance pool stay what they are for any run.
            Err(e) if matches!(e.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::Interrupt)) => return Err(e),
            Err(e) if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() => return Err(e),
            Err(e) => {
                if let Some(unavailable) = database_fault(store) {
                    return Ok(unavailable);
                }
                let stderr = store.data_mut().output.stderr.take_text();
                let why = crate::runtime::app::describe_failure(&e, stderr.trim());
                tracing::warn!(target: "fitz::auth", app = %app.ctx.name, "the auth provider failed, so the request is refused: {why}");
                return Ok(Reply::error(401, "unauthorized"));
            }
        };
        // Only what is needed is read back: the tag, and the user only where a role is checked
        // (the handler reads it from guest memory itself).
        let user = match (site, slot) {
            (SITE_RETURN, Slot::I32(result_ptr)) => match guest.mem.read_slot(&*store, field(result_ptr, RESULT_TAG)?, SlotKind::I32)? {
                Slot::I32(RESULT_OK) => guest.mem.read_slot(&*store, field(result_ptr, RESULT_PAYLOAD)?, SlotKind::I32)?,
                Slot::I32(RESULT_ERR) => {
                    if let Some(unavailable) = database_fault(store) {
                        return Ok(unavailable);
                    }
                    let message = guest.read(store, &ValueType::Str, guest.mem.read_slot(&*store, field(result_ptr, RESULT_PAYLOAD)?, SlotKind::I32)?)?;
                    return Ok(Reply::error(401, message_of(&message)));
                }
                _ => return Err(wasmtime::format_err!("bad provider outcome")),
            },
            (SITE_RETURN, _) => return Err(wasmtime::format_err!("bad provider outcome")),
            (SITE_ERROR, _) => return Ok(database_fault(store).unwrap_or(Reply::error(401, message_of(&guest.read(store, ty, slot)?)))),
            (s, _) => {
                let v = guest.read(store, ty, slot)?;
                return Reply::value(Guest::status_of(&provider.responses, s), guest.records(), ty, &v, cap);
            }
        };
        user_slot = Some(user);
        if let RouteAuth::Roles { roles } = &route.auth {
            let user = guest.read(store, &ValueType::Record { id: provider.user }, user)?;
            if let Some(refused) = forbidden(guest.records(), provider, roles, &user) {
                return Ok(refused);
            }
        }
    }

    // A wrap middleware runs instead of the handler; its `next()` runs the rest.
    if let Some(&w) = route.wrap.get(call.wrap) {
        let user = match (user_slot, manifest.auth.as_ref()) {
            (Some(slot), Some(provider)) => Some(guest.read(store, &ValueType::Record { id: provider.user }, slot)?),
            _ => None,
        };
        return wrap(&guest, store, &manifest, w, call, user, cap).await;
    }

    // Arguments.
    let mut args = Vec::with_capacity(route.params.len());
    for (param, arg) in route.params.iter().zip(call.args) {
        let slot = match (param, arg) {
            (_, Arg::Invalid { status, message }) => return Ok(Reply::error(status, message)),
            (Param::Db { .. }, _) => Slot::I32(DB_HANDLE as u32),
            (Param::Ws { .. }, _) => Slot::I32(crate::ws::HANDLE),
            (Param::Headers { .. }, _) => headers(&guest, store)?,
            (Param::User { .. }, _) => user_slot.ok_or_else(|| wasmtime::format_err!("no user for a user parameter"))?,
            (
                Param::Path { ty, .. } | Param::Query { ty, .. } | Param::Body { ty, .. } | Param::Header { ty, .. } | Param::Cookie { ty, .. } | Param::Request { ty, .. },
                Arg::Value(v),
            ) => guest.write(store, ty, &v)?,
            (Param::Body { ty, .. }, Arg::Body(json)) => {
                let defaults = guest.defaults(store, ty).await?;
                let lookup = |rid: u32, i: usize| defaults.iter().find(|(k, _)| *k == (rid, i)).map(|(_, v)| v.clone());
                match from_json_with(guest.records(), ty, &json, &lookup) {
                    Ok(v) => guest.write(store, ty, &v)?,
                    Err(e) => {
                        let name = crate::json::type_name(guest.records(), ty);
                        return Ok(Reply::error(400, format!("body for '{name}': {e}")));
                    }
                }
            }
            _ => return Err(wasmtime::format_err!("a parameter was bound to the wrong kind of argument")),
        };
        args.push(val(slot));
    }

    // A WebSocket is upgraded once the request is admitted, and the handler then runs on it.
    if let Some(ws) = store.data_mut().ws.as_mut() {
        if let Some(admitted) = ws.admitted.take() {
            let _ = admitted.send(());
        }
        ws.busy();
    }
    let (site, ty, slot) = guest.enter(store, &route.export, app.entries.routes.get(call.route), &args, &route.responses, &route.returns).await?;
    let value = guest.read(store, ty, slot)?;
    // The handler's own `Response`, for post middlewares to receive as it was written.
    let own = if route.after.is_empty() { None } else { own_response(guest.records(), site, &route.returns, &value) };
    let reply = match (site, &route.returns, value) {
        (SITE_RETURN, ValueType::Result { ok, .. }, Value::Ok(v)) => Reply::value(200, guest.records(), ok, &v, cap),
        (SITE_RETURN, ValueType::Result { err, .. }, Value::Err(e)) => Ok(Reply::json(500, json!({ "error": to_json(guest.records(), err, &e) }))),
        (SITE_RETURN, _, v) => Reply::value(200, guest.records(), ty, &v, cap),
        (SITE_ERROR, _, e) => Ok(Reply::error(500, message_of(&e))),
        (s, _, v) => Reply::value(Guest::status_of(&route.responses, s), guest.records(), ty, &v, cap),
    }?;
    // An error that follows a database fault is the database's, whatever the app made of it.
    let reply = match database_fault(store) {
        Some(unavailable) if reply.status == 500 => unavailable,
        _ => reply,
    };
    match call.request {
        Some(request) if !route.after.is_empty() => after(&guest, store, &manifest, route, request, reply, own, cap).await,
        _ => Ok(reply),
    }
}

fn own_response(records: &[RecordType], site: u32, returns: &ValueType, value: &Value) -> Option<Value> {
    match (site, returns, value) {
        (SITE_RETURN, ValueType::Result { ok, .. }, Value::Ok(v)) if guest_abi::response::is_response(records, ok) => Some((**v).clone()),
        (SITE_RETURN, t, v) if guest_abi::response::is_response(records, t) => Some(v.clone()),
        _ => None,
    }
}

/// An answer as a `Response` value: JSON as the host would send it.
fn response_value(reply: Reply) -> Value {
    let (ct, headers, body) = match reply.body {
        Payload::Raw(raw) => {
            let ct = raw.headers.iter().find(|(k, _)| *k == http::header::CONTENT_TYPE).and_then(|(_, v)| v.to_str().ok()).unwrap_or("").to_string();
            let headers = raw
                .headers
                .iter()
                .filter(|(k, _)| *k != http::header::CONTENT_TYPE)
                .filter_map(|(k, v)| Some((Value::Str(k.as_str().to_string()), Value::Str(v.to_str().ok()?.to_string()))))
                .collect();
            (ct, headers, raw.body)
        }
        other => ("application/json".to_string(), vec![], other.into_bytes()),
    };
    // Text as `body`; anything else as `body_bytes`, unchanged.
    let (body, bytes) = match String::from_utf8(body) {
        Ok(text) => (Value::Str(text), Value::Null),
        Err(e) => (Value::Str(String::new()), Value::Bytes(e.into_bytes())),
    };
    Value::Record(vec![Value::Int(i64::from(reply.status)), Value::Str(ct), Value::Map(headers), body, bytes, Value::List(vec![])])
}

/// The built-in `Request` and `Response` types of `records`.
pub(crate) fn request_response(records: &[RecordType]) -> wasmtime::Result<(ValueType, ValueType)> {
    let find = |is: fn(&[RecordType], &ValueType) -> bool| {
        (0..records.len() as u32).map(|id| ValueType::Record { id }).find(|t| is(records, t)).ok_or_else(|| wasmtime::format_err!("no built-in Request or Response"))
    };
    Ok((find(guest_abi::response::is_request)?, find(guest_abi::response::is_response)?))
}

/// Runs wrap middleware `index` of the manifest with the request; its `next()` (the `mw_next`
/// import) will run the rest of `call`'s chain, as the user the provider answered.
async fn wrap(
    guest: &Guest<'_>,
    store: &mut Store<GuestState>,
    manifest: &guest_abi::manifest::Manifest,
    index: u32,
    call: Call,
    user: Option<Value>,
    cap: usize,
) -> wasmtime::Result<Reply> {
    let w = manifest.wraps.get(index as usize).ok_or_else(|| wasmtime::format_err!("no wrap middleware {index}"))?;
    let (req_ty, resp_ty) = request_response(guest.records())?;
    let request = call.request.clone().ok_or_else(|| wasmtime::format_err!("no request for a wrap middleware"))?;
    let r = guest.write(store, &req_ty, &request)?;
    let rest = Call { wrap: call.wrap + 1, acting: user.or(call.acting.clone()), ..call };
    store.data_mut().next = Some(Box::new(rest));
    let (site, ty, slot) = guest.enter(store, &w.export, None, &[val(r)], &w.responses, &resp_ty).await?;
    let v = guest.read(store, ty, slot)?;
    match site {
        SITE_RETURN => Reply::value(200, guest.records(), &resp_ty, &v, cap),
        SITE_ERROR => Ok(Reply::error(500, message_of(&v))),
        s => Reply::value(Guest::status_of(&w.responses, s), guest.records(), ty, &v, cap),
    }
}

/// A wrap middleware's `next()`: the rest of its route's chain in a sandbox of its own (the
/// next wrap, or the handler and its post middlewares), answered as a `Response` value. What
/// fails there (a trap, the database) is that answer's status, as a client would have seen it.
pub async fn next(app: &Arc<AppVersion>, rest: Call) -> Value {
    let reply = match call(app, rest).await {
        Ok(reply) => reply,
        Err(Fault::Timeout) => Reply::error(503, "request timed out"),
        Err(Fault::Busy) => Reply::error(503, "server busy, try again"),
        Err(Fault::Failed(cause)) => {
            tracing::error!(target: "fitz::http", app = %app.ctx.name, "the rest of a wrap middleware's chain failed: {cause}");
            Reply::error(500, "internal error")
        }
    };
    response_value(reply)
}

/// Runs the route's post middlewares on its answer, each on what the one before it returned,
/// in the same run (and under the same deadline) as the handler.
#[allow(clippy::too_many_arguments)]
async fn after(
    guest: &Guest<'_>,
    store: &mut Store<GuestState>,
    manifest: &guest_abi::manifest::Manifest,
    route: &guest_abi::manifest::Route,
    request: Value,
    reply: Reply,
    own: Option<Value>,
    cap: usize,
) -> wasmtime::Result<Reply> {
    let records = guest.records();
    let (req_ty, resp_ty) = request_response(records)?;
    let mut resp = own.unwrap_or_else(|| response_value(reply));
    for &i in &route.after {
        let a = manifest.afters.get(i as usize).ok_or_else(|| wasmtime::format_err!("no middleware {i}"))?;
        let r = guest.write(store, &req_ty, &request)?;
        let s = guest.write(store, &resp_ty, &resp)?;
        let (site, ty, slot) = guest.enter(store, &a.export, None, &[val(r), val(s)], &[], &resp_ty).await?;
        let v = guest.read(store, ty, slot)?;
        resp = match site {
            SITE_RETURN => v,
            _ => return Ok(Reply::error(500, message_of(&v))),
        };
    }
    Reply::value(200, records, &resp_ty, &resp, cap)
}

/// The answer when the run met a database fault: 503, to be tried again, in the host's words.
/// A provider that refuses because its lookup failed has not judged the credentials, so the
/// client must not be told it is logged out.
fn database_fault(store: &Store<GuestState>) -> Option<Reply> {
    store.data().db_fault.then(|| Reply::error(503, crate::db::DbError::Unavailable.to_string()))
}

fn message_of(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => "error".into(),
    }
}

/// The user's role (`role: Str`), or roles (`roles: List<Str>`), and which of the two the type has.
fn roles_of(records: &[RecordType], user: u32, v: &Value) -> (Vec<String>, bool) {
    let (Some(r), Value::Record(fields)) = (records.get(user as usize), v) else { return (Vec::new(), false) };
    let field = |name: &str| r.fields.iter().position(|f| f.name == name).and_then(|i| fields.get(i));
    if let Some(Value::Str(s)) = field("role") {
        return (vec![s.clone()], false);
    }
    match field("roles") {
        Some(Value::List(items)) => (items.iter().filter_map(|i| if let Value::Str(s) = i { Some(s.clone()) } else { None }).collect(), true),
        _ => (Vec::new(), r.fields.iter().any(|f| f.name == "roles")),
    }
}
