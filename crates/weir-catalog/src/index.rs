//! The in-memory index ingestion authenticates with: event write keys, connections, workspaces and
//! API keys, answered without touching the database. The catalog updates it under its write lock
//! right after each commit, so a deleted key is rejected by the very next lookup.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use weir_auth::{ApiKey, ApiKeyHasher, ResourceId, WriteKey};

use crate::{ApiKeyRecord, Connector, RateLimit, Role, Strategy};

/// What ingestion needs to know about a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// The connection.
    pub connection_id: ResourceId,
    /// Its workspace.
    pub workspace_id: ResourceId,
    /// `Source`, except from [`WriteKeyIndex::lookup_connection`], which has no role check.
    pub role: Role,
    /// Decides the request-IP fallback ([`Connector::falls_back_to_request_ip`]).
    pub connector: Connector,
    /// For the SDK settings endpoint; `None` for connectors without a strategy.
    pub strategy: Option<Strategy>,
}

/// What ingestion needs to know about a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceInfo {
    /// The workspace.
    pub workspace_id: ResourceId,
    /// Its event token bucket, or `None` for no limit.
    pub event_rate_limit: Option<RateLimit>,
}

/// A cheap-to-clone handle on the catalog's credential index. Lookups take a shared read lock
/// for a few hash-map probes; writers (management operations) hold it only to apply a change.
#[derive(Debug, Clone)]
pub struct WriteKeyIndex {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    entries: RwLock<Entries>,
    /// Keys of the SipHash digest that write keys are filed under, random per process.
    digest: RandomState,
    /// Hashes presented API keys the way the catalog stored them.
    hasher: ApiKeyHasher,
}

/// Everything the index holds; also what the catalog loads it from.
#[derive(Debug, Default)]
pub(crate) struct Entries {
    /// Write keys by keyed digest. A `Vec` only in case two keys share a 64-bit digest.
    write_keys: HashMap<u64, Vec<KeyEntry>>,
    connections: HashMap<ResourceId, SourceInfo>,
    workspaces: HashMap<ResourceId, WorkspaceInfo>,
    /// API key records by their stored HMAC.
    api_keys: HashMap<[u8; 32], ApiKeyRecord>,
}

#[derive(Debug)]
struct KeyEntry {
    key: WriteKey,
    connection_id: ResourceId,
}

impl WriteKeyIndex {
    /// An empty index whose API-key lookups hash with `hasher`.
    pub(crate) fn new(hasher: ApiKeyHasher) -> Self {
        Self {
            shared: Arc::new(Shared {
                entries: RwLock::new(Entries::default()),
                digest: RandomState::new(),
                hasher,
            }),
        }
    }

    /// The source connection `key` authenticates, if any.
    ///
    /// Timing: the map is keyed by a SipHash digest of the key under random per-process keys, so
    /// which entry a probe meets and how the digest comparison ends is unrelated to how many
    /// characters of the presented key match a real one; the only comparison against a stored key
    /// is [`WriteKey::matches`], which is constant-time. Guessing a key character by character
    /// from response times is therefore not possible.
    pub fn lookup(&self, key: &str) -> Option<SourceInfo> {
        let entries = self.read();
        let candidates = entries.write_keys.get(&self.digest(key))?;
        let entry = candidates.iter().find(|entry| entry.key.matches(key))?;
        let info = entries.connections.get(&entry.connection_id)?;
        (info.role == Role::Source).then(|| info.clone())
    }

    /// A connection by id, whatever its role (API-key ingestion and the settings endpoint).
    pub fn lookup_connection(&self, id: &ResourceId) -> Option<SourceInfo> {
        self.read().connections.get(id).cloned()
    }

    /// A workspace by id.
    pub fn lookup_workspace(&self, id: &ResourceId) -> Option<WorkspaceInfo> {
        self.read().workspaces.get(id).cloned()
    }

    /// The record of a live API key. The map is keyed by HMAC outputs, which a client cannot
    /// steer without the server secret; the final check is the constant-time
    /// [`ApiKeyHasher::verify`].
    pub fn lookup_api_key(&self, key: &ApiKey) -> Option<ApiKeyRecord> {
        let hash = self.shared.hasher.hash(key);
        let entries = self.read();
        let (stored, record) = entries.api_keys.get_key_value(&hash)?;
        self.shared
            .hasher
            .verify(key, stored)
            .then(|| record.clone())
    }

    /// The hasher API keys are stored with.
    pub(crate) fn hasher(&self) -> &ApiKeyHasher {
        &self.shared.hasher
    }

    /// Replaces everything (when the catalog opens).
    pub(crate) fn replace(&self, entries: Entries) {
        *self.write() = entries;
    }

    /// Adds or replaces a workspace.
    pub(crate) fn put_workspace(&self, info: WorkspaceInfo) {
        self.write().put_workspace(info);
    }

    /// Removes a workspace with its connections, their keys and its restricted API keys.
    pub(crate) fn remove_workspace(&self, id: &ResourceId) {
        let mut entries = self.write();
        entries.workspaces.remove(id);
        let connections: Vec<ResourceId> = entries
            .connections
            .values()
            .filter(|info| &info.workspace_id == id)
            .map(|info| info.connection_id.clone())
            .collect();
        for connection in &connections {
            entries.remove_connection(connection);
        }
        entries
            .api_keys
            .retain(|_, record| record.workspace.as_ref() != Some(id));
    }

    /// Adds or replaces a connection.
    pub(crate) fn put_connection(&self, info: SourceInfo) {
        self.write().put_connection(info);
    }

    /// Removes a connection and its keys.
    pub(crate) fn remove_connection(&self, id: &ResourceId) {
        self.write().remove_connection(id);
    }

    /// Adds a write key of `connection_id`.
    pub(crate) fn insert_write_key(&self, key: WriteKey, connection_id: ResourceId) {
        let digest = self.digest(key.as_str());
        self.write().insert_write_key(digest, key, connection_id);
    }

    /// Removes a write key.
    pub(crate) fn remove_write_key(&self, key: &str) {
        let digest = self.digest(key);
        let mut entries = self.write();
        if let Some(candidates) = entries.write_keys.get_mut(&digest) {
            candidates.retain(|entry| !entry.key.matches(key));
            if candidates.is_empty() {
                entries.write_keys.remove(&digest);
            }
        }
    }

    /// Adds or replaces an API key record stored under `hash`.
    pub(crate) fn put_api_key(&self, hash: [u8; 32], record: ApiKeyRecord) {
        self.write().api_keys.insert(hash, record);
    }

    /// Removes an API key by id.
    pub(crate) fn remove_api_key(&self, id: &ResourceId) {
        self.write().api_keys.retain(|_, record| &record.id != id);
    }

    /// An [`Entries`] filled by `fill` with this index's digest (for [`WriteKeyIndex::replace`]).
    pub(crate) fn build(&self, fill: impl FnOnce(&mut EntriesBuilder<'_>)) -> Entries {
        let mut builder = EntriesBuilder {
            index: self,
            entries: Entries::default(),
        };
        fill(&mut builder);
        builder.entries
    }

    fn digest(&self, key: &str) -> u64 {
        self.shared.digest.hash_one(key.as_bytes())
    }

    // A panic while holding the lock cannot leave a half-applied change that matters more than
    // refusing all ingestion would, so a poisoned lock is used as is.
    fn read(&self) -> RwLockReadGuard<'_, Entries> {
        self.shared
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Entries> {
        self.shared
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Fills a fresh [`Entries`] (see [`WriteKeyIndex::build`]).
#[derive(Debug)]
pub(crate) struct EntriesBuilder<'a> {
    index: &'a WriteKeyIndex,
    entries: Entries,
}

impl EntriesBuilder<'_> {
    pub(crate) fn workspace(&mut self, info: WorkspaceInfo) {
        self.entries.put_workspace(info);
    }

    pub(crate) fn connection(&mut self, info: SourceInfo) {
        self.entries.put_connection(info);
    }

    pub(crate) fn write_key(&mut self, key: WriteKey, connection_id: ResourceId) {
        let digest = self.index.digest(key.as_str());
        self.entries.insert_write_key(digest, key, connection_id);
    }

    pub(crate) fn api_key(&mut self, hash: [u8; 32], record: ApiKeyRecord) {
        self.entries.api_keys.insert(hash, record);
    }
}

impl Entries {
    fn put_workspace(&mut self, info: WorkspaceInfo) {
        self.workspaces.insert(info.workspace_id.clone(), info);
    }

    fn put_connection(&mut self, info: SourceInfo) {
        self.connections.insert(info.connection_id.clone(), info);
    }

    fn insert_write_key(&mut self, digest: u64, key: WriteKey, connection_id: ResourceId) {
        self.write_keys
            .entry(digest)
            .or_default()
            .push(KeyEntry { key, connection_id });
    }

    fn remove_connection(&mut self, id: &ResourceId) {
        self.connections.remove(id);
        self.write_keys.retain(|_, candidates| {
            candidates.retain(|entry| &entry.connection_id != id);
            !candidates.is_empty()
        });
    }
}
