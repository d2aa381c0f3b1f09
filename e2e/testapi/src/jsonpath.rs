//! The JSONPath subset printer columns use: `.a.b`, `.a[0]`, `.a[*].b`, `.a[?(@.k=="v")].b`.

use serde_json::Value;

/// Every value `path` selects in `object` (empty when nothing matches).
pub fn evaluate<'a>(path: &str, object: &'a Value) -> Vec<&'a Value> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let mut current = vec![object];
    let mut rest = path.trim_start_matches('$');
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let field = &after[..end];
            current = current.into_iter().filter_map(|v| v.get(field)).collect();
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let Some(close) = find_close(after) else {
                return Vec::new();
            };
            let selector = &after[..close];
            current = current
                .into_iter()
                .flat_map(|v| select(v, selector))
                .collect();
            rest = &after[close + 1..];
        } else {
            return Vec::new();
        }
    }
    current
}

/// Index of the `]` closing a bracket, skipping quoted strings.
fn find_close(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ']') => return Some(i),
            _ => {}
        }
    }
    None
}

fn select<'a>(value: &'a Value, selector: &str) -> Vec<&'a Value> {
    let Some(items) = value.as_array() else {
        return Vec::new();
    };
    if selector == "*" {
        return items.iter().collect();
    }
    if let Ok(index) = selector.parse::<usize>() {
        return items.get(index).into_iter().collect();
    }
    if let Some(filter) = selector
        .strip_prefix("?(")
        .and_then(|f| f.strip_suffix(')'))
    {
        let Some((lhs, rhs)) = filter.split_once("==") else {
            return Vec::new();
        };
        let field = lhs.trim().trim_start_matches("@.");
        let wanted = rhs.trim().trim_matches(['"', '\'']);
        return items
            .iter()
            .filter(|item| {
                let actual = field.split('.').try_fold(*item, |v, part| v.get(part));
                match actual {
                    Some(Value::String(s)) => s == wanted,
                    Some(other) => *other == wanted.parse::<Value>().unwrap_or(Value::Null),
                    None => false,
                }
            })
            .collect();
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn printer_column_paths() {
        let pool = json!({
            "spec": { "disabled": false, "blocks": [{ "cidr": "192.0.2.0/24" }] },
            "status": { "conditions": [
                { "type": "cilium.io/IPsAvailable", "status": "True", "message": "254" },
                { "type": "cilium.io/PoolConflict", "status": "False" },
            ] },
        });
        assert_eq!(evaluate(".spec.disabled", &pool), [&json!(false)]);
        assert_eq!(
            evaluate(".spec.blocks[0].cidr", &pool),
            [&json!("192.0.2.0/24")]
        );
        assert_eq!(
            evaluate(
                r#".status.conditions[?(@.type=="cilium.io/PoolConflict")].status"#,
                &pool
            ),
            [&json!("False")]
        );
        assert_eq!(evaluate(".status.conditions[*].status", &pool).len(), 2);
        assert!(evaluate(".spec.missing", &pool).is_empty());
    }
}
