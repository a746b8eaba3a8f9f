//! Live events (storage spec §11): the in-memory hub behind the listeners API and the SSE
//! stream. No HTTP here; the management API exposes it and `weir events tail` reads the stream.
//!
//! Flow: after the durable append, ingest calls [`LiveEvents::publish`] with one [`Entry`] per
//! event of the request (accepted, duplicate or rejected), in request order. Each entry is
//! rendered to its JSON once and numbered with a per-workspace counter, then offered to
//! * polling listeners ([`LiveEvents::create`], [`LiveEvents::read`], [`LiveEvents::delete`]):
//!   a buffer of `size` entries with reservoir sampling, drained by each read;
//! * SSE streams ([`LiveEvents::subscribe`] → [`Subscription`]): every entry, in order, through
//!   a bounded queue that drops its oldest entries and reports them as
//!   [`StreamItem::Omitted`]; a reconnect with `Last-Event-ID` replays what the workspace's
//!   ring still holds;
//! * the replay ring, kept while streams are open and for `replay_grace` after the last one
//!   left.
//!
//! Entry JSON (one line each; what listener reads return and SSE `data:` carries):
//! * accepted (`event: event`): the canonical event JSON, exactly as stored in the log;
//! * rejected (`event: rejected`):
//!   `{"connectionId":"…","receivedAt":"…","error":"<exact message>","raw":"<element text>"}`
//!   plus `"rawTruncated":true` when `raw` was cut to 16384 bytes;
//! * duplicate (`event: duplicate`, Weir only):
//!   `{"connectionId":"…","receivedAt":"…","duplicate":true,"messageId":"…","event":{…}}`,
//!   `event` being the duplicate's canonical JSON when ingest passes it.
//!
//! Rejected and duplicate entries reach only listeners and streams without a predicate and
//! with `include_rejected`. Stream ids are a per-workspace counter starting at 1; they start
//! over when the process restarts or the workspace was unwatched long enough to be forgotten,
//! so clients must treat them as opaque `Last-Event-ID` values, not filter by them.
//!
//! Invariants: publishing never waits on a subscriber, and into a workspace nobody watches it
//! costs one atomic load (a map lookup and two more when other workspaces are watched); memory per workspace is bounded by its 100 listeners
//! and streams of at most 1000 entries each plus the ring; idle listeners expire after
//! `idle_ttl` (checked on access and by [`LiveEvents::sweep`]). This crate spawns nothing unless
//! asked to ([`LiveEvents::spawn_sweeper`]).

mod clock;
mod config;
mod entry;
mod error;
mod hub;
mod id;
mod listener;
mod matcher;
mod queue;
mod registry;
mod reservoir;
mod sse;
mod stream;
mod sync;
#[cfg(test)]
mod tests;
mod workspace;

pub use clock::{Clock, SystemClock};
pub use config::{DEFAULT_LISTENER_SIZE, LiveConfig, MAX_LISTENER_SIZE};
pub use entry::{Entry, EntryKind, EntryType};
pub use error::LiveError;
pub use hub::LiveEvents;
pub use id::ListenerId;
pub use listener::{ListenerRead, ListenerSpec};
pub use matcher::Predicate;
pub use sse::{SSE_PING, SSE_PING_INTERVAL, format_sse, parse_last_event_id, write_sse};
pub use stream::{StreamItem, StreamSpec, Subscription};
