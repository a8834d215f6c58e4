//! The registry data a 26.1 client needs during configuration, and the tags it refers to.
//!
//! The data comes from `data/registries-26.1.bin` (see `data/README.md`), compiled into the
//! binary so the backend has no file to find at run time. It holds the bodies of the
//! `registry_data` packets; they are sent as they are, never re-encoded.

use std::io::Cursor;

use azalea_buf::AzBuf;
use azalea_protocol::{
    common::tags::{TagMap, Tags},
    packets::config::ClientboundRegistryData,
};
use azalea_registry::{Registry, identifier::Identifier, tags};
use indexmap::IndexMap;
use meridian_wire::{ids::config::clientbound::REGISTRY_DATA, varint::write_varint};

static DATA: &[u8] = include_bytes!("../data/registries-26.1.bin");

/// The registries of 26.1, ready to send.
#[derive(Debug)]
pub struct Registries {
    /// Whole `registry_data` packets (id then body).
    packets: Vec<Box<[u8]>>,
    /// Entry names per registry id, in the order sent (which is what numeric ids refer to).
    entries: Vec<(String, Vec<String>)>,
}

/// Why the shipped data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry file truncated at byte {0}")]
    Truncated(usize),
    #[error("registry file entry at byte {at} is not a registry_data body: {reason}")]
    Undecodable { at: usize, reason: String },
    #[error("registry {registry} lacks {entry}")]
    Missing {
        registry: &'static str,
        entry: &'static str,
    },
}

impl Registries {
    /// Parses the shipped data. Decoding every body once with azalea also proves the file is
    /// well-formed network NBT before any client sees it.
    pub fn load() -> Result<Self, RegistryError> {
        Self::parse(DATA)
    }

    fn parse(mut data: &[u8]) -> Result<Self, RegistryError> {
        let mut packets = Vec::new();
        let mut entries = Vec::new();
        let mut at = 0;
        while !data.is_empty() {
            let (len, rest) = data
                .split_first_chunk::<4>()
                .ok_or(RegistryError::Truncated(at))?;
            let len = u32::from_be_bytes(*len) as usize;
            let body = rest.get(..len).ok_or(RegistryError::Truncated(at))?;
            let mut cursor = Cursor::new(body);
            let decoded = ClientboundRegistryData::azalea_read(&mut cursor).map_err(|e| {
                RegistryError::Undecodable {
                    at,
                    reason: e.to_string(),
                }
            })?;
            if cursor.position() as usize != body.len() {
                return Err(RegistryError::Undecodable {
                    at,
                    reason: "trailing bytes".into(),
                });
            }
            entries.push((
                decoded.registry_id.to_string(),
                decoded
                    .entries
                    .iter()
                    .map(|(name, _)| name.to_string())
                    .collect(),
            ));
            let mut packet = Vec::with_capacity(body.len() + 1);
            write_varint(&mut packet, REGISTRY_DATA);
            packet.extend_from_slice(body);
            packets.push(packet.into_boxed_slice());
            data = &rest[len..];
            at += 4 + len;
        }
        let registries = Self { packets, entries };
        registries.id_of("minecraft:worldgen/biome", "minecraft:plains")?;
        registries.id_of("minecraft:dimension_type", "minecraft:overworld")?;
        Ok(registries)
    }

    /// The `registry_data` packets, id included.
    pub fn packets(&self) -> impl Iterator<Item = &[u8]> {
        self.packets.iter().map(|p| &p[..])
    }

    /// The numeric id of `entry` in `registry`: its position in the data sent.
    pub fn id_of(&self, registry: &'static str, entry: &'static str) -> Result<u32, RegistryError> {
        self.entries
            .iter()
            .find(|(id, _)| id == registry)
            .and_then(|(_, names)| names.iter().position(|n| n == entry))
            .map(|i| i as u32)
            .ok_or(RegistryError::Missing { registry, entry })
    }

    fn ids_of(&self, registry: &'static str, names: &[&'static str]) -> Vec<i32> {
        // A name the data lacks is left out: a shorter tag is harmless, a missing tag is not.
        names
            .iter()
            .filter_map(|n| self.id_of(registry, n).ok())
            .map(|i| i as i32)
            .collect()
    }

    /// The `update_tags` content.
    ///
    /// A 26.1 client refuses registry data that names a tag it was not sent ("Failed to parse
    /// value ... from server"): enchantments name item, block, entity and enchantment tags,
    /// dimension types name block and timeline tags, dialogs name dialog tags. minecraft-data
    /// carries no tags, so this sends every tag the data refers to, with vanilla's members
    /// where azalea-registry knows them, plus the fluid tags the client's physics reads.
    pub fn tags(&self) -> TagMap {
        let mut map = IndexMap::new();
        let builtin = |list: &[(&str, &[u32])]| -> Vec<Tags> {
            list.iter()
                .map(|(name, ids)| Tags {
                    name: Identifier::new(*name),
                    elements: ids.iter().map(|&i| i as i32).collect(),
                })
                .collect()
        };

        use tags::{blocks as b, entities as e, fluids as f, items as i};
        map.insert(
            Identifier::new("minecraft:block"),
            builtin(&[
                ("minecraft:lightning_rods", &ids(&b::LIGHTNING_RODS)),
                ("minecraft:soul_speed_blocks", &ids(&b::SOUL_SPEED_BLOCKS)),
                (
                    "minecraft:blocks_wind_charge_explosions",
                    &ids(&b::BLOCKS_WIND_CHARGE_EXPLOSIONS),
                ),
                (
                    "minecraft:infiniburn_overworld",
                    &ids(&b::INFINIBURN_OVERWORLD),
                ),
                ("minecraft:infiniburn_nether", &ids(&b::INFINIBURN_NETHER)),
                ("minecraft:infiniburn_end", &ids(&b::INFINIBURN_END)),
                ("minecraft:climbable", &ids(&b::CLIMBABLE)),
                ("minecraft:dirt", &ids(&b::DIRT)),
                ("minecraft:ice", &ids(&b::ICE)),
            ]),
        );
        map.insert(
            Identifier::new("minecraft:item"),
            builtin(&[
                ("minecraft:enchantable/armor", &ids(&i::ENCHANTABLE_ARMOR)),
                ("minecraft:enchantable/bow", &ids(&i::ENCHANTABLE_BOW)),
                (
                    "minecraft:enchantable/chest_armor",
                    &ids(&i::ENCHANTABLE_CHEST_ARMOR),
                ),
                (
                    "minecraft:enchantable/crossbow",
                    &ids(&i::ENCHANTABLE_CROSSBOW),
                ),
                (
                    "minecraft:enchantable/durability",
                    &ids(&i::ENCHANTABLE_DURABILITY),
                ),
                (
                    "minecraft:enchantable/equippable",
                    &ids(&i::ENCHANTABLE_EQUIPPABLE),
                ),
                (
                    "minecraft:enchantable/fire_aspect",
                    &ids(&i::ENCHANTABLE_FIRE_ASPECT),
                ),
                (
                    "minecraft:enchantable/fishing",
                    &ids(&i::ENCHANTABLE_FISHING),
                ),
                (
                    "minecraft:enchantable/foot_armor",
                    &ids(&i::ENCHANTABLE_FOOT_ARMOR),
                ),
                (
                    "minecraft:enchantable/head_armor",
                    &ids(&i::ENCHANTABLE_HEAD_ARMOR),
                ),
                (
                    "minecraft:enchantable/leg_armor",
                    &ids(&i::ENCHANTABLE_LEG_ARMOR),
                ),
                ("minecraft:enchantable/lunge", &ids(&i::ENCHANTABLE_LUNGE)),
                ("minecraft:enchantable/mace", &ids(&i::ENCHANTABLE_MACE)),
                (
                    "minecraft:enchantable/melee_weapon",
                    &ids(&i::ENCHANTABLE_MELEE_WEAPON),
                ),
                ("minecraft:enchantable/mining", &ids(&i::ENCHANTABLE_MINING)),
                (
                    "minecraft:enchantable/mining_loot",
                    &ids(&i::ENCHANTABLE_MINING_LOOT),
                ),
                (
                    "minecraft:enchantable/sharp_weapon",
                    &ids(&i::ENCHANTABLE_SHARP_WEAPON),
                ),
                (
                    "minecraft:enchantable/sweeping",
                    &ids(&i::ENCHANTABLE_SWEEPING),
                ),
                (
                    "minecraft:enchantable/trident",
                    &ids(&i::ENCHANTABLE_TRIDENT),
                ),
                (
                    "minecraft:enchantable/vanishing",
                    &ids(&i::ENCHANTABLE_VANISHING),
                ),
                ("minecraft:enchantable/weapon", &ids(&i::ENCHANTABLE_WEAPON)),
            ]),
        );
        map.insert(
            Identifier::new("minecraft:entity_type"),
            builtin(&[
                ("minecraft:arrows", &ids(&e::ARROWS)),
                (
                    "minecraft:sensitive_to_bane_of_arthropods",
                    &ids(&e::SENSITIVE_TO_BANE_OF_ARTHROPODS),
                ),
                (
                    "minecraft:sensitive_to_impaling",
                    &ids(&e::SENSITIVE_TO_IMPALING),
                ),
                ("minecraft:sensitive_to_smite", &ids(&e::SENSITIVE_TO_SMITE)),
            ]),
        );
        map.insert(
            Identifier::new("minecraft:fluid"),
            builtin(&[
                ("minecraft:water", &ids(&f::WATER)),
                ("minecraft:lava", &ids(&f::LAVA)),
            ]),
        );

        // Data-driven registries: members are positions in the data sent above.
        let data = |registry: &'static str, list: &[(&str, &[&'static str])]| -> Vec<Tags> {
            list.iter()
                .map(|(name, members)| Tags {
                    name: Identifier::new(*name),
                    elements: self.ids_of(registry, members),
                })
                .collect()
        };
        const ENCHANTMENT: &str = "minecraft:enchantment";
        map.insert(
            Identifier::new(ENCHANTMENT),
            data(
                ENCHANTMENT,
                &[
                    (
                        "minecraft:exclusive_set/armor",
                        &[
                            "minecraft:protection",
                            "minecraft:blast_protection",
                            "minecraft:fire_protection",
                            "minecraft:projectile_protection",
                        ],
                    ),
                    (
                        "minecraft:exclusive_set/boots",
                        &["minecraft:frost_walker", "minecraft:depth_strider"],
                    ),
                    (
                        "minecraft:exclusive_set/bow",
                        &["minecraft:infinity", "minecraft:mending"],
                    ),
                    (
                        "minecraft:exclusive_set/crossbow",
                        &["minecraft:multishot", "minecraft:piercing"],
                    ),
                    (
                        "minecraft:exclusive_set/damage",
                        &[
                            "minecraft:sharpness",
                            "minecraft:smite",
                            "minecraft:bane_of_arthropods",
                            "minecraft:impaling",
                            "minecraft:density",
                            "minecraft:breach",
                        ],
                    ),
                    (
                        "minecraft:exclusive_set/mining",
                        &["minecraft:fortune", "minecraft:silk_touch"],
                    ),
                    (
                        "minecraft:exclusive_set/riptide",
                        &["minecraft:loyalty", "minecraft:channeling"],
                    ),
                ],
            ),
        );
        const TIMELINE: &str = "minecraft:timeline";
        map.insert(
            Identifier::new(TIMELINE),
            data(
                TIMELINE,
                &[
                    (
                        "minecraft:in_overworld",
                        &[
                            "minecraft:day",
                            "minecraft:moon",
                            "minecraft:villager_schedule",
                            "minecraft:early_game",
                        ],
                    ),
                    ("minecraft:in_nether", &[]),
                    ("minecraft:in_end", &[]),
                ],
            ),
        );
        const DIALOG: &str = "minecraft:dialog";
        map.insert(
            Identifier::new(DIALOG),
            data(
                DIALOG,
                &[
                    ("minecraft:pause_screen_additions", &[]),
                    ("minecraft:quick_actions", &[]),
                ],
            ),
        );
        TagMap(map)
    }
}

fn ids<R: Registry>(tag: &[R]) -> Vec<u32> {
    tag.iter().map(Registry::to_u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `#namespace:path` string in the registry data: NBT strings are a big-endian u16
    /// length then the bytes, so a `#` preceded by a plausible length starts one.
    fn referenced_tags(registries: &Registries) -> Vec<String> {
        let mut found = Vec::new();
        for packet in registries.packets() {
            for i in 2..packet.len() {
                if packet[i] != b'#' {
                    continue;
                }
                let len = usize::from(u16::from_be_bytes([packet[i - 2], packet[i - 1]]));
                let Some(bytes) = packet.get(i + 1..i + len) else {
                    continue;
                };
                let Ok(text) = std::str::from_utf8(bytes) else {
                    continue;
                };
                let valid =
                    |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_:/.-".contains(c);
                if text.contains(':') && text.chars().all(valid) {
                    found.push(text.to_owned());
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }

    #[test]
    fn shipped_data_loads_with_plains_and_overworld() {
        let registries = Registries::load().unwrap();
        assert_eq!(registries.packets().count(), 28);
        assert_eq!(
            registries
                .id_of("minecraft:dimension_type", "minecraft:overworld")
                .unwrap(),
            0
        );
        assert!(
            registries
                .id_of("minecraft:worldgen/biome", "minecraft:plains")
                .is_ok()
        );
    }

    #[test]
    fn every_tag_the_data_names_is_sent() {
        let registries = Registries::load().unwrap();
        let tags = registries.tags();
        let sent: Vec<String> = tags
            .values()
            .flatten()
            .map(|t| t.name.to_string())
            .collect();
        let referenced = referenced_tags(&registries);
        assert!(referenced.len() > 30, "scan found only {referenced:?}");
        for tag in referenced {
            assert!(
                sent.contains(&tag),
                "registry data names #{tag}, which update_tags lacks"
            );
        }
        let enchantments = &tags[&Identifier::new("minecraft:enchantment")];
        assert!(enchantments.iter().all(|t| !t.elements.is_empty()));
        let overworld = &tags[&Identifier::new("minecraft:timeline")][0];
        assert_eq!(overworld.elements.len(), 4);
    }
}
