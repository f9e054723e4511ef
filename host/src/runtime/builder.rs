//! Where versions are built. Compiling a module and running its top level take seconds of CPU
//! and, for a hostile top level, up to its deadline; none of it may run on a thread that serves
//! requests. The process has one build thread with a runtime of its own: top levels yield at
//! every epoch tick there, so several builds share it, and compilation goes to that runtime's
//! small blocking pool. The thread lives as long as the process's `Runtime`, so a database
//! connection a top level opened stays usable after its build.

use std::future::Future;

use tokio::sync::oneshot;

pub struct BuildThread {
    handle: tokio::runtime::Handle,
    _stop: oneshot::Sender<()>,
}

/// Threads the build runtime may add for compiling.
const COMPILE_THREADS: usize = 2;

impl BuildThread {
    pub fn start() -> std::io::Result<BuildThread> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().max_blocking_threads(COMPILE_THREADS).build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new().name("fitz-build".into()).spawn(move || {
            // Runs until the `BuildThread` is dropped (the sender with it).
            rt.block_on(async move {
                let _ = stopped.await;
            });
        })?;
        Ok(BuildThread { handle, _stop: stop })
    }

    /// Runs `job` on the build thread and waits for it from any runtime; `None` if the job
    /// panicked or the thread is gone.
    pub async fn run<T: Send + 'static>(&self, job: impl Future<Output = T> + Send + 'static) -> Option<T> {
        self.handle.spawn(job).await.ok()
    }

    /// Runs CPU-bound `work` on the build runtime's blocking pool.
    pub async fn blocking<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        self.handle.spawn_blocking(work).await.ok()
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "current_thread")]
    async fn jobs_run_on_the_build_thread() {
        let b = super::BuildThread::start().expect("start");
        let name = b.run(async { std::thread::current().name().map(str::to_string) }).await.flatten();
        assert_eq!(name.as_deref(), Some("fitz-build"));
        assert_ne!(std::thread::current().name(), Some("fitz-build"));
        assert_eq!(b.run(async { panic!("a build that panics") }).await, None::<()>);
        assert_eq!(b.run(async { 7 }).await, Some(7), "a panic does not end the thread");
    }
}
