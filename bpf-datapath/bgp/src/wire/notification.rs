//! NOTIFICATION messages and the RFC 4271 section 4.5 error codes.

use std::fmt;

/// Error codes (RFC 4271 4.5).
pub mod code {
    /// Message Header Error.
    pub const HEADER: u8 = 1;
    /// OPEN Message Error.
    pub const OPEN: u8 = 2;
    /// UPDATE Message Error.
    pub const UPDATE: u8 = 3;
    /// Hold Timer Expired.
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// Finite State Machine Error.
    pub const FSM: u8 = 5;
    /// Cease.
    pub const CEASE: u8 = 6;
}

/// Message Header Error subcodes (RFC 4271 6.1).
pub mod header {
    /// Connection Not Synchronized (bad marker).
    pub const NOT_SYNCHRONIZED: u8 = 1;
    /// Bad Message Length.
    pub const BAD_LENGTH: u8 = 2;
    /// Bad Message Type.
    pub const BAD_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes (RFC 4271 6.2, RFC 5492).
pub mod open {
    /// Unsupported Version Number.
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// Bad BGP Identifier.
    pub const BAD_BGP_ID: u8 = 3;
    /// Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPT_PARAM: u8 = 4;
    /// Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
}

/// UPDATE Message Error subcodes (RFC 4271 6.3).
pub mod update {
    /// Malformed Attribute List.
    pub const MALFORMED_ATTR_LIST: u8 = 1;
    /// Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN: u8 = 2;
    /// Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN: u8 = 3;
    /// Attribute Flags Error.
    pub const ATTR_FLAGS: u8 = 4;
    /// Attribute Length Error.
    pub const ATTR_LENGTH: u8 = 5;
    /// Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN: u8 = 6;
    /// Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP: u8 = 8;
    /// Optional Attribute Error.
    pub const OPTIONAL_ATTR: u8 = 9;
    /// Invalid Network Field.
    pub const INVALID_NETWORK: u8 = 10;
    /// Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Finite State Machine Error subcodes (RFC 6608).
pub mod fsm {
    /// Receive Unexpected Message in OpenSent State.
    pub const UNEXPECTED_IN_OPENSENT: u8 = 1;
    /// Receive Unexpected Message in OpenConfirm State.
    pub const UNEXPECTED_IN_OPENCONFIRM: u8 = 2;
    /// Receive Unexpected Message in Established State.
    pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
}

/// Cease subcodes (RFC 4486).
pub mod cease {
    /// Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// Administrative Shutdown.
    pub const ADMIN_SHUTDOWN: u8 = 2;
    /// Administrative Reset.
    pub const ADMIN_RESET: u8 = 4;
    /// Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// Other Configuration Change.
    pub const OTHER_CONFIG_CHANGE: u8 = 6;
    /// Connection Collision Resolution.
    pub const COLLISION: u8 = 7;
}

/// A NOTIFICATION message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Error code ([`code`]).
    pub code: u8,
    /// Error subcode; 0 is "unspecific".
    pub subcode: u8,
    /// Diagnostic data, as each error defines.
    pub data: Vec<u8>,
}

impl Notification {
    /// A notification without data.
    pub fn new(code: u8, subcode: u8) -> Notification {
        Notification {
            code,
            subcode,
            data: Vec::new(),
        }
    }

    /// A notification with diagnostic data.
    pub fn with_data(code: u8, subcode: u8, data: Vec<u8>) -> Notification {
        Notification {
            code,
            subcode,
            data,
        }
    }

    pub(crate) fn decode(body: &[u8]) -> Notification {
        // The header check guarantees two bytes.
        Notification {
            code: body.first().copied().unwrap_or(0),
            subcode: body.get(1).copied().unwrap_or(0),
            data: body.get(2..).unwrap_or_default().to_vec(),
        }
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push(self.subcode);
        out.extend_from_slice(&self.data);
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.code {
            code::HEADER => "message header error",
            code::OPEN => "OPEN message error",
            code::UPDATE => "UPDATE message error",
            code::HOLD_TIMER_EXPIRED => "hold timer expired",
            code::FSM => "finite state machine error",
            code::CEASE => "cease",
            _ => "unknown error",
        };
        write!(f, "{name} ({}/{})", self.code, self.subcode)
    }
}
