//! A set of field paths, as a tree (structured-merge-diff `fieldpath/set.go`): at each level
//! the path elements that are members, and the children that have members below them. A
//! node can be both a member and a parent (`"."` in FieldsV1).

use super::path::{Path, PathElement};
use std::collections::{BTreeMap, BTreeSet};

/// A set of field paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    pub(crate) members: BTreeSet<PathElement>,
    /// Never holds an empty set: operations prune them, because FieldsV1 would read an
    /// empty child back as a member.
    pub(crate) children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set of these paths.
    pub fn from_paths<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Self {
        let mut set = Self::new();
        for p in paths {
            set.insert(&p.0);
        }
        set
    }

    /// Adds `path` (not its parents). The empty path is ignored: nobody owns the whole object.
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether `path` is a member.
    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// Whether the set has no member at any depth.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// Paths in either set.
    pub fn union(&self, other: &Self) -> Self {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            if !merged.is_empty() {
                out.children.insert(pe.clone(), merged);
            }
        }
        out
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &Self) -> Self {
        let members = self.members.intersection(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, child)| {
                let theirs = other.children.get(pe)?;
                let both = child.intersection(theirs);
                (!both.is_empty()).then(|| (pe.clone(), both))
            })
            .collect();
        Self { members, children }
    }

    /// Paths in `self` but not in `other`. As upstream, removing a parent does not remove
    /// its children: only exact paths are subtracted.
    pub fn difference(&self, other: &Self) -> Self {
        let members = self.members.difference(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, child)| match other.children.get(pe) {
                None => Some((pe.clone(), child.clone())),
                Some(theirs) => {
                    let diff = child.difference(theirs);
                    (!diff.is_empty()).then(|| (pe.clone(), diff))
                }
            })
            .collect();
        Self { members, children }
    }

    /// The paths below `pe`, without the `pe` prefix.
    pub fn with_prefix(&self, pe: &PathElement) -> Self {
        self.children.get(pe).cloned().unwrap_or_default()
    }

    /// Every member path, depth first: a level's members before its children's (upstream's
    /// `Set.Iterate` order, which conflict messages follow).
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Path>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(Path(p));
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(paths: &[&[&str]]) -> FieldSet {
        let paths: Vec<Path> = paths.iter().map(|p| Path::fields(p)).collect();
        FieldSet::from_paths(&paths)
    }

    #[test]
    fn set_operations() {
        let a = set(&[&["spec", "replicas"], &["spec", "paused"], &["metadata"]]);
        let b = set(&[&["spec", "replicas"], &["status"]]);
        assert_eq!(a.intersection(&b), set(&[&["spec", "replicas"]]));
        assert_eq!(a.difference(&b), set(&[&["spec", "paused"], &["metadata"]]));
        assert_eq!(a.union(&b).paths().len(), 4);
        assert!(a.difference(&a).is_empty());
        assert!(
            a.difference(&a).children.is_empty(),
            "empty children are pruned"
        );
    }

    #[test]
    fn parent_and_child_are_distinct() {
        let parent_and_child = set(&[&["spec"], &["spec", "x"]]);
        let parent = set(&[&["spec"]]);
        assert_eq!(parent_and_child.difference(&parent), set(&[&["spec", "x"]]));
        assert!(parent_and_child.has(&Path::fields(&["spec"]).0));
        assert!(!parent.has(&Path::fields(&["spec", "x"]).0));
    }

    #[test]
    fn paths_iterate_members_before_children() {
        let s = set(&[&["b", "c"], &["a"], &["b"], &["z"]]);
        let rendered: Vec<String> = s.paths().iter().map(ToString::to_string).collect();
        assert_eq!(rendered, vec![".a", ".b", ".z", ".b.c"]);
    }
}
