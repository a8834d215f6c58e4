//! Zones as written in the config file.
//!
//! ```toml
//! [[zones]]
//! id = "west"
//! owner = "west"
//! dimension = "minecraft:overworld"   # optional, default overworld; "the_nether" means minecraft:the_nether
//! max_chunk_x = 0                     # exclusive; omitted sides are unbounded
//!
//! [[zones]]
//! id = "east"
//! owner = "east"
//! min_block_x = 0                     # block form: must be a multiple of 16
//! ```
//!
//! Each side is `min_chunk_x` / `max_chunk_x` / `min_chunk_z` / `max_chunk_z` (chunk
//! coordinates, `min` inclusive, `max` exclusive) or the same with `block` in blocks; giving
//! one side both ways is an error.

use serde::{Deserialize, Serialize};

use crate::error::ZoneError;
use crate::geometry::{CHUNK_SIZE, ChunkRect, Dimension, ZoneId};
use crate::map::{Zone, ZoneMap};

/// Epoch a zone starts with when loaded from config.
pub const INITIAL_EPOCH: u64 = 1;

/// One `[[zones]]` entry of the config.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    /// Unique zone name.
    pub id: String,
    /// Backend that owns the zone at start-up.
    pub owner: String,
    /// Dimension; the overworld when omitted, `minecraft:` when no namespace is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    /// West side in chunks (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_chunk_x: Option<i32>,
    /// East side in chunks (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chunk_x: Option<i32>,
    /// North side in chunks (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_chunk_z: Option<i32>,
    /// South side in chunks (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chunk_z: Option<i32>,
    /// West side in blocks (inclusive, multiple of 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_block_x: Option<i64>,
    /// East side in blocks (exclusive, multiple of 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_block_x: Option<i64>,
    /// North side in blocks (inclusive, multiple of 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_block_z: Option<i64>,
    /// South side in blocks (exclusive, multiple of 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_block_z: Option<i64>,
}

impl ZoneSpec {
    /// The zone this spec describes, at [`INITIAL_EPOCH`].
    ///
    /// Checks the spec's own fields (bound forms, alignment); emptiness, overlaps and
    /// uniqueness are checked by [`ZoneMap::new`].
    pub fn to_zone(&self) -> Result<Zone, ZoneError> {
        let id = ZoneId::from(self.id.as_str());
        let side = |chunk: Option<i32>,
                    block: Option<i64>,
                    chunk_field: &'static str,
                    block_field: &'static str|
         -> Result<Option<i32>, ZoneError> {
            match (chunk, block) {
                (Some(_), Some(_)) => Err(ZoneError::ConflictingBound {
                    zone: id.clone(),
                    chunk_field,
                    block_field,
                }),
                (chunk, None) => Ok(chunk),
                (None, Some(value)) => {
                    if value.rem_euclid(i64::from(CHUNK_SIZE)) != 0 {
                        return Err(ZoneError::UnalignedBlock {
                            zone: id.clone(),
                            field: block_field,
                            value,
                        });
                    }
                    i32::try_from(value.div_euclid(i64::from(CHUNK_SIZE)))
                        .map(Some)
                        .map_err(|_| ZoneError::BlockOutOfRange {
                            zone: id.clone(),
                            field: block_field,
                            value,
                        })
                }
            }
        };
        let area = ChunkRect::new(
            side(
                self.min_chunk_x,
                self.min_block_x,
                "min_chunk_x",
                "min_block_x",
            )?,
            side(
                self.max_chunk_x,
                self.max_block_x,
                "max_chunk_x",
                "max_block_x",
            )?,
            side(
                self.min_chunk_z,
                self.min_block_z,
                "min_chunk_z",
                "min_block_z",
            )?,
            side(
                self.max_chunk_z,
                self.max_block_z,
                "max_chunk_z",
                "max_block_z",
            )?,
        );
        Ok(Zone {
            id: id.clone(),
            owner: self.owner.as_str().into(),
            epoch: INITIAL_EPOCH,
            dimension: self.dimension(),
            area,
        })
    }

    /// The spec's dimension, defaulted and namespaced the way Minecraft reads identifiers.
    pub fn dimension(&self) -> Dimension {
        match self.dimension.as_deref() {
            None => Dimension::overworld(),
            Some(d) if d.is_empty() || d.contains(':') => Dimension::from(d),
            Some(d) => Dimension::from(format!("minecraft:{d}")),
        }
    }
}

impl ZoneMap {
    /// Builds a map from config entries, every zone at [`INITIAL_EPOCH`].
    pub fn from_specs(specs: &[ZoneSpec]) -> Result<Self, ZoneError> {
        let zones = specs
            .iter()
            .map(ZoneSpec::to_zone)
            .collect::<Result<Vec<_>, _>>()?;
        ZoneMap::new(zones)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::ChunkPos;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        zones: Vec<ZoneSpec>,
    }

    fn parse(text: &str) -> Result<Vec<ZoneSpec>, toml::de::Error> {
        toml::from_str::<File>(text).map(|f| f.zones)
    }

    fn spec(id: &str) -> ZoneSpec {
        ZoneSpec {
            id: id.into(),
            owner: "s".into(),
            ..ZoneSpec::default()
        }
    }

    #[test]
    fn parses_the_documented_form() {
        let specs = parse(
            r#"
            [[zones]]
            id = "west"
            owner = "west"
            dimension = "minecraft:overworld"
            max_chunk_x = 0

            [[zones]]
            id = "east"
            owner = "east"
            min_block_x = 0

            [[zones]]
            id = "hell"
            owner = "east"
            dimension = "the_nether"
            min_block_z = -160
            max_chunk_z = 10
            "#,
        )
        .unwrap();
        let map = ZoneMap::from_specs(&specs).unwrap();
        assert_eq!(map.len(), 3);
        let west = map.zone("west").unwrap();
        assert_eq!(west.area, ChunkRect::ALL.with_max_x(0));
        assert_eq!(west.epoch, INITIAL_EPOCH);
        assert_eq!(map.zone("east").unwrap().area, ChunkRect::ALL.with_min_x(0));
        let hell = map.zone("hell").unwrap();
        assert_eq!(hell.dimension.as_str(), "minecraft:the_nether");
        assert_eq!(hell.area, ChunkRect::ALL.with_min_z(-10).with_max_z(10));
        assert_eq!(
            map.zone_at(crate::OVERWORLD, -0.5, 0.0)
                .map(|z| z.id.as_str()),
            Some("west")
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = parse(
            r#"
            [[zones]]
            id = "west"
            owner = "west"
            max_x = 0
            "#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("max_x"), "{err}");
        assert!(
            parse("[[zones]]\nowner = \"a\"\n").is_err(),
            "id is required"
        );
        assert!(parse("[[zones]]\nid = \"a\"\nowner = \"a\"\nmax_chunk_x = 3000000000\n").is_err());
    }

    #[test]
    fn block_bounds_must_be_chunk_borders() {
        let mut s = spec("z");
        s.max_block_x = Some(-8);
        assert_eq!(
            s.to_zone().unwrap_err(),
            ZoneError::UnalignedBlock {
                zone: "z".into(),
                field: "max_block_x",
                value: -8
            }
        );
        s.max_block_x = Some(-32);
        assert_eq!(s.to_zone().unwrap().area, ChunkRect::ALL.with_max_x(-2));
        s.min_block_z = Some(i64::MAX);
        assert!(matches!(s.to_zone(), Err(ZoneError::UnalignedBlock { .. })));
        s.min_block_z = Some(i64::MIN);
        assert!(matches!(
            s.to_zone(),
            Err(ZoneError::BlockOutOfRange {
                field: "min_block_z",
                ..
            })
        ));
        s.min_block_z = None;
        s.max_chunk_x = Some(-2);
        let err = s.to_zone().unwrap_err();
        assert_eq!(
            err.to_string(),
            "zone `z`: give either max_chunk_x or max_block_x, not both"
        );
    }

    #[test]
    fn inverted_bounds_are_an_error_not_a_panic() {
        let mut s = spec("flip");
        s.min_chunk_x = Some(5);
        s.max_chunk_x = Some(-5);
        let err = ZoneMap::from_specs(&[s]).unwrap_err();
        assert!(matches!(err, ZoneError::EmptyArea { ref zone, .. } if zone == "flip"));
        assert_eq!(
            err.to_string(),
            "zone `flip` covers no chunk: chunks x [5, -5), z [-inf, +inf)"
        );
    }

    #[test]
    fn spec_errors_name_the_zone() {
        let mut a = spec("a");
        a.max_chunk_x = Some(1);
        let b = spec("b");
        let err = ZoneMap::from_specs(&[a, b]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "zones `a` and `b` overlap in minecraft:overworld"
        );
        let err = ZoneMap::from_specs(&[spec("")]).unwrap_err();
        assert_eq!(err.to_string(), "zone ``: id must not be empty");
    }

    #[test]
    fn serializes_back_to_the_same_spec() {
        let mut s = spec("r");
        s.min_block_x = Some(-16);
        s.max_chunk_z = Some(4);
        let text = toml::to_string(&s).unwrap();
        assert_eq!(toml::from_str::<ZoneSpec>(&text).unwrap(), s);
        let zone = s.to_zone().unwrap();
        assert!(zone.area.contains(ChunkPos::new(-1, 3)));
        assert!(!zone.area.contains(ChunkPos::new(-2, 3)));
    }
}
