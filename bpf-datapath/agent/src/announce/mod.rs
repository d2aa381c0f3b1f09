//! The announcer the run mode uses today.
//!
//! Gratuitous ARP / unsolicited NA need a raw packet socket, which arrives with the L2
//! announcements issue together with whatever feeds the responder table. Until then the table
//! stays empty, so nothing is ever announced; should an entry appear anyway, the failure is
//! reported (and logged by the run loop) instead of pretending a neighbour was told.

use ferrule_bpf_loader::model::ResponderKey;

use crate::Error;
use crate::responder::Announcer;

/// Refuses every announcement with a reason.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unavailable;

impl Announcer for Unavailable {
    fn announce(&mut self, key: ResponderKey) -> Result<(), Error> {
        Err(Error::Announce {
            ifindex: key.ifindex,
            addr: key.addr,
            reason: "this agent cannot send gratuitous ARP / unsolicited NA yet".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcing_reports_a_failure_rather_than_success() {
        let key = ResponderKey {
            ifindex: 2,
            addr: "192.0.2.5".parse().expect("ip"),
        };
        let err = Unavailable.announce(key).expect_err("no sender yet");
        assert_eq!(err.metric_label(), "announce");
    }
}
