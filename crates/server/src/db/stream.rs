//! The stream value: a capped, append-only log of entries with monotonically increasing IDs
//! (`<ms>-<seq>`). Owned by the streams family (cmd/streams.rs); the keyspace only stores it.

/// A stream entry ID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

/// A stream's entries and metadata.
#[allow(dead_code)] // used by cmd/streams.rs (in progress)
#[derive(Clone, Debug, Default)]
pub(crate) struct Stream {
    /// Entries in ID order.
    pub entries: std::collections::BTreeMap<StreamId, Vec<(bytes::Bytes, bytes::Bytes)>>,
    /// The last ID ever generated or set (IDs never go backwards).
    pub last_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// The largest ID ever deleted.
    pub max_deleted_id: StreamId,
}
