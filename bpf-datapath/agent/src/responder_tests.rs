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

/// Records announcements and withdrawals in order; refuses withdrawals of `fail_withdraw`.
#[derive(Debug, Default)]
struct Journal {
    events: Vec<(&'static str, ResponderKey)>,
    fail_withdraw: Vec<IpAddr>,
}

impl Announcer for Journal {
    fn announce(&mut self, key: ResponderKey) -> Result<(), Error> {
        self.events.push(("announce", key));
        Ok(())
    }

    fn withdraw(&mut self, key: ResponderKey) -> Result<(), Error> {
        if self.fail_withdraw.contains(&key.addr) {
            return Err(Error::Announce {
                ifindex: key.ifindex,
                addr: key.addr,
                reason: "leaving the group failed".into(),
            });
        }
        self.events.push(("withdraw", key));
        Ok(())
    }
}

fn key(ifindex: u32, addr: &str) -> ResponderKey {
    ResponderKey {
        ifindex,
        addr: ip(addr),
    }
}

#[test]
fn removed_entries_are_withdrawn_and_kept_ones_left_alone() {
    let mut table = ResponderTable::default();
    let mut maps = InMemoryMaps::default();
    let mut announcer = Journal::default();

    table.set([(2, ip("2001:db8::10")), (2, ip("2001:db8::11"))]);
    let applied = reconcile(&desired(&table), &mut maps).expect("reconcile");
    announce_added(&applied, &mut announcer);
    announcer.events.clear();

    // ::10 moves away (another node took it), ::12 arrives, ::11 stays.
    table.set([(2, ip("2001:db8::11")), (2, ip("2001:db8::12"))]);
    let applied = reconcile(&desired(&table), &mut maps).expect("reconcile");
    let out = announce_added(&applied, &mut announcer);

    assert_eq!(out.sent, vec![key(2, "2001:db8::12")]);
    assert_eq!(out.withdrawn, vec![key(2, "2001:db8::10")]);
    assert!(out.failed.is_empty());
    let mut events = announcer.events.clone();
    events.sort();
    assert_eq!(
        events,
        vec![
            ("announce", key(2, "2001:db8::12")),
            ("withdraw", key(2, "2001:db8::10")),
        ]
    );
}

#[test]
fn a_failed_withdrawal_is_reported_not_counted() {
    let mut table = ResponderTable::default();
    let mut maps = InMemoryMaps::default();
    let mut announcer = Journal {
        fail_withdraw: vec![ip("2001:db8::10")],
        ..Journal::default()
    };
    table.set([(2, ip("2001:db8::10")), (3, ip("192.0.2.10"))]);
    let applied = reconcile(&desired(&table), &mut maps).expect("reconcile");
    assert_eq!(announce_added(&applied, &mut announcer).sent.len(), 2);

    table.set([]);
    let applied = reconcile(&desired(&table), &mut maps).expect("reconcile");
    let out = announce_added(&applied, &mut announcer);
    assert_eq!(out.withdrawn, vec![key(3, "192.0.2.10")]);
    assert_eq!(out.failed.len(), 1);
    assert!(
        out.failed[0].to_string().contains("2001:db8::10"),
        "{}",
        out.failed[0]
    );
}

#[test]
fn announcers_that_hold_nothing_withdraw_successfully() {
    let mut table = ResponderTable::default();
    let mut maps = InMemoryMaps::default();
    let mut announcer = RecordingAnnouncer::default();
    table.set([(2, ip("192.0.2.10"))]);
    let applied = reconcile(&desired(&table), &mut maps).expect("reconcile");
    announce_added(&applied, &mut announcer);
    table.set([]);
    let applied = reconcile(&desired(&table), &mut maps).expect("reconcile");
    let out = announce_added(&applied, &mut announcer);
    assert_eq!(out.withdrawn, vec![key(2, "192.0.2.10")]);
    assert!(out.sent.is_empty() && out.failed.is_empty());
}
