//! Glue: read the maps, diff against the desired contents, apply the difference.

use ferrule_bpf_loader::{DatapathMaps, MapContents, MapOp};

use crate::Error;
use crate::diff::diff;

/// What a reconcile changed; `ops` is empty when the maps already matched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub ops: Vec<MapOp>,
}

impl Applied {
    pub fn updates(&self) -> usize {
        self.ops.iter().filter(|op| !op.is_delete()).count()
    }

    pub fn deletes(&self) -> usize {
        self.ops.iter().filter(|op| op.is_delete()).count()
    }
}

/// Brings `maps` to `desired` by diff: reads what they hold (pinned state after a restart is
/// adopted, never flushed), then updates changed or new entries and deletes stale ones.
pub fn reconcile(desired: &MapContents, maps: &mut impl DatapathMaps) -> Result<Applied, Error> {
    let current = maps.read().map_err(Error::ReadMaps)?;
    reconcile_from(&current, desired, maps)
}

/// As [`reconcile`], with the current contents already read (the caller read them to adopt
/// ids, and reading thousands of Maglev tables twice is not free).
pub fn reconcile_from(
    current: &MapContents,
    desired: &MapContents,
    maps: &mut impl DatapathMaps,
) -> Result<Applied, Error> {
    let ops = diff(current, desired);
    for (applied, op) in ops.iter().enumerate() {
        maps.apply(op.clone())
            .map_err(|source| Error::ApplyOp { applied, source })?;
    }
    Ok(Applied { ops })
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
