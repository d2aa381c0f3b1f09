//! The decoder faces whatever arrives on UDP port 3784: it must never panic, and whatever
//! it accepts must re-encode to the bytes it came from.

use ferrule_bfd::packet::{ControlPacket, PACKET_LEN};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        let _ = ControlPacket::decode(&bytes);
    }

    #[test]
    fn accepted_packets_round_trip(mut bytes in proptest::collection::vec(any::<u8>(), PACKET_LEN..=PACKET_LEN)) {
        // Steer the generator towards packets that pass the header checks, so the round trip
        // is exercised often rather than almost never.
        bytes[0] = (1 << 5) | (bytes[0] & 0x1f);
        bytes[1] &= !0x05;
        bytes[3] = PACKET_LEN as u8;
        if let Ok(packet) = ControlPacket::decode(&bytes) {
            prop_assert_eq!(packet.encode().to_vec(), bytes);
        }
    }
}
