//! CustomResourceDefinitions: serving their versions, their status conditions
//! (NamesAccepted, Established) and cleanup when a CRD goes away.

use crate::registry::{GroupResource, ResourceDef};
use crate::schema::StructuralSchema;
use crate::server::ApiServer;
use crate::status::{ApiError, Cause};
use crate::store::Write;
use serde_json::{Value, json};
use std::sync::Arc;

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The served versions of a CRD as resource definitions.
pub fn definitions(crd: &Value) -> Result<Vec<ResourceDef>, String> {
    let name = text(&crd["metadata"]["name"]);
    let spec = &crd["spec"];
    let names = &spec["names"];
    let kind = text(&names["kind"]);
    let plural = text(&names["plural"]);
    let mut defs = Vec::new();
    for (index, version) in spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if version["served"] != json!(true) {
            continue;
        }
        let schema = match version["schema"].get("openAPIV3Schema") {
            Some(schema) => Some(
                StructuralSchema::from_json_at(
                    schema,
                    &format!("spec.versions[{index}].schema.openAPIV3Schema"),
                )
                .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let types: Arc<dyn crate::typeinfo::TypeInfo> = match &schema {
            Some(schema) => Arc::new(schema.clone()),
            None => crate::registry::untyped(),
        };
        defs.push(ResourceDef {
            group: text(&spec["group"]),
            version: text(&version["name"]),
            plural: plural.clone(),
            singular: names["singular"]
                .as_str()
                .map_or_else(|| kind.to_ascii_lowercase(), str::to_owned),
            kind: kind.clone(),
            list_kind: names["listKind"]
                .as_str()
                .map_or_else(|| format!("{kind}List"), str::to_owned),
            namespaced: spec["scope"] == json!("Namespaced"),
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            status_subresource: version["subresources"].get("status").is_some(),
            printer_columns: version["additionalPrinterColumns"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            schema,
            schema_json: version["schema"].get("openAPIV3Schema").cloned(),
            types,
            crd: Some(name.clone()),
        });
    }
    Ok(defs)
}

/// Sets the status the API server reports for a CRD (run inside the CRD's write).
pub fn set_status(server: &ApiServer, crd: &mut Value) -> Result<(), ApiError> {
    let name = text(&crd["metadata"]["name"]);
    let defs = definitions(crd).map_err(|message| invalid_crd(server, &name, message))?;
    let spec = &crd["spec"];
    let expected_name = format!(
        "{}.{}",
        text(&spec["names"]["plural"]),
        text(&spec["group"])
    );
    if name != expected_name {
        return Err(invalid_crd(
            server,
            &name,
            format!(
                "metadata.name: Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"
            ),
        ));
    }
    let conflict = server.registry().all().find_map(|def| {
        let other = def.crd.as_deref()?;
        (other != name
            && def.group == text(&spec["group"])
            && (def.plural == text(&spec["names"]["plural"])
                || def.kind == text(&spec["names"]["kind"])))
        .then(|| other.to_owned())
    });
    let previous = crd["status"]["conditions"].clone();
    let condition = |kind: &str, status: bool, reason: &str, message: String| {
        let status = if status { "True" } else { "False" };
        let since = previous
            .as_array()
            .and_then(|list| {
                list.iter()
                    .find(|c| c["type"] == kind && c["status"] == status)
            })
            .map_or_else(
                || json!(crate::objects::now()),
                |c| c["lastTransitionTime"].clone(),
            );
        json!({ "type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": since })
    };
    let accepted = conflict.is_none();
    let conditions = match &conflict {
        None => vec![
            condition(
                "NamesAccepted",
                true,
                "NoConflicts",
                "no conflicts found".into(),
            ),
            condition(
                "Established",
                true,
                "InitialNamesAccepted",
                "the initial names have been accepted".into(),
            ),
        ],
        Some(other) => vec![
            condition(
                "NamesAccepted",
                false,
                "NameConflict",
                format!("names conflict with CustomResourceDefinition {other:?}"),
            ),
            condition(
                "Established",
                false,
                "NotAccepted",
                "not all names are accepted".into(),
            ),
        ],
    };
    let storage = spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["storage"] == json!(true))
        .map(|v| text(&v["name"]));
    let mut stored = strings(&crd["status"]["storedVersions"]);
    if let Some(storage) = storage
        && !stored.contains(&storage)
    {
        stored.push(storage);
    }
    let mut accepted_names = spec["names"].clone();
    if accepted_names["singular"].is_null() {
        accepted_names["singular"] = json!(text(&spec["names"]["kind"]).to_ascii_lowercase());
    }
    if accepted_names["listKind"].is_null() {
        accepted_names["listKind"] = json!(format!("{}List", text(&spec["names"]["kind"])));
    }
    crd["status"] = json!({
        "acceptedNames": if accepted { accepted_names } else { json!({ "kind": "", "plural": "" }) },
        "conditions": conditions,
        "storedVersions": stored,
    });
    let _ = defs;
    Ok(())
}

fn invalid_crd(server: &ApiServer, name: &str, message: String) -> ApiError {
    let def = server
        .registry()
        .get("apiextensions.k8s.io", "v1", "customresourcedefinitions");
    match def {
        Some(def) => ApiError::invalid(
            &def,
            name,
            format!(
                "CustomResourceDefinition.apiextensions.k8s.io {name:?} is invalid: {}",
                message.trim_start_matches('[').trim_end_matches(']')
            ),
            &[Cause {
                reason: "FieldValueInvalid".into(),
                message: message.clone(),
                field: String::new(),
            }],
        ),
        None => ApiError::bad_request(message),
    }
}

/// Serves (or stops serving) a CRD's versions after a write.
pub fn sync(server: &ApiServer, crd: &Value) {
    let name = text(&crd["metadata"]["name"]);
    let established = crd["status"]["conditions"].as_array().is_some_and(|list| {
        list.iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    });
    let defs = if established && !crate::objects::is_deleting(crd) {
        definitions(crd).unwrap_or_default()
    } else {
        Vec::new()
    };
    for def in &defs {
        if let Some(schema) = &def.schema {
            server.note_unenforced_cel(&name, schema.unenforced_cel_rules());
        }
    }
    let mut registry = server.registry_mut();
    registry.remove_crd(&name);
    for def in defs {
        registry.insert(def);
    }
}

/// A deleted CRD takes its custom resources with it.
pub fn removed(server: &ApiServer, crd: &Value) {
    let name = text(&crd["metadata"]["name"]);
    server.registry_mut().remove_crd(&name);
    let gr = GroupResource {
        group: text(&crd["spec"]["group"]),
        resource: text(&crd["spec"]["names"]["plural"]),
    };
    for (object_gr, key, _) in server.store.all_objects() {
        if object_gr == gr {
            let _ = server
                .store
                .write::<ApiError>(&gr, &key, |_, _| Ok(Write::Delete));
        }
    }
}
