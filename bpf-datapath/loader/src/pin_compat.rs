//! Checking pinned maps against the maps the embedded objects declare, before reusing them.
//!
//! aya reuses whatever is pinned under a map's path without looking at it. After an upgrade
//! that changed a map (a larger conntrack value, more services), the new programs would run
//! against the old layout: with a smaller value the verifier rejects the program (a crash loop
//! with a verifier log nobody expects), with an equal size the programs read garbage.
//!
//! So every pin is compared first on what the kernel fixes at creation: type, key size, value
//! size and max entries. An incompatible pin is *unpinned* and the load creates a fresh map.
//! The old map lives on for as long as the old programs (still attached) reference it, so the
//! datapath keeps forwarding until the attach step swaps in the new programs; state in that
//! map (e.g. conntrack) does not carry over, which is the price of a layout change, and the
//! caller logs each replacement so the operator sees why flows were reset.

use std::collections::BTreeMap;
use std::path::Path;

use aya::maps::{MapData, MapType};
use aya_obj::generated::bpf_map_type;

use crate::datapath::PinLayout;
use crate::error::LoadError;

/// What the kernel fixes when a map is created; a pin differing in any of these is unusable.
#[derive(Debug, Clone, PartialEq)]
pub struct MapShape {
    pub map_type: MapType,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

impl std::fmt::Display for MapShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} key {} B, value {} B, {} entries",
            self.map_type, self.key_size, self.value_size, self.max_entries
        )
    }
}

/// A pin that did not match and was removed so the load creates the map anew.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplacedPin {
    pub map: String,
    pub pinned: MapShape,
    pub expected: MapShape,
}

impl std::fmt::Display for ReplacedPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pinned map {} was {}, the programs need {}: replaced (its entries are lost)",
            self.map, self.pinned, self.expected
        )
    }
}

fn load_err(object: &'static str, reason: impl Into<String>) -> LoadError {
    LoadError::Load {
        object,
        reason: reason.into(),
    }
}

/// The shapes of the named maps as the object `bytes` declares them.
pub fn declared_shapes(
    object: &'static str,
    bytes: &[u8],
    maps: &[&str],
) -> Result<BTreeMap<String, MapShape>, LoadError> {
    let parsed = aya_obj::Object::parse(bytes).map_err(|e| load_err(object, e.to_string()))?;
    let mut out = BTreeMap::new();
    for name in maps {
        let map = parsed
            .maps
            .get(*name)
            .ok_or_else(|| load_err(object, format!("the object declares no map {name}")))?;
        let map_type = bpf_map_type::try_from(map.map_type())
            .map_err(|_| {
                load_err(
                    object,
                    format!("map {name}: unknown type {}", map.map_type()),
                )
            })
            .and_then(|t| {
                MapType::try_from(t).map_err(|e| load_err(object, format!("map {name}: {e}")))
            })?;
        out.insert(
            (*name).to_owned(),
            MapShape {
                map_type,
                key_size: map.key_size(),
                value_size: map.value_size(),
                max_entries: map.max_entries(),
            },
        );
    }
    Ok(out)
}

/// The shape of the map pinned at `path`, or None when nothing is pinned there.
pub fn pinned_shape(path: &Path) -> Result<Option<MapShape>, LoadError> {
    if !path.exists() {
        return Ok(None);
    }
    let bpffs_err = |reason: String| LoadError::Bpffs {
        path: path.to_path_buf(),
        reason,
    };
    let data = MapData::from_pin(path).map_err(|e| bpffs_err(format!("opening the pin: {e}")))?;
    let info = data
        .info()
        .map_err(|e| bpffs_err(format!("reading the map info: {e}")))?;
    let map_type = info
        .map_type()
        .map_err(|e| bpffs_err(format!("unknown map type: {e}")))?;
    Ok(Some(MapShape {
        map_type,
        key_size: info.key_size(),
        value_size: info.value_size(),
        max_entries: info.max_entries(),
    }))
}

/// Unpins every pinned map whose shape differs from `expected`, so the next load creates it
/// fresh; returns what was replaced. Pins that match, and maps not pinned yet, are left alone.
pub fn replace_incompatible(
    pins: &PinLayout,
    expected: &BTreeMap<String, MapShape>,
) -> Result<Vec<ReplacedPin>, LoadError> {
    let mut replaced = Vec::new();
    for (name, shape) in expected {
        let path = pins.map(name);
        let Some(pinned) = pinned_shape(&path)? else {
            continue;
        };
        if &pinned == shape {
            continue;
        }
        std::fs::remove_file(&path).map_err(|e| LoadError::Bpffs {
            path: path.clone(),
            reason: format!("removing the incompatible pin: {e}"),
        })?;
        replaced.push(ReplacedPin {
            map: name.clone(),
            pinned,
            expected: shape.clone(),
        });
    }
    Ok(replaced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datapath::{L2_MAPS, LB_MAPS};
    use ferrule_bpf_common::{
        L2ResponderKey, LB_MAX_SERVICES, LbCtKey, LbCtValue, LbService, map_names,
    };
    use std::mem::size_of;

    #[test]
    fn declared_shapes_are_the_abi_structs() {
        let lb = declared_shapes("lb", ferrule_bpf_programs::LB, LB_MAPS).expect("lb parses");
        let ct = &lb[map_names::LB_CONNTRACK];
        assert_eq!(ct.map_type, MapType::LruHash);
        assert_eq!(ct.key_size as usize, size_of::<LbCtKey>());
        assert_eq!(ct.value_size as usize, size_of::<LbCtValue>());
        let svc = &lb[map_names::LB_FRONTENDS];
        assert_eq!(svc.value_size as usize, size_of::<LbService>());
        assert_eq!(svc.max_entries, LB_MAX_SERVICES);
        let l2 = declared_shapes("l2_responder", ferrule_bpf_programs::L2_RESPONDER, L2_MAPS)
            .expect("l2 parses");
        assert_eq!(
            l2[map_names::L2_RESPONDER].key_size as usize,
            size_of::<L2ResponderKey>()
        );
        assert_eq!(
            l2[map_names::PROG_COUNTERS],
            lb[map_names::PROG_COUNTERS],
            "one pinned map serves both objects"
        );
    }

    #[test]
    fn a_map_the_object_lacks_is_an_error_naming_it() {
        let err = declared_shapes("lb", ferrule_bpf_programs::LB, &["no_such_map"])
            .expect_err("missing map");
        assert!(err.to_string().contains("no_such_map"), "{err}");
    }
}
