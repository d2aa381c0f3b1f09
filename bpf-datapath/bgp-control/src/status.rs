//! Session state back into the node's `CiliumBGPNodeConfig` status, in Cilium's shape:
//! per instance its ASN and per peer its state, establishment time, negotiated timers and
//! route counts. [`instance_statuses`] computes it purely; [`StatusWriter`] applies it to the
//! status subresource only when it differs from what is stored.

use crate::error::Error;
use crate::family::{ApiFamily as _, Family};
use ferrule_api::bgp::node_config::v2::{CiliumBGPNodeConfig, NodeConfigSpec};
use ferrule_api::bgp::node_config::{
    BgpInstanceStatus, NegotiatedTimers, NodeConfigStatus, PeerStatus, RouteCount,
};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// The field manager of status writes unless [`StatusWriter::with_field_manager`] says otherwise.
pub const FIELD_MANAGER: &str = "ferrule-agent-bgp";

/// An establishment time this close to the stored one is the same event seen at a slightly
/// different moment (uptime and clock are sampled separately): keep the stored text.
const ESTABLISHED_TIME_TOLERANCE: Duration = Duration::from_secs(2);

/// What the speaker knows about one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSessionStatus {
    /// The instance and peer names of the node config.
    pub instance: String,
    pub peer_name: String,
    pub peer_address: IpAddr,
    /// The ASN configured or learned from the OPEN.
    pub peer_asn: Option<u32>,
    /// The FSM state in lower case, as Cilium reports it: `idle`, `connect`, `active`,
    /// `opensent`, `openconfirm`, `established`.
    pub state: String,
    /// Time since the session was established; `None` while it is not.
    pub uptime: Option<Duration>,
    /// Hold time and keepalive interval agreed in the OPEN exchange.
    pub applied_hold_time_seconds: Option<u16>,
    pub applied_keepalive_seconds: Option<u16>,
    /// Routes exchanged per negotiated family.
    pub route_counts: BTreeMap<Family, RouteCounts>,
}

/// Routes exchanged with a peer in one family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteCounts {
    pub advertised: u32,
    pub received: u32,
}

/// The `status.bgpInstances` for `sessions`: one entry per instance of the spec (sorted by
/// name), each listing the sessions of that instance (sorted by peer name). Sessions of
/// instances the spec no longer has are left out.
pub fn instance_statuses(
    spec: &NodeConfigSpec,
    sessions: &[PeerSessionStatus],
    now: SystemTime,
    previous: &NodeConfigStatus,
) -> Vec<BgpInstanceStatus> {
    let previous_time = |instance: &str, peer: &str| {
        previous
            .bgp_instances
            .iter()
            .find(|i| i.name == instance)
            .and_then(|i| i.peers.iter().find(|p| p.name == peer))
            .and_then(|p| p.established_time.clone())
    };
    let mut instances: Vec<BgpInstanceStatus> = spec
        .bgp_instances
        .iter()
        .map(|instance| {
            let mut peers: Vec<PeerStatus> = sessions
                .iter()
                .filter(|s| s.instance == instance.name)
                .map(|s| {
                    let kept = previous_time(&instance.name, &s.peer_name);
                    peer_status(s, now, kept)
                })
                .collect();
            peers.sort_by(|a, b| a.name.cmp(&b.name));
            peers.dedup_by(|a, b| a.name == b.name);
            BgpInstanceStatus {
                local_asn: instance.local_asn,
                name: instance.name.clone(),
                peers,
            }
        })
        .collect();
    instances.sort_by(|a, b| a.name.cmp(&b.name));
    instances.dedup_by(|a, b| a.name == b.name);
    instances
}

fn peer_status(
    session: &PeerSessionStatus,
    now: SystemTime,
    previous: Option<String>,
) -> PeerStatus {
    let established_time = session.uptime.and_then(|uptime| {
        let since = now.checked_sub(uptime)?;
        let unchanged = previous.as_deref().and_then(parse_time).is_some_and(|p| {
            let gap = p
                .duration_since(since)
                .or_else(|e| Ok::<_, ()>(e.duration()));
            gap.is_ok_and(|g| g <= ESTABLISHED_TIME_TOLERANCE)
        });
        if unchanged {
            previous
        } else {
            format_time(since)
        }
    });
    let timers = (session.applied_hold_time_seconds.is_some()
        || session.applied_keepalive_seconds.is_some())
    .then(|| NegotiatedTimers {
        applied_hold_time_seconds: session.applied_hold_time_seconds.map(i32::from),
        applied_keepalive_seconds: session.applied_keepalive_seconds.map(i32::from),
    });
    PeerStatus {
        established_time,
        name: session.peer_name.clone(),
        peer_asn: session.peer_asn.map(i64::from),
        peer_address: session.peer_address.to_string(),
        peering_state: Some(session.state.clone()),
        route_count: session
            .route_counts
            .iter()
            .map(|(family, counts)| RouteCount {
                advertised: Some(saturate(counts.advertised)),
                afi: family.api_afi(),
                received: Some(saturate(counts.received)),
                safi: family.api_safi(),
            })
            .collect(),
        timers,
    }
}

fn saturate(count: u32) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

/// RFC 3339 in UTC with whole seconds, as Cilium writes it.
fn format_time(time: SystemTime) -> Option<String> {
    let timestamp = jiff::Timestamp::try_from(time).ok()?;
    Some(timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn parse_time(text: &str) -> Option<SystemTime> {
    text.parse::<jiff::Timestamp>().ok().map(SystemTime::from)
}

/// Writes the node's `CiliumBGPNodeConfig` status with server-side apply, owning only
/// `status.bgpInstances` (the operator's conditions stay untouched).
#[derive(Clone)]
pub struct StatusWriter {
    api: Api<CiliumBGPNodeConfig>,
    node_name: String,
    field_manager: String,
}

impl std::fmt::Debug for StatusWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusWriter")
            .field("node_name", &self.node_name)
            .field("field_manager", &self.field_manager)
            .finish_non_exhaustive()
    }
}

impl StatusWriter {
    pub fn new(client: kube::Client, node_name: impl Into<String>) -> Self {
        Self {
            api: Api::all(client),
            node_name: node_name.into(),
            field_manager: FIELD_MANAGER.to_owned(),
        }
    }

    pub fn with_field_manager(mut self, field_manager: impl Into<String>) -> Self {
        self.field_manager = field_manager.into();
        self
    }

    /// Reports `sessions` (all of the node's, at `now`). Returns whether it wrote: nothing is
    /// written when the stored status already says the same, or when the node has no
    /// `CiliumBGPNodeConfig`.
    pub async fn write(
        &self,
        sessions: &[PeerSessionStatus],
        now: SystemTime,
    ) -> Result<bool, Error> {
        let Some(config) = self.read().await? else {
            return Ok(false);
        };
        let previous = config.status.unwrap_or_default();
        let instances = instance_statuses(&config.spec, sessions, now, &previous);
        if instances == previous.bgp_instances {
            return Ok(false);
        }
        self.apply(json!({"bgpInstances": instances})).await?;
        Ok(true)
    }

    /// Removes the reported instances (status reporting turned off). Writes only when there
    /// is something to remove.
    pub async fn clear(&self) -> Result<bool, Error> {
        let Some(config) = self.read().await? else {
            return Ok(false);
        };
        if config.status.is_none_or(|s| s.bgp_instances.is_empty()) {
            return Ok(false);
        }
        self.apply(json!({})).await?;
        Ok(true)
    }

    async fn read(&self) -> Result<Option<CiliumBGPNodeConfig>, Error> {
        self.api
            .get_opt(&self.node_name)
            .await
            .map_err(|source| Error::ReadNodeConfig {
                node: self.node_name.clone(),
                source: Box::new(source),
            })
    }

    async fn apply(&self, status: serde_json::Value) -> Result<(), Error> {
        let body = json!({
            "apiVersion": "cilium.io/v2",
            "kind": "CiliumBGPNodeConfig",
            "metadata": {"name": self.node_name},
            "status": status,
        });
        self.api
            .patch_status(
                &self.node_name,
                &PatchParams::apply(&self.field_manager).force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|source| Error::ApplyStatus {
                node: self.node_name.clone(),
                source: Box::new(source),
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_api::bgp::common::{Afi, Safi};
    use ferrule_api::bgp::node_config::v2::BgpInstance;

    fn spec() -> NodeConfigSpec {
        NodeConfigSpec {
            bgp_instances: vec![BgpInstance {
                name: "instance-65000".into(),
                local_asn: Some(65000),
                ..BgpInstance::default()
            }],
        }
    }

    fn session(peer: &str, uptime: Option<Duration>) -> PeerSessionStatus {
        PeerSessionStatus {
            instance: "instance-65000".into(),
            peer_name: peer.into(),
            peer_address: "192.0.2.1".parse().expect("an address"),
            peer_asn: Some(65001),
            state: if uptime.is_some() {
                "established"
            } else {
                "active"
            }
            .into(),
            uptime,
            applied_hold_time_seconds: uptime.map(|_| 9),
            applied_keepalive_seconds: uptime.map(|_| 3),
            route_counts: BTreeMap::from([(
                Family::Ipv4Unicast,
                RouteCounts {
                    advertised: 2,
                    received: 0,
                },
            )]),
        }
    }

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn established_sessions_report_in_ciliums_shape() -> Result<(), serde_json::Error> {
        let sessions = [
            session("tor-b", Some(Duration::from_secs(60))),
            session("tor-a", None),
        ];
        let instances = instance_statuses(
            &spec(),
            &sessions,
            at(1_700_000_060),
            &NodeConfigStatus::default(),
        );
        let value = serde_json::to_value(&instances)?;
        assert_eq!(
            value,
            json!([{
                "name": "instance-65000", "localASN": 65000,
                "peers": [
                    {"name": "tor-a", "peerAddress": "192.0.2.1", "peerASN": 65001, "peeringState": "active",
                     "routeCount": [{"afi": "ipv4", "safi": "unicast", "advertised": 2, "received": 0}]},
                    {"name": "tor-b", "peerAddress": "192.0.2.1", "peerASN": 65001, "peeringState": "established",
                     "establishedTime": "2023-11-14T22:13:20Z",
                     "timers": {"appliedHoldTimeSeconds": 9, "appliedKeepaliveSeconds": 3},
                     "routeCount": [{"afi": "ipv4", "safi": "unicast", "advertised": 2, "received": 0}]},
                ],
            }])
        );
        assert_eq!(instances[0].peers[0].route_count[0].afi, Afi::Ipv4);
        assert_eq!(instances[0].peers[0].route_count[0].safi, Safi::Unicast);
        Ok(())
    }

    #[test]
    fn a_second_sample_of_the_same_session_changes_nothing() {
        let first = NodeConfigStatus {
            bgp_instances: instance_statuses(
                &spec(),
                &[session("tor", Some(Duration::from_secs(60)))],
                at(1_000),
                &NodeConfigStatus::default(),
            ),
            conditions: Vec::new(),
        };
        // 31 s later the uptime is 91.4 s (939.6 s after the epoch offset, a different second): the same establishment within sampling jitter.
        let later = instance_statuses(
            &spec(),
            &[session("tor", Some(Duration::from_millis(91_400)))],
            at(1_031),
            &first,
        );
        assert_eq!(later, first.bgp_instances);
        // A re-established session (uptime reset) is a new time.
        let again = instance_statuses(
            &spec(),
            &[session("tor", Some(Duration::from_secs(5)))],
            at(1_031),
            &first,
        );
        assert_ne!(again, first.bgp_instances);
    }

    #[test]
    fn sessions_of_unknown_instances_are_left_out() {
        let mut stray = session("tor", None);
        stray.instance = "gone".into();
        let instances = instance_statuses(&spec(), &[stray], at(0), &NodeConfigStatus::default());
        assert_eq!(instances.len(), 1);
        assert!(instances[0].peers.is_empty());
    }
}
