//! Fencing: refusing orders that carry an older epoch than one already obeyed.

use thiserror::Error;

/// A message carried an epoch older than the newest its receiver has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("epoch {epoch} is older than {newest}, already seen")]
pub struct StaleEpoch {
    /// The epoch the message carried.
    pub epoch: i64,
    /// The newest epoch seen.
    pub newest: i64,
}

/// Remembers the newest epoch seen for one thing (a backend's zone map, one player's role) and refuses
/// older ones.
///
/// An equal epoch passes: the same order may arrive twice (from two proxies, or `ApplyState` and the
/// `SetRole` of the same swap), and obeying it again changes nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EpochFence {
    newest: Option<i64>,
}

impl EpochFence {
    /// A fence that has seen nothing and accepts any epoch first.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts `epoch` and remembers it if it is not older than the newest seen.
    pub fn check(&mut self, epoch: i64) -> Result<(), StaleEpoch> {
        match self.newest {
            Some(newest) if epoch < newest => Err(StaleEpoch { epoch, newest }),
            _ => {
                self.newest = Some(epoch);
                Ok(())
            }
        }
    }

    /// Whether `epoch` would pass, without remembering it.
    pub fn would_accept(&self, epoch: i64) -> bool {
        self.newest.is_none_or(|newest| epoch >= newest)
    }

    /// The newest epoch seen.
    pub fn newest(&self) -> Option<i64> {
        self.newest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_epochs_are_refused() {
        let mut fence = EpochFence::new();
        assert_eq!(fence.newest(), None);
        assert_eq!(fence.check(5), Ok(()));
        assert_eq!(fence.check(5), Ok(()));
        assert_eq!(
            fence.check(4),
            Err(StaleEpoch {
                epoch: 4,
                newest: 5
            })
        );
        assert!(!fence.would_accept(4));
        assert_eq!(fence.check(7), Ok(()));
        assert_eq!(fence.newest(), Some(7));
        assert_eq!(
            fence.check(6),
            Err(StaleEpoch {
                epoch: 6,
                newest: 7
            })
        );
    }
}
