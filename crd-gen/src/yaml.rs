//! A small YAML writer for Kubernetes manifests.
//!
//! serde_yaml writes `Yes` and `No` unquoted, and Go's YAML 1.1 parsers (kubectl, Flux, ArgoCD)
//! read those as booleans: a CRD enum `[Yes, No]` would silently become `[true, false]`. This
//! writer quotes every scalar that a YAML 1.1 or 1.2 reader could take for anything but a
//! string, and otherwise lays the document out like controller-gen (sorted keys, block style,
//! sequences at their key's indentation, `|-` for multi-line text).

use serde_json::{Map, Value};
use std::fmt::Write as _;

/// Renders one YAML document (without the leading `---`).
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(map, 0, false, &mut out),
        Value::Array(items) if !items.is_empty() => write_seq(items, 0, false, &mut out),
        scalar => {
            write_scalar(scalar, 0, &mut out);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, width: usize) {
    out.extend(std::iter::repeat_n(' ', width));
}

/// `inline_first`: the first key continues a line already started (after `- `).
fn write_map(map: &Map<String, Value>, width: usize, inline_first: bool, out: &mut String) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline_first {
            indent(out, width);
        }
        out.push_str(&scalar_string(key));
        out.push(':');
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                write_map(inner, width + 2, false, out);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                write_seq(items, width, false, out);
            }
            scalar => {
                out.push(' ');
                write_scalar(scalar, width + 2, out);
                out.push('\n');
            }
        }
    }
}

fn write_seq(items: &[Value], width: usize, inline_first: bool, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline_first {
            indent(out, width);
        }
        out.push_str("- ");
        match item {
            Value::Object(inner) if !inner.is_empty() => write_map(inner, width + 2, true, out),
            Value::Array(inner) if !inner.is_empty() => write_seq(inner, width + 2, true, out),
            scalar => {
                write_scalar(scalar, width + 2, out);
                out.push('\n');
            }
        }
    }
}

/// Writes a scalar (or an empty collection) on the current line; block text continues on
/// following lines indented by `width`.
fn write_scalar(value: &Value, width: usize, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        Value::String(s) if is_block_text(s) => {
            let (body, chomp) = match s.strip_suffix('\n') {
                Some(body) => (body, ""),
                None => (s.as_str(), "-"),
            };
            let _ = write!(out, "|{chomp}");
            for line in body.split('\n') {
                out.push('\n');
                if !line.is_empty() {
                    indent(out, width);
                    out.push_str(line);
                }
            }
        }
        Value::String(s) => out.push_str(&scalar_string(s)),
    }
}

/// Multi-line text that a literal block keeps byte for byte.
fn is_block_text(s: &str) -> bool {
    s.contains('\n')
        && !s.ends_with("\n\n")
        && !s.starts_with([' ', '\t', '\n'])
        && !s.contains('\r')
        && s.chars().all(|c| c == '\n' || !c.is_control())
        && s.split('\n').all(|line| !line.ends_with([' ', '\t']))
}

/// A plain scalar when that is unambiguous, else a double-quoted (JSON-escaped) one.
fn scalar_string(s: &str) -> String {
    if needs_quotes(s) {
        serde_json::to_string(s).expect("a string always serializes")
    } else {
        s.to_owned()
    }
}

fn needs_quotes(s: &str) -> bool {
    const RESERVED: &[&str] = &[
        "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
    ];
    let Some(first) = s.chars().next() else {
        return true;
    };
    RESERVED.contains(&s.to_ascii_lowercase().as_str())
        || looks_numeric(s)
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || first.is_whitespace()
        || s.ends_with(char::is_whitespace)
        || s.ends_with(':')
        || s.contains(": ")
        || s.contains(" #")
        || s.chars().any(char::is_control)
}

/// Anything a YAML 1.1 reader might resolve to an int, float or sexagesimal number.
fn looks_numeric(s: &str) -> bool {
    let first = s.as_bytes()[0];
    (first.is_ascii_digit() || b"+-.".contains(&first))
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-._:".contains(&b))
        || s.eq_ignore_ascii_case(".inf")
        || s.eq_ignore_ascii_case(".nan")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roundtrip(value: &Value) -> Value {
        serde_yaml::from_str(&to_string(value)).expect("the writer's output parses as YAML")
    }

    #[test]
    fn yaml_1_1_booleans_and_numbers_stay_strings() {
        let doc = json!({ "enum": ["Yes", "No", "on", "True", "1.35", "0755", "1:20", "~", ""] });
        let text = to_string(&doc);
        assert!(
            text.contains("- \"Yes\"\n- \"No\"\n"),
            "Yes/No must be quoted:\n{text}"
        );
        assert!(
            text.contains("- \"1.35\""),
            "numeric-looking strings must be quoted:\n{text}"
        );
        assert_eq!(roundtrip(&doc), doc);
    }

    #[test]
    fn layout_matches_controller_gen() {
        let doc = json!({
            "b": [{ "name": "x", "type": "string" }, ["nested"]],
            "a": { "description": "first line\nsecond line", "empty": {} },
        });
        let expected = "a:\n  description: |-\n    first line\n    second line\n  empty: {}\nb:\n- name: x\n  type: string\n- - nested\n";
        assert_eq!(to_string(&doc), expected);
        assert_eq!(roundtrip(&doc), doc);
    }

    #[test]
    fn awkward_text_roundtrips() {
        for s in [
            "trailing space \nnext",
            "ends with newline\n",
            "two blank lines\n\n",
            " leading",
            "key: value",
            "a # comment",
            "- dash",
            "tab\tinside",
            "en – dash",
            "line\n\nwith gap",
            "*alias",
        ] {
            let doc = json!({ "k": s, "seq": [s] });
            assert_eq!(roundtrip(&doc), doc, "{s:?} did not survive");
        }
    }
}
