//! Routing policy as pure functions: what to do with a frame, given its id and first bytes.
//!
//! The relay calls these on every frame, so they look only at the id and the eagerly inflated
//! head of the frame (`RawFrame::head_fields`), never at the whole packet.

use meridian_wire::{
    ids::{config, game},
    varint::{read_varint, write_varint},
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

/// Where a client packet in play goes, when [`serverbound`] says forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Movement and input: every link, so every dummy stands where the player stands.
    AllLinks,
    /// Chat, commands, UI, answers to the primary's questions: the primary only.
    Primary,
    /// An action on a block: the backend that owns the block.
    BlockOwner,
    /// An action on an entity: the backend the entity was shown from, id mapped back.
    EntityOwner,
}

/// Where a client packet in play goes.
pub fn serverbound_destination(id: i32) -> Destination {
    use game::serverbound as sb;
    match id {
        sb::MOVE_PLAYER_POS
        | sb::MOVE_PLAYER_POS_ROT
        | sb::MOVE_PLAYER_ROT
        | sb::MOVE_PLAYER_STATUS_ONLY
        | sb::PLAYER_INPUT
        | sb::CLIENT_TICK_END
        | sb::SWING
        | sb::MOVE_VEHICLE
        | sb::PADDLE_BOAT => Destination::AllLinks,
        sb::USE_ITEM_ON | sb::PLAYER_ACTION => Destination::BlockOwner,
        sb::INTERACT
        | sb::ATTACK
        | sb::PLAYER_COMMAND
        | sb::ENTITY_TAG_QUERY
        | sb::PICK_ITEM_FROM_ENTITY
        | sb::SPECTATE_ENTITY => Destination::EntityOwner,
        _ => Destination::Primary,
    }
}

/// The block (x, z) an action on a block names: `use_item_on` (hand, then position) and
/// `player_action` (action, then position).
pub fn block_position(id: i32, fields: &[u8]) -> Option<(i32, i32)> {
    use game::serverbound as sb;
    if id != sb::USE_ITEM_ON && id != sb::PLAYER_ACTION {
        return None;
    }
    let (_, n) = read_varint(fields).ok()?;
    let packed = i64::from_be_bytes(fields.get(n..n + 8)?.try_into().ok()?);
    Some(((packed >> 38) as i32, (packed << 26 >> 38) as i32))
}

/// The position a `player_position` (a teleport) puts the player at, when it is absolute.
///
/// Fields: teleport id (VarInt), position (3 doubles), velocity (3 doubles), yaw and pitch
/// (floats), then the relative flags (an int; bits 0..2 are x, y, z).
pub fn teleport_position(fields: &[u8]) -> Option<[f64; 3]> {
    let (_, n) = read_varint(fields).ok()?;
    let flags = i32::from_be_bytes(fields.get(n + 56..n + 60)?.try_into().ok()?);
    if flags & 0b111 != 0 {
        return None;
    }
    position(&fields[n..])
}

/// A serverbound `move_player_pos` to `position`, on the ground (id then fields).
pub fn move_packet([x, y, z]: [f64; 3]) -> Vec<u8> {
    let mut packet = Vec::with_capacity(26);
    write_varint(&mut packet, game::serverbound::MOVE_PLAYER_POS);
    for v in [x, y, z] {
        packet.extend_from_slice(&v.to_be_bytes());
    }
    // Flags: on the ground, no horizontal collision.
    packet.push(1);
    packet
}

/// The proxy's own answer to a dummy's keep-alive, ping, teleport or chunk batch: the client never
/// sees those, yet the backend waits for them. Returns the serverbound packet (id then fields).
pub fn dummy_answer(id: i32, fields: &[u8]) -> Option<Vec<u8>> {
    use game::{clientbound as cb, serverbound as sb};
    if !answered_for_dummies(id) {
        return None;
    }
    let mut answer = Vec::with_capacity(16);
    match id {
        cb::KEEP_ALIVE => {
            write_varint(&mut answer, sb::KEEP_ALIVE);
            answer.extend_from_slice(fields.get(..8)?);
        }
        cb::PING => {
            write_varint(&mut answer, sb::PONG);
            answer.extend_from_slice(fields.get(..4)?);
        }
        cb::PLAYER_POSITION => {
            let (teleport, _) = read_varint(fields).ok()?;
            write_varint(&mut answer, sb::ACCEPT_TELEPORTATION);
            write_varint(&mut answer, teleport);
        }
        cb::CHUNK_BATCH_FINISHED => {
            write_varint(&mut answer, sb::CHUNK_BATCH_RECEIVED);
            // Chunks per tick the "client" can take: a dummy takes whatever comes.
            answer.extend_from_slice(&64.0f32.to_be_bytes());
        }
        _ => return None,
    }
    Some(answer)
}

/// Whether [`dummy_answer`] answers packets with this clientbound id (if well formed).
pub fn answered_for_dummies(id: i32) -> bool {
    use game::clientbound as cb;
    matches!(
        id,
        cb::KEEP_ALIVE | cb::PING | cb::PLAYER_POSITION | cb::CHUNK_BATCH_FINISHED
    )
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
    fn move_packets_read_back_as_moves() {
        let packet = move_packet([-8.5, 64.0, 0.5]);
        assert_eq!(packet[0] as i32, game::serverbound::MOVE_PLAYER_POS);
        assert_eq!(
            serverbound(
                Phase::Play,
                game::serverbound::MOVE_PLAYER_POS,
                &packet[1..]
            ),
            Serverbound::ForwardMove([-8.5, 64.0, 0.5])
        );
    }

    #[test]
    fn destinations() {
        use game::serverbound as sb;
        assert_eq!(
            serverbound_destination(sb::MOVE_PLAYER_POS_ROT),
            Destination::AllLinks
        );
        assert_eq!(
            serverbound_destination(sb::PLAYER_INPUT),
            Destination::AllLinks
        );
        assert_eq!(serverbound_destination(sb::CHAT), Destination::Primary);
        assert_eq!(
            serverbound_destination(sb::CHAT_COMMAND),
            Destination::Primary
        );
        assert_eq!(
            serverbound_destination(sb::CONTAINER_CLICK),
            Destination::Primary
        );
        assert_eq!(
            serverbound_destination(sb::USE_ITEM_ON),
            Destination::BlockOwner
        );
        assert_eq!(
            serverbound_destination(sb::ATTACK),
            Destination::EntityOwner
        );
    }

    #[test]
    fn block_positions_of_actions() {
        let packed: i64 = ((-20i64 & 0x3ff_ffff) << 38) | ((35i64 & 0x3ff_ffff) << 12) | 63;
        let mut fields = vec![0];
        fields.extend_from_slice(&packed.to_be_bytes());
        assert_eq!(
            block_position(game::serverbound::USE_ITEM_ON, &fields),
            Some((-20, 35))
        );
        assert_eq!(block_position(game::serverbound::CHAT, &fields), None);
        assert_eq!(
            block_position(game::serverbound::PLAYER_ACTION, &fields[..4]),
            None
        );
    }

    fn teleport(flags: i32) -> Vec<u8> {
        let mut fields = vec![7];
        for v in [-8.5f64, 64.0, 0.5, 0.0, 0.0, 0.0] {
            fields.extend_from_slice(&v.to_be_bytes());
        }
        fields.extend_from_slice(&[0; 8]);
        fields.extend_from_slice(&flags.to_be_bytes());
        fields
    }

    #[test]
    fn absolute_teleports_give_a_position() {
        assert_eq!(teleport_position(&teleport(0)), Some([-8.5, 64.0, 0.5]));
        assert_eq!(
            teleport_position(&teleport(0b1000)),
            Some([-8.5, 64.0, 0.5]),
            "rotation may be relative"
        );
        assert_eq!(teleport_position(&teleport(0b001)), None);
        assert_eq!(teleport_position(&teleport(0)[..20]), None);
    }

    #[test]
    fn the_proxy_answers_a_dummys_questions() {
        use game::{clientbound as cb, serverbound as sb};
        let keep_alive = dummy_answer(cb::KEEP_ALIVE, &42u64.to_be_bytes()).unwrap();
        assert_eq!(keep_alive[0] as i32, sb::KEEP_ALIVE);
        assert_eq!(&keep_alive[1..], &42u64.to_be_bytes());
        let teleport = dummy_answer(cb::PLAYER_POSITION, &teleport(0)).unwrap();
        assert_eq!(teleport, vec![sb::ACCEPT_TELEPORTATION as u8, 7]);
        assert_eq!(
            dummy_answer(cb::CHUNK_BATCH_FINISHED, &[5]).unwrap()[0] as i32,
            sb::CHUNK_BATCH_RECEIVED
        );
        assert_eq!(
            dummy_answer(cb::PING, &9i32.to_be_bytes()).unwrap()[0] as i32,
            sb::PONG
        );
        assert_eq!(dummy_answer(cb::SYSTEM_CHAT, &[]), None);
        assert_eq!(dummy_answer(cb::KEEP_ALIVE, &[1, 2]), None);
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
