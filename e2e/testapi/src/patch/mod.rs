//! The three patch formats of the API server, as pure functions over `serde_json::Value`:
//! JSON patch (`application/json-patch+json`), JSON merge patch
//! (`application/merge-patch+json`) and strategic merge patch
//! (`application/strategic-merge-patch+json`, built-in kinds only).
//!
//! Errors carry the status the API server answers with ([`PatchError::code`],
//! [`PatchError::reason`], [`PatchError::message`]).

mod error;
mod json;
mod strategic;
mod strategic_list;

pub use error::{PatchError, UNPROCESSABLE_MESSAGE};
pub use json::{MAX_JSON_PATCH_OPERATIONS, json_patch, merge_patch};
pub use strategic::strategic_merge_patch;

#[cfg(test)]
mod tests;
