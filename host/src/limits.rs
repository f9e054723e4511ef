//! Every limit of `fitz run` and `fitz host`, in one place: what one run of a guest may spend
//! (`Limits`, per app version), what one tenant may hold at once (`TenantLimits`, set by the
//! operator per app), what the listener allows a client (`ServerLimits`), and the process-wide
//! bounds. `TABLE` describes each with its default, its per-app override and what happens when
//! it is reached; README shows that table and a test keeps the two the same.
//!
//! A limit is enforced where the work is about to be done, before it is done: a host function
//! checks lengths, counts and its budget before it copies, a query stops reading rows at its
//! cap, the listener times out a header before it is parsed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// What one run of an app's guest (a request, a cron tick, a top level) may spend.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Linear memory of one instance.
    pub memory_bytes: usize,
    /// Wall-clock time a request may take (guest and host calls).
    pub request_deadline: Duration,
    /// Time one run of a `@cron` job may take.
    pub cron_deadline: Duration,
    /// Time one `@background` task may take.
    pub task_deadline: Duration,
    /// `@background` tasks of the app running at once (across its versions).
    pub tasks: usize,
    /// Time the top level may take when a version is first built.
    pub top_level_deadline: Duration,
    /// Host memory one host call, or the answer, may build from guest values and rows.
    pub host_bytes: usize,
    /// Largest answer (JSON bytes).
    pub response_bytes: usize,
    /// Rows one query may return.
    pub rows_per_query: usize,
    /// Host calls of one run (the clock and randomness are not counted).
    pub host_calls: u32,
    /// Database calls (queries and blacklist) of one run.
    pub db_calls: u32,
    /// `log.*` lines of one run; the rest are counted and dropped.
    pub log_lines: u32,
    /// Bytes of one log line's message and fields; longer ones are cut.
    pub log_line_bytes: usize,
    /// Bytes of `print` output kept per run (the rest is dropped).
    pub output_bytes: usize,
    /// Longest password `hash.password` and `hash.verify` take.
    pub password_bytes: usize,
    /// Largest request body.
    pub body_bytes: usize,
    /// Time to receive a whole request body.
    pub body_timeout: Duration,
    /// Time one database statement may take (PostgreSQL `statement_timeout`).
    pub statement_timeout: Duration,
    /// What `http.*` may reach: everything under `fitz run`, what the operator allowed under
    /// `fitz host` (nothing by default).
    pub egress: crate::host_fns::http::Egress,
    /// Outbound calls of one run.
    pub http_calls: u32,
    /// Largest answer of one outbound call.
    pub http_response_bytes: usize,
    /// `@ws` connections of the app open at once (across its versions).
    pub ws_connections: usize,
    /// Largest WebSocket message a client may send.
    pub ws_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 * MIB,
            request_deadline: Duration::from_secs(10),
            cron_deadline: Duration::from_secs(60),
            task_deadline: Duration::from_secs(60),
            tasks: 64,
            top_level_deadline: Duration::from_secs(60),
            host_bytes: 32 * MIB,
            response_bytes: 16 * MIB,
            rows_per_query: 10_000,
            host_calls: 1_000_000,
            db_calls: 10_000,
            log_lines: 1_000,
            log_line_bytes: 8 * KIB,
            output_bytes: 64 * KIB,
            password_bytes: 4 * KIB,
            body_bytes: MIB,
            body_timeout: Duration::from_secs(30),
            statement_timeout: Duration::from_secs(5),
            egress: crate::host_fns::http::Egress::Rules(Vec::new()),
            http_calls: 100,
            http_response_bytes: 4 * MIB,
            ws_connections: 256,
            ws_message_bytes: 64 * KIB,
        }
    }
}

impl Limits {
    /// For a program the user runs on their own terminal (`fitz run` of a top level): no
    /// count of calls, lines or bytes, so a long computation that prints a lot still finishes.
    pub fn one_off() -> Limits {
        Limits { host_calls: u32::MAX, db_calls: u32::MAX, log_lines: u32::MAX, ..Limits::local() }
    }

    /// `fitz run`: a developer's app on their own machine, which may call anything.
    pub fn local() -> Limits {
        Limits { egress: crate::host_fns::http::Egress::Open, ..Limits::default() }
    }
}

/// What one app may hold at once on a multi-tenant host, and its per-run limits; an operator
/// sets them per app (`PUT /_fitz/apps/{app}/limits`), stored as JSON with the app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantLimits {
    /// Linear memory of one instance.
    pub memory_mib: u64,
    /// Time one request may take.
    pub request_ms: u64,
    /// Requests of this app served at once; more get 503.
    pub concurrency: u32,
    /// Largest request body.
    pub body_kib: u64,
    /// Host memory one host call or answer may build.
    pub host_memory_mib: u64,
    /// Database connections the app may hold at once.
    pub db_connections: u32,
    /// Time one database statement may take.
    pub statement_ms: u64,
    /// Cron runs of this app going at once; a tick past it is skipped.
    pub cron_runs: u32,
    /// Time one cron run may take.
    pub cron_ms: u64,
    /// `@background` tasks running at once; a `spawn` past it fails its request (503).
    pub tasks: u32,
    /// Time one `@background` task may take.
    pub task_ms: u64,
    /// Time the top level may take when a version's image is built.
    pub top_level_ms: u64,
    /// Where `http.*` may go: `host`, `host:port`, `*.domain`, an IP address (the only way to
    /// reach a loopback or private one); none by default.
    pub egress: Vec<String>,
    /// `@ws` connections open at once; past it an upgrade is refused (503).
    pub ws_connections: u32,
    /// Largest WebSocket message a client may send; past it the connection closes (1009).
    pub ws_message_kib: u64,
}

impl Default for TenantLimits {
    fn default() -> Self {
        let l = Limits::default();
        TenantLimits {
            memory_mib: (l.memory_bytes / MIB) as u64,
            request_ms: l.request_deadline.as_millis() as u64,
            concurrency: 32,
            body_kib: (l.body_bytes / KIB) as u64,
            host_memory_mib: (l.host_bytes / MIB) as u64,
            db_connections: 4,
            statement_ms: l.statement_timeout.as_millis() as u64,
            cron_runs: 2,
            cron_ms: l.cron_deadline.as_millis() as u64,
            tasks: 8,
            task_ms: l.task_deadline.as_millis() as u64,
            top_level_ms: l.top_level_deadline.as_millis() as u64,
            egress: Vec::new(),
            ws_connections: 16,
            ws_message_kib: (l.ws_message_bytes / KIB) as u64,
        }
    }
}

impl TenantLimits {
    /// Within what the host can give (the pool's slot size, sane maxima).
    pub fn check(&self, max_memory_mib: u64) -> Result<(), String> {
        let within = |name: &str, v: u64, max: u64| if v == 0 || v > max { Err(format!("{name} must be between 1 and {max}")) } else { Ok(()) };
        within("memory_mib", self.memory_mib, max_memory_mib)?;
        within("request_ms", self.request_ms, 300_000)?;
        within("concurrency", u64::from(self.concurrency), 10_000)?;
        within("body_kib", self.body_kib, 64 * 1024)?;
        within("host_memory_mib", self.host_memory_mib, 1024)?;
        within("db_connections", u64::from(self.db_connections), 64)?;
        within("statement_ms", self.statement_ms, 300_000)?;
        within("cron_runs", u64::from(self.cron_runs), 64)?;
        within("cron_ms", self.cron_ms, 3_600_000)?;
        within("tasks", u64::from(self.tasks), 1_000)?;
        within("task_ms", self.task_ms, 3_600_000)?;
        within("top_level_ms", self.top_level_ms, 300_000)?;
        within("ws_connections", u64::from(self.ws_connections), 10_000)?;
        within("ws_message_kib", self.ws_message_kib, 16 * 1024)?;
        if self.egress.len() > 256 {
            return Err("egress may list at most 256 rules".into());
        }
        crate::host_fns::http::Egress::parse(&self.egress)?;
        Ok(())
    }

    /// The per-run limits these settings give.
    pub fn limits(&self) -> Limits {
        Limits {
            memory_bytes: (self.memory_mib as usize) * MIB,
            request_deadline: Duration::from_millis(self.request_ms),
            body_bytes: (self.body_kib as usize) * KIB,
            host_bytes: (self.host_memory_mib as usize) * MIB,
            statement_timeout: Duration::from_millis(self.statement_ms),
            cron_deadline: Duration::from_millis(self.cron_ms),
            task_deadline: Duration::from_millis(self.task_ms),
            tasks: self.tasks as usize,
            top_level_deadline: Duration::from_millis(self.top_level_ms),
            ws_connections: self.ws_connections as usize,
            ws_message_bytes: (self.ws_message_kib as usize) * KIB,
            // Checked when set; a rule that no longer parses reaches nothing.
            egress: crate::host_fns::http::Egress::parse(&self.egress).unwrap_or(crate::host_fns::http::Egress::Rules(Vec::new())),
            ..Limits::default()
        }
    }
}

/// What the listener allows one client connection.
#[derive(Clone, Debug)]
pub struct ServerLimits {
    /// Header bytes of one request (names and values).
    pub header_bytes: usize,
    /// Time to the end of a request's headers, from the connection's start or from the
    /// previous answer: it bounds a half-sent head and a kept-alive connection's idle wait.
    pub header_timeout: Duration,
    /// Connections open at once; past it new ones wait to be accepted.
    pub max_connections: usize,
    /// The listener's TLS configuration (`--tls-cert`/`--tls-key`), if it speaks TLS; the
    /// handshake is bounded by `header_timeout`.
    pub tls: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
    /// HTTP/2: requests one connection may have open at once.
    pub h2_streams: u32,
    /// HTTP/2: streams a client may open and reset before the server took them up, before its
    /// connection is closed (the "rapid reset" attack, CVE-2023-44487).
    pub h2_pending_resets: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits { header_bytes: 32 * KIB, header_timeout: Duration::from_secs(20), max_connections: 4096, tls: None, h2_streams: 100, h2_pending_resets: 20 }
    }
}

/// Process-wide bounds.
pub mod process {
    /// Password hashes computed at once: one per core under `fitz run`; all cores but one
    /// under `fitz host`, where each tenant also has one permit of its own.
    pub fn hashing_permits(multi_tenant: bool) -> usize {
        let cores = crate::multi::cores();
        if multi_tenant { cores.saturating_sub(1).max(1) } else { cores }
    }
    /// Threads of any runtime's blocking pool (hashing and file work).
    pub const BLOCKING_THREADS: usize = 32;
    /// Memory a stored Argon2 hash may ask for; one asking more verifies as false.
    pub const ARGON2_MAX_KIB: u32 = 64 * 1024;
    /// PostgreSQL connections for requests, shared by every tenant (each within its own
    /// `db_connections`).
    pub const REQUEST_CONNECTIONS: usize = 16;
    /// PostgreSQL connections for the host itself: its store, deploys and migrations,
    /// readiness and cron claims. No tenant's request or job draws on them.
    pub const CONTROL_CONNECTIONS: u32 = 4;
    /// Cron runs going at once in the whole host.
    pub const CRON_RUNS: usize = 16;
    /// Largest module a deploy accepts.
    pub const MODULE_BYTES: usize = 16 << 20;
}

/// One row of the table README shows.
pub struct Row {
    pub limit: &'static str,
    pub default: String,
    /// The operator's per-app setting under `fitz host`, if any.
    pub setting: &'static str,
    pub when_reached: &'static str,
}

fn mib(n: usize) -> String {
    if n >= MIB { format!("{} MiB", n / MIB) } else { format!("{} KiB", n / KIB) }
}

fn secs(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) { format!("{} s", d.as_secs()) } else { format!("{} ms", d.as_millis()) }
}

/// Every limit, with the defaults above.
pub fn table() -> Vec<Row> {
    let l = Limits::default();
    let t = TenantLimits::default();
    let s = ServerLimits::default();
    let row = |limit, default: String, setting, when_reached| Row { limit, default, setting, when_reached };
    vec![
        row("instance memory", mib(l.memory_bytes), "`memory_mib`", "the run traps: 500 `internal error`, logged as out of memory"),
        row("request time", secs(l.request_deadline), "`request_ms`", "503 `request timed out`; a statement in flight is cancelled"),
        row("cron run time", secs(l.cron_deadline), "`cron_ms`", "the run ends, logged; the schedule carries on"),
        row("background task time", secs(l.task_deadline), "`task_ms`", "the task ends, logged; a run awaiting it fails (500)"),
        row(
            "background tasks of one app at once",
            format!("{} (`fitz run`), {} (`fitz host`)", l.tasks, t.tasks),
            "`tasks`",
            "the `spawn` fails its run: 503 `server busy, try again`",
        ),
        row("top-level time", secs(l.top_level_deadline), "`top_level_ms`", "the deploy or `fitz run` is refused: `the program's top level failed: deadline exceeded`"),
        row("host memory per host call or answer", mib(l.host_bytes), "`host_memory_mib`", "the run traps (500), logged as `value exceeds the size limits`"),
        row("answer size", mib(l.response_bytes), "", "500 `internal error`, logged as `the answer is larger than …`"),
        row("rows per query", l.rows_per_query.to_string(), "", "the query is an `Err`: `the query returned more than … rows; add .limit(…)`"),
        row("host calls per run (besides the clock and randomness)", l.host_calls.to_string(), "", "the run traps (500), logged"),
        row("database calls per run", l.db_calls.to_string(), "", "the run traps (500), logged"),
        row("log lines per run", l.log_lines.to_string(), "", "further lines are dropped and counted in one last line"),
        row("log line size", mib(l.log_line_bytes), "", "the message and fields are cut"),
        row("`print` output per run", mib(l.output_bytes), "", "the rest is dropped"),
        row("password length", format!("{} bytes", l.password_bytes), "", "`hash.password` traps (500); `hash.verify` is false"),
        row("request body", mib(l.body_bytes), "`body_kib`", "413 `request body too large`"),
        row("request body time", secs(l.body_timeout), "", "408 `request body timed out`, and the connection is closed"),
        row("request headers", mib(s.header_bytes), "", "431 `request headers too large`"),
        row("request header time, and idle time between requests", secs(s.header_timeout), "", "the connection is closed"),
        row("open connections", s.max_connections.to_string(), "", "new connections wait in the listen queue"),
        row("HTTP/2 streams of one connection at once", s.h2_streams.to_string(), "", "the client is told to wait (`SETTINGS_MAX_CONCURRENT_STREAMS`)"),
        row("HTTP/2 streams reset before they were taken up", s.h2_pending_resets.to_string(), "", "the connection is closed (`GOAWAY`, `ENHANCE_YOUR_CALM`)"),
        row("requests of one app at once", t.concurrency.to_string(), "`concurrency`", "503 `the app is at its limit of concurrent requests`"),
        row("CPU of one app", "all cores but one".into(), "", "its instances are held back at epoch ticks until it is within its share"),
        row("outbound HTTP calls per run", l.http_calls.to_string(), "", "the call is an `Err`: `http: too many calls in one run`"),
        row("outbound HTTP answer", mib(l.http_response_bytes), "", "the call is an `Err`: `http: the answer from … is larger than …`"),
        row(
            "WebSocket connections of one app at once",
            format!("{} (`fitz run`), {} (`fitz host`)", l.ws_connections, t.ws_connections),
            "`ws_connections`",
            "503 before the upgrade: `the app is at its limit of WebSocket connections`",
        ),
        row("WebSocket message from a client", mib(l.ws_message_bytes), "`ws_message_kib`", "the connection is closed with 1009 (message too big)"),
        row("time a `@ws` handler spends on one message", "the request time".into(), "`request_ms`", "the connection is closed with 1011 and its sandbox dropped"),
        row("WebSocket messages queued out to one client", crate::ws::QUEUE.to_string(), "", "senders wait; a queue full for 2 s closes that client's connection (1008)"),
        row(
            "outbound HTTP time and redirects",
            format!(
                "{} s ({} s at most), {} redirects",
                crate::host_fns::http::DEFAULT_TIMEOUT.as_secs(),
                crate::host_fns::http::MAX_TIMEOUT.as_secs(),
                crate::host_fns::http::MAX_REDIRECTS
            ),
            "",
            "the call is an `Err`: `http: timeout calling …`",
        ),
        row("outbound HTTP destinations", "anything (`fitz run`), nothing (`fitz host`)".into(), "`egress`", "the call is an `Err`: `http: the app may not call …`"),
        row("database statement time", secs(l.statement_timeout), "`statement_ms`", "the query is an `Err`: `database statement timed out`"),
        row("database connections of one app", t.db_connections.to_string(), "`db_connections`", "its next query waits, then `database unavailable` after 5 s"),
        row("cron runs of one app at once", t.cron_runs.to_string(), "`cron_runs`", "the tick is skipped, logged"),
        row("cron runs of the host at once", process::CRON_RUNS.to_string(), "", "the tick is skipped, logged"),
        row("password hashes at once", "cores (`fitz run`), cores − 1 (`fitz host`), 1 per app".into(), "", "the hash waits for a permit"),
        row("stored hash cost", format!("{} MiB", process::ARGON2_MAX_KIB / 1024), "", "`hash.verify` is false"),
        row("request connections (PostgreSQL)", process::REQUEST_CONNECTIONS.to_string(), "", "queries wait, then `database unavailable` after 5 s"),
        row("host's own connections (PostgreSQL)", process::CONTROL_CONNECTIONS.to_string(), "", "reserved for the store, deploys, readiness and cron claims"),
        row("module size", mib(process::MODULE_BYTES), "", "413 on deploy"),
    ]
}

/// `table()` as Markdown, as README shows it.
pub fn markdown() -> String {
    let mut out = String::from("| limit | default | per-app setting | when reached |\n|---|---|---|---|\n");
    for r in table() {
        out += &format!("| {} | {} | {} | {} |\n", r.limit, r.default, r.setting, r.when_reached);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_shows_the_table_as_the_code_has_it() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README");
        let table = markdown();
        assert!(readme.contains(&table), "README's table of limits differs from limits::markdown():\n{table}");
    }

    #[test]
    fn tenant_defaults_are_the_run_defaults() {
        let t = TenantLimits::default();
        t.check(256).expect("defaults are valid");
        let (a, b) = (t.limits(), Limits::default());
        let pick = |l: &Limits| (l.memory_bytes, l.request_deadline, l.body_bytes, l.host_bytes, l.statement_timeout, l.cron_deadline, l.task_deadline, l.top_level_deadline);
        assert_eq!(pick(&a), pick(&b));
        assert!(TenantLimits { db_connections: 0, ..t.clone() }.check(256).is_err());
        assert!(serde_json::from_str::<TenantLimits>(r#"{"memory_mb": 1}"#).is_err(), "unknown keys are refused");
    }
}
