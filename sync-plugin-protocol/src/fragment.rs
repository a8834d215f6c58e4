//! Splitting a large message over several plugin messages, and putting it back together.
//!
//! Bukkit refuses to send a plugin message over 32 766 bytes (`Messenger.MAX_MESSAGE_SIZE`) and a vanilla
//! server refuses a serverbound `custom_payload` over 32 767, yet a full inventory with shulker boxes and
//! written books is larger. So a message whose encoding exceeds [`MAX_PAYLOAD_LEN`] travels as a run of
//! [`Fragment`] messages, each a normal payload. The rules are kept minimal because both sides of a link
//! are one ordered TCP stream: fragments of one message are sent consecutively in order (other messages
//! may come between them), and at most one fragmented message per direction is in flight.

use bytes::{Bytes, BytesMut};
use thiserror::Error;

use crate::codec::EncodeError;
use crate::limits::{FRAGMENT_CHUNK_LEN, MAX_FRAGMENTS};
use crate::message::{Fragment, Message, encode, encode_to_bytes};
use crate::{MAX_MESSAGE_LEN, MAX_PAYLOAD_LEN};

/// Encodes `msg` as the payloads to send: one if it fits in [`MAX_PAYLOAD_LEN`], else a run of fragments.
pub fn encode_payloads(msg: &Message) -> Result<Vec<Bytes>, EncodeError> {
    let whole = encode_to_bytes(msg)?;
    if whole.len() <= MAX_PAYLOAD_LEN {
        return Ok(vec![whole]);
    }
    let chunks: Vec<Bytes> = (0..whole.len())
        .step_by(FRAGMENT_CHUNK_LEN)
        .map(|start| whole.slice(start..(start + FRAGMENT_CHUNK_LEN).min(whole.len())))
        .collect();
    // MAX_MESSAGE_LEN / FRAGMENT_CHUNK_LEN rounds up to fewer than MAX_FRAGMENTS, and `encode_to_bytes`
    // already refused anything longer, so the count fits.
    let count = chunks.len() as i32;
    chunks
        .into_iter()
        .enumerate()
        .map(|(index, data)| {
            let mut buf = BytesMut::with_capacity(data.len() + 8);
            encode(
                &Message::Fragment(Fragment {
                    index: index as i32,
                    count,
                    data,
                }),
                &mut buf,
            )?;
            Ok(buf.freeze())
        })
        .collect()
}

/// A fragment that breaks the reassembly rules. The receiver treats the link as broken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FragmentError {
    /// `count` is outside 1..=[`MAX_FRAGMENTS`].
    #[error("fragment count {count} is outside 1..={max}")]
    BadCount {
        /// The count found.
        count: i32,
        /// [`MAX_FRAGMENTS`].
        max: i32,
    },
    /// Not the next piece of the message being assembled (or a first piece whose index is not 0).
    #[error("fragment {index}/{count} arrived where {expected}/{expected_count} was due")]
    OutOfSequence {
        /// Index found.
        index: i32,
        /// Count found.
        count: i32,
        /// Index due.
        expected: i32,
        /// Count of the message being assembled (that of the fragment, if none is).
        expected_count: i32,
    },
    /// The pieces add up to more than [`MAX_MESSAGE_LEN`].
    #[error("fragments add up to more than {max} bytes")]
    TooLarge {
        /// [`MAX_MESSAGE_LEN`].
        max: usize,
    },
}

/// Puts fragments back together. Holds at most [`MAX_MESSAGE_LEN`] bytes, whatever it is fed.
#[derive(Debug, Default)]
pub struct Reassembler {
    partial: Option<Partial>,
}

#[derive(Debug)]
struct Partial {
    next: i32,
    count: i32,
    buf: BytesMut,
}

impl Reassembler {
    /// Nothing in progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a message is partly assembled.
    pub fn in_progress(&self) -> bool {
        self.partial.is_some()
    }

    /// Adds one fragment. Returns the whole message's bytes (to [`crate::decode`]) after its last piece.
    /// On error, what was assembled is dropped.
    pub fn push(&mut self, fragment: Fragment) -> Result<Option<Bytes>, FragmentError> {
        let result = self.push_inner(fragment);
        if result.is_err() {
            self.partial = None;
        }
        result
    }

    fn push_inner(
        &mut self,
        Fragment { index, count, data }: Fragment,
    ) -> Result<Option<Bytes>, FragmentError> {
        if !(1..=MAX_FRAGMENTS).contains(&count) {
            return Err(FragmentError::BadCount {
                count,
                max: MAX_FRAGMENTS,
            });
        }
        let partial = self.partial.get_or_insert_with(|| Partial {
            next: 0,
            count,
            buf: BytesMut::new(),
        });
        if index != partial.next || count != partial.count {
            return Err(FragmentError::OutOfSequence {
                index,
                count,
                expected: partial.next,
                expected_count: partial.count,
            });
        }
        if partial.buf.len() + data.len() > MAX_MESSAGE_LEN {
            return Err(FragmentError::TooLarge {
                max: MAX_MESSAGE_LEN,
            });
        }
        partial.buf.extend_from_slice(&data);
        partial.next += 1;
        if partial.next < partial.count {
            return Ok(None);
        }
        Ok(self.partial.take().map(|p| p.buf.freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, Reject, decode};

    fn big_message(len: usize) -> Message {
        Message::Unknown {
            message_type: 0x41,
            payload: Bytes::from(vec![0xab; len]),
        }
    }

    fn reassemble(payloads: &[Bytes]) -> Message {
        let mut r = Reassembler::new();
        let mut out = None;
        for p in payloads {
            match decode(p).unwrap() {
                Message::Fragment(f) => {
                    assert!(out.is_none());
                    out = r.push(f).unwrap().map(|b| decode(&b).unwrap());
                }
                other => return other,
            }
        }
        assert!(!r.in_progress());
        out.expect("complete")
    }

    #[test]
    fn small_messages_are_one_payload() {
        let msg = Message::Reject(Reject {
            min_version: 1,
            max_version: 1,
            reason: "no".into(),
        });
        let payloads = encode_payloads(&msg).unwrap();
        assert_eq!(payloads.len(), 1);
        assert_eq!(decode(&payloads[0]).unwrap(), msg);
    }

    #[test]
    fn large_messages_split_and_reassemble() {
        for len in [MAX_PAYLOAD_LEN, FRAGMENT_CHUNK_LEN * 3, MAX_MESSAGE_LEN - 4] {
            let msg = big_message(len);
            let payloads = encode_payloads(&msg).unwrap();
            assert!(payloads.len() > 1);
            assert!(payloads.iter().all(|p| p.len() <= MAX_PAYLOAD_LEN));
            assert_eq!(reassemble(&payloads), msg);
        }
        assert!(matches!(
            encode_payloads(&big_message(MAX_MESSAGE_LEN)),
            Err(EncodeError::Oversized { .. })
        ));
    }

    #[test]
    fn sequence_violations_are_refused_and_reset() {
        let f = |index, count| Fragment {
            index,
            count,
            data: Bytes::from_static(b"x"),
        };
        let mut r = Reassembler::new();
        assert!(matches!(
            r.push(f(1, 2)),
            Err(FragmentError::OutOfSequence { expected: 0, .. })
        ));
        assert_eq!(r.push(f(0, 2)), Ok(None));
        assert!(matches!(
            r.push(f(1, 3)),
            Err(FragmentError::OutOfSequence { .. })
        ));
        assert!(!r.in_progress());
        assert_eq!(
            r.push(f(0, 0)),
            Err(FragmentError::BadCount {
                count: 0,
                max: MAX_FRAGMENTS
            })
        );
        assert_eq!(
            r.push(f(0, MAX_FRAGMENTS + 1)),
            Err(FragmentError::BadCount {
                count: 65,
                max: MAX_FRAGMENTS
            })
        );
        assert_eq!(r.push(f(0, 1)), Ok(Some(Bytes::from_static(b"x"))));
    }

    #[test]
    fn total_size_is_bounded() {
        let mut r = Reassembler::new();
        let chunk = Bytes::from(vec![0; MAX_PAYLOAD_LEN - 16]);
        let mut refused = false;
        for index in 0..MAX_FRAGMENTS {
            match r.push(Fragment {
                index,
                count: MAX_FRAGMENTS,
                data: chunk.clone(),
            }) {
                Ok(None) => {}
                Err(FragmentError::TooLarge { .. }) => {
                    refused = true;
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(refused);
        assert!(!r.in_progress());
    }
}
