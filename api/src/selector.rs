//! Label selectors: validated once into a [`Selector`], then evaluated against an object's
//! labels extended with Cilium's special keys ([`crate::names::selector_key`]).
//!
//! Semantics follow Kubernetes: requirements are ANDed, `NotIn` and `DoesNotExist` match
//! objects without the key, and an empty selector matches everything.

use crate::meta::{LabelSelector, LabelSelectorOperator};
use crate::names::selector_key;
use std::collections::{BTreeMap, BTreeSet};

/// Why a selector cannot be used; the message names the key and what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("label selector key {key:?} is invalid: {reason}")]
    InvalidKey { key: String, reason: String },
    #[error("label selector value {value:?} for key {key:?} is invalid: {reason}")]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
    },
    #[error(
        "label selector requirement on {key:?} uses operator {operator:?} and needs at least one value"
    )]
    MissingValues { key: String, operator: String },
    #[error(
        "label selector requirement on {key:?} uses operator {operator:?} and must not list values"
    )]
    UnexpectedValues { key: String, operator: String },
}

/// A validated label selector.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
    Exists(String),
    DoesNotExist(String),
}

/// Read access to the labels a selector is evaluated against.
pub trait Labels {
    fn label(&self, key: &str) -> Option<&str>;
}

impl Labels for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

/// An object's labels plus synthesised special keys; the special keys win, so an object
/// cannot impersonate another namespace by carrying such a label itself.
#[derive(Debug, Clone)]
pub struct ExtendedLabels<'a> {
    labels: Option<&'a BTreeMap<String, String>>,
    special: Vec<(&'static str, &'a str)>,
}

impl<'a> ExtendedLabels<'a> {
    /// A Service's labels with `io.kubernetes.service.namespace` and `.name`.
    pub fn service(
        namespace: &'a str,
        name: &'a str,
        labels: Option<&'a BTreeMap<String, String>>,
    ) -> Self {
        Self {
            labels,
            special: vec![
                (selector_key::SERVICE_NAMESPACE, namespace),
                (selector_key::SERVICE_NAME, name),
            ],
        }
    }

    /// A Pod's labels with `io.kubernetes.pod.namespace`.
    pub fn pod(namespace: &'a str, labels: Option<&'a BTreeMap<String, String>>) -> Self {
        Self {
            labels,
            special: vec![(selector_key::POD_NAMESPACE, namespace)],
        }
    }

    /// A CiliumPodIPPool's labels with `io.cilium.podippool.namespace` and `.name`.
    pub fn pod_ip_pool(
        namespace: &'a str,
        name: &'a str,
        labels: Option<&'a BTreeMap<String, String>>,
    ) -> Self {
        Self {
            labels,
            special: vec![
                (selector_key::POD_IP_POOL_NAMESPACE, namespace),
                (selector_key::POD_IP_POOL_NAME, name),
            ],
        }
    }

    /// Plain labels, no special keys (nodes, for instance).
    pub fn plain(labels: Option<&'a BTreeMap<String, String>>) -> Self {
        Self {
            labels,
            special: Vec::new(),
        }
    }
}

impl Labels for ExtendedLabels<'_> {
    fn label(&self, key: &str) -> Option<&str> {
        self.special
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .or_else(|| self.labels.and_then(|labels| labels.label(key)))
    }
}

impl LabelSelector {
    /// Validates the selector; every mistake is reported with the key it concerns.
    pub fn to_selector(&self) -> Result<Selector, SelectorError> {
        let mut requirements = Vec::new();
        for (key, value) in &self.match_labels {
            validate_key(key)?;
            validate_value(key, value)?;
            requirements.push(Requirement::In(
                key.clone(),
                BTreeSet::from([value.clone()]),
            ));
        }
        for expression in &self.match_expressions {
            let key = &expression.key;
            validate_key(key)?;
            let values: BTreeSet<String> = expression.values.iter().cloned().collect();
            for value in &values {
                validate_value(key, value)?;
            }
            let operator = expression.operator;
            let needs_values = matches!(
                operator,
                LabelSelectorOperator::In | LabelSelectorOperator::NotIn
            );
            let operator_name = || format!("{operator:?}");
            if needs_values && values.is_empty() {
                return Err(SelectorError::MissingValues {
                    key: key.clone(),
                    operator: operator_name(),
                });
            }
            if !needs_values && !values.is_empty() {
                return Err(SelectorError::UnexpectedValues {
                    key: key.clone(),
                    operator: operator_name(),
                });
            }
            requirements.push(match operator {
                LabelSelectorOperator::In => Requirement::In(key.clone(), values),
                LabelSelectorOperator::NotIn => Requirement::NotIn(key.clone(), values),
                LabelSelectorOperator::Exists => Requirement::Exists(key.clone()),
                LabelSelectorOperator::DoesNotExist => Requirement::DoesNotExist(key.clone()),
            });
        }
        Ok(Selector { requirements })
    }
}

impl Selector {
    /// Whether every requirement holds for `labels`.
    pub fn matches(&self, labels: &impl Labels) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::In(key, values) => labels.label(key).is_some_and(|v| values.contains(v)),
            Requirement::NotIn(key, values) => {
                labels.label(key).is_none_or(|v| !values.contains(v))
            }
            Requirement::Exists(key) => labels.label(key).is_some(),
            Requirement::DoesNotExist(key) => labels.label(key).is_none(),
        })
    }

    /// Whether the selector has no requirements and so matches every object.
    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }
}

const NAME_MAX: usize = 63;
const PREFIX_MAX: usize = 253;

/// A label key: an optional DNS-subdomain prefix and `/`, then a name.
fn validate_key(key: &str) -> Result<(), SelectorError> {
    let invalid = |reason: String| SelectorError::InvalidKey {
        key: key.to_owned(),
        reason,
    };
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() || prefix.len() > PREFIX_MAX {
            return Err(invalid(format!(
                "the prefix before '/' must be 1 to {PREFIX_MAX} characters"
            )));
        }
        let label_ok = |part: &str| {
            !part.is_empty()
                && part.len() <= NAME_MAX
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        };
        if !prefix.split('.').all(label_ok) {
            return Err(invalid(
                "the prefix must be a DNS subdomain: lowercase letters, digits, '-' and '.'".into(),
            ));
        }
    }
    if name.is_empty() {
        return Err(invalid("the name part must not be empty".into()));
    }
    check_name(name).map_err(invalid)
}

/// A label value: empty, or a name.
fn validate_value(key: &str, value: &str) -> Result<(), SelectorError> {
    if value.is_empty() {
        return Ok(());
    }
    check_name(value).map_err(|reason| SelectorError::InvalidValue {
        key: key.to_owned(),
        value: value.to_owned(),
        reason,
    })
}

fn check_name(name: &str) -> Result<(), String> {
    if name.len() > NAME_MAX {
        return Err(format!("must be at most {NAME_MAX} characters"));
    }
    let alphanumeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alphanumeric(name.chars().next()) || !alphanumeric(name.chars().last()) {
        return Err("must begin and end with a letter or digit".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("may contain only letters, digits, '-', '_' and '.'".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::LabelSelectorRequirement;
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    fn expression(
        key: &str,
        operator: LabelSelectorOperator,
        values: &[&str],
    ) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator,
            values: values.iter().map(|v| (*v).into()).collect(),
        }
    }

    fn selector(match_labels: &[(&str, &str)], exprs: Vec<LabelSelectorRequirement>) -> Selector {
        LabelSelector {
            match_labels: labels(match_labels),
            match_expressions: exprs,
        }
        .to_selector()
        .expect("a valid selector")
    }

    #[test]
    fn service_special_keys_select_by_namespace_and_name() {
        let sel = selector(
            &[(selector_key::SERVICE_NAMESPACE, "tenant-a")],
            vec![expression(
                selector_key::SERVICE_NAME,
                LabelSelectorOperator::In,
                &["web", "api"],
            )],
        );
        let own = labels(&[("app", "web")]);
        assert!(sel.matches(&ExtendedLabels::service("tenant-a", "web", Some(&own))));
        assert!(!sel.matches(&ExtendedLabels::service("tenant-b", "web", Some(&own))));
        assert!(!sel.matches(&ExtendedLabels::service("tenant-a", "db", None)));
    }

    #[test]
    fn a_label_cannot_impersonate_a_special_key() {
        let sel = selector(&[(selector_key::SERVICE_NAMESPACE, "prod")], vec![]);
        let forged = labels(&[(selector_key::SERVICE_NAMESPACE, "prod")]);
        assert!(!sel.matches(&ExtendedLabels::service("dev", "x", Some(&forged))));
    }

    #[test]
    fn absent_keys_satisfy_not_in_and_does_not_exist() {
        let sel = selector(
            &[],
            vec![
                expression("tier", LabelSelectorOperator::NotIn, &["db"]),
                expression("legacy", LabelSelectorOperator::DoesNotExist, &[]),
            ],
        );
        assert!(sel.matches(&labels(&[])));
        assert!(sel.matches(&labels(&[("tier", "web")])));
        assert!(!sel.matches(&labels(&[("tier", "db")])));
        assert!(!sel.matches(&labels(&[("legacy", "")])));
    }

    #[test]
    fn empty_selector_matches_everything() {
        let sel = LabelSelector::default()
            .to_selector()
            .expect("empty is valid");
        assert!(sel.is_everything());
        assert!(sel.matches(&labels(&[("any", "thing")])));
    }

    #[test]
    fn mistakes_are_errors_that_name_the_key() {
        let cases = [
            (
                expression("app", LabelSelectorOperator::In, &[]),
                "needs at least one value",
            ),
            (
                expression("app", LabelSelectorOperator::Exists, &["x"]),
                "must not list values",
            ),
            (
                expression("bad key", LabelSelectorOperator::Exists, &[]),
                "only letters",
            ),
            (
                expression("Example.COM/app", LabelSelectorOperator::Exists, &[]),
                "DNS subdomain",
            ),
            (
                expression("app", LabelSelectorOperator::In, &["-x"]),
                "begin and end",
            ),
            (
                expression("/app", LabelSelectorOperator::Exists, &[]),
                "prefix",
            ),
        ];
        for (expr, expected) in cases {
            let key = expr.key.clone();
            let err = LabelSelector {
                match_expressions: vec![expr],
                ..Default::default()
            }
            .to_selector()
            .expect_err("an invalid selector is rejected");
            let message = err.to_string();
            assert!(
                message.contains(expected),
                "{message:?} should say {expected:?}"
            );
            assert!(
                message.contains(&format!("{key:?}")),
                "{message:?} should name {key:?}"
            );
        }
        let long = "a".repeat(64);
        assert!(
            LabelSelector {
                match_labels: labels(&[("app", long.as_str())]),
                ..Default::default()
            }
            .to_selector()
            .is_err()
        );
    }

    proptest! {
        #[test]
        fn match_labels_equals_in_with_one_value(
            key in "[a-z]{1,5}",
            value in "[a-z0-9]{1,5}",
            actual in proptest::option::of("[a-z0-9]{1,5}"),
        ) {
            let by_labels = selector(&[(key.as_str(), value.as_str())], vec![]);
            let by_expr = selector(&[], vec![expression(&key, LabelSelectorOperator::In, &[value.as_str()])]);
            let object: BTreeMap<String, String> = actual.iter().map(|v| (key.clone(), v.clone())).collect();
            prop_assert_eq!(by_labels.matches(&object), by_expr.matches(&object));
        }

        #[test]
        fn not_in_is_the_complement_of_in(
            values in proptest::collection::vec("[a-z]{1,3}", 1..4),
            actual in proptest::option::of("[a-z]{1,3}"),
        ) {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let is_in = selector(&[], vec![expression("k", LabelSelectorOperator::In, &refs)]);
            let not_in = selector(&[], vec![expression("k", LabelSelectorOperator::NotIn, &refs)]);
            let object: BTreeMap<String, String> = actual.iter().map(|v| ("k".to_owned(), v.clone())).collect();
            prop_assert_ne!(is_in.matches(&object), not_in.matches(&object));
        }
    }
}
