//! Apply conflicts and how the API server words them (structured-merge-diff
//! `merge/conflict.go`; k8s.io/apimachinery `util/managedfields/internal/conflict.go`).

use super::managed::ManagerId;
use super::path::Path;
use std::collections::BTreeMap;
use std::fmt;

/// A field the applied configuration changes while another manager owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager.
    pub manager: ManagerId,
    /// The field.
    pub path: Path,
}

/// The conflicts of a refused apply, grouped by manager (managers in identifier order, paths
/// in field-set order).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conflicts(pub Vec<Conflict>);

/// `metav1.CauseTypeFieldManagerConflict`.
pub const CAUSE_FIELD_MANAGER_CONFLICT: &str = "FieldManagerConflict";

impl Conflicts {
    /// The Status message of the 409 answer, e.g. `Apply failed with 1 conflict: conflict
    /// with "kubectl-client-side-apply" using apps/v1: .spec.replicas`.
    pub fn message(&self) -> String {
        if let [single] = self.0.as_slice() {
            return format!(
                "Apply failed with 1 conflict: conflict with {}: {}",
                single.manager.describe(),
                single.path
            );
        }
        let mut by_manager: BTreeMap<String, (&ManagerId, Vec<&Path>)> = BTreeMap::new();
        for c in &self.0 {
            by_manager
                .entry(c.manager.identifier())
                .or_insert_with(|| (&c.manager, Vec::new()))
                .1
                .push(&c.path);
        }
        let mut lines = Vec::new();
        for (manager, paths) in by_manager.values() {
            lines.push(format!("conflicts with {}:", manager.describe()));
            lines.extend(paths.iter().map(|p| format!("- {p}")));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            self.0.len(),
            lines.join("\n")
        )
    }

    /// The `details.causes` of the 409 answer as (reason, message, field), e.g.
    /// `("FieldManagerConflict", "conflict with \"kubectl\" using v1", ".spec.replicas")`.
    pub fn causes(&self) -> Vec<(String, String, String)> {
        self.0
            .iter()
            .map(|c| {
                (
                    CAUSE_FIELD_MANAGER_CONFLICT.to_owned(),
                    format!("conflict with {}", c.manager.describe()),
                    c.path.to_string(),
                )
            })
            .collect()
    }
}

impl fmt::Display for Conflicts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Conflicts {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssa::managed::Operation;

    #[test]
    fn one_conflict() {
        let c = Conflicts(vec![Conflict {
            manager: ManagerId::new(
                "kubectl-client-side-apply",
                Operation::Update,
                "apps/v1",
                None,
            ),
            path: Path::fields(&["spec", "replicas"]),
        }]);
        assert_eq!(
            c.message(),
            r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#
        );
        assert_eq!(
            c.causes(),
            vec![(
                "FieldManagerConflict".to_owned(),
                r#"conflict with "kubectl-client-side-apply" using apps/v1"#.to_owned(),
                ".spec.replicas".to_owned()
            )]
        );
    }

    #[test]
    fn several_conflicts_group_by_sorted_manager() {
        let b = ManagerId::new("b", Operation::Apply, "v1", None);
        let a = ManagerId::new("a", Operation::Update, "v1", None);
        let c = Conflicts(vec![
            Conflict {
                manager: b.clone(),
                path: Path::fields(&["x"]),
            },
            Conflict {
                manager: a,
                path: Path::fields(&["y"]),
            },
            Conflict {
                manager: b,
                path: Path::fields(&["z"]),
            },
        ]);
        assert_eq!(
            c.message(),
            "Apply failed with 3 conflicts: conflicts with \"a\" using v1:\n- .y\nconflicts with \"b\":\n- .x\n- .z"
        );
    }
}
