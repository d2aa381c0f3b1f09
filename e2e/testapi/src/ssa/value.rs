//! Value semantics of structured-merge-diff (`value/value.go`): its total order (used to sort
//! set items and keys in field sets), its equality (an int equals the same float) and its
//! human-readable rendering (used in paths of conflict messages).

use crate::gofmt;
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;

/// A JSON number the way Go decodes it for structured-merge-diff: int64 when it fits, else
/// float64.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

fn num(n: &Number) -> Num {
    match n.as_i64() {
        Some(i) => Num::Int(i),
        None => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

/// Rank of a value's type in structured-merge-diff's order: float, int, string, bool, list,
/// map, null.
fn rank(v: &Value) -> u8 {
    match v {
        Value::Number(n) => match num(n) {
            Num::Float(_) => 0,
            Num::Int(_) => 1,
        },
        Value::String(_) => 2,
        Value::Bool(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
        Value::Null => 6,
    }
}

fn float_cmp(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// structured-merge-diff's `value.Compare`: a total order over values of any type, where
/// floats and ints compare numerically.
pub(crate) fn compare(a: &Value, b: &Value) -> Ordering {
    if let (Value::Number(x), Value::Number(y)) = (a, b) {
        #[allow(clippy::cast_precision_loss)] // Go converts int64 to float64 the same way
        return match (num(x), num(y)) {
            (Num::Int(i), Num::Int(j)) => i.cmp(&j),
            (Num::Int(i), Num::Float(g)) => float_cmp(i as f64, g),
            (Num::Float(f), Num::Int(j)) => float_cmp(f, j as f64),
            (Num::Float(f), Num::Float(g)) => float_cmp(f, g),
        };
    }
    match rank(a).cmp(&rank(b)) {
        Ordering::Equal => {}
        other => return other,
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => compare_lists(x, y),
        (Value::Object(x), Value::Object(y)) => compare_maps(x, y),
        _ => Ordering::Equal,
    }
}

fn compare_lists(x: &[Value], y: &[Value]) -> Ordering {
    for (a, b) in x.iter().zip(y) {
        match compare(a, b) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    x.len().cmp(&y.len())
}

/// Maps compare entry by entry in key order, then by size.
fn compare_maps(x: &Map<String, Value>, y: &Map<String, Value>) -> Ordering {
    let mut xs: Vec<(&String, &Value)> = x.iter().collect();
    let mut ys: Vec<(&String, &Value)> = y.iter().collect();
    xs.sort_by(|a, b| a.0.cmp(b.0));
    ys.sort_by(|a, b| a.0.cmp(b.0));
    for ((ka, va), (kb, vb)) in xs.iter().zip(&ys) {
        match ka.cmp(kb).then_with(|| compare(va, vb)) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    xs.len().cmp(&ys.len())
}

/// structured-merge-diff's `value.Equals`: deep equality where `1` equals `1.0`.
pub(crate) fn equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => compare(a, b) == Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equals(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| equals(v, w)))
        }
        _ => a == b,
    }
}

/// structured-merge-diff's `value.ToString`: how values appear inside rendered paths
/// (`[port=80,protocol="TCP"]`, `[="a"]`).
pub(crate) fn to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Number(n) => match num(n) {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => gofmt::format_float_g(f),
        },
        Value::String(s) => gofmt::quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(to_string).collect();
            format!("[{}]", inner.join(","))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            keys.into_iter()
                .map(|k| format!("{k}={}", to_string(&map[k])))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_is_by_type_then_value() {
        let mut values = vec![
            json!(null),
            json!({"a": 1}),
            json!([1]),
            json!(true),
            json!("b"),
            json!("a"),
            json!(3),
            json!(2.5),
        ];
        values.sort_by(compare);
        assert_eq!(
            values,
            vec![
                json!(2.5),
                json!(3),
                json!("a"),
                json!("b"),
                json!(true),
                json!([1]),
                json!({"a": 1}),
                json!(null)
            ]
        );
        assert_eq!(compare(&json!(80), &json!(443)), Ordering::Less);
        assert_eq!(compare(&json!(1), &json!(1.0)), Ordering::Equal);
    }

    #[test]
    fn equality_is_numeric_across_int_and_float() {
        assert!(equals(&json!({"a": [1]}), &json!({"a": [1.0]})));
        assert!(!equals(&json!({"a": 1}), &json!({"a": "1"})));
    }

    #[test]
    fn rendering_matches_upstream() {
        assert_eq!(to_string(&json!("TCP")), "\"TCP\"");
        assert_eq!(to_string(&json!(80)), "80");
        assert_eq!(to_string(&json!(null)), "null");
        assert_eq!(to_string(&json!([1, "a"])), "[1,\"a\"]");
    }
}
