use ferrule_bpf_loader::InMemoryMaps;
use ferrule_bpf_loader::MapContents;

use super::*;
use crate::reconcile::reconcile;
use crate::testing::{RecordingAnnouncer, ip};

fn desired(table: &ResponderTable) -> MapContents {
    MapContents {
        responders: table.entries().clone(),
        ..MapContents::default()
    }
}

#[test]
fn set_reports_whether_anything_changed() {
    let mut table = ResponderTable::default();
    assert!(table.set([(2, ip("192.0.2.10"))]));
    assert!(!table.set([(2, ip("192.0.2.10"))]));
    assert!(table.set([(2, ip("192.0.2.10")), (3, ip("192.0.2.10"))]));
    assert!(table.set([]));
    assert!(table.entries().is_empty());
}

#[test]
fn added_entries_are_announced_once_on_each_interface() {
    let mut table = ResponderTable::default();
    let mut maps = InMemoryMaps::default();
    let mut announcer = RecordingAnnouncer::default();

    table.set([(2, ip("192.0.2.10")), (3, ip("192.0.2.10"))]);
    let applied = reconcile(&desired(&table), &mut maps).expect("reconcile");
    let out = announce_added(&applied, &mut announcer);
    assert_eq!(out.sent.len(), 2);

    // Unchanged: nothing written, nothing announced again.
    let applied = reconcile(&desired(&table), &mut maps).expect("reconcile");
    assert!(announce_added(&applied, &mut announcer).sent.is_empty());

    // One IP added, one removed: only the new one is announced.
    table.set([(2, ip("192.0.2.10")), (2, ip("2001:db8::10"))]);
    let applied = reconcile(&desired(&table), &mut maps).expect("reconcile");
    announce_added(&applied, &mut announcer);
    assert_eq!(
        announcer.sent,
        vec![
            ResponderKey {
                ifindex: 2,
                addr: ip("192.0.2.10")
            },
            ResponderKey {
                ifindex: 3,
                addr: ip("192.0.2.10")
            },
            ResponderKey {
                ifindex: 2,
                addr: ip("2001:db8::10")
            },
        ]
    );
}

#[test]
fn one_failed_announcement_does_not_stop_the_others() {
    let mut table = ResponderTable::default();
    let mut maps = InMemoryMaps::default();
    let mut announcer = RecordingAnnouncer {
        fail: vec![ip("192.0.2.10")],
        ..RecordingAnnouncer::default()
    };
    table.set([(2, ip("192.0.2.10")), (2, ip("192.0.2.11"))]);
    let applied = reconcile(&desired(&table), &mut maps).expect("reconcile");
    let out = announce_added(&applied, &mut announcer);
    assert_eq!(
        out.sent,
        vec![ResponderKey {
            ifindex: 2,
            addr: ip("192.0.2.11")
        }]
    );
    assert_eq!(out.failed.len(), 1);
    assert_eq!(out.failed[0].metric_label(), "announce");
}
