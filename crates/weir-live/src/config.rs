//! The hub's configuration and the fixed limits of the listeners API (storage spec §11).

use std::time::Duration;

/// The largest listener buffer (`size`) a client may ask for.
pub const MAX_LISTENER_SIZE: usize = 1000;

/// The buffer size of a listener created without `size`.
pub const DEFAULT_LISTENER_SIZE: usize = 10;

/// Configuration of [`crate::LiveEvents`]; [`LiveConfig::default`] holds the documented
/// defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConfig {
    /// Listeners plus SSE streams allowed at once in one workspace (spec: 100).
    pub max_listeners_per_workspace: usize,
    /// A listener not read for this long is deleted (`live.listener_idle_ttl`, 10 minutes).
    pub idle_ttl: Duration,
    /// How far an SSE subscriber may fall behind, in entries, before the oldest undelivered
    /// entries are dropped and reported as omitted (spec: 1000).
    pub sse_backlog: usize,
    /// How many recent entries a workspace keeps so that a stream reconnecting with
    /// `Last-Event-ID` gets what it missed; 0 disables replay.
    pub replay_capacity: usize,
    /// How long after its last stream disconnected a workspace keeps recording entries for
    /// replay, so a client that reconnects within this time misses nothing still in the ring.
    pub replay_grace: Duration,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            max_listeners_per_workspace: 100,
            idle_ttl: Duration::from_secs(10 * 60),
            sse_backlog: 1000,
            replay_capacity: 1000,
            replay_grace: Duration::from_secs(2 * 60),
        }
    }
}
