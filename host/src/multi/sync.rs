//! Following the store: at start, every stored app is loaded (a restarted host serves them all
//! again); afterwards the store is polled, and apps another host deployed, rolled back,
//! reconfigured or removed are reloaded or dropped here. Loads come from stored images, a few
//! at a time, and an app that fails to load is tried again only after its pause
//! (`Failures`), not at every poll.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;

use super::Host;
use super::store::AppRow;

/// How often the store is polled; a change made through another host is served here within
/// about this long plus the time to load it.
pub const POLL: Duration = Duration::from_millis(250);
/// Apps loaded at once (each compiles on the build thread's pool).
const LOADS_AT_ONCE: usize = 4;

/// Brings this process in line with the store once.
pub async fn sync_once(host: &Host) {
    match host.store.apps().await {
        Ok(rows) => bring_in_line(host, &rows).await,
        Err(e) => tracing::warn!(target: "fitz::host", "cannot read the store: {}", e.log_text()),
    }
    host.starting.store(false, Ordering::Release);
}

/// Brings this process in line with `rows`, read from the store earlier: anything deployed,
/// rolled back or removed here since then is checked again under the app's lock and left alone.
pub async fn bring_in_line(host: &Host, rows: &[AppRow]) {
    let stale = rows.iter().filter(|row| host.registry.get(&row.name).is_none_or(|t| !up_to_date(&t, row)) && !host.failures.waiting(&row.name, row.generation));
    futures_util::stream::iter(stale)
        .for_each_concurrent(LOADS_AT_ONCE, |row| async move {
            let _guard = host.locks.lock(&row.name).await;
            // Re-read under the lock: a change through this host may have just done it, or removed
            // the app; the next poll retries a read that fails.
            let Ok(Some(row)) = host.store.app(&row.name).await else { return };
            if host.registry.get(&row.name).is_some_and(|t| up_to_date(&t, &row)) {
                return;
            }
            if host.reload(&row).await.is_ok() {
                tracing::info!(target: "fitz::host", app = %row.name, version = row.current, "loaded");
            }
        })
        .await;
    for name in host.registry.names() {
        if !rows.iter().any(|r| r.name == name) {
            let _guard = host.locks.lock(&name).await;
            // Re-check under the lock: the app may have been deployed here since `rows` was read.
            if !matches!(host.store.app(&name).await, Ok(None)) {
                continue;
            }
            if let Some(t) = host.registry.remove(&name) {
                t.stop_crons();
                tracing::info!(target: "fitz::host", app = %name, "removed through another host");
            }
        }
    }
}

/// Whether the app loaded here is the one `row` describes: the same namespace (an app removed
/// and created again through another host has a new one, and its generations start afresh),
/// at the same generation or later.
fn up_to_date(t: &super::registry::Tenant, row: &AppRow) -> bool {
    t.namespace == row.namespace.id && t.generation() >= row.generation
}

/// Loads the stored apps, then polls the store until the task is dropped.
pub fn follow(host: Arc<Host>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            sync_once(&host).await;
            tokio::time::sleep(POLL).await;
        }
    })
}
