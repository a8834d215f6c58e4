//! Routing policy as pure functions: what to do with a frame, given its id and first bytes.
//!
//! The relay calls these on every frame, so they look only at the id and the eagerly inflated
//! head of the frame (`RawFrame::head_fields`), never at the whole packet.

use meridian_wire::{
    ids::{config, game},
    varint::read_varint,
};

/// The namespace of plugin channels that only the proxy may speak on a backend.
pub const RESERVED_NAMESPACE: &str = "meridian:";

/// The protocol phase a direction of a session is in after login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Config = 0,
    Play = 1,
}

impl Phase {
    pub fn from_u8(value: u8) -> Self {
        if value == Phase::Play as u8 {
            Phase::Play
        } else {
            Phase::Config
        }
    }
}

/// What to do with a frame from the client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Serverbound {
    Forward,
    /// Forward, and the client has now moved to this phase.
    ForwardAndEnter(Phase),
    /// Forward; the player moved here.
    ForwardMove([f64; 3]),
    /// Do not forward.
    Drop(&'static str),
}

/// What to do with a frame from the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clientbound {
    Forward,
    /// Forward, and the backend has now moved to this phase.
    ForwardAndEnter(Phase),
    /// The backend is disconnecting the player: the proxy tells the client, naming the server.
    Disconnect,
}

/// Routes a frame from the client.
pub fn serverbound(phase: Phase, id: i32, fields: &[u8]) -> Serverbound {
    match (phase, id) {
        (Phase::Config, config::serverbound::FINISH_CONFIGURATION) => {
            Serverbound::ForwardAndEnter(Phase::Play)
        }
        (Phase::Play, game::serverbound::CONFIGURATION_ACKNOWLEDGED) => {
            Serverbound::ForwardAndEnter(Phase::Config)
        }
        (Phase::Config, config::serverbound::CUSTOM_PAYLOAD)
        | (Phase::Play, game::serverbound::CUSTOM_PAYLOAD) => match plugin_channel(fields) {
            Some(channel) if channel.starts_with(RESERVED_NAMESPACE) => Serverbound::Drop(
                "client sent a plugin message on the reserved meridian: namespace",
            ),
            _ => Serverbound::Forward,
        },
        (
            Phase::Play,
            game::serverbound::MOVE_PLAYER_POS | game::serverbound::MOVE_PLAYER_POS_ROT,
        ) => match position(fields) {
            Some(pos) => Serverbound::ForwardMove(pos),
            None => Serverbound::Forward,
        },
        _ => Serverbound::Forward,
    }
}

/// Routes a frame from the backend.
pub fn clientbound(phase: Phase, id: i32) -> Clientbound {
    match (phase, id) {
        (Phase::Config, config::clientbound::FINISH_CONFIGURATION) => {
            Clientbound::ForwardAndEnter(Phase::Play)
        }
        (Phase::Play, game::clientbound::START_CONFIGURATION) => {
            Clientbound::ForwardAndEnter(Phase::Config)
        }
        (Phase::Config, config::clientbound::DISCONNECT)
        | (Phase::Play, game::clientbound::DISCONNECT) => Clientbound::Disconnect,
        _ => Clientbound::Forward,
    }
}

/// The channel of a `custom_payload`, from the start of its fields; `None` if malformed.
///
/// Only a prefix of the string may be present (the frame head is short); a prefix is enough to
/// recognise the namespace.
pub fn plugin_channel(fields: &[u8]) -> Option<&str> {
    let (len, n) = read_varint(fields).ok()?;
    let len = usize::try_from(len).ok()?;
    let available = &fields[n..];
    let bytes = &available[..len.min(available.len())];
    match std::str::from_utf8(bytes) {
        Ok(s) => Some(s),
        // A multi-byte character cut by the head boundary: keep the valid prefix.
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok(),
    }
}

/// The position in a `move_player_pos` or `move_player_pos_rot`: three big-endian doubles.
pub fn position(fields: &[u8]) -> Option<[f64; 3]> {
    let read = |i: usize| -> Option<f64> {
        let bytes: [u8; 8] = fields.get(i * 8..i * 8 + 8)?.try_into().ok()?;
        let value = f64::from_be_bytes(bytes);
        value.is_finite().then_some(value)
    };
    Some([read(0)?, read(1)?, read(2)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_field(s: &str) -> Vec<u8> {
        let mut out = vec![s.len() as u8];
        out.extend_from_slice(s.as_bytes());
        out
    }

    #[test]
    fn reserved_channel_from_client_is_dropped_in_both_phases() {
        let fields = string_field("meridian:sync");
        assert!(matches!(
            serverbound(Phase::Play, game::serverbound::CUSTOM_PAYLOAD, &fields),
            Serverbound::Drop(_)
        ));
        assert!(matches!(
            serverbound(Phase::Config, config::serverbound::CUSTOM_PAYLOAD, &fields),
            Serverbound::Drop(_)
        ));
        let brand = string_field("minecraft:brand");
        assert_eq!(
            serverbound(Phase::Play, game::serverbound::CUSTOM_PAYLOAD, &brand),
            Serverbound::Forward
        );
    }

    #[test]
    fn channel_prefix_survives_truncation() {
        let fields = string_field("meridian:some_very_long_channel_name_beyond_the_head");
        assert_eq!(plugin_channel(&fields[..12]), Some("meridian:so"));
        assert_eq!(plugin_channel(&[0xff]), None);
        assert_eq!(plugin_channel(&[]), None);
    }

    #[test]
    fn phase_changes() {
        assert_eq!(
            serverbound(
                Phase::Config,
                config::serverbound::FINISH_CONFIGURATION,
                &[]
            ),
            Serverbound::ForwardAndEnter(Phase::Play)
        );
        assert_eq!(
            serverbound(
                Phase::Play,
                game::serverbound::CONFIGURATION_ACKNOWLEDGED,
                &[]
            ),
            Serverbound::ForwardAndEnter(Phase::Config)
        );
        assert_eq!(
            clientbound(Phase::Config, config::clientbound::FINISH_CONFIGURATION),
            Clientbound::ForwardAndEnter(Phase::Play)
        );
        assert_eq!(
            clientbound(Phase::Play, game::clientbound::START_CONFIGURATION),
            Clientbound::ForwardAndEnter(Phase::Config)
        );
        assert_eq!(
            clientbound(Phase::Play, game::clientbound::DISCONNECT),
            Clientbound::Disconnect
        );
        assert_eq!(
            clientbound(Phase::Config, config::clientbound::DISCONNECT),
            Clientbound::Disconnect
        );
        // The same id means something else in the other phase.
        assert_eq!(
            clientbound(Phase::Play, config::clientbound::FINISH_CONFIGURATION),
            Clientbound::Forward
        );
    }

    #[test]
    fn movement_is_read_and_garbage_ignored() {
        let mut fields = Vec::new();
        for v in [-8.5f64, 64.0, 0.5] {
            fields.extend_from_slice(&v.to_be_bytes());
        }
        fields.push(1);
        assert_eq!(
            serverbound(Phase::Play, game::serverbound::MOVE_PLAYER_POS, &fields),
            Serverbound::ForwardMove([-8.5, 64.0, 0.5])
        );
        assert_eq!(
            serverbound(
                Phase::Play,
                game::serverbound::MOVE_PLAYER_POS,
                &fields[..20]
            ),
            Serverbound::Forward
        );
        let nan = f64::NAN.to_be_bytes().repeat(3);
        assert_eq!(position(&nan), None);
    }
}
