//! Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which
//! `kubectl get` asks for: the Name column, a CRD's additionalPrinterColumns (or Age), and the
//! object's metadata for each row.

use crate::registry::ResourceDef;
use serde_json::{Value, json};

/// Whether the Accept header asks for a Table.
pub fn wants_table(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("as=Table"))
}

fn columns(def: &ResourceDef) -> Vec<Value> {
    let mut columns = vec![json!({
        "name": "Name", "type": "string", "format": "name", "priority": 0,
        "description": "Name must be unique within a namespace.",
    })];
    if def.printer_columns.is_empty() {
        columns.push(json!({ "name": "Age", "type": "date", "format": "", "priority": 0, "description": "CreationTimestamp of the object." }));
    } else {
        for column in &def.printer_columns {
            columns.push(json!({
                "name": column["name"],
                "type": column["type"],
                "format": column.get("format").cloned().unwrap_or(json!("")),
                "priority": column.get("priority").cloned().unwrap_or(json!(0)),
                "description": column.get("description").cloned().unwrap_or(json!("")),
            }));
        }
    }
    columns
}

fn row(def: &ResourceDef, object: &Value, now: jiff::Timestamp) -> Value {
    let mut cells = vec![object["metadata"]["name"].clone()];
    if def.printer_columns.is_empty() {
        cells.push(json!(age(&object["metadata"]["creationTimestamp"], now)));
    } else {
        for column in &def.printer_columns {
            let path = column["jsonPath"].as_str().unwrap_or("");
            let values = crate::jsonpath::evaluate(path, object);
            let cell = match (column["type"].as_str(), values.as_slice()) {
                (_, []) => Value::Null,
                (Some("date"), [value, ..]) => json!(age(value, now)),
                (_, [single]) => (*single).clone(),
                (_, many) => json!(many.iter().map(|v| plain(v)).collect::<Vec<_>>().join(",")),
            };
            cells.push(cell);
        }
    }
    json!({
        "cells": cells,
        "object": {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object["metadata"],
        },
    })
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A Table of `objects`; `with_columns: false` leaves columnDefinitions empty (watch events
/// after the first).
pub fn table(
    def: &ResourceDef,
    objects: &[&Value],
    resource_version: &str,
    with_columns: bool,
) -> Value {
    let now = jiff::Timestamp::now();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": { "resourceVersion": resource_version },
        "columnDefinitions": if with_columns { columns(def) } else { Vec::new() },
        "rows": objects.iter().map(|o| row(def, o, now)).collect::<Vec<_>>(),
    })
}

/// Age of a timestamp as kubectl shows it (apimachinery's `duration.HumanDuration`).
fn age(timestamp: &Value, now: jiff::Timestamp) -> String {
    let Some(then) = timestamp
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    else {
        return "<unknown>".into();
    };
    human_duration(now.as_second() - then.as_second())
}

pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let s = seconds.max(0);
    let (minutes, hours) = (s / 60, s / 3600);
    let days = hours / 24;
    let years = days / 365;
    if s < 60 * 2 {
        format!("{s}s")
    } else if minutes < 10 {
        match s % 60 {
            0 => format!("{minutes}m"),
            rest => format!("{minutes}m{rest}s"),
        }
    } else if minutes < 60 * 3 {
        format!("{minutes}m")
    } else if hours < 8 {
        match minutes % 60 {
            0 => format!("{hours}h"),
            rest => format!("{hours}h{rest}m"),
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        match hours % 24 {
            0 => format!("{days}d"),
            rest => format!("{days}d{rest}h"),
        }
    } else if hours < 24 * 365 * 2 {
        format!("{days}d")
    } else if hours < 24 * 365 * 8 {
        match days % 365 {
            0 => format!("{years}y"),
            rest => format!("{years}y{rest}d"),
        }
    } else {
        format!("{years}y")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_kubectl() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600 + 5 * 60, "3h5m"),
            (10 * 3600, "10h"),
            (3 * 86400 + 3600, "3d1h"),
            (30 * 86400, "30d"),
            (3 * 365 * 86400, "3y"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(human_duration(seconds), expected, "{seconds}s");
        }
    }
}
