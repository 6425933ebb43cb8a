//! The private runtime that drives `object_store`'s futures for the synchronous engine.

use std::future::Future;
use std::io;

/// A current-thread tokio runtime owned by one artifact store.
///
/// The engine calls the store from its worker threads, synchronously: each call blocks on its
/// future here. Several threads may block at once (tokio hands the runtime's driver from one to
/// the next). Called from inside another tokio runtime, where blocking on a runtime is refused,
/// the future is driven on a short-lived helper thread instead.
pub(crate) struct Runtime {
    inner: Option<tokio::runtime::Runtime>,
}

impl Runtime {
    pub(crate) fn new() -> io::Result<Runtime> {
        let inner = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("mlflow-object-store")
            .build()?;
        Ok(Runtime { inner: Some(inner) })
    }

    /// Runs `future` to completion.
    pub(crate) fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let runtime = self.inner.as_ref().expect("the runtime lives until the store is dropped");
        if tokio::runtime::Handle::try_current().is_err() {
            return runtime.block_on(future);
        }
        std::thread::scope(|scope| {
            scope
                .spawn(|| runtime.block_on(future))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Dropping a runtime inside another one's context panics: let it wind down by itself.
        if tokio::runtime::Handle::try_current().is_ok()
            && let Some(runtime) = self.inner.take()
        {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runtime(current-thread)")
    }
}
