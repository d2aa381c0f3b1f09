use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::open::{OpenPolicy, negotiate};
use super::update::{pack_announce, pack_withdraw};
use super::*;
use crate::community::{Community, LargeCommunity};
use crate::prefix::{Family, Prefix};

const CTX: SessionCtx = SessionCtx {
    four_octet_as: true,
};

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn sample_open() -> Open {
    Open {
        my_as: AS_TRANS,
        hold_time: 9,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![
            Capability::Multiprotocol(Family::Ipv4Unicast),
            Capability::Multiprotocol(Family::Ipv6Unicast),
            Capability::FourOctetAs(4_200_000_001),
            Capability::GracefulRestart(GracefulRestartCap {
                restarting: true,
                restart_time: 120,
                families: vec![(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, true)],
            }),
            Capability::Unknown {
                code: 73,
                value: b"fqdn".to_vec(),
            },
        ],
    }
}

fn sample_update() -> Update {
    Update {
        withdrawn: vec![p("198.51.100.0/24")],
        attrs: PathAttrs {
            origin: Some(Origin::Igp),
            as_path: Some(vec![AsSegment::Sequence(vec![4_200_000_001])]),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            med: None,
            local_pref: Some(200),
            communities: vec![Community::NO_EXPORT, "65000:7".parse().unwrap()],
            large_communities: vec![LargeCommunity {
                global: 65000,
                local1: 1,
                local2: 2,
            }],
        },
        nlri: vec![p("203.0.113.0/24"), p("203.0.113.128/32")],
        ..Update::default()
    }
}

fn decode_err(bytes: &[u8]) -> (u8, u8, Vec<u8>) {
    let e = decode(bytes, CTX).unwrap_err().notification;
    (e.code, e.subcode, e.data)
}

/// Builds an UPDATE from raw attribute bytes and IPv4 NLRI bytes.
fn raw_update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut body = (withdrawn.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(withdrawn);
    body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(nlri);
    let mut m = vec![0xFF; 16];
    m.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&body);
    m
}

const ORIGIN_IGP: [u8; 4] = [0x40, 1, 1, 0];
const AS_PATH_65001: [u8; 9] = [0x40, 2, 6, 2, 1, 0, 0, 0xFD, 0xE9];
const NEXT_HOP: [u8; 7] = [0x40, 3, 4, 192, 0, 2, 1];
const NLRI_24: [u8; 4] = [24, 203, 0, 113];

fn with(attrs: &[&[u8]]) -> Vec<u8> {
    attrs.concat()
}

#[test]
fn open_round_trips_with_every_capability() {
    let o = sample_open();
    let bytes = encode(&Message::Open(o.clone()), CTX);
    assert_eq!(decode(&bytes, CTX), Ok(Message::Open(o.clone())));
    assert_eq!(o.asn(), 4_200_000_001);
    assert_eq!(o.families(), vec![Family::Ipv4Unicast, Family::Ipv6Unicast]);
}

#[test]
fn open_without_multiprotocol_means_ipv4_unicast() {
    let o = Open {
        my_as: 65001,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(192, 0, 2, 9),
        capabilities: vec![],
    };
    assert_eq!(o.families(), vec![Family::Ipv4Unicast]);
    assert_eq!(o.asn(), 65001);
}

fn policy() -> OpenPolicy {
    OpenPolicy {
        local_asn: 65000,
        peer_asn: Some(4_200_000_001),
        router_id: Ipv4Addr::new(192, 0, 2, 254),
        hold_time: 90,
        keepalive: None,
        families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
    }
}

#[test]
fn negotiation_takes_the_smaller_hold_time_and_a_third_of_it_for_keepalive() {
    let n = negotiate(&policy(), &sample_open()).unwrap();
    assert_eq!((n.hold_time, n.keepalive), (9, 3));
    assert!(n.four_octet_as);
    assert_eq!(n.families, vec![Family::Ipv4Unicast, Family::Ipv6Unicast]);
    assert!(n.peer_graceful_restart.unwrap().restarting);

    let mut ours = policy();
    ours.keepalive = Some(1);
    assert_eq!(negotiate(&ours, &sample_open()).unwrap().keepalive, 1);
    let mut theirs = sample_open();
    theirs.hold_time = 0;
    let n = negotiate(&policy(), &theirs).unwrap();
    assert_eq!((n.hold_time, n.keepalive), (0, 0));
}

#[test]
fn open_errors_map_to_rfc4271_subcodes() {
    let mut ours = policy();
    ours.peer_asn = Some(65002);
    let e = negotiate(&ours, &sample_open()).unwrap_err().notification;
    assert_eq!((e.code, e.subcode), (2, 2));

    let mut theirs = sample_open();
    theirs.hold_time = 2;
    assert_eq!(
        negotiate(&policy(), &theirs)
            .unwrap_err()
            .notification
            .subcode,
        6
    );

    let mut theirs = sample_open();
    theirs.bgp_id = Ipv4Addr::UNSPECIFIED;
    assert_eq!(
        negotiate(&policy(), &theirs)
            .unwrap_err()
            .notification
            .subcode,
        3
    );

    let mut bytes = encode(&Message::Open(sample_open()), CTX);
    bytes[19] = 3;
    assert_eq!(decode_err(&bytes), (2, 1, vec![0, 4]));

    // An optional parameter of type 1 (authentication, deprecated).
    let mut bytes = encode(
        &Message::Open(Open {
            capabilities: vec![],
            ..sample_open()
        }),
        CTX,
    );
    bytes.truncate(28);
    bytes.extend_from_slice(&[3, 1, 1, 0]);
    bytes[17] = bytes.len() as u8;
    assert_eq!(decode_err(&bytes).0..=decode_err(&bytes).1, 2..=4);
}

#[test]
fn header_errors_carry_their_diagnostic_data() {
    let mut ka = encode(&Message::Keepalive, CTX);
    assert_eq!(decode(&ka, CTX), Ok(Message::Keepalive));
    ka[3] = 0;
    assert_eq!(decode_err(&ka), (1, 1, vec![]));

    let mut ka = encode(&Message::Keepalive, CTX);
    ka[17] = 20;
    ka.push(0);
    assert_eq!(decode_err(&ka), (1, 2, vec![0, 20]));

    let mut ka = encode(&Message::Keepalive, CTX);
    ka[18] = 9;
    assert_eq!(decode_err(&ka), (1, 3, vec![9]));

    assert_eq!(frame_len(&ka[..10]), Ok(None));
}

#[test]
fn notification_round_trips() {
    let n = Notification::with_data(6, 2, b"bye".to_vec());
    let bytes = encode(&Message::Notification(n.clone()), CTX);
    assert_eq!(decode(&bytes, CTX), Ok(Message::Notification(n)));
}

#[test]
fn update_round_trips_with_communities_and_local_pref() {
    let u = sample_update();
    let bytes = encode(&Message::Update(u.clone()), CTX);
    assert_eq!(decode(&bytes, CTX), Ok(Message::Update(u.clone())));
    // Two-byte AS sessions carry AS_TRANS in AS_PATH and the real path in AS4_PATH.
    let two = SessionCtx {
        four_octet_as: false,
    };
    let Ok(Message::Update(back)) = decode(&encode(&Message::Update(u), two), two) else {
        panic!("two-byte AS UPDATE did not decode");
    };
    assert_eq!(
        back.attrs.as_path,
        Some(vec![AsSegment::Sequence(vec![u32::from(AS_TRANS)])])
    );
}

#[test]
fn ipv6_routes_use_mp_reach_and_end_of_rib_is_recognised() {
    let nh: IpAddr = "2001:db8::1".parse().unwrap();
    let ups = pack_announce(
        Family::Ipv6Unicast,
        &PathAttrs {
            origin: Some(Origin::Igp),
            as_path: Some(vec![]),
            ..PathAttrs::default()
        },
        nh,
        &[p("2001:db8:100::/48")],
        CTX,
    );
    let Ok(Message::Update(back)) = decode(&encode(&Message::Update(ups[0].clone()), CTX), CTX)
    else {
        panic!("MP UPDATE did not decode");
    };
    assert_eq!(back.mp_reach.as_ref().unwrap().next_hops, vec![nh]);
    assert_eq!(back.announced(), vec![p("2001:db8:100::/48")]);
    assert_eq!(back.is_end_of_rib(), None);
    for f in Family::ALL {
        let bytes = encode(&Message::Update(Update::end_of_rib(f)), CTX);
        let Ok(Message::Update(u)) = decode(&bytes, CTX) else {
            panic!("EoR did not decode")
        };
        assert_eq!(u.is_end_of_rib(), Some(f));
    }
}

#[test]
fn ten_thousand_routes_pack_into_full_messages_that_decode_back() {
    let prefixes: Vec<Prefix> = (0..10_000u32)
        .map(|i| Prefix::new(IpAddr::V4(Ipv4Addr::from(0xC612_0000 + i)), 32).unwrap())
        .collect();
    let attrs = sample_update().attrs;
    let nh = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let mut seen = Vec::new();
    let ups = pack_announce(Family::Ipv4Unicast, &attrs, nh, &prefixes, CTX);
    assert!(ups.len() < 10_000 / 700, "{} messages", ups.len());
    for u in &ups {
        let bytes = encode(&Message::Update(u.clone()), CTX);
        assert!(bytes.len() <= MAX_MESSAGE_LEN);
        let Ok(Message::Update(back)) = decode(&bytes, CTX) else {
            panic!("did not decode")
        };
        seen.extend(back.announced());
    }
    assert_eq!(seen, prefixes);
    let v6: Vec<Prefix> = (0..3000u32)
        .map(|i| format!("2001:db8:{:x}::/64", i).parse().unwrap())
        .collect();
    let mut seen = Vec::new();
    for u in pack_withdraw(Family::Ipv6Unicast, &v6, CTX) {
        let bytes = encode(&Message::Update(u), CTX);
        assert!(bytes.len() <= MAX_MESSAGE_LEN);
        let Ok(Message::Update(back)) = decode(&bytes, CTX) else {
            panic!("did not decode")
        };
        seen.extend(back.withdrawn_all());
    }
    assert_eq!(seen, v6);
}

fn treat_as_withdraw(bytes: &[u8]) -> (u8, u8, Vec<u8>, Vec<Prefix>) {
    let Ok(Message::Update(u)) = decode(bytes, CTX) else {
        panic!("expected treat-as-withdraw, got {:?}", decode(bytes, CTX));
    };
    let e = u
        .treat_as_withdraw
        .clone()
        .expect("treat-as-withdraw")
        .notification;
    assert!(u.announced().is_empty());
    (e.code, e.subcode, e.data, u.withdrawn_all())
}

#[test]
fn attribute_errors_that_rfc7606_forgives_withdraw_the_routes() {
    let bad_origin = [0x40, 1, 1, 7];
    let (c, s, data, w) = treat_as_withdraw(&raw_update(
        &[],
        &with(&[&bad_origin, &AS_PATH_65001, &NEXT_HOP]),
        &NLRI_24,
    ));
    assert_eq!((c, s, data), (3, 6, bad_origin.to_vec()));
    assert_eq!(w, vec![p("203.0.113.0/24")]);

    let (_, s, data, _) =
        treat_as_withdraw(&raw_update(&[], &with(&[&ORIGIN_IGP, &NEXT_HOP]), &NLRI_24));
    assert_eq!((s, data), (3, vec![2]));

    let odd_communities = [0xC0, 8, 5, 0, 0, 0, 1, 2];
    let (_, s, _, _) = treat_as_withdraw(&raw_update(
        &[],
        &with(&[&ORIGIN_IGP, &AS_PATH_65001, &NEXT_HOP, &odd_communities]),
        &NLRI_24,
    ));
    assert_eq!(s, 5);

    let optional_origin = [0xC0, 1, 1, 0];
    let (_, s, _, _) = treat_as_withdraw(&raw_update(
        &[],
        &with(&[&optional_origin, &AS_PATH_65001, &NEXT_HOP]),
        &NLRI_24,
    ));
    assert_eq!(s, 4);

    let zero_next_hop = [0x40, 3, 4, 0, 0, 0, 0];
    let (_, s, _, _) = treat_as_withdraw(&raw_update(
        &[],
        &with(&[&ORIGIN_IGP, &AS_PATH_65001, &zero_next_hop]),
        &NLRI_24,
    ));
    assert_eq!(s, 8);

    let bad_segment = [0x40, 2, 6, 9, 1, 0, 0, 0xFD, 0xE9];
    let (_, s, _, _) = treat_as_withdraw(&raw_update(
        &[],
        &with(&[&ORIGIN_IGP, &bad_segment, &NEXT_HOP]),
        &NLRI_24,
    ));
    assert_eq!(s, 11);
}

#[test]
fn structural_update_errors_reset_the_session() {
    let unknown_well_known = [0x40, 99, 1, 0];
    assert_eq!(
        decode_err(&raw_update(
            &[],
            &with(&[&ORIGIN_IGP, &unknown_well_known]),
            &[]
        )),
        (3, 2, unknown_well_known.to_vec())
    );
    let overrun = [0x40, 1, 9, 0];
    assert_eq!(decode_err(&raw_update(&[], &overrun, &[])).1, 1);
    let mut m = raw_update(&[24, 1, 2, 3], &[], &[]);
    m[20] = 40; // withdrawn length past the end
    assert_eq!(decode_err(&m).1, 1);
    assert_eq!(
        decode_err(&raw_update(
            &[],
            &with(&[&ORIGIN_IGP, &AS_PATH_65001, &NEXT_HOP]),
            &[33, 1, 2, 3, 4, 5]
        ))
        .1,
        10
    );
    let mp = [0x90, 15, 0, 3, 0, 2, 1];
    assert_eq!(decode_err(&raw_update(&[], &with(&[&mp, &mp]), &[])).1, 1);
    let bad_nh_len = [0x80, 14, 7, 0, 2, 1, 3, 1, 2, 3, 0];
    assert_eq!(decode_err(&raw_update(&[], &bad_nh_len, &[])).1, 9);
    // An unknown optional attribute is ignored and a duplicate attribute is dropped.
    let unknown_optional = [0xC0, 200, 2, 1, 2];
    let dup_origin = [0x40, 1, 1, 2];
    let Ok(Message::Update(u)) = decode(
        &raw_update(
            &[],
            &with(&[
                &ORIGIN_IGP,
                &dup_origin,
                &unknown_optional,
                &AS_PATH_65001,
                &NEXT_HOP,
            ]),
            &NLRI_24,
        ),
        CTX,
    ) else {
        panic!("valid UPDATE rejected");
    };
    assert_eq!(u.attrs.origin, Some(Origin::Igp));
    assert_eq!(u.announced(), vec![p("203.0.113.0/24")]);
}

fn valid_messages() -> Vec<Vec<u8>> {
    let nh: IpAddr = "2001:db8::1".parse().unwrap();
    let v6 = pack_announce(
        Family::Ipv6Unicast,
        &sample_update().attrs,
        nh,
        &[p("2001:db8::/32")],
        CTX,
    );
    vec![
        encode(&Message::Open(sample_open()), CTX),
        encode(&Message::Update(sample_update()), CTX),
        encode(&Message::Update(v6[0].clone()), CTX),
        encode(&Message::Notification(Notification::new(6, 2)), CTX),
        encode(&Message::Keepalive, CTX),
    ]
}

/// Any decode failure must name a NOTIFICATION a peer can be sent.
fn assert_maps_to_notification(bytes: &[u8]) {
    for ctx in [
        CTX,
        SessionCtx {
            four_octet_as: false,
        },
    ] {
        if let Ok(Some(len)) = frame_len(bytes)
            && let Some(msg) = bytes.get(..len)
            && let Err(e) = decode(msg, ctx)
        {
            let n = e.notification;
            assert!((1..=3).contains(&n.code), "unexpected code {n:?}");
            assert!(n.subcode <= 11, "unexpected subcode {n:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600), ty in 0u8..6) {
        let mut m = vec![0xFF; 16];
        m.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
        m.push(ty);
        m.extend_from_slice(&body);
        assert_maps_to_notification(&m);
        assert_maps_to_notification(&body);
    }

    #[test]
    fn mutated_valid_messages_never_panic(
        which in 0usize..5,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let mut m = valid_messages().swap_remove(which);
        for (at, v) in flips {
            let i = 16 + at % (m.len() - 16); // keep the marker, mutate the rest
            m[i] = v;
        }
        assert_maps_to_notification(&m);
        let len = m.len();
        m.truncate(HEADER_LEN + cut % (len - HEADER_LEN + 1));
        let new_len = m.len() as u16;
        m[16..18].copy_from_slice(&new_len.to_be_bytes());
        assert_maps_to_notification(&m);
    }
}
