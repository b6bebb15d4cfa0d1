//! Graceful shutdown: one notice, tracked completion.
//!
//! A [`Shutdown`] is a cheap, cloneable handle. Anything long-lived (the accept loop, every
//! connection, the expiry sweeper, the conversation-log writer) holds one and selects on
//! [`Shutdown::requested`]. Triggering is idempotent: the first trigger records its reason,
//! later ones are ignored. Completion is tracked with a [`TaskTracker`]: every spawned
//! connection task is tracked, so the server can wait for them with a deadline.

use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Handle used to request and observe a graceful shutdown.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    token: CancellationToken,
    /// Why the shutdown was requested; written once by the first trigger. A plain mutex: it is
    /// touched once per shutdown, never on a hot path.
    reason: Arc<Mutex<Option<String>>>,
    tracker: TaskTracker,
}

impl Shutdown {
    /// A fresh handle that has not been triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Request a shutdown. Returns `true` if this call was the first trigger.
    pub fn trigger(&self, reason: impl Into<String>) -> bool {
        let mut slot = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return false;
        }
        *slot = Some(reason.into());
        drop(slot);
        self.token.cancel();
        true
    }

    /// Whether a shutdown has been requested.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The reason given by the first trigger, if any.
    pub fn reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Completes when a shutdown has been requested.
    pub async fn requested(&self) {
        self.token.cancelled().await
    }

    /// The tracker that connection tasks are spawned on.
    pub(crate) fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }
}
