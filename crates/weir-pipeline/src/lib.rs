//! The pipeline engine: each enabled pipeline tails the event log from its own durable cursor,
//! filters events and hands them to its target (the workspace's warehouse today; destinations
//! later). Delivery is at-least-once; the cursor advances only after the target has committed
//! (`storage-and-pipelines.md` §2.4, §3.3, §5, §6, §14).
//!
//! API:
//! * [`validate_filter`] → [`Filter`] (or [`FilterError`], naming the field) and
//!   [`validate_required_consents`] → [`RequiredConsents`]: the management API checks a
//!   pipeline's JSON with them at creation; the engine evaluates them per event;
//! * [`Engine`], configured by [`EngineConfig`]: [`Engine::start`], [`Engine::reload`],
//!   [`Engine::replay`] (or [`ReplayError`]), [`Engine::stats`] → [`PipelineStats`],
//!   [`Engine::register_metrics`], [`Engine::shutdown`]; a pipeline's position is the log
//!   cursor of [`consumer_name`];
//! * the target seam: [`Target`] (commits a batch), [`TargetError`], [`TargetFactory`] opening
//!   a target per [`TargetKind`]; [`WarehouseTargets`] is the factory of the "Import events into
//!   warehouse" target, sharing one warehouse handle per location.
//!
//! Invariants: a log record is acknowledged only after every event before it was committed by
//! the target or skipped for good, and a replay only moves a cursor back; one pipeline's slow or failing target never delays another
//! pipeline or ingestion (a task per pipeline, no lock held across an await).

mod backoff;
mod config;
mod consents;
mod cursor;
mod engine;
mod filter;
mod metrics;
mod target;
mod task;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
mod warehouse;

pub use config::{EngineConfig, EngineError, MAX_BATCH_EVENTS};
pub use consents::{ConsentsError, MAX_PURPOSES, RequiredConsents, validate_required_consents};
pub use engine::{Engine, ReplayError};
pub use filter::{Filter, FilterError, MAX_CONDITIONS, validate_filter};
pub use metrics::PipelineStats;
pub use target::{BoxFuture, Target, TargetError, TargetFactory, TargetKind};
pub use task::consumer_name;
pub use warehouse::{WAREHOUSE_FILE, WarehouseTargets};
