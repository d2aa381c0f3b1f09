//! ferrule-bfd: BFD sessions for the node BGP speaker (see the crate description).
#![forbid(unsafe_code)]

pub mod packet;
pub mod session;
pub mod timers;

pub use packet::{ControlPacket, DecodeError, Diagnostic, SessionState};
pub use session::{Session, SessionConfig, Transition};
