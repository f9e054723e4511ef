//! Hostile tenants, tried as an attacker would: modules built by hand (`kit`), each aimed at one
//! host function or limit, deployed to the real `fitz host` binary next to a well-behaved
//! tenant under steady load. Every hostile request gets its answer, every well-behaved request
//! succeeds, the host's RSS stays under a bound, its operator API answers throughout, and it is
//! alive at the end.

mod kit;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use guest_abi::imports::Import;
use guest_abi::types::ValueType;
use kit::process::{HostProcess, cpu_of, temp_dir};
use kit::{I, Kit, OUTCOME, forever, list_header, map_header, mem32, outcome, str_header};
use wasm_encoder::{BlockType, HeapType, ValType};

const WELL: &str = r#"
@get("/ok/{n}")
fn ok(n: Int) -> Map<Str, Int> => { "n": n, "square": n * n }
"#;

/// What the hostile apps may use; a request of theirs past 2 s is cut off, a top level past 3 s.
// The top level's deadline leaves a deploy beside a looping one seconds to finish in, even on
// a machine busy with a build (3 s once made that check flaky).
const LIMITS: &str = r#"{"request_ms": 2000, "top_level_ms": 8000, "cron_ms": 3000, "concurrency": 4, "tasks": 2, "task_ms": 3000}"#;

/// The host's RSS never passes this. Four instances of 64 MiB at once are the most the hostile
/// apps' guests can hold (their concurrency); the rest is the host's own, bounded by its limits.
/// Before the limits, the aliased `fd_write` alone took the host to 1.7 GB with 100 iovecs.
const RSS_BOUND: u64 = 900 << 20;

/// `local0 = 0; while local0 < count { store32(start + 4 * local0, value); local0 += 1 }`
/// (needs an i32 local 0).
fn fill_words(start: u32, count: u32, value: u32) -> Vec<I<'static>> {
    vec![
        I::I32Const(0),
        I::LocalSet(0),
        I::Block(BlockType::Empty),
        I::Loop(BlockType::Empty),
        I::LocalGet(0),
        I::I32Const(count as i32),
        I::I32GeU,
        I::BrIf(1),
        I::LocalGet(0),
        I::I32Const(4),
        I::I32Mul,
        I::I32Const(start as i32),
        I::I32Add,
        I::I32Const(value as i32),
        I::I32Store(mem32()),
        I::LocalGet(0),
        I::I32Const(1),
        I::I32Add,
        I::LocalSet(0),
        I::Br(0),
        I::End,
        I::End,
    ]
}

fn ret(outcome_at: u32) -> Vec<I<'static>> {
    vec![I::I32Const(outcome_at as i32), I::End]
}

fn call_then(mut args: Vec<I<'static>>, f: u32, drop_result: bool, outcome_at: u32) -> Vec<I<'static>> {
    args.push(I::Call(f));
    if drop_result {
        args.push(I::Drop);
    }
    args.extend(ret(outcome_at));
    args
}

fn c(n: i64) -> I<'static> {
    I::I32Const(n as i32)
}

const MIB: u32 = 1 << 20;
/// Page 1 onwards: the big regions the attacks point at.
const REGION: u32 = 65536;

/// `fd_write` with `n` iovecs that all point at the same 10 MiB region.
fn aliased_iovecs(kit: &mut Kit, n: u32) {
    let iovs: Vec<u8> = (0..n).flat_map(|_| [REGION.to_le_bytes(), (10 * MIB).to_le_bytes()].concat()).collect();
    kit.data(8192, &iovs);
}

fn printer() -> Vec<u8> {
    let mut k = Kit::new(&[Import::FdWrite]);
    k.pages(u64::from((REGION + 10 * MIB) / 65536 + 1));
    aliased_iovecs(&mut k, 1024);
    let fd_write = k.f(Import::FdWrite);
    // 1024 iovecs of 10 MiB each (10 GiB claimed), and 5000 (more than IOV_MAX), in a route.
    k.route("/print", ValueType::Int, vec![], call_then(vec![c(1), c(8192), c(1024), c(600)], fd_write, true, OUTCOME));
    k.route("/print-many", ValueType::Int, vec![], call_then(vec![c(1), c(8192), c(5000), c(600)], fd_write, true, OUTCOME));
    k.route("/print-oob", ValueType::Int, vec![], call_then(vec![c(1), c(0xFFFF_FFF0), c(1), c(600)], fd_write, true, OUTCOME));
    // And the same at the top level, which runs when the version is built.
    k.top_level(vec![], vec![c(2), c(8192), c(1024), c(600), I::Call(fd_write), I::Drop, I::End]);
    k.finish()
}

fn wide() -> Vec<u8> {
    let mut k = Kit::new(&[]);
    // 6 M booleans (24 MB of guest memory, within its 64 MiB): false, every one.
    k.pages(u64::from((REGION + 24 * MIB) / 65536 + 1));
    k.data(1024, &list_header(6_000_000, REGION));
    k.data(OUTCOME + 16, &outcome(1024));
    k.route("/bools", ValueType::list(ValueType::Bool), vec![], ret(OUTCOME + 16));
    // 4 M strings, all the same 1000-byte string.
    k.data(1040, &list_header(4_000_000, REGION));
    k.data(2048, &str_header(1000));
    k.data(OUTCOME + 32, &outcome(1040));
    let mut body = fill_words(REGION, 4_000_000, 2048);
    body.extend(ret(OUTCOME + 32));
    k.route("/strs", ValueType::list(ValueType::Str), vec![(1, ValType::I32)], body);
    // A list that contains itself, read through a type nested as deep as a manifest may.
    let deep = nested(44);
    k.data(1200, &list_header(1, 1216));
    k.data(1216, &1200u32.to_le_bytes());
    k.data(OUTCOME + 48, &outcome(1200));
    k.route("/deep", deep, vec![], ret(OUTCOME + 48));
    k.finish()
}

/// Huge lengths and pointers out of bounds for every host function that takes a pointer.
fn nested(levels: usize) -> ValueType {
    (0..levels).fold(ValueType::Int, |t, _| ValueType::list(t))
}

/// A type nested a hundred deep: valid JSON, refused before it is parsed.
fn too_deep() -> Vec<u8> {
    let mut k = Kit::new(&[]);
    k.route("/deep", nested(100), vec![], ret(OUTCOME));
    k.finish()
}

fn pointers() -> Vec<u8> {
    use Import::*;
    let mut k = Kit::new(&[
        HashPassword,
        HashVerify,
        JwtEncode,
        JwtDecode,
        DbQuery,
        AuthBlacklist,
        AuthIsBlacklisted,
        Secret,
        EnvOr,
        Log,
        RandomGet,
        ClockTimeGet,
        Fmt,
        Math,
        DbRaw,
        WsRecv,
        WsSend,
        MwNext,
        Bytes,
        WsBroadcast,
    ]);
    // A string whose length passes the end of memory, and one of 40 MiB inside it (valid
    // UTF-8: zeros, and the pointers the wide maps are filled with).
    k.pages(u64::from((REGION + 44 * MIB) / 65536));
    k.data(1024, &str_header(0xFFFF_FFF0));
    k.data(2048, &str_header(40 * MIB));
    // A map claiming 2^31 entries, and one of a million entries whose keys and values are all
    // the 40 MiB string (its key and value arrays are filled at run time).
    k.data(1536, &map_header(0x7FFF_FFFF, REGION, REGION));
    k.data(1600, &map_header(1_000_000, REGION, REGION));
    // Format specs: one at the widest a spec may ask for, one past it.
    k.data(3000, &[str_header(5), b">1000".to_vec()].concat());
    k.data(3100, &[str_header(4), b"1001".to_vec()].concat());
    // Raw SQL: a statement the host refuses, and an empty list of parameters.
    k.data(3200, &[str_header(10), b"RESET ROLE".to_vec()].concat());
    k.data(3300, &list_header(0, 3400));
    let fill = || fill_words(REGION, 1_000_000, 2048);
    let l = || vec![(1, ValType::I32)];
    let f = |k: &Kit, i: Import| k.f(i);
    let (hp, hv, je, jd, dq, bl, ib, se, en, lg, rg, ct) = (
        f(&k, HashPassword),
        f(&k, HashVerify),
        f(&k, JwtEncode),
        f(&k, JwtDecode),
        f(&k, DbQuery),
        f(&k, AuthBlacklist),
        f(&k, AuthIsBlacklisted),
        f(&k, Secret),
        f(&k, EnvOr),
        f(&k, Log),
        f(&k, RandomGet),
        f(&k, ClockTimeGet),
    );
    let (fm, ma, raw, wr, ws) = (f(&k, Fmt), f(&k, Math), f(&k, DbRaw), f(&k, WsRecv), f(&k, WsSend));
    let (mn, by, wb) = (f(&k, MwNext), f(&k, Bytes), f(&k, WsBroadcast));
    let routes: Vec<(&str, Vec<I<'static>>, Import, bool)> = vec![
        ("/hash-oob", vec![c(1024)], HashPassword, true),
        ("/hash-huge", vec![c(2048)], HashPassword, true),
        ("/verify-huge", vec![c(2048), c(2048)], HashVerify, true),
        ("/jwt-encode-oob", vec![c(1536), c(2048), c(2048)], JwtEncode, true),
        ("/jwt-decode-huge", vec![c(2048), c(2048), c(2048)], JwtDecode, true),
        ("/jwt-decode-oob", vec![c(1024), c(1024), c(1024)], JwtDecode, true),
        ("/query-unknown", vec![c(1), c(99_999), c(0)], DbQuery, true),
        ("/blacklist-huge", vec![c(1), c(2048), I::I64Const(0)], AuthBlacklist, true),
        ("/is-blacklisted-oob", vec![c(1), c(1024)], AuthIsBlacklisted, true),
        ("/secret-huge", vec![c(2048)], Secret, true),
        ("/env-huge", vec![c(2048), c(2048)], EnvOr, true),
        ("/log-huge", vec![c(1), c(2048), c(1536)], Log, false),
        ("/random-huge", vec![c(REGION as i64), c(40 * MIB as i64)], RandomGet, true),
        ("/clock-oob", vec![c(0), I::I64Const(0), c(0xFFFF_FFF0)], ClockTimeGet, true),
        ("/fmt-text-oob", vec![c(2), I::I64Const(1024), c(3000)], Fmt, true),
        ("/fmt-spec-oob", vec![c(0), I::I64Const(7), c(1024)], Fmt, true),
        ("/fmt-text-huge", vec![c(2), I::I64Const(2048), c(3000)], Fmt, true),
        ("/fmt-too-wide", vec![c(0), I::I64Const(7), c(3100)], Fmt, true),
        ("/fmt-no-kind", vec![c(9), I::I64Const(7), c(3000)], Fmt, true),
        ("/fmt-int-as-text", vec![c(2), I::I64Const(-1), c(3000)], Fmt, true),
        ("/math-no-op", vec![I::F64Const(1.0.into()), I::F64Const(2.0.into()), c(99)], Math, true),
        ("/math-pow-nan", vec![I::F64Const(f64::NAN.into()), I::F64Const(f64::INFINITY.into()), c(0)], Math, true),
        ("/raw-sql-oob", vec![c(1), c(1024), c(3300), c(1)], DbRaw, true),
        ("/raw-sql-huge", vec![c(1), c(2048), c(3300), c(1)], DbRaw, true),
        ("/raw-params-oob", vec![c(1), c(3200), c(1536), c(1)], DbRaw, true),
        ("/raw-handle-forged", vec![c(12_345), c(3200), c(3300), c(1)], DbRaw, true),
        ("/raw-refused", vec![c(1), c(3200), c(3300), c(0)], DbRaw, true),
        // A WebSocket's calls in a run that has none.
        ("/ws-recv-none", vec![c(1)], WsRecv, true),
        ("/ws-send-none", vec![c(1), c(3300), c(1)], WsSend, true),
        // A wrap middleware's `next()` in a run that is not one.
        ("/next-none", vec![], MwNext, true),
        // A broadcast to an endpoint the module does not declare, and from a wild pointer.
        ("/broadcast-none", vec![c(3200), c(3300)], WsBroadcast, true),
        ("/broadcast-oob", vec![c(1024), c(3300)], WsBroadcast, true),
        // Bytes: past the end of memory, 40 MiB shown as a literal (four times its size, past
        // what the host writes back), an operation that does not exist.
        ("/bytes-oob", vec![c(0), c(1024)], Bytes, true),
        ("/bytes-show-huge", vec![c(3), c(2048)], Bytes, true),
        ("/bytes-no-op", vec![c(99), c(3200)], Bytes, true),
        ("/bytes-b64-huge", vec![c(1), c(2048)], Bytes, true),
    ];
    for (path, args, import, drop) in routes {
        let func = match import {
            HashPassword => hp,
            HashVerify => hv,
            JwtEncode => je,
            JwtDecode => jd,
            DbQuery => dq,
            AuthBlacklist => bl,
            AuthIsBlacklisted => ib,
            Secret => se,
            EnvOr => en,
            Log => lg,
            RandomGet => rg,
            Fmt => fm,
            Math => ma,
            DbRaw => raw,
            WsRecv => wr,
            WsSend => ws,
            MwNext => mn,
            WsBroadcast => wb,
            Bytes => by,
            _ => ct,
        };
        k.route(path, ValueType::Int, vec![], call_then(args, func, drop, OUTCOME));
    }
    // The wide maps need their arrays filled first.
    let mut body = fill();
    body.extend(call_then(vec![c(1600), c(2048), c(2048)], je, true, OUTCOME));
    k.route("/jwt-encode-wide", ValueType::Int, l(), body);
    let mut body = fill();
    body.extend(call_then(vec![c(1), c(2048), c(1600)], lg, false, OUTCOME));
    k.route("/log-wide", ValueType::Int, l(), body);
    k.finish()
}

fn loops() -> Vec<u8> {
    let mut k = Kit::new(&[Import::ClockTimeGet, Import::Log, Import::Sleep]);
    k.with_table();
    let (clock, log, sleep) = (k.f(Import::ClockTimeGet), k.f(Import::Log), k.f(Import::Sleep));
    k.data(1024, &str_header(5));
    k.data(1028, b"flood");
    k.data(1040, &map_header(0, 1056, 1056));
    k.route("/spin", ValueType::Int, vec![], forever(vec![]).into_iter().chain(ret(OUTCOME)).collect());
    // Grows memory, and a table, until refused; then traps.
    let until_refused = |grow: Vec<I<'static>>| {
        let mut body = vec![I::Loop(BlockType::Empty)];
        body.extend(grow);
        body.extend([c(-1), I::I32Ne, I::BrIf(0), I::End, I::Unreachable, I::End]);
        body
    };
    k.route("/grow", ValueType::Int, vec![], until_refused(vec![c(1), I::MemoryGrow(0)]));
    k.route("/table", ValueType::Int, vec![], until_refused(vec![I::RefNull(HeapType::FUNC), c(1000), I::TableGrow(0)]));
    // Host calls without end (debug lines, all past the log limit): the run's count ends it.
    k.route("/calls", ValueType::Int, vec![], forever(vec![c(0), c(1024), c(1040), I::Call(log)]).into_iter().chain(ret(OUTCOME)).collect());
    // The clock without end is a loop like any other: the deadline ends it.
    k.route("/clock", ValueType::Int, vec![], forever(vec![c(0), I::I64Const(0), c(600), I::Call(clock), I::Drop]).into_iter().chain(ret(OUTCOME)).collect());
    // A sleep of 290 million years, and sleeps without end: the deadline ends both.
    k.route("/sleep", ValueType::Int, vec![], [I::I64Const(i64::MAX), I::Call(sleep)].into_iter().chain(ret(OUTCOME)).collect());
    k.route("/naps", ValueType::Int, vec![], forever(vec![I::I64Const(1), I::Call(sleep)]).into_iter().chain(ret(OUTCOME)).collect());
    // 100,000 log lines: the first thousand are written.
    let mut logs = vec![c(0), I::LocalSet(0), I::Block(BlockType::Empty), I::Loop(BlockType::Empty)];
    logs.extend([I::LocalGet(0), c(100_000), I::I32GeU, I::BrIf(1), c(1), c(1024), c(1040), I::Call(log)]);
    logs.extend([I::LocalGet(0), c(1), I::I32Add, I::LocalSet(0), I::Br(0), I::End, I::End]);
    logs.extend(ret(OUTCOME));
    k.route("/logs", ValueType::Int, vec![(1, ValType::I32)], logs);
    k.finish()
}

/// `spawn` aimed wrong: an unknown task, arguments past memory, tasks without end spawned
/// without end, and a run awaiting one of them.
fn tasks() -> Vec<u8> {
    let mut k = Kit::new(&[Import::Spawn]);
    let spawn = k.f(Import::Spawn);
    k.data(1024, &str_header(0xFFFF_FFF0));
    // The args block of task 1: a pointer to that string.
    k.data(1100, &1024u32.to_le_bytes());
    k.task(&[], vec![], forever(vec![]).into_iter().chain(ret(OUTCOME)).collect());
    k.task(&[ValueType::Str], vec![], ret(OUTCOME));
    k.route("/spawn-unknown", ValueType::Int, vec![], call_then(vec![c(99_999), c(2048), c(0)], spawn, true, OUTCOME));
    k.route("/spawn-oob-args", ValueType::Int, vec![], call_then(vec![c(1), c(1100), c(0)], spawn, true, OUTCOME));
    k.route("/spawn-block-oob", ValueType::Int, vec![], call_then(vec![c(1), c(0xFFFF_FFFC), c(0)], spawn, true, OUTCOME));
    // Spawns looping tasks until refused: the tenant's `tasks` limit (2) ends it, 503.
    k.route("/spawn-flood", ValueType::Int, vec![], forever(vec![c(0), c(2048), c(0), I::Call(spawn), I::Drop]).into_iter().chain(ret(OUTCOME)).collect());
    k.route("/spawn-wait", ValueType::Int, vec![], call_then(vec![c(0), c(2048), c(1)], spawn, true, OUTCOME));
    k.finish()
}

/// Transactions begun and never finished (the run returns, or loops past its deadline), and a
/// forged handle: each must end with its run, leaving nothing locked for the next.
fn transactions() -> Vec<u8> {
    let mut k = Kit::new(&[Import::TxBegin, Import::TxEnd]);
    let (begin, end) = (k.f(Import::TxBegin), k.f(Import::TxEnd));
    let tag = I::I32Load(wasm_encoder::MemArg { offset: 0, align: 2, memory_index: 0 });
    // Begins (trapping if refused), then returns without finishing it.
    k.route(
        "/tx-leak",
        ValueType::Int,
        vec![],
        vec![c(1), I::Call(begin), tag.clone(), I::If(wasm_encoder::BlockType::Empty), I::Unreachable, I::End].into_iter().chain(ret(OUTCOME)).collect(),
    );
    // Begins, then loops until the deadline.
    k.route("/tx-loop", ValueType::Int, vec![], vec![c(1), I::Call(begin), I::Drop].into_iter().chain(forever(vec![])).chain(ret(OUTCOME)).collect());
    // Ends a transaction nobody began: an `Err`, never another run's transaction.
    k.route(
        "/tx-end-forged",
        ValueType::Int,
        vec![],
        vec![c(12_345), c(1), I::Call(end), tag, I::I32Eqz, I::If(wasm_encoder::BlockType::Empty), I::Unreachable, I::End].into_iter().chain(ret(OUTCOME)).collect(),
    );
    k.finish()
}

fn looping_top_level() -> Vec<u8> {
    let mut k = Kit::new(&[]);
    k.top_level(vec![], forever(vec![]).into_iter().chain([I::End]).collect());
    k.route("/never", ValueType::Int, vec![], ret(OUTCOME));
    k.finish()
}

fn looping_crons() -> Vec<u8> {
    let mut k = Kit::new(&[]);
    for _ in 0..8 {
        k.cron("* * * * * *", vec![], forever(vec![]).into_iter().chain(ret(OUTCOME)).collect());
    }
    k.route("/hi", ValueType::Int, vec![], ret(OUTCOME));
    k.finish()
}

/// The tests here measure one host process's CPU and memory: they run one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What every hostile request must get.
struct Attack {
    app: &'static str,
    path: &'static str,
    statuses: &'static [u16],
}

const fn at(app: &'static str, path: &'static str, statuses: &'static [u16]) -> Attack {
    Attack { app, path, statuses }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_modules_hurt_only_themselves() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let host = Arc::new(HostProcess::start(temp_dir("kit"), &[("FITZ_APP_LIMITS", LIMITS)]));
    let well = fitz_compiler::compile(WELL, "well.fitz").expect("compiles").wasm;
    assert_eq!(host.deploy("well", well.clone()).await.0, 200);

    // Steady load on the well-behaved tenant, the operator API polled, RSS sampled.
    let stop = Arc::new(AtomicBool::new(false));
    let (served, peak) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut watchers = Vec::new();
    for worker in 0..2 {
        let (host, stop, served) = (host.clone(), stop.clone(), served.clone());
        watchers.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            let mut n: i64 = worker;
            while !stop.load(Ordering::Relaxed) {
                let (status, body) = host.get("well", &format!("/ok/{n}"), Duration::from_secs(10)).await;
                if status != 200 || body != format!(r#"{{"n":{n},"square":{}}}"#, n * n) {
                    failures.push(format!("well /ok/{n}: {status} {body}"));
                }
                served.fetch_add(1, Ordering::Relaxed);
                n = (n + 2) % 10_000;
            }
            failures
        }));
    }
    {
        let (host, stop, peak) = (host.clone(), stop.clone(), peak.clone());
        watchers.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(host.rss(), Ordering::Relaxed);
                let (status, body) = host.operator(reqwest::Method::GET, "/apps", None).await;
                if status != 200 {
                    failures.push(format!("operator GET /apps: {status} {body}"));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            failures
        }));
    }

    // A top level that loops is refused after its own deadline, and holds up no other deploy.
    let looping = {
        let host = host.clone();
        tokio::spawn(async move { host.deploy("evil-top-loop", looping_top_level()).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The host's health answers promptly throughout: the top level runs on the build thread.
    for _ in 0..10 {
        let r = host.client.get(format!("{}/healthz", host.base)).timeout(Duration::from_secs(1)).send().await;
        assert!(r.is_ok_and(|r| r.status() == 200), "/healthz answers within a second while a top level loops");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = host.deploy("evil-print", printer()).await;
    assert_eq!(status, 200, "a deploy next to a looping top level: {body}");
    assert!(!looping.is_finished(), "the other deploy did not wait for the looping top level");
    let (status, body) = looping.await.expect("deploy task");
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("top level failed: deadline exceeded")), "{body}");

    let (status, body) = host.deploy("evil-deep", too_deep()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("nests deeper than 48 levels")), "{body}");
    for (app, wasm) in
        [("evil-wide", wide()), ("evil-ptrs", pointers()), ("evil-loops", loops()), ("evil-cron", looping_crons()), ("evil-tasks", tasks()), ("evil-tx", transactions())]
    {
        let (status, body) = host.deploy(app, wasm).await;
        assert_eq!(status, 200, "{app}: {body}\nhost log:\n{}", host.logs().join("\n"));
    }

    let attacks = [
        at("evil-print", "/print", &[200]),
        at("evil-print", "/print-many", &[200]),
        at("evil-print", "/print-oob", &[200]),
        at("evil-wide", "/bools", &[500]),
        at("evil-wide", "/strs", &[500]),
        at("evil-wide", "/deep", &[200]),
        at("evil-ptrs", "/hash-oob", &[500]),
        at("evil-ptrs", "/hash-huge", &[500]),
        at("evil-ptrs", "/verify-huge", &[200]),
        at("evil-ptrs", "/jwt-encode-oob", &[500]),
        at("evil-ptrs", "/jwt-encode-wide", &[500]),
        at("evil-ptrs", "/jwt-decode-huge", &[200]),
        at("evil-ptrs", "/jwt-decode-oob", &[500]),
        at("evil-ptrs", "/query-unknown", &[500]),
        at("evil-ptrs", "/blacklist-huge", &[500]),
        at("evil-ptrs", "/is-blacklisted-oob", &[500]),
        at("evil-ptrs", "/secret-huge", &[500]),
        at("evil-ptrs", "/env-huge", &[500]),
        at("evil-ptrs", "/log-huge", &[200]),
        at("evil-ptrs", "/log-wide", &[200]),
        at("evil-ptrs", "/random-huge", &[200]),
        at("evil-ptrs", "/clock-oob", &[200]),
        at("evil-ptrs", "/fmt-text-oob", &[500]),
        at("evil-ptrs", "/fmt-spec-oob", &[500]),
        // A 40 MiB text padded: formatted, or past the app's memory.
        at("evil-ptrs", "/fmt-text-huge", &[200, 500]),
        at("evil-ptrs", "/fmt-too-wide", &[500]),
        at("evil-ptrs", "/fmt-no-kind", &[500]),
        at("evil-ptrs", "/fmt-int-as-text", &[500]),
        at("evil-ptrs", "/math-no-op", &[500]),
        at("evil-ptrs", "/math-pow-nan", &[200]),
        // Raw SQL: pointers past memory, 40 MiB of "SQL" (refused by size, or past the app's
        // memory), a map where parameters go, a handle never given, a statement refused (an
        // `Err` the module reads, the run goes on).
        at("evil-ptrs", "/raw-sql-oob", &[500]),
        at("evil-ptrs", "/raw-sql-huge", &[200, 500]),
        at("evil-ptrs", "/raw-params-oob", &[500]),
        at("evil-ptrs", "/raw-handle-forged", &[500]),
        at("evil-ptrs", "/raw-refused", &[200]),
        at("evil-ptrs", "/ws-recv-none", &[500]),
        at("evil-ptrs", "/ws-send-none", &[500]),
        at("evil-ptrs", "/next-none", &[500]),
        at("evil-ptrs", "/broadcast-none", &[500]),
        at("evil-ptrs", "/broadcast-oob", &[500]),
        at("evil-ptrs", "/bytes-oob", &[500]),
        at("evil-ptrs", "/bytes-show-huge", &[500]),
        at("evil-ptrs", "/bytes-no-op", &[500]),
        at("evil-ptrs", "/bytes-b64-huge", &[200, 500]),
        at("evil-loops", "/spin", &[503]),
        at("evil-loops", "/grow", &[500]),
        at("evil-loops", "/table", &[500]),
        // A million host calls end the run; on a slow build the deadline may come first.
        at("evil-loops", "/calls", &[500, 503]),
        at("evil-loops", "/clock", &[503]),
        at("evil-loops", "/sleep", &[503]),
        // A million host calls end the run; with 1 ms naps the deadline comes first.
        at("evil-loops", "/naps", &[500, 503]),
        at("evil-loops", "/logs", &[200]),
        at("evil-tasks", "/spawn-unknown", &[500]),
        at("evil-tasks", "/spawn-oob-args", &[500]),
        at("evil-tasks", "/spawn-block-oob", &[500]),
        // Two looping tasks start, the next spawn is refused; while they run (3 s each) a
        // waiting run is refused too, or, once they end, waits past its own deadline.
        at("evil-tasks", "/spawn-flood", &[503]),
        at("evil-tasks", "/spawn-wait", &[503]),
        at("evil-tx", "/tx-leak", &[200]),
        at("evil-tx", "/tx-end-forged", &[200]),
        at("evil-tx", "/tx-loop", &[503]),
        // The looping runs' transactions ended with them: nothing is left locked.
        at("evil-tx", "/tx-leak", &[200]),
    ];
    let mut wrong = Vec::new();
    for a in &attacks {
        // Four at once: the app's whole concurrency.
        let answers = futures_util::future::join_all((0..4).map(|_| host.get(a.app, a.path, Duration::from_secs(30)))).await;
        for (status, body) in answers {
            if !a.statuses.contains(&status) {
                wrong.push(format!("{} {}: {status} {body}", a.app, a.path));
            }
        }
    }
    // The looping cron jobs have been running all along; give them a few more ticks.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, _) = host.operator(reqwest::Method::DELETE, "/apps/evil-cron", None).await;
    assert_eq!(status, 200, "the operator can remove an app whose jobs loop");

    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for w in watchers {
        failures.extend(w.await.expect("watcher"));
    }
    let failed: Vec<String> = host.logs().into_iter().filter(|l| l.contains("request failed") || l.contains("evil-tx")).collect();
    assert!(wrong.is_empty(), "hostile requests got unexpected answers:\n{}\nfailures logged:\n{}", wrong.join("\n"), failed.join("\n"));
    assert!(failures.is_empty(), "the well-behaved tenant or the operator API failed:\n{}", failures.join("\n"));
    assert!(served.load(Ordering::Relaxed) > 100, "the well-behaved tenant was served throughout");
    let peak = peak.load(Ordering::Relaxed);
    assert!(peak > 0 && peak < RSS_BOUND, "host RSS peaked at {} MiB (bound {} MiB)", peak >> 20, RSS_BOUND >> 20);
    let (status, _) = host.get("well", "/healthz", Duration::from_secs(5)).await;
    assert_eq!(status, 200, "the host is alive at the end");

    // What the flood of log lines left: at most the limit, and one line counting the rest.
    let logs = host.logs();
    let flood = logs.iter().filter(|l| l.contains("evil-loops") && l.contains("flood")).count();
    assert!(flood <= 4 * 1000, "{flood} log lines from four runs of 100,000 calls");
    assert!(logs.iter().any(|l| l.contains("log lines dropped past the limit of 1000")), "the dropped lines are counted");
    assert!(logs.iter().all(|l| l.len() < 64 << 10), "no log line carries the guest's huge strings");
    // The looping tasks were ended by their deadline, and the flood was refused, both logged.
    assert!(logs.iter().any(|l| l.contains("evil-tasks") && l.contains("task_0") && l.contains("passed its deadline")), "a looping task ends at its deadline");
    assert!(logs.iter().any(|l| l.contains("evil-tasks") && l.contains("too many background tasks running")), "spawns past the limit are refused");
    Arc::try_unwrap(host).ok().expect("one owner").kill();
}

/// One tenant looping in as many requests as it may run at once holds no more than its share
/// of the CPU (all cores but one), measured as the host process's CPU time while only it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_cpu_is_its_share_whatever_its_concurrency() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let host = Arc::new(HostProcess::start(temp_dir("cpu"), &[("FITZ_APP_LIMITS", r#"{"request_ms": 6000, "concurrency": 32}"#)]));
    let mut k = Kit::new(&[]);
    k.route("/spin", ValueType::Int, vec![], forever(vec![]).into_iter().chain(ret(OUTCOME)).collect());
    assert_eq!(host.deploy("hog", k.finish()).await.0, 200);
    let spinning: Vec<_> = (0..32)
        .map(|_| {
            let host = host.clone();
            tokio::spawn(async move { host.get("hog", "/spin", Duration::from_secs(20)).await })
        })
        .collect();
    // Let the 32 start, then measure over four seconds.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (cpu0, t0) = (cpu_of(host.pid()), Instant::now());
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (cpu, wall) = (cpu_of(host.pid()) - cpu0, t0.elapsed());
    for s in spinning {
        assert_eq!(s.await.expect("task").0, 503, "each spinning request ends at its deadline");
    }
    let share = (cores.saturating_sub(1).max(1)) as f64;
    let used = cpu.as_secs_f64() / wall.as_secs_f64();
    eprintln!("the hog used {used:.2} cores");
    assert!(used < share * 1.2, "the tenant used {used:.2} cores with 32 requests; its share is {share}");
    Arc::try_unwrap(host).ok().expect("one owner").kill();
}
