//! Where a pipeline's passing events go. A [`Target`] commits one batch at a time; the engine
//! acknowledges the batch's log records only after `write` returned `Ok`, so a target must
//! answer `Ok` only once the events are durable (as Vector's sinks acknowledge upstream only
//! after delivery). Targets must be idempotent by (connection, message id): after a crash or a
//! retry the same events may be written again.
//!
//! A [`TargetFactory`] opens the target of a pipeline by [`TargetKind`] — the seam where "Import
//! users into warehouse" and destinations will plug in.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use weir_catalog::{Pipeline, Workspace};
use weir_spec::Event;

/// A boxed, `Send` future; keeps [`Target`] and [`TargetFactory`] dyn-compatible.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A sink for the events a pipeline lets through.
pub trait Target: Send + Sync + 'static {
    /// Commits `events` (in log order, never empty) as one unit. `Ok` means durable.
    /// A [`TargetError::retryable`] error makes the engine retry the same batch, forever, with
    /// backoff; any other error skips the batch (counted as failed and recorded).
    fn write<'a>(&'a self, events: &'a [Event]) -> BoxFuture<'a, Result<(), TargetError>>;
}

/// Why a target could not commit a batch (or could not be opened).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TargetError {
    /// Whether trying the same batch again later may succeed (an outage, a timeout) rather
    /// than fail the same way (data the target rejects).
    pub retryable: bool,
    /// What went wrong; shown as the pipeline's last error, so never a secret such as a URL
    /// with a password.
    pub message: String,
}

impl TargetError {
    /// An error worth retrying.
    pub fn retryable(message: impl Into<String>) -> TargetError {
        TargetError {
            retryable: true,
            message: message.into(),
        }
    }

    /// An error that retrying will not fix.
    pub fn permanent(message: impl Into<String>) -> TargetError {
        TargetError {
            retryable: false,
            message: message.into(),
        }
    }
}

/// What a pipeline produces, decided by its target and its connection's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TargetKind {
    /// "Import events into warehouse" (`Event` pipeline of a source connection): rows of the
    /// workspace warehouse's `events` table.
    WarehouseEvents,
}

/// Opens the target of a pipeline.
pub trait TargetFactory: Send + Sync + 'static {
    /// The target of `kind` for `pipeline` of `workspace`. Called when a pipeline task starts
    /// (and again after an error, with backoff), so implementations should share expensive
    /// resources such as warehouse connections between calls.
    fn open<'a>(
        &'a self,
        kind: TargetKind,
        workspace: &'a Workspace,
        pipeline: &'a Pipeline,
    ) -> BoxFuture<'a, Result<Arc<dyn Target>, TargetError>>;
}
