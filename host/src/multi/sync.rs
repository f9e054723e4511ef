//! Following the store: at start, every stored app is loaded (a restarted host serves them all
//! again); afterwards the store is polled, and apps another host deployed, rolled back,
//! reconfigured or removed are reloaded or dropped here.

use std::sync::Arc;
use std::time::Duration;

use super::store::AppRow;
use super::Host;

/// How often the store is polled; a change made through another host is served here within
/// about this long plus the time to load it.
pub const POLL: Duration = Duration::from_millis(250);

/// Brings this process in line with the store once.
pub async fn sync_once(host: &Host) {
    match host.store.apps().await {
        Ok(rows) => bring_in_line(host, &rows).await,
        Err(e) => tracing::warn!(target: "fitz::host", "cannot read the store: {e}"),
    }
}

/// Brings this process in line with `rows`, read from the store earlier: anything deployed,
/// rolled back or removed here since then is checked again under the lock and left alone.
pub async fn bring_in_line(host: &Host, rows: &[AppRow]) {
    for row in rows {
        let stale = host.registry.get(&row.name).is_none_or(|t| t.generation() < row.generation);
        if !stale {
            continue;
        }
        let _guard = host.changes.lock().await;
        // Re-read under the lock: a change through this host may have just done it, or removed
        // the app; the next poll retries a read that fails.
        let Ok(Some(row)) = host.store.app(&row.name).await else { continue };
        if host.registry.get(&row.name).is_some_and(|t| t.generation() >= row.generation) {
            continue;
        }
        match host.reload(&row).await {
            Ok(()) => tracing::info!(target: "fitz::host", app = %row.name, version = row.current, "loaded"),
            Err(e) => tracing::error!(target: "fitz::host", app = %row.name, version = row.current, "cannot load: {e}"),
        }
    }
    for name in host.registry.names() {
        if !rows.iter().any(|r| r.name == name) {
            let _guard = host.changes.lock().await;
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

/// Polls the store until the task is dropped.
pub fn follow(host: Arc<Host>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(POLL).await;
            sync_once(&host).await;
        }
    })
}
