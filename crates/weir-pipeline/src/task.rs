//! One pipeline's task: it tails the event log after its durable cursor, keeps the records of
//! its source connection, decodes them, applies the filter then the required consents, buffers
//! the passing events and hands each batch to its target; only after the target committed does
//! it acknowledge the batch's last seq (at-least-once, `storage-and-pipelines.md` §2.4, §3.3).
//!
//! Everything that can fail is retried here, forever, with backoff (opening the target, log
//! reads and acks, retryable writes), so a failing target only grows this pipeline's lag. The
//! task holds no lock across an await; the engine stops it by aborting it, which is safe
//! because all progress lives in the log's cursor.
//!
//! While a batch is written, the next chunk of the log is read and decoded on another task
//! (prefetch), so the target's write and the pipeline's own work overlap; the cursor still
//! moves only after each write.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use weir_catalog::{Pipeline, Workspace};
use weir_log::{EventLog, LogError, LogRecord};
use weir_spec::Event;

use crate::backoff::Backoff;
use crate::config::EngineConfig;
use crate::consents::RequiredConsents;
use crate::cursor;
use crate::filter::Filter;
use crate::metrics::PipelineCounters;
use crate::target::{Target, TargetError, TargetFactory, TargetKind};

/// A pipeline's filter and consents, replaced while the task runs when the user edits them.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    pub(crate) filter: Option<Filter>,
    pub(crate) consents: Option<RequiredConsents>,
}

/// The event-log consumer whose durable cursor is pipeline `pipeline_id`'s position
/// (`pipeline:<id>`), for tools that inspect or reset it.
pub fn consumer_name(pipeline_id: &str) -> String {
    format!("pipeline:{pipeline_id}")
}

/// Everything a pipeline task needs.
pub(crate) struct PipelineTask {
    pub(crate) pipeline: Pipeline,
    pub(crate) workspace: Workspace,
    pub(crate) kind: TargetKind,
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) targets: Arc<dyn TargetFactory>,
    pub(crate) rules: watch::Receiver<Arc<Rules>>,
    pub(crate) counters: Arc<PipelineCounters>,
    pub(crate) config: EngineConfig,
}

/// The log was closed: the process is shutting down.
struct Closed;

/// A record read from the log, with its event decoded if it is of the pipeline's connection.
type Decoded = (LogRecord, Option<Result<Event, String>>);

/// A chunk of the log being read and decoded ahead.
type Prefetch = JoinHandle<Result<Vec<Decoded>, LogError>>;

/// Events buffered for the next write, and the seq up to which the log is processed.
struct Progress {
    position: u64,
    acknowledged: u64,
    batch: Vec<Event>,
    batch_started: Option<Instant>,
}

impl PipelineTask {
    pub(crate) async fn run(self) {
        let id = self.pipeline.id.as_str().to_owned();
        let consumer = consumer_name(&id);
        let target = self.open_target().await;
        let result = match self.start_position(&consumer).await {
            Ok(position) => {
                tracing::info!(pipeline = %id, position, "pipeline started");
                self.tail(&consumer, target.as_ref(), position).await
            }
            Err(closed) => Err(closed),
        };
        if let Err(Closed) = result {
            tracing::debug!(pipeline = %id, "pipeline stopped: the event log is closed");
        }
        self.counters.set_running(false);
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(self.config.retry_base, self.config.retry_cap)
    }

    fn record_error(&self, message: String) {
        self.counters.record_error(message);
    }

    async fn open_target(&self) -> Arc<dyn Target> {
        let mut backoff = self.backoff();
        loop {
            match self
                .targets
                .open(self.kind, &self.workspace, &self.pipeline)
                .await
            {
                Ok(target) => return target,
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(
                        pipeline = %self.pipeline.id, error = %error.message, ?delay,
                        "cannot open the pipeline's target; retrying"
                    );
                    self.record_error(format!("cannot open the target: {}", error.message));
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// The durable cursor, or the start of a pipeline that never ran (acknowledged at once).
    async fn start_position(&self, consumer: &str) -> Result<u64, Closed> {
        let mut backoff = self.backoff();
        loop {
            let result = match self.log.cursor(consumer).await {
                Ok(Some(seq)) => {
                    self.counters.set_position(seq, self.log.head());
                    return Ok(seq);
                }
                Ok(None) => cursor::initial_position(self.log.as_ref(), &self.pipeline).await,
                Err(error) => Err(error),
            };
            match result {
                Ok(position) => {
                    self.acknowledge(consumer, position).await?;
                    return Ok(position);
                }
                Err(error) => {
                    self.log_failed(error, "finding the pipeline's start", &mut backoff)
                        .await?
                }
            }
        }
    }

    /// Logs a failed log call and waits before the caller retries; `Closed` ends the task.
    async fn log_failed(
        &self,
        error: LogError,
        doing: &'static str,
        backoff: &mut Backoff,
    ) -> Result<(), Closed> {
        if error == LogError::Closed {
            return Err(Closed);
        }
        let delay = backoff.next_delay();
        tracing::warn!(pipeline = %self.pipeline.id, %error, ?delay, doing, "event log call failed; retrying");
        tokio::time::sleep(delay).await;
        Ok(())
    }

    async fn acknowledge(&self, consumer: &str, seq: u64) -> Result<(), Closed> {
        let mut backoff = self.backoff();
        loop {
            match self.log.ack(consumer, seq).await {
                Ok(()) => {
                    self.counters.set_position(seq, self.log.head());
                    return Ok(());
                }
                Err(error) => {
                    self.log_failed(error, "acknowledging", &mut backoff)
                        .await?
                }
            }
        }
    }

    /// The records after `after`, decoded; from `prefetch` if it found some, else read here
    /// (retrying). An empty prefetch is not trusted: it may predate a head change the caller
    /// has already marked seen, and waiting on it would miss those records.
    async fn read(&self, after: u64, prefetch: Option<Prefetch>) -> Result<Vec<Decoded>, Closed> {
        if let Some(prefetch) = prefetch
            && let Ok(Ok(records)) = prefetch.await
            && !records.is_empty()
        {
            return Ok(records);
        }
        let connection = self.pipeline.connection_id.as_str();
        let mut backoff = self.backoff();
        loop {
            match self.log.read(after, self.config.read_max_events).await {
                Ok(records) => return Ok(decode_all(records, connection)),
                Err(error) => {
                    self.log_failed(error, "reading the log", &mut backoff)
                        .await?
                }
            }
        }
    }

    /// Starts reading and decoding the records after `after` on another task.
    fn prefetch(&self, after: u64) -> Prefetch {
        let log = self.log.clone();
        let connection = self.pipeline.connection_id.as_str().to_owned();
        let max_events = self.config.read_max_events;
        tokio::spawn(async move {
            let records = log.read(after, max_events).await?;
            Ok(decode_all(records, &connection))
        })
    }

    /// The main loop: read, filter, buffer, write, acknowledge; wait for the head otherwise.
    async fn tail(&self, consumer: &str, target: &dyn Target, start: u64) -> Result<(), Closed> {
        let mut head = self.log.subscribe();
        let mut progress = Progress {
            position: start,
            acknowledged: start,
            batch: Vec::new(),
            batch_started: None,
        };
        let mut prefetch = None;
        loop {
            head.borrow_and_update();
            let records = self.read(progress.position, prefetch.take()).await?;
            if records.is_empty() {
                self.settle(consumer, &mut progress).await?;
                let deadline = progress
                    .batch_started
                    .map(|started| started + self.config.batch_max_age);
                tokio::select! {
                    changed = head.changed() => changed.map_err(|_| Closed)?,
                    () = sleep_until(deadline), if deadline.is_some() => {
                        self.flush(consumer, target, &mut progress).await?;
                    }
                }
                continue;
            }
            self.check_gap(progress.position, &records);
            let rules = self.rules.borrow().clone();
            // Full batches, each with the seq its write lets the cursor move to.
            let mut full = Vec::new();
            for (record, decoded) in records {
                progress.position = record.seq;
                let Some(event) = self.accept(&rules, &record, decoded) else {
                    continue;
                };
                if progress.batch.is_empty() {
                    progress.batch_started = Some(Instant::now());
                }
                progress.batch.push(event);
                if progress.batch.len() >= self.config.batch_max_events {
                    full.push((std::mem::take(&mut progress.batch), progress.position));
                    progress.batch_started = None;
                }
            }
            let due = progress
                .batch_started
                .is_some_and(|started| started.elapsed() >= self.config.batch_max_age);
            if !full.is_empty() || due {
                prefetch = Some(self.prefetch(progress.position));
            }
            for (events, position) in full {
                self.deliver(target, &events).await;
                self.acknowledge(consumer, position).await?;
                progress.acknowledged = position;
            }
            if due {
                self.flush(consumer, target, &mut progress).await?;
            }
            self.settle(consumer, &mut progress).await?;
        }
    }

    /// With nothing buffered, acknowledges records that were read but not wanted, so the
    /// cursor (and the lag) moves past other connections' events too.
    async fn settle(&self, consumer: &str, progress: &mut Progress) -> Result<(), Closed> {
        if progress.batch.is_empty() && progress.acknowledged < progress.position {
            self.acknowledge(consumer, progress.position).await?;
            progress.acknowledged = progress.position;
        }
        self.counters.update_lag(self.log.head());
        Ok(())
    }

    /// A seq gap after our position means retention deleted records we had not read.
    fn check_gap(&self, position: u64, records: &[Decoded]) {
        let Some((first, _)) = records.first() else {
            return;
        };
        let skipped = first.seq.saturating_sub(position.saturating_add(1));
        if skipped > 0 {
            let message = format!("log retention exceeded; {skipped} events skipped");
            tracing::warn!(pipeline = %self.pipeline.id, skipped, "{message}");
            self.record_error(message);
        }
    }

    /// The record's event if it belongs to this pipeline (`decoded` is set) and passes its
    /// filter and consents.
    fn accept(
        &self,
        rules: &Rules,
        record: &LogRecord,
        decoded: Option<Result<Event, String>>,
    ) -> Option<Event> {
        let decoded = decoded?;
        self.counters.read.inc();
        let event = match decoded {
            Ok(event) => event,
            Err(error) => {
                self.counters.undecodable.inc();
                tracing::error!(pipeline = %self.pipeline.id, seq = record.seq, %error, "log payload is not a valid event");
                self.record_error(format!(
                    "event at log seq {} could not be decoded: {error}",
                    record.seq
                ));
                return None;
            }
        };
        if let Some(filter) = &rules.filter {
            if !filter.matches(&event) {
                self.counters.filter_failed.inc();
                return None;
            }
            self.counters.filter_passed.inc();
        }
        if let Some(consents) = &rules.consents {
            if !consents.allows(&event) {
                self.counters.consent_failed.inc();
                return None;
            }
            self.counters.consent_passed.inc();
        }
        Some(event)
    }

    /// Writes the batch — retrying retryable failures forever — then acknowledges the position.
    async fn flush(
        &self,
        consumer: &str,
        target: &dyn Target,
        progress: &mut Progress,
    ) -> Result<(), Closed> {
        if !progress.batch.is_empty() {
            self.deliver(target, &progress.batch).await;
            progress.batch.clear();
        }
        progress.batch_started = None;
        self.acknowledge(consumer, progress.position).await?;
        progress.acknowledged = progress.position;
        Ok(())
    }

    async fn deliver(&self, target: &dyn Target, events: &[Event]) {
        let count = u64::try_from(events.len()).unwrap_or(u64::MAX);
        let mut backoff = self.backoff();
        loop {
            let outcome = tokio::time::timeout(self.config.write_timeout, target.write(events))
                .await
                .unwrap_or_else(|_| {
                    Err(TargetError::retryable(format!(
                        "target write timed out after {:?}",
                        self.config.write_timeout
                    )))
                });
            match outcome {
                Ok(()) => {
                    self.counters.written.inc_by(count);
                    return;
                }
                Err(error) if !error.retryable => {
                    self.counters.write_failed.inc_by(count);
                    tracing::error!(pipeline = %self.pipeline.id, events = count, error = %error.message, "target rejected a batch; skipping it");
                    self.record_error(error.message);
                    return;
                }
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(pipeline = %self.pipeline.id, events = count, error = %error.message, ?delay, "target write failed; retrying");
                    self.record_error(error.message);
                    self.counters.update_lag(self.log.head());
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

/// Decodes the events of `connection`'s records; other records are kept undecoded, since the
/// cursor moves past them too.
fn decode_all(records: Vec<LogRecord>, connection: &str) -> Vec<Decoded> {
    records
        .into_iter()
        .map(|record| {
            let decoded = (record.connection_id == connection).then(|| decode(&record));
            (record, decoded)
        })
        .collect()
}

fn decode(record: &LogRecord) -> Result<Event, String> {
    let text = std::str::from_utf8(&record.payload).map_err(|error| error.to_string())?;
    Event::from_canonical_json(text).map_err(|error| error.to_string())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
