//! Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which
//! `kubectl get` asks for: the columns kube-apiserver's printers give built-in kinds (the
//! default convertor's Name/Created At for CRDs, Name/Status/Age for namespaces...), a CRD's
//! additionalPrinterColumns (or Age), and each row's object as `includeObject` asks.

use crate::registry::ResourceDef;
use crate::request::Query;
use crate::status::ApiError;
use serde_json::{Value, json};

/// Whether the Accept header asks for a Table.
pub fn wants_table(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("as=Table"))
}

/// What each row carries in `object` (the `includeObject` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Include {
    None,
    /// The default: a PartialObjectMetadata.
    #[default]
    Metadata,
    Object,
}

impl Include {
    /// `includeObject`, refused as kube-apiserver's `ValidateTableOptions` refuses it.
    pub fn from_query(query: &Query) -> Result<Self, ApiError> {
        match query.get("includeObject") {
            None | Some("Metadata") => Ok(Self::Metadata),
            Some("None") => Ok(Self::None),
            Some("Object") => Ok(Self::Object),
            Some(other) => Err(ApiError::bad_request(format!(
                "Unable to convert to Table as requested: includeObject: Unsupported value: {other:?}: supported values: \"Metadata\", \"None\", \"Object\""
            ))),
        }
    }
}

/// `metav1.ObjectMeta{}.SwaggerDoc()["name"]`, the description every Name column carries.
const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of a name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// `metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]`.
const CREATED_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// One column of a built-in kind's server-side printer.
struct Printer {
    name: &'static str,
    type_: &'static str,
    description: &'static str,
    cell: fn(&Value, jiff::Timestamp) -> Value,
}

fn age_cell(object: &Value, now: jiff::Timestamp) -> Value {
    json!(age(&object["metadata"]["creationTimestamp"], now))
}

/// The printers of the built-in kinds ferrule's tests look at, as kube-apiserver has them
/// (`pkg/printers/internalversion`; CRDs use the generic registry's default convertor, whose
/// second column is the creation time itself, not an age). Other built-ins get Name and Age.
fn builtin_printers(def: &ResourceDef) -> Option<&'static [Printer]> {
    const CRDS: &[Printer] = &[Printer {
        name: "Created At",
        type_: "date",
        description: CREATED_DESCRIPTION,
        cell: |o, _| json!(rfc3339(&o["metadata"]["creationTimestamp"])),
    }];
    const NAMESPACES: &[Printer] = &[
        Printer {
            name: "Status",
            type_: "string",
            description: "The status of the namespace",
            cell: |o, _| o["status"]["phase"].clone(),
        },
        Printer {
            name: "Age",
            type_: "string",
            description: CREATED_DESCRIPTION,
            cell: age_cell,
        },
    ];
    const CONFIG_MAPS: &[Printer] = &[
        Printer {
            name: "Data",
            type_: "string",
            description: "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
            cell: |o, _| {
                let count = |v: &Value| v.as_object().map_or(0, serde_json::Map::len);
                json!(count(&o["data"]) + count(&o["binaryData"]))
            },
        },
        Printer {
            name: "Age",
            type_: "string",
            description: CREATED_DESCRIPTION,
            cell: age_cell,
        },
    ];
    const OTHERS: &[Printer] = &[Printer {
        name: "Age",
        type_: "string",
        description: CREATED_DESCRIPTION,
        cell: age_cell,
    }];
    if def.crd.is_some() {
        return None;
    }
    Some(match (def.group.as_str(), def.plural.as_str()) {
        ("apiextensions.k8s.io", "customresourcedefinitions") => CRDS,
        ("", "namespaces") => NAMESPACES,
        ("", "configmaps") => CONFIG_MAPS,
        _ => OTHERS,
    })
}

fn columns(def: &ResourceDef) -> Vec<Value> {
    let mut columns = vec![json!({
        "name": "Name", "type": "string", "format": "name", "priority": 0,
        "description": NAME_DESCRIPTION,
    })];
    if let Some(printers) = builtin_printers(def) {
        columns.extend(printers.iter().map(|p| {
            json!({ "name": p.name, "type": p.type_, "format": "", "priority": 0, "description": p.description })
        }));
    } else if def.printer_columns.is_empty() {
        // apiextensions defaults a version without additionalPrinterColumns to this one.
        columns.push(json!({ "name": "Age", "type": "date", "format": "", "priority": 0, "description": CREATED_DESCRIPTION }));
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

fn row(def: &ResourceDef, object: &Value, now: jiff::Timestamp, include: Include) -> Value {
    // A bookmark has no name; Go's accessor reads it as "".
    let mut cells = vec![
        object["metadata"]["name"]
            .as_str()
            .map_or_else(|| json!(""), |n| json!(n)),
    ];
    if let Some(printers) = builtin_printers(def) {
        cells.extend(printers.iter().map(|p| (p.cell)(object, now)));
    } else if def.printer_columns.is_empty() {
        cells.push(json!(age(&object["metadata"]["creationTimestamp"], now)));
    } else {
        for column in &def.printer_columns {
            let path = column["jsonPath"].as_str().unwrap_or("");
            let values = crate::jsonpath::evaluate(path, object);
            cells.push(column_cell(column["type"].as_str(), &values, now));
        }
    }
    let object = match include {
        Include::None => Value::Null,
        // The whole object, in the version the request named.
        Include::Object => crate::objects::present(def, object),
        Include::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object["metadata"],
        }),
    };
    json!({ "cells": cells, "object": object })
}

/// A CRD column's cell from the values its JSONPath selects. Like apiextensions'
/// `tableconvertor`, only the first value is printed: a `[*]` path over three items shows one
/// (kube-apiserver assumes "simple" paths), so tests cannot rely on a join a cluster never does.
fn column_cell(type_: Option<&str>, values: &[&Value], now: jiff::Timestamp) -> Value {
    match (type_, values) {
        (_, []) => Value::Null,
        (Some("date"), [value, ..]) => json!(age(value, now)),
        (_, [first, ..]) => (*first).clone(),
    }
}

/// A Table of `objects`; `with_columns: false` leaves columnDefinitions null (watch events
/// after the first, as kube-apiserver sends them with `NoHeaders`).
pub fn table(
    def: &ResourceDef,
    objects: &[&Value],
    resource_version: &str,
    with_columns: bool,
    include: Include,
) -> Value {
    let now = jiff::Timestamp::now();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": { "resourceVersion": resource_version },
        "columnDefinitions": if with_columns { json!(columns(def)) } else { Value::Null },
        "rows": objects.iter().map(|o| row(def, o, now, include)).collect::<Vec<_>>(),
    })
}

/// A `metav1.Time` as the default convertor prints it (`Time.UTC().Format(time.RFC3339)`):
/// the zero time when unset.
fn rfc3339(timestamp: &Value) -> String {
    timestamp
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or_else(
            || "0001-01-01T00:00:00Z".to_owned(),
            |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
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
    fn a_many_valued_column_prints_its_first_value_like_kube_apiserver() {
        let object = json!({ "status": { "addresses": [
            { "value": "192.0.2.1" }, { "value": "192.0.2.2" },
        ] } });
        let values = crate::jsonpath::evaluate(".status.addresses[*].value", &object);
        assert_eq!(values.len(), 2);
        let now = jiff::Timestamp::now();
        assert_eq!(
            column_cell(Some("string"), &values, now),
            json!("192.0.2.1")
        );
        assert_eq!(column_cell(Some("string"), &[], now), Value::Null);
    }

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
