//! What the typed walkers (field sets, compare, merge, remove) share: how a JSON value at a
//! place is treated given the type information, how list items get their path elements, and
//! structured-merge-diff's validation errors.

use super::path::PathElement;
use crate::typeinfo::{ListType, MapType, Step, TypeInfo};
use serde_json::{Map, Value};
use std::fmt;

/// How a list's items are identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Items {
    /// By value (a set of scalars).
    Set,
    /// By these key fields.
    Keys(Vec<String>),
}

/// How the value at a place is walked.
pub(crate) enum Shape<'a> {
    /// Owned, compared and replaced as a whole: scalars, null, atomic maps and lists.
    Leaf,
    /// A granular map.
    Map(&'a Map<String, Value>),
    /// A granular (associative) list.
    List(&'a [Value], Items),
}

impl Shape<'_> {
    /// Whether two shapes are of the same kind (maps, lists or leaves).
    pub(crate) fn same_kind(&self, other: &Shape<'_>) -> bool {
        matches!(
            (self, other),
            (Shape::Leaf, Shape::Leaf)
                | (Shape::Map(_), Shape::Map(_))
                | (Shape::List(..), Shape::List(..))
        )
    }

    /// Whether a container shape has no entries.
    pub(crate) fn is_empty_container(&self) -> bool {
        match self {
            Shape::Leaf => false,
            Shape::Map(m) => m.is_empty(),
            Shape::List(l, _) => l.is_empty(),
        }
    }
}

/// The shape of `v` at `steps`.
pub(crate) fn shape<'a>(v: &'a Value, steps: &[Step], types: &dyn TypeInfo) -> Shape<'a> {
    match v {
        Value::Object(m) => match types.map_type(steps) {
            MapType::Atomic => Shape::Leaf,
            MapType::Granular => Shape::Map(m),
        },
        Value::Array(l) => match types.list_type(steps) {
            ListType::Atomic => Shape::Leaf,
            ListType::Set => Shape::List(l, Items::Set),
            ListType::Map(keys) if keys.is_empty() => Shape::List(l, Items::Set),
            ListType::Map(keys) => Shape::List(l, Items::Keys(keys)),
        },
        _ => Shape::Leaf,
    }
}

/// The type-information step for field `name` of the object at `steps`.
pub(crate) fn field_step(steps: &[Step], name: &str, types: &dyn TypeInfo) -> Step {
    if types.is_declared_field(steps, name) {
        Step::Field(name.to_owned())
    } else {
        Step::Value
    }
}

/// `steps` followed by `step`.
pub(crate) fn child_steps(steps: &[Step], step: Step) -> Vec<Step> {
    let mut out = steps.to_vec();
    out.push(step);
    out
}

/// The path element of a list item (upstream's `listItemToPathElement`), with upstream's
/// error texts.
pub(crate) fn item_element(
    item: &Value,
    items: &Items,
    list_steps: &[Step],
    types: &dyn TypeInfo,
) -> Result<PathElement, String> {
    match items {
        Items::Set => match item {
            Value::Object(_) => {
                Err("associative list without keys has an element that's a map type".into())
            }
            Value::Array(_) => Err("not supported: associative list with lists as elements".into()),
            Value::Null => {
                Err("associative list without keys has an element that's an explicit null".into())
            }
            v => Ok(PathElement::Value(v.clone())),
        },
        Items::Keys(keys) => {
            let map = match item {
                Value::Null => {
                    return Err("associative list with keys may not have a null element".into());
                }
                Value::Object(m) => m,
                _ => return Err("associative list with keys may not have non-map elements".into()),
            };
            let mut fields = Vec::with_capacity(keys.len());
            for key in keys {
                match map
                    .get(key)
                    .cloned()
                    .or_else(|| types.key_default(list_steps, key))
                {
                    Some(v) => fields.push((key.clone(), v)),
                    None => {
                        return Err(format!(
                            "associative list with keys has an element that omits key field {} (and doesn't have default value)",
                            crate::gofmt::quote(key)
                        ));
                    }
                }
            }
            Ok(PathElement::key(fields))
        }
    }
}

/// One validation error: where (a rendered path) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeError {
    /// The rendered path of the place, e.g. `.spec.ports`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

/// An object that does not fit its type information (upstream's `ValidationErrors`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TypeErrors(pub Vec<TypeError>);

impl fmt::Display for TypeErrors {
    /// Upstream's rendering: one error as `path: message`, several as an indented list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = |e: &TypeError| {
            if e.path.is_empty() {
                e.message.clone()
            } else {
                format!("{}: {}", e.path, e.message)
            }
        };
        match self.0.as_slice() {
            [single] => write!(f, "{}", one(single)),
            all => {
                write!(f, "errors:")?;
                for e in all {
                    write!(f, "\n  {}", one(e))?;
                }
                Ok(())
            }
        }
    }
}

/// Checks that every associative-list item has a path element and, unless
/// `allow_duplicates`, that no two items share one (upstream's `TypedValue.Validate`).
pub(crate) fn validate(
    v: &Value,
    types: &dyn TypeInfo,
    allow_duplicates: bool,
) -> Result<(), TypeErrors> {
    let mut errors = Vec::new();
    validate_at(
        v,
        &mut Vec::new(),
        &mut String::new(),
        types,
        allow_duplicates,
        &mut errors,
    );
    if errors.is_empty() {
        Ok(())
    } else {
        Err(TypeErrors(errors))
    }
}

fn validate_at(
    v: &Value,
    steps: &mut Vec<Step>,
    rendered: &mut String,
    types: &dyn TypeInfo,
    allow_duplicates: bool,
    errors: &mut Vec<TypeError>,
) {
    match shape(v, steps, types) {
        Shape::Leaf => {}
        Shape::Map(m) => {
            for (k, child) in m {
                let len = rendered.len();
                rendered.push('.');
                rendered.push_str(k);
                steps.push(field_step(steps, k, types));
                validate_at(child, steps, rendered, types, allow_duplicates, errors);
                steps.pop();
                rendered.truncate(len);
            }
        }
        Shape::List(items, kind) => {
            let mut seen = std::collections::BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let pe = match item_element(item, &kind, steps, types) {
                    Ok(pe) => pe,
                    Err(e) => {
                        errors.push(TypeError {
                            path: rendered.clone(),
                            message: format!("element {i}: {e}"),
                        });
                        // Upstream stops at the first bad element of a list.
                        return;
                    }
                };
                if !seen.insert(pe.clone()) && !allow_duplicates {
                    errors.push(TypeError {
                        path: rendered.clone(),
                        message: format!("duplicate entries for key {pe}"),
                    });
                }
                let len = rendered.len();
                rendered.push_str(&pe.to_string());
                steps.push(Step::Item);
                validate_at(item, steps, rendered, types, allow_duplicates, errors);
                steps.pop();
                rendered.truncate(len);
            }
        }
    }
}
