//! The BGP-4 wire format: framing, OPEN, UPDATE, KEEPALIVE and NOTIFICATION.
//!
//! Written here rather than taken from a crate: the speaker needs a decoder whose every failure
//! maps to the exact RFC 4271 section 6 NOTIFICATION (or to RFC 7606 treat-as-withdraw), and an
//! encoder that packs UPDATEs up to the 4096-byte limit; the maintained crates either do not
//! encode, or report errors that do not map one-to-one onto error codes and subcodes.
//! Decoding never panics: every length is checked before use (proptest in `tests`).

pub mod attrs;
mod nlri;
pub mod notification;
pub mod open;
pub mod update;

#[cfg(test)]
mod tests;

pub use attrs::{AsSegment, Origin, PathAttrs};
pub use notification::Notification;
pub use open::{Capability, GracefulRestartCap, Open};
pub use update::{MpReach, MpUnreach, Update};

/// The fixed header size.
pub const HEADER_LEN: usize = 19;
/// The largest message (RFC 4271 4.1).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// AS_TRANS (RFC 6793): the 2-byte stand-in for a 4-byte ASN.
pub const AS_TRANS: u16 = 23456;

const TYPE_OPEN: u8 = 1;
const TYPE_UPDATE: u8 = 2;
const TYPE_NOTIFICATION: u8 = 3;
const TYPE_KEEPALIVE: u8 = 4;

/// One BGP message.
// Messages live only between the socket and the session; boxing UPDATEs would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
}

/// What decoding and encoding depend on, as negotiated for a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionCtx {
    /// Both sides announced the 4-octet AS capability: AS_PATH carries 4-byte ASNs.
    pub four_octet_as: bool,
}

impl Default for SessionCtx {
    fn default() -> SessionCtx {
        SessionCtx {
            four_octet_as: true,
        }
    }
}

/// A message that cannot be accepted, with the NOTIFICATION to send for it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {notification}")]
pub struct WireError {
    /// What to send the peer before closing the session.
    pub notification: Notification,
    /// A short human explanation.
    pub reason: &'static str,
}

impl WireError {
    pub(crate) fn new(code: u8, subcode: u8, data: Vec<u8>, reason: &'static str) -> WireError {
        WireError {
            notification: Notification::with_data(code, subcode, data),
            reason,
        }
    }

    fn bad_length(len: u16) -> WireError {
        WireError::new(
            notification::code::HEADER,
            notification::header::BAD_LENGTH,
            len.to_be_bytes().to_vec(),
            "bad message length",
        )
    }
}

/// Checks the header at the start of `buf` and returns the length of the whole message, or
/// `None` when fewer than [`HEADER_LEN`] bytes are there yet.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, WireError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if header[..16].iter().any(|&b| b != 0xFF) {
        return Err(WireError::new(
            notification::code::HEADER,
            notification::header::NOT_SYNCHRONIZED,
            Vec::new(),
            "marker is not all ones",
        ));
    }
    let len = u16::from_be_bytes([header[16], header[17]]);
    let ty = header[18];
    let min = match ty {
        TYPE_OPEN => 29,
        TYPE_UPDATE => 23,
        TYPE_NOTIFICATION => 21,
        TYPE_KEEPALIVE => 19,
        _ => {
            return Err(WireError::new(
                notification::code::HEADER,
                notification::header::BAD_TYPE,
                vec![ty],
                "unknown message type",
            ));
        }
    };
    let len_usize = usize::from(len);
    if len_usize < min
        || len_usize > MAX_MESSAGE_LEN
        || (ty == TYPE_KEEPALIVE && len_usize != HEADER_LEN)
    {
        return Err(WireError::bad_length(len));
    }
    Ok(Some(len_usize))
}

/// Decodes one whole message (header included). `buf` must hold exactly the message.
pub fn decode(buf: &[u8], ctx: SessionCtx) -> Result<Message, WireError> {
    match frame_len(buf)? {
        Some(len) if len == buf.len() => {}
        _ => {
            return Err(WireError::bad_length(
                u16::try_from(buf.len()).unwrap_or(u16::MAX),
            ));
        }
    }
    let body = &buf[HEADER_LEN..];
    match buf[18] {
        TYPE_OPEN => open::Open::decode(body).map(Message::Open),
        TYPE_UPDATE => update::Update::decode(body, ctx).map(Message::Update),
        TYPE_NOTIFICATION => Ok(Message::Notification(Notification::decode(body))),
        _ => Ok(Message::Keepalive),
    }
}

/// Encodes a message. UPDATEs larger than [`MAX_MESSAGE_LEN`] are the caller's mistake; the
/// route packer in this crate never builds them.
pub fn encode(msg: &Message, ctx: SessionCtx) -> Vec<u8> {
    let mut out = vec![0xFF; 16];
    out.extend_from_slice(&[0, 0, 0]);
    let ty = match msg {
        Message::Open(o) => {
            o.encode_body(&mut out);
            TYPE_OPEN
        }
        Message::Update(u) => {
            u.encode_body(&mut out, ctx);
            TYPE_UPDATE
        }
        Message::Notification(n) => {
            n.encode_body(&mut out);
            TYPE_NOTIFICATION
        }
        Message::Keepalive => TYPE_KEEPALIVE,
    };
    let len = u16::try_from(out.len()).unwrap_or(u16::MAX);
    out[16..18].copy_from_slice(&len.to_be_bytes());
    out[18] = ty;
    out
}

/// A cursor over a byte slice whose reads fail instead of panicking.
#[derive(Debug)]
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
