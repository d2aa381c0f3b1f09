//! lb.bpf.c: fragmented datagrams to a VIP. The first fragment is balanced and records its
//! ports; later fragments follow it to the same backend with an address-only rewrite, so the
//! backend reassembles a datagram whose L4 checksum verifies.

mod support;

use ferrule_bpf_common::{DropReason, LB_BACKEND_F_NODE_LOCAL, LbService};
use support::addrs::{CLIENT4, CLIENT6, VIP4, VIP6};
use support::ext::{DEST_OPTS, FRAGMENT, fragment_header, ipv6_chain, options_header};
use support::frag::{Fragment, fragments, parse_fragment, reassemble};
use support::ip::{Ip, TCP, UDP, l4_checksum, l4_segment};
use support::lb::{Lb, TC_ACT_OK};

const SERVICE: u32 = 5;
const BACKEND4_A: Ip = Ip::V4([192, 0, 2, 21]);
const BACKEND4_B: Ip = Ip::V4([192, 0, 2, 22]);
const BACKEND6_A: Ip = Ip::V6([
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x30, 0x21,
]);
const BACKEND6_B: Ip = Ip::V6([
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x30, 0x22,
]);
const PORT: u16 = 53;
const BACKEND_PORT: u16 = 5353;

/// A service on `vip:53/proto` over two node-local backends (ids 1 and 2), so "same
/// backend as the first fragment" is a real constraint.
fn lb(vip: Ip, backends: [Ip; 2], proto: u8) -> Lb {
    let mut lb = Lb::load();
    lb.add_backend(1, backends[0], BACKEND_PORT, LB_BACKEND_F_NODE_LOCAL);
    lb.add_backend(2, backends[1], BACKEND_PORT, LB_BACKEND_F_NODE_LOCAL);
    lb.set_maglev_row(SERVICE, &[1, 2]);
    let service = LbService {
        id: SERVICE,
        backend_count: 2,
        flags: 0,
    };
    lb.add_frontend(vip, PORT, proto, service);
    lb
}

/// A datagram with enough payload to split at byte 24 of the L4 segment.
fn segment(proto: u8, src: Ip, dst: Ip, sport: u16, dport: u16) -> Vec<u8> {
    let payload: Vec<u8> = (0u8..40).collect();
    l4_segment(proto, &src, &dst, sport, dport, &payload)
}

/// Runs both fragments in order and returns them read back, asserting each passed.
fn run_pair(lb: &Lb, pair: &[Vec<u8>; 2]) -> Vec<Fragment> {
    pair.iter()
        .map(|frame| {
            let out = lb.run(frame);
            assert_eq!(out.verdict, TC_ACT_OK);
            assert_eq!(out.frame.len(), frame.len(), "no bytes added or removed");
            parse_fragment(&out.frame)
        })
        .collect()
}

fn assert_fragments_follow_the_first(vip: Ip, client: Ip, backends: [Ip; 2], proto: u8) {
    let lb = lb(vip, backends, proto);
    let mut seen = Vec::new();
    for sport in 40100..40116 {
        let l4 = segment(proto, client, vip, sport, PORT);
        let pair = fragments(client, vip, proto, u32::from(sport), &l4, 24);

        let out = run_pair(&lb, &pair);

        let backend = out[0].dst;
        assert!(
            backends.contains(&backend),
            "first fragment DNATed: {out:?}"
        );
        assert_eq!(out[1].dst, backend, "later fragment to the same backend");
        assert_eq!((out[0].src, out[1].src), (client, client), "client kept");
        assert_eq!(
            out[1].payload,
            parse_fragment(&pair[1]).payload,
            "later fragment's payload untouched"
        );
        let datagram = reassemble(out);
        assert_eq!(
            l4_checksum(&client, &backend, proto, &datagram),
            0,
            "reassembled L4 checksum verifies against the backend address"
        );
        assert_eq!(&datagram[..2], &sport.to_be_bytes());
        assert_eq!(&datagram[2..4], &BACKEND_PORT.to_be_bytes());
        if !seen.contains(&backend) {
            seen.push(backend);
        }
    }
    assert_eq!(seen.len(), 2, "16 datagrams reach both backends: {seen:?}");
    assert_eq!(
        lb.service_counters(SERVICE).packets,
        32,
        "every fragment counted for the service"
    );
}

#[test]
fn udp_v4_fragments_reach_the_first_fragments_backend() {
    assert_fragments_follow_the_first(VIP4, CLIENT4, [BACKEND4_A, BACKEND4_B], UDP);
}

#[test]
fn tcp_v4_fragments_reach_the_first_fragments_backend() {
    assert_fragments_follow_the_first(VIP4, CLIENT4, [BACKEND4_A, BACKEND4_B], TCP);
}

#[test]
fn udp_v6_fragments_reach_the_first_fragments_backend() {
    assert_fragments_follow_the_first(VIP6, CLIENT6, [BACKEND6_A, BACKEND6_B], UDP);
}

#[test]
fn v6_fragments_with_destination_options_after_the_fragment_header_stay_together() {
    let (Ip::V6(client), Ip::V6(vip)) = (CLIENT6, VIP6) else {
        unreachable!("IPv6 constants")
    };
    let lb = lb(VIP6, [BACKEND6_A, BACKEND6_B], UDP);
    // The fragmentable part starts with destination options: the later fragment's fragment
    // header names those, not UDP, as its next header.
    let mut fragmentable = options_header(0);
    fragmentable[0] = UDP;
    fragmentable.extend_from_slice(&segment(UDP, CLIENT6, VIP6, 40150, PORT));
    let id = 0x0102_0304;
    let first = ipv6_chain(
        client,
        vip,
        &[(FRAGMENT, fragment_header(0, true, id))],
        DEST_OPTS,
        &fragmentable[..32],
    );
    let later = ipv6_chain(
        client,
        vip,
        &[(FRAGMENT, fragment_header(4, false, id))],
        DEST_OPTS,
        &fragmentable[32..],
    );

    let out = run_pair(&lb, &[first, later]);

    let backend = out[0].dst;
    assert!([BACKEND6_A, BACKEND6_B].contains(&backend), "{out:?}");
    assert_eq!(out[1].dst, backend, "later fragment to the same backend");
    let reassembled = reassemble(out);
    assert_eq!(&reassembled[..8], &fragmentable[..8], "options untouched");
    let datagram = &reassembled[8..];
    assert_eq!(l4_checksum(&CLIENT6, &backend, UDP, datagram), 0);
    assert_eq!(&datagram[2..4], &BACKEND_PORT.to_be_bytes());
}

#[test]
fn fragmented_v4_reply_is_reverse_nated_in_both_fragments() {
    let lb = lb(VIP4, [BACKEND4_A, BACKEND4_B], UDP);
    let request = fragments(
        CLIENT4,
        VIP4,
        UDP,
        7,
        &segment(UDP, CLIENT4, VIP4, 40200, PORT),
        24,
    );
    let backend = run_pair(&lb, &request)[0].dst;
    let reply_l4 = segment(UDP, backend, CLIENT4, BACKEND_PORT, 40200);

    let out = run_pair(&lb, &fragments(backend, CLIENT4, UDP, 9, &reply_l4, 24));

    assert_eq!((out[0].src, out[1].src), (VIP4, VIP4), "reply from the VIP");
    assert_eq!((out[0].dst, out[1].dst), (CLIENT4, CLIENT4));
    let datagram = reassemble(out);
    assert_eq!(l4_checksum(&VIP4, &CLIENT4, UDP, &datagram), 0);
    assert_eq!(
        &datagram[..2],
        &PORT.to_be_bytes(),
        "source port is the service's"
    );
}

#[test]
fn later_fragment_without_its_first_passes_untouched_and_is_counted() {
    for (vip, client, backends) in [
        (VIP4, CLIENT4, [BACKEND4_A, BACKEND4_B]),
        (VIP6, CLIENT6, [BACKEND6_A, BACKEND6_B]),
    ] {
        let lb = lb(vip, backends, UDP);
        let l4 = segment(UDP, client, vip, 40300, PORT);
        let [first, later] = fragments(client, vip, UDP, 0x77, &l4, 24);

        let out = lb.run(&later);

        assert_eq!(
            (out.verdict, &out.frame),
            (TC_ACT_OK, &later),
            "passed as is"
        );
        let counters = lb.program_counters();
        assert_eq!(counters.drops_for(DropReason::Fragment), 1, "counted");
        assert_eq!(counters.packets, 0, "not translated");

        // The first fragment arriving afterwards is still balanced on its own.
        let first_out = parse_fragment(&lb.run(&first).frame);
        assert!(backends.contains(&first_out.dst));
    }
}

#[test]
fn fragments_not_for_a_service_pass_and_are_not_counted_as_untracked() {
    let lb = lb(VIP4, [BACKEND4_A, BACKEND4_B], UDP);
    let other = BACKEND4_B;
    let l4 = segment(UDP, CLIENT4, other, 40400, PORT);
    let pair = fragments(CLIENT4, other, UDP, 0x99, &l4, 24);

    for frame in &pair {
        let out = lb.run(frame);
        assert_eq!((out.verdict, &out.frame), (TC_ACT_OK, frame));
    }
    let counters = lb.program_counters();
    assert_eq!(
        counters.drops_for(DropReason::Fragment),
        0,
        "its first was seen"
    );
    assert_eq!(counters.packets, 0);
}
