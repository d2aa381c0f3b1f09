//! Adj-RIB-Out: which attributes each prefix goes out with on a session, and the UPDATEs that
//! move a peer from what it was sent to what it should have. Pure.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::config::PeerConfig;
use crate::prefix::{Family, Prefix};
use crate::route::Route;
use crate::wire::update::{pack_announce, pack_withdraw};
use crate::wire::{AsSegment, Origin, PathAttrs, SessionCtx, Update};

/// What was (or should be) sent to a peer: prefix → attributes (next hop excluded: it is
/// per family and fixed for the session).
pub type AdjRibOut = BTreeMap<Prefix, PathAttrs>;

/// The LOCAL_PREF sent on iBGP when a route has none (RFC 4271 5.1.5 wants one there).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// Per-session facts that decide the exported attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportPolicy {
    /// Local ASN.
    pub local_asn: u32,
    /// The session is iBGP (same ASN): empty AS_PATH and LOCAL_PREF.
    pub ibgp: bool,
    /// Families that are exported, with their next hop.
    pub next_hops: BTreeMap<Family, IpAddr>,
}

/// Picks each negotiated family's next hop: the session's local address of that family, else
/// the peer's hint. Families without one are returned with the reason they are not sent.
pub fn next_hops(
    families: &[Family],
    local: Option<IpAddr>,
    peer: &PeerConfig,
) -> (BTreeMap<Family, IpAddr>, Vec<(Family, String)>) {
    let local = local.map(|a| a.to_canonical());
    let mut chosen = BTreeMap::new();
    let mut skipped = Vec::new();
    for &f in families {
        let hint = match f {
            Family::Ipv4Unicast => peer.next_hop_v4.map(IpAddr::V4),
            Family::Ipv6Unicast => peer.next_hop_v6.map(IpAddr::V6),
        };
        match local.filter(|a| Family::of(*a) == f).or(hint) {
            Some(nh) => {
                chosen.insert(f, nh);
            }
            None => skipped.push((
                f,
                format!(
                    "no {} next hop: the session has no local {} address and no next-hop hint is configured",
                    f.afi_name(),
                    f.afi_name()
                ),
            )),
        }
    }
    (chosen, skipped)
}

/// The attributes every route of `routes` goes out with under `policy`; routes of families
/// not exported are left out.
pub fn export(routes: &BTreeMap<Prefix, Route>, policy: &ExportPolicy) -> AdjRibOut {
    routes
        .iter()
        .filter(|(p, _)| policy.next_hops.contains_key(&p.family()))
        .map(|(p, r)| {
            let mut communities = r.attrs.communities.clone();
            communities.sort();
            communities.dedup();
            let mut large_communities = r.attrs.large_communities.clone();
            large_communities.sort();
            large_communities.dedup();
            let as_path = if policy.ibgp {
                vec![]
            } else {
                vec![AsSegment::Sequence(vec![policy.local_asn])]
            };
            let attrs = PathAttrs {
                origin: Some(Origin::Igp),
                as_path: Some(as_path),
                next_hop: None,
                med: None,
                local_pref: policy
                    .ibgp
                    .then(|| r.attrs.local_preference.unwrap_or(DEFAULT_LOCAL_PREF)),
                communities,
                large_communities,
            };
            (*p, attrs)
        })
        .collect()
}

/// The UPDATEs that turn `sent` into `desired`: withdrawals of prefixes no longer desired,
/// then announcements of new or changed ones, grouped by attributes and packed.
pub fn updates(
    sent: &AdjRibOut,
    desired: &AdjRibOut,
    next_hops: &BTreeMap<Family, IpAddr>,
    ctx: SessionCtx,
) -> Vec<Update> {
    let mut withdraw: BTreeMap<Family, Vec<Prefix>> = BTreeMap::new();
    for p in sent.keys().filter(|p| !desired.contains_key(p)) {
        withdraw.entry(p.family()).or_default().push(*p);
    }
    let mut announce: BTreeMap<(Family, &PathAttrs), Vec<Prefix>> = BTreeMap::new();
    for (p, a) in desired.iter().filter(|(p, a)| sent.get(p) != Some(a)) {
        announce.entry((p.family(), a)).or_default().push(*p);
    }
    let mut out = Vec::new();
    for (family, prefixes) in withdraw {
        out.extend(pack_withdraw(family, &prefixes, ctx));
    }
    for ((family, attrs), prefixes) in announce {
        if let Some(nh) = next_hops.get(&family) {
            out.extend(pack_announce(family, attrs, *nh, &prefixes, ctx));
        }
    }
    out
}

#[cfg(test)]
mod tests;
