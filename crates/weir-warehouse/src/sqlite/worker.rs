//! A SQLite connection on its own OS thread (the shape of sqlx's SQLite worker): async callers
//! send a job and await its reply, so async code never blocks on SQLite.

use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::WarehouseError;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// Owns one connection; jobs run one at a time in submission order. The thread ends when the
/// worker is dropped.
#[derive(Debug)]
pub(crate) struct Worker {
    jobs: mpsc::Sender<Job>,
}

impl Worker {
    pub(crate) fn spawn(name: &str, mut connection: Connection) -> Result<Worker, WarehouseError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    job(&mut connection);
                }
            })
            .map_err(|error| {
                WarehouseError::unavailable(format!(
                    "cannot start the SQLite warehouse thread: {error}"
                ))
            })?;
        Ok(Worker { jobs })
    }

    /// Runs `job` on the worker's thread. Dropping the returned future does not cancel a job
    /// already sent.
    pub(crate) async fn run<T, F>(&self, job: F) -> Result<T, WarehouseError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, WarehouseError> + Send + 'static,
    {
        self.submit(job)?.await
    }

    /// Sends `job` to the worker's thread at once (so that it can start while the caller goes
    /// on preparing its input) and returns a future of its result.
    pub(crate) fn submit<T, F>(
        &self,
        job: F,
    ) -> Result<impl Future<Output = Result<T, WarehouseError>> + use<T, F>, WarehouseError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, WarehouseError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |connection| {
                let _ = reply.send(job(connection));
            }))
            .map_err(|_| stopped())?;
        Ok(async move { answer.await.map_err(|_| stopped())? })
    }
}

fn stopped() -> WarehouseError {
    WarehouseError::unavailable("the SQLite warehouse thread has stopped")
}
