//! The proxy's side of one link's `meridian:sync` conversation, and the packets that carry it.

use meridian_wire::{ids::game::serverbound, varint::write_varint};
use sync_plugin_protocol::{CHANNEL, Incoming, MAX_PAYLOAD_LEN, Message, SyncError, SyncPeer};
use tracing::debug;
use uuid::Uuid;

/// The channel that announces which plugin channels a side listens on.
pub const REGISTER_CHANNEL: &str = "minecraft:register";

/// One link's conversation: `None` until the backend says `Hello` (a backend that never does is a
/// backend without the sync plugin, and its player cannot be handed over).
#[derive(Debug)]
pub struct LinkSync {
    peer: SyncPeer,
    established: bool,
}

impl LinkSync {
    pub fn new(player: Uuid) -> Self {
        Self {
            peer: SyncPeer::proxy("meridian", Vec::new()).with_player(player),
            established: false,
        }
    }

    /// Whether the handshake completed and nothing broke since.
    pub fn is_established(&self) -> bool {
        self.established && self.peer.phase() == sync_plugin_protocol::Phase::Established
    }

    /// Whether the conversation failed (or the backend rejected it).
    pub fn is_broken(&self) -> bool {
        self.peer.phase() == sync_plugin_protocol::Phase::Closed
    }

    /// Takes one payload from the backend. A payload that does not decode is reported as
    /// [`Received::Unreadable`] and changes nothing (it cannot have changed the backend's state
    /// either, so dropping it only costs liveness); a message that breaks the conversation's rules
    /// is an error, after which the conversation is over and the caller logs it.
    pub fn receive(&mut self, payload: &[u8]) -> Result<Received, SyncError> {
        if payload.len() > MAX_PAYLOAD_LEN {
            return Ok(Received::Unreadable(format!(
                "payload of {} bytes exceeds {MAX_PAYLOAD_LEN}",
                payload.len()
            )));
        }
        let message = match sync_plugin_protocol::decode(payload) {
            Ok(message) => message,
            Err(e) => return Ok(Received::Unreadable(e.to_string())),
        };
        match self.peer.receive(message)? {
            Incoming::Established { agreement, reply } => {
                debug!(backend = %agreement.peer_id, version = agreement.version, "sync channel established");
                self.established = true;
                Ok(Received::Established(reply))
            }
            Incoming::Message(Message::Unknown { message_type, .. }) => {
                debug!(message_type, "skipped an unknown sync message");
                Ok(Received::Nothing)
            }
            Incoming::Message(message) => Ok(Received::Message(message)),
            Incoming::Pending => Ok(Received::Nothing),
        }
    }

    /// The serverbound `custom_payload` packets (id then fields) that carry `message`.
    pub fn packets(&self, message: &Message) -> Result<Vec<Vec<u8>>, SyncError> {
        Ok(self
            .peer
            .prepare(message)?
            .iter()
            .map(|payload| payload_packet(CHANNEL, payload))
            .collect())
    }
}

/// What a payload amounted to.
#[derive(Debug)]
pub enum Received {
    Nothing,
    /// Bytes that are no message; dropped.
    Unreadable(String),
    /// The handshake completed; send the reply (the `Welcome`).
    Established(Option<Message>),
    Message(Message),
}

/// A serverbound `custom_payload` (id then fields).
pub fn payload_packet(channel: &str, data: &[u8]) -> Vec<u8> {
    let mut packet = Vec::with_capacity(data.len() + channel.len() + 4);
    write_varint(&mut packet, serverbound::CUSTOM_PAYLOAD);
    write_varint(&mut packet, channel.len() as i32);
    packet.extend_from_slice(channel.as_bytes());
    packet.extend_from_slice(data);
    packet
}

/// The registration that tells a backend the proxy listens on `meridian:sync`; the backend answers
/// with `Hello`.
pub fn register_packet() -> Vec<u8> {
    payload_packet(REGISTER_CHANNEL, CHANNEL.as_bytes())
}

/// The data of a clientbound `custom_payload` on `meridian:sync` (fields after the id), or `None`
/// for another channel.
pub fn sync_payload(fields: &[u8]) -> Option<&[u8]> {
    let (len, n) = meridian_wire::varint::read_varint(fields).ok()?;
    let end = n.checked_add(usize::try_from(len).ok()?)?;
    (fields.get(n..end)? == CHANNEL.as_bytes()).then(|| &fields[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_packets_round_trip_their_channel() {
        let packet = payload_packet(CHANNEL, b"\x01\x02");
        assert_eq!(packet[0] as i32, serverbound::CUSTOM_PAYLOAD);
        assert_eq!(sync_payload(&packet[1..]), Some(&b"\x01\x02"[..]));
        assert_eq!(
            sync_payload(&payload_packet("minecraft:brand", b"x")[1..]),
            None
        );
        assert_eq!(sync_payload(&[0xff]), None);
        assert_eq!(sync_payload(&[40, b'm']), None);
    }

    #[test]
    fn register_names_the_sync_channel() {
        let packet = register_packet();
        assert!(packet.ends_with(b"minecraft:registermeridian:sync"));
    }
}
