//! The configuration phase: known packs, registries, tags, features.
//!
//! Full registry data is sent whatever packs the client claims to know: it costs ~100 KB
//! once per join and means the backend never depends on the client's built-in data matching
//! ours.

use azalea_buf::UnsizedByteArray;
use azalea_protocol::packets::config::{
    ServerboundConfigPacket, c_custom_payload::ClientboundCustomPayload,
    c_finish_configuration::ClientboundFinishConfiguration,
    c_select_known_packs::ClientboundSelectKnownPacks,
    c_update_enabled_features::ClientboundUpdateEnabledFeatures,
    c_update_tags::ClientboundUpdateTags, s_select_known_packs::KnownPack,
};
use azalea_registry::identifier::Identifier;
use meridian_wire::{
    VERSION_NAME,
    conn::{ServerConfig, ServerGame, decode_packet},
    ids::config::serverbound as ids,
    varint::write_varint,
};

use crate::server::{GameData, SessionError};

/// What the backend calls itself in the client's debug screen.
pub const BRAND: &str = "meridian-reference";

pub(crate) async fn configure(
    mut conn: ServerConfig,
    data: &GameData,
) -> Result<ServerGame, SessionError> {
    let mut brand = Vec::new();
    write_varint(&mut brand, BRAND.len() as i32);
    brand.extend_from_slice(BRAND.as_bytes());
    conn.feed(ClientboundCustomPayload {
        identifier: Identifier::new("minecraft:brand"),
        data: UnsizedByteArray::from(brand),
    })
    .await?;
    conn.write(ClientboundSelectKnownPacks {
        known_packs: vec![KnownPack {
            namespace: "minecraft".into(),
            id: "core".into(),
            version: VERSION_NAME.into(),
        }],
    })
    .await?;
    wait_for(&mut conn, ids::SELECT_KNOWN_PACKS).await?;

    for packet in data.registries.packets() {
        conn.feed_raw(packet).await?;
    }
    conn.feed(ClientboundUpdateTags {
        tags: data.tags.clone(),
    })
    .await?;
    conn.feed(ClientboundUpdateEnabledFeatures {
        features: vec![Identifier::new("minecraft:vanilla")],
    })
    .await?;
    conn.write(ClientboundFinishConfiguration).await?;
    wait_for(&mut conn, ids::FINISH_CONFIGURATION).await?;
    Ok(conn.game())
}

/// Reads until the packet with id `wanted`, skipping what a client may send meanwhile
/// (client information, brand, resource-pack answers…).
async fn wait_for(conn: &mut ServerConfig, wanted: i32) -> Result<(), SessionError> {
    loop {
        let frame = conn.read_raw().await?;
        let id = frame.id();
        match id {
            _ if id == wanted => {
                // Decoded only to refuse a malformed packet.
                decode_packet::<ServerboundConfigPacket>(
                    &frame
                        .into_packet()
                        .map_err(meridian_wire::ConnError::from)?,
                )?;
                return Ok(());
            }
            ids::CLIENT_INFORMATION
            | ids::COOKIE_RESPONSE
            | ids::CUSTOM_PAYLOAD
            | ids::KEEP_ALIVE
            | ids::PONG
            | ids::RESOURCE_PACK
            | ids::CUSTOM_CLICK_ACTION
            | ids::ACCEPT_CODE_OF_CONDUCT => {}
            _ => {
                return Err(SessionError::Protocol(format!(
                    "unexpected configuration packet {id:#x}"
                )));
            }
        }
    }
}
