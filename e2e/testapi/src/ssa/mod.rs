//! Server-side apply and field ownership, after sigs.k8s.io/structured-merge-diff (v6, as
//! vendored by Kubernetes) and the field manager of k8s.io/apimachinery.
//!
//! Pure functions over `serde_json::Value`: [`apply`] merges an applied configuration into
//! the live object, [`update_managed_fields`] records who changed what on other writes, and
//! [`FieldSet`] reads and writes the FieldsV1 format of `metadata.managedFields`.
//!
//! Not supported, by design of this test server: conversion between API versions (every
//! manager's fields are read against the served version), the
//! `kubectl.kubernetes.io/last-applied-configuration` hand-over from client-side apply, and
//! reset fields (the caller strips what an endpoint ignores before calling).

mod apply;
mod compare;
mod conflict;
mod fieldset;
mod fieldsv1;
mod managed;
mod merge;
mod path;
mod remove;
mod time;
mod to_field_set;
mod update;
mod updater;
mod value;
mod walk;

pub use apply::{ApplyError, apply};
pub use compare::{Comparison, compare};
pub use conflict::{CAUSE_FIELD_MANAGER_CONFLICT, Conflict, Conflicts};
pub use fieldset::FieldSet;
pub use fieldsv1::{FieldsV1Error, deserialize_path_element, serialize_path_element};
pub use managed::{
    FIELD_MANAGER_MAX_LENGTH, ManagedFieldsEntry, ManagedFieldsError, ManagerId, Operation,
    manager_or_user_agent, read_managed_fields, write_managed_fields,
};
pub use merge::merge;
pub use path::{Path, PathElement};
pub use to_field_set::field_set_of;
pub use update::update_managed_fields;
pub use walk::{TypeError, TypeErrors};

#[cfg(test)]
mod tests;
