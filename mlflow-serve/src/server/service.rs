//! A service on a thread of its own: stopped by a message, or by dropping its handle, and joined
//! with the error it ended with. The scoring server and the web UI both run on one.

use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::ServeError;

/// The handle of a service thread; dropping it stops the service and waits for it.
pub(crate) struct ServiceThread {
    /// What runs there, for the message of a panic ("the server", "the UI").
    what: &'static str,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), ServeError>>>,
}

impl ServiceThread {
    /// Starts `service` on a thread named `name`; it gets the receiver that says when to stop.
    pub(crate) fn spawn(
        name: &str,
        what: &'static str,
        service: impl FnOnce(oneshot::Receiver<()>) -> Result<(), ServeError> + Send + 'static,
    ) -> Result<ServiceThread, ServeError> {
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || service(stopped))
            .map_err(|source| ServeError::Server { action: format!("start the {what} thread"), source })?;
        Ok(ServiceThread { what, stop: Some(stop), thread: Some(thread) })
    }

    /// Asks the service to stop and waits until it has.
    pub(crate) fn stop_and_join(&mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join()
    }

    /// Waits until the service stops by itself (a signal it handles); the stop message stays
    /// unsent until then, since a dropped sender also means "stop".
    pub(crate) fn wait(&mut self) -> Result<(), ServeError> {
        let result = self.join();
        self.stop = None;
        result
    }

    fn join(&mut self) -> Result<(), ServeError> {
        let what = self.what;
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(ServeError::Traffic(format!("the {what} thread panicked")))),
            None => Ok(()),
        }
    }
}

impl Drop for ServiceThread {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}
