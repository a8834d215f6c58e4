//! At-most-once handoffs: which transfer ids a backend has already applied.

use std::collections::{HashSet, VecDeque};

use uuid::Uuid;

/// How many transfer ids a [`TransferLedger`] remembers by default: far more than the handoffs that can be
/// in flight to one backend at once, since a repeat can only come from a retry of a recent handoff.
pub const DEFAULT_LEDGER_CAPACITY: usize = 4096;

/// Remembers the transfer ids a backend applied recently, so a repeated `ApplyState` is answered
/// `AlreadyApplied` instead of giving the player a second copy of their inventory.
///
/// Bounded: once full, the oldest id is forgotten. Record an id only once its state was really applied:
/// a refused `ApplyState` applied nothing, so a retry of it must be free to apply.
#[derive(Debug, Clone)]
pub struct TransferLedger {
    order: VecDeque<Uuid>,
    ids: HashSet<Uuid>,
    capacity: usize,
}

impl Default for TransferLedger {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_LEDGER_CAPACITY)
    }
}

impl TransferLedger {
    /// A ledger remembering [`DEFAULT_LEDGER_CAPACITY`] ids.
    pub fn new() -> Self {
        Self::default()
    }

    /// A ledger remembering the last `capacity` ids (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            order: VecDeque::with_capacity(capacity),
            ids: HashSet::with_capacity(capacity),
            capacity,
        }
    }

    /// Whether `transfer_id` was applied (and not yet forgotten).
    pub fn contains(&self, transfer_id: &Uuid) -> bool {
        self.ids.contains(transfer_id)
    }

    /// Notes that `transfer_id` was applied. Returns `false` if it already was: the caller must not have
    /// applied it again.
    pub fn record(&mut self, transfer_id: Uuid) -> bool {
        if !self.ids.insert(transfer_id) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        self.order.push_back(transfer_id);
        true
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The most it remembers.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn repeats_are_detected() {
        let mut ledger = TransferLedger::new();
        assert!(!ledger.contains(&id(1)));
        assert!(ledger.record(id(1)));
        assert!(ledger.contains(&id(1)));
        assert!(!ledger.record(id(1)));
        assert_eq!(ledger.len(), 1);
    }

    #[test]
    fn oldest_is_forgotten_when_full() {
        let mut ledger = TransferLedger::with_capacity(2);
        assert!(ledger.record(id(1)));
        assert!(ledger.record(id(2)));
        assert!(ledger.record(id(3)));
        assert!(!ledger.contains(&id(1)));
        assert!(ledger.contains(&id(2)) && ledger.contains(&id(3)));
        assert_eq!(ledger.len(), 2);
        // A repeat does not push anything out.
        assert!(!ledger.record(id(3)));
        assert!(ledger.contains(&id(2)));
    }

    #[test]
    fn capacity_is_at_least_one() {
        let mut ledger = TransferLedger::with_capacity(0);
        assert_eq!(ledger.capacity(), 1);
        assert!(ledger.record(id(1)));
        assert!(ledger.record(id(2)));
        assert!(!ledger.contains(&id(1)));
    }
}
