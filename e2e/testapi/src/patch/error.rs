//! Why a patch was refused, with the status the API server answers it with
//! (k8s.io/apiserver `endpoints/handlers/patch.go`: `applyJSPatch`,
//! `interpretStrategicMergePatchError`).

/// The message of `NewGenericServerResponse(422, ...)`, which is all a client sees of a JSON
/// patch that does not apply: the reason stays on the server.
pub const UNPROCESSABLE_MESSAGE: &str =
    "the server rejected our request due to an error in our request";

/// A refused patch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch document is malformed: 400 BadRequest with this message.
    #[error("{0}")]
    BadRequest(String),
    /// The patch does not apply to the object (a failed `test`, a missing path, an unknown
    /// operation, lists of lists): 422 Invalid with the generic message only. `detail` says
    /// what went wrong, for logs and tests.
    #[error("{UNPROCESSABLE_MESSAGE}")]
    Unprocessable {
        /// What went wrong.
        detail: String,
    },
    /// More JSON patch operations than the API server accepts: 413.
    #[error("The allowed maximum operations in a JSON patch is {max}, got {got}")]
    TooManyOperations {
        /// The limit (10000).
        max: usize,
        /// The operations in the patch.
        got: usize,
    },
    /// The patched document is not an object (a merge patch that is a list, a JSON patch
    /// that replaces the root): 422 Invalid, worded as `NewInvalid` words a decoding failure.
    #[error(
        " \"\" is invalid: patch: Invalid value: {}: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
        crate::gofmt::quote(&.0.to_string()),
        crate::gofmt::json_kind(.0)
    )]
    NotAnObject(serde_json::Value),
    /// A strategic merge patch the merge code rejects with a plain error (a missing merge
    /// key, an unknown `$patch` directive...): the API server answers 500 with an empty
    /// reason and this message.
    #[error("{0}")]
    Merge(String),
}

impl PatchError {
    /// The HTTP status code of the answer.
    pub fn code(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unprocessable { .. } | Self::NotAnObject(_) => 422,
            Self::TooManyOperations { .. } => 413,
            Self::Merge(_) => 500,
        }
    }

    /// The Status `reason` of the answer (empty: `StatusReasonUnknown`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BadRequest",
            Self::Unprocessable { .. } | Self::NotAnObject(_) => "Invalid",
            Self::TooManyOperations { .. } => "RequestEntityTooLarge",
            Self::Merge(_) => "",
        }
    }

    /// The Status message of the answer.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// `mergepatch` errors the API server answers with 400 (`interpretStrategicMergePatchError`).
pub(crate) mod smp {
    use super::PatchError;

    pub(crate) fn bad_json_doc() -> PatchError {
        PatchError::BadRequest("invalid JSON document".into())
    }
    pub(crate) fn bad_primitive_list() -> PatchError {
        PatchError::BadRequest("invalid patch format of primitive list".into())
    }
    pub(crate) fn bad_retain_keys() -> PatchError {
        PatchError::BadRequest("invalid patch format of retainKeys".into())
    }
    pub(crate) fn bad_set_element_order() -> PatchError {
        PatchError::BadRequest("invalid patch format of setElementOrder list".into())
    }
    /// `ErrNoListOfLists`, answered 422 with the generic message.
    pub(crate) fn no_list_of_lists() -> PatchError {
        PatchError::Unprocessable {
            detail: "lists of lists are not supported".into(),
        }
    }
}
