//! The BFD Control packet (RFC 5880 section 4.1) and the checks of section 6.8.6 that need
//! nothing but the packet itself.
//!
//! Authentication is not supported: a packet with the A bit set is rejected
//! ([`DecodeError::AuthenticationPresent`]), which is what section 6.8.6 requires of a system
//! whose `bfd.AuthType` is zero.

use std::fmt;

/// The only protocol version this crate speaks.
pub const VERSION: u8 = 1;
/// Length of a Control packet without an authentication section.
pub const PACKET_LEN: usize = 24;

/// `bfd.SessionState` / the Sta field (RFC 5880 section 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SessionState {
    AdminDown,
    #[default]
    Down,
    Init,
    Up,
}

impl SessionState {
    fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0 => Self::AdminDown,
            1 => Self::Down,
            2 => Self::Init,
            _ => Self::Up,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Self::AdminDown => 0,
            Self::Down => 1,
            Self::Init => 2,
            Self::Up => 3,
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AdminDown => "AdminDown",
            Self::Down => "Down",
            Self::Init => "Init",
            Self::Up => "Up",
        })
    }
}

/// The Diag field: why the sender's session last left Up (RFC 5880 section 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Diagnostic {
    #[default]
    NoDiagnostic,
    ControlDetectionTimeExpired,
    EchoFunctionFailed,
    NeighborSignaledSessionDown,
    ForwardingPlaneReset,
    PathDown,
    ConcatenatedPathDown,
    AdministrativelyDown,
    ReverseConcatenatedPathDown,
    /// Values 9-31 are reserved; kept so a peer's future codes never fail decoding.
    Reserved(u8),
}

impl Diagnostic {
    fn from_bits(bits: u8) -> Self {
        match bits & 0x1f {
            0 => Self::NoDiagnostic,
            1 => Self::ControlDetectionTimeExpired,
            2 => Self::EchoFunctionFailed,
            3 => Self::NeighborSignaledSessionDown,
            4 => Self::ForwardingPlaneReset,
            5 => Self::PathDown,
            6 => Self::ConcatenatedPathDown,
            7 => Self::AdministrativelyDown,
            8 => Self::ReverseConcatenatedPathDown,
            other => Self::Reserved(other),
        }
    }

    /// The 5-bit wire value.
    pub fn code(self) -> u8 {
        match self {
            Self::NoDiagnostic => 0,
            Self::ControlDetectionTimeExpired => 1,
            Self::EchoFunctionFailed => 2,
            Self::NeighborSignaledSessionDown => 3,
            Self::ForwardingPlaneReset => 4,
            Self::PathDown => 5,
            Self::ConcatenatedPathDown => 6,
            Self::AdministrativelyDown => 7,
            Self::ReverseConcatenatedPathDown => 8,
            Self::Reserved(code) => code & 0x1f,
        }
    }
}

/// A decoded Control packet. Intervals are in microseconds, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlPacket {
    pub diagnostic: Diagnostic,
    pub state: SessionState,
    pub poll: bool,
    pub final_: bool,
    pub control_plane_independent: bool,
    pub demand: bool,
    pub detect_mult: u8,
    pub my_discriminator: u32,
    pub your_discriminator: u32,
    pub desired_min_tx_us: u32,
    pub required_min_rx_us: u32,
    pub required_min_echo_rx_us: u32,
}

/// Why a received datagram is not a Control packet this crate accepts. Every variant is a
/// "MUST be discarded" of RFC 5880 section 6.8.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("datagram of {0} bytes is shorter than a BFD Control packet")]
    TooShort(usize),
    #[error("unsupported BFD version {0}")]
    UnsupportedVersion(u8),
    #[error("length field {field} is invalid for a datagram of {datagram} bytes")]
    BadLength { field: u8, datagram: usize },
    #[error("authentication present but not configured")]
    AuthenticationPresent,
    #[error("detect multiplier is zero")]
    ZeroDetectMult,
    #[error("multipoint bit set")]
    Multipoint,
    #[error("my discriminator is zero")]
    ZeroMyDiscriminator,
    #[error("your discriminator is zero in state {0}")]
    ZeroYourDiscriminator(SessionState),
}

const FLAG_POLL: u8 = 0x20;
const FLAG_FINAL: u8 = 0x10;
const FLAG_CPI: u8 = 0x08;
const FLAG_AUTH: u8 = 0x04;
const FLAG_DEMAND: u8 = 0x02;
const FLAG_MULTIPOINT: u8 = 0x01;

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_be_bytes(word)
}

impl ControlPacket {
    /// Parses a UDP payload, applying every check of RFC 5880 section 6.8.6 that does not
    /// need session state. Never panics, whatever the input.
    pub fn decode(datagram: &[u8]) -> Result<Self, DecodeError> {
        if datagram.len() < PACKET_LEN {
            return Err(DecodeError::TooShort(datagram.len()));
        }
        let version = datagram[0] >> 5;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let flags = datagram[1];
        let length = datagram[3];
        let minimum = if flags & FLAG_AUTH != 0 {
            PACKET_LEN + 2
        } else {
            PACKET_LEN
        };
        if usize::from(length) < minimum || usize::from(length) > datagram.len() {
            return Err(DecodeError::BadLength {
                field: length,
                datagram: datagram.len(),
            });
        }
        let packet = Self {
            diagnostic: Diagnostic::from_bits(datagram[0]),
            state: SessionState::from_bits(flags >> 6),
            poll: flags & FLAG_POLL != 0,
            final_: flags & FLAG_FINAL != 0,
            control_plane_independent: flags & FLAG_CPI != 0,
            demand: flags & FLAG_DEMAND != 0,
            detect_mult: datagram[2],
            my_discriminator: be_u32(datagram, 4),
            your_discriminator: be_u32(datagram, 8),
            desired_min_tx_us: be_u32(datagram, 12),
            required_min_rx_us: be_u32(datagram, 16),
            required_min_echo_rx_us: be_u32(datagram, 20),
        };
        if packet.detect_mult == 0 {
            return Err(DecodeError::ZeroDetectMult);
        }
        if flags & FLAG_MULTIPOINT != 0 {
            return Err(DecodeError::Multipoint);
        }
        if packet.my_discriminator == 0 {
            return Err(DecodeError::ZeroMyDiscriminator);
        }
        if packet.your_discriminator == 0
            && !matches!(packet.state, SessionState::Down | SessionState::AdminDown)
        {
            return Err(DecodeError::ZeroYourDiscriminator(packet.state));
        }
        // Checked last so that a packet which is malformed anyway reports its real fault.
        if flags & FLAG_AUTH != 0 {
            return Err(DecodeError::AuthenticationPresent);
        }
        Ok(packet)
    }

    /// Serialises the packet (never with an authentication section).
    pub fn encode(&self) -> [u8; PACKET_LEN] {
        let mut out = [0u8; PACKET_LEN];
        out[0] = (VERSION << 5) | self.diagnostic.code();
        let mut flags = self.state.bits() << 6;
        for (set, bit) in [
            (self.poll, FLAG_POLL),
            (self.final_, FLAG_FINAL),
            (self.control_plane_independent, FLAG_CPI),
            (self.demand, FLAG_DEMAND),
        ] {
            if set {
                flags |= bit;
            }
        }
        out[1] = flags;
        out[2] = self.detect_mult;
        out[3] = PACKET_LEN as u8;
        out[4..8].copy_from_slice(&self.my_discriminator.to_be_bytes());
        out[8..12].copy_from_slice(&self.your_discriminator.to_be_bytes());
        out[12..16].copy_from_slice(&self.desired_min_tx_us.to_be_bytes());
        out[16..20].copy_from_slice(&self.required_min_rx_us.to_be_bytes());
        out[20..24].copy_from_slice(&self.required_min_echo_rx_us.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up_packet() -> ControlPacket {
        ControlPacket {
            diagnostic: Diagnostic::NoDiagnostic,
            state: SessionState::Up,
            poll: true,
            detect_mult: 3,
            my_discriminator: 0x0102_0304,
            your_discriminator: 0x0a0b_0c0d,
            desired_min_tx_us: 100_000,
            required_min_rx_us: 300_000,
            ..ControlPacket::default()
        }
    }

    #[test]
    fn encodes_the_section_4_1_layout() {
        let bytes = up_packet().encode();
        assert_eq!(
            bytes,
            [
                0x20, 0xe0, 3, 24, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x01, 0x86, 0xa0,
                0x00, 0x04, 0x93, 0xe0, 0, 0, 0, 0
            ],
            "version 1, state Up with P, mult 3, length 24, big-endian fields"
        );
        assert_eq!(ControlPacket::decode(&bytes), Ok(up_packet()));
    }

    #[test]
    fn trailing_bytes_beyond_the_length_field_are_ignored() {
        let mut bytes = up_packet().encode().to_vec();
        bytes.extend_from_slice(&[0xff; 8]);
        assert_eq!(ControlPacket::decode(&bytes), Ok(up_packet()));
    }

    #[test]
    fn section_6_8_6_discards() {
        let good = up_packet().encode();
        let with = |index: usize, value: u8| {
            let mut bytes = good;
            bytes[index] = value;
            ControlPacket::decode(&bytes)
        };
        assert_eq!(
            ControlPacket::decode(&good[..23]),
            Err(DecodeError::TooShort(23))
        );
        assert_eq!(with(0, 0x40), Err(DecodeError::UnsupportedVersion(2)));
        assert!(matches!(
            with(3, 23),
            Err(DecodeError::BadLength { field: 23, .. })
        ));
        assert!(matches!(
            with(3, 25),
            Err(DecodeError::BadLength { field: 25, .. })
        ));
        assert_eq!(with(2, 0), Err(DecodeError::ZeroDetectMult));
        assert_eq!(with(1, 0xc1), Err(DecodeError::Multipoint));
        let mut zero_mine = good;
        zero_mine[4..8].fill(0);
        assert_eq!(
            ControlPacket::decode(&zero_mine),
            Err(DecodeError::ZeroMyDiscriminator)
        );
        let mut zero_yours = good;
        zero_yours[8..12].fill(0);
        assert_eq!(
            ControlPacket::decode(&zero_yours),
            Err(DecodeError::ZeroYourDiscriminator(SessionState::Up))
        );
        zero_yours[1] = 0x40; // Down: the peer does not know us yet, which is legitimate
        assert!(ControlPacket::decode(&zero_yours).is_ok());
    }

    #[test]
    fn authenticated_packets_are_rejected() {
        let mut bytes = [0u8; 28];
        bytes[..24].copy_from_slice(&up_packet().encode());
        bytes[1] |= FLAG_AUTH;
        bytes[3] = 28;
        assert_eq!(
            ControlPacket::decode(&bytes),
            Err(DecodeError::AuthenticationPresent)
        );
        bytes[3] = 24; // A bit set but no room for the authentication section
        assert!(matches!(
            ControlPacket::decode(&bytes),
            Err(DecodeError::BadLength { .. })
        ));
    }

    #[test]
    fn reserved_diagnostics_survive_a_round_trip() {
        let packet = ControlPacket {
            diagnostic: Diagnostic::Reserved(31),
            ..up_packet()
        };
        assert_eq!(ControlPacket::decode(&packet.encode()), Ok(packet));
    }
}
