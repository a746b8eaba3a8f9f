//! Where a pipeline starts reading (`storage-and-pipelines.md` §5.1 `replayFrom`, §2.4).
//!
//! A pipeline that has acknowledged before resumes after its durable cursor — also after being
//! disabled and enabled again (issue 5; the spec's Krenalis behaviour, jumping to the tail on
//! re-enable, is not followed). A pipeline that never ran starts at:
//! * `earliest`: the oldest record still in the log;
//! * a time `t`: the first record with `received_at ≥ t`;
//! * `now` (the default): the first record received at or after the pipeline's creation, i.e.
//!   the log's tail when it was created. Using the creation time rather than the moment the
//!   engine first notices the pipeline means events sent right after creating it are never
//!   missed, whether or not the engine has reloaded yet.
//!
//! The start is acknowledged at once, so a restart resumes there. Records are found by a
//! binary search over seqs, assuming `received_at` grows with seq (it does up to the few
//! milliseconds by which concurrent requests can commit out of order).
//!
//! A replay (`POST /v1/pipelines/{id}/replay`) finds its point by the same rules, and moves the
//! cursor there only if that is before where the pipeline has got to: a replay re-reads, it
//! never skips an event the pipeline has not processed yet.

use weir_catalog::{Pipeline, ReplayFrom};
use weir_log::{EventLog, LogError};

/// The seq after which a pipeline that never acknowledged starts reading.
pub(crate) async fn initial_position(
    log: &dyn EventLog,
    pipeline: &Pipeline,
) -> Result<u64, LogError> {
    position_before(log, pipeline.replay_from, pipeline).await
}

/// The seq after which a replay of `pipeline` from `from` reads: just before the first record
/// `from` selects, or `reached` — the pipeline's durable cursor, or its start if it never
/// acknowledged — when that is earlier.
pub(crate) async fn replay_position(
    log: &dyn EventLog,
    pipeline: &Pipeline,
    from: ReplayFrom,
    reached: Option<u64>,
) -> Result<u64, LogError> {
    let target = position_before(log, from, pipeline).await?;
    let reached = match reached {
        Some(seq) => seq,
        None => initial_position(log, pipeline).await?,
    };
    Ok(target.min(reached))
}

/// The seq just before the first record `from` selects (`now` meaning the pipeline's creation).
async fn position_before(
    log: &dyn EventLog,
    from: ReplayFrom,
    pipeline: &Pipeline,
) -> Result<u64, LogError> {
    match from {
        ReplayFrom::Earliest => {
            // The head is read first: anything appended after the read below comes after it.
            let head = log.head();
            let first = log.read(0, 1).await?;
            Ok(match first.first() {
                Some(record) => record.seq - 1,
                None => head,
            })
        }
        ReplayFrom::Now => before_first_received_at(log, millis(pipeline.created_at)).await,
        ReplayFrom::Time(time) => before_first_received_at(log, millis(time)).await,
    }
}

fn millis(time: time::OffsetDateTime) -> i64 {
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The seq just before the first record with `received_at_ms ≥ at_ms`, or the head if there is
/// none yet.
async fn before_first_received_at(log: &dyn EventLog, at_ms: i64) -> Result<u64, LogError> {
    // The head is read first: anything appended after the read below comes after it.
    let head = log.head();
    let Some(first) = log.read(0, 1).await?.into_iter().next() else {
        return Ok(head);
    };
    if first.received_at_ms >= at_ms {
        return Ok(first.seq - 1);
    }
    // Invariant: the record at `low` was received before `at_ms`; every seq > `high` is at or
    // after it (or does not exist yet).
    let mut low = first.seq;
    let mut high = head;
    while low < high {
        let middle = low + (high - low).div_ceil(2);
        match log.read(middle - 1, 1).await?.into_iter().next() {
            Some(record) if record.received_at_ms < at_ms => low = record.seq.min(high),
            Some(_) | None => high = middle - 1,
        }
    }
    Ok(low)
}
