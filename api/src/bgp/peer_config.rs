//! `CiliumBGPPeerConfig`: session settings shared by the peers that reference it.

use super::common::{Afi, Safi};
use crate::crds::Assembly;
use crate::meta::{Condition, LabelSelector};
use kube::{CustomResource, CustomResourceExt as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) fn assembly() -> Assembly {
    Assembly {
        versions: vec![
            v2::CiliumBGPPeerConfig::crd(),
            v2alpha1::CiliumBGPPeerConfig::crd(),
        ],
        storage: "v2",
        root_required: &["metadata", "spec"],
    }
}

/// The well-known BGP port.
pub const DEFAULT_PEER_PORT: i32 = 179;
/// Default TTL of eBGP packets: directly connected peers only.
pub const DEFAULT_EBGP_MULTIHOP: i32 = 1;
/// Default seconds between connection attempts.
pub const DEFAULT_CONNECT_RETRY_TIME_SECONDS: i32 = 120;
/// Default proposed hold time, in seconds.
pub const DEFAULT_HOLD_TIME_SECONDS: i32 = 90;
/// Default keepalive interval, in seconds.
pub const DEFAULT_KEEP_ALIVE_TIME_SECONDS: i32 = 30;
/// Default graceful-restart time advertised to peers, in seconds.
pub const DEFAULT_RESTART_TIME_SECONDS: i32 = 120;

fn default_peer_port() -> i32 {
    DEFAULT_PEER_PORT
}

fn default_ebgp_multihop() -> i32 {
    DEFAULT_EBGP_MULTIHOP
}

fn default_connect_retry_time_seconds() -> i32 {
    DEFAULT_CONNECT_RETRY_TIME_SECONDS
}

fn default_hold_time_seconds() -> i32 {
    DEFAULT_HOLD_TIME_SECONDS
}

fn default_keep_alive_time_seconds() -> i32 {
    DEFAULT_KEEP_ALIVE_TIME_SECONDS
}

fn default_restart_time_seconds() -> i32 {
    DEFAULT_RESTART_TIME_SECONDS
}

/// Served version `cilium.io/v2` (storage).
pub mod v2 {
    use super::*;

    /// How to run BGP sessions with the peers that reference this object.
    #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
    #[kube(
        group = "cilium.io",
        version = "v2",
        kind = "CiliumBGPPeerConfig",
        derive = "PartialEq",
        doc = "Session settings (transport, timers, auth, graceful restart, families) for the BGP peers that reference it.",
        plural = "ciliumbgppeerconfigs",
        category = "cilium",
        category = "ciliumbgp",
        shortname = "cbgppeer",
        status = "PeerConfigStatus",
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct BgpPeerConfigSpec {
        /// Name of a Secret (in the BGP secrets namespace) whose `password` key holds the
        /// TCP MD5 password of the sessions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub auth_secret_ref: Option<String>,
        /// TTL of packets to eBGP peers; above 1 reaches peers several hops away. Ignored for
        /// iBGP.
        #[serde(default = "default_ebgp_multihop")]
        #[schemars(range(min = 1, max = 255))]
        pub ebgp_multihop: i32,
        /// The address families to negotiate, each with the advertisements to send in it.
        /// Unset negotiates IPv4 and IPv6 unicast without advertisements.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub families: Vec<AfiSafiAdvertisements>,
        /// Graceful restart (RFC 4724) settings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub graceful_restart: Option<GracefulRestart>,
        /// Session timers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timers: Option<Timers>,
        /// TCP settings of the sessions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub transport: Option<Transport>,
    }

    impl Default for BgpPeerConfigSpec {
        fn default() -> Self {
            Self {
                auth_secret_ref: None,
                ebgp_multihop: DEFAULT_EBGP_MULTIHOP,
                families: Vec::new(),
                graceful_restart: None,
                timers: None,
                transport: None,
            }
        }
    }

    /// TCP settings of a session.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct Transport {
        /// TCP port of the peer.
        #[serde(default = "default_peer_port")]
        #[schemars(range(min = 1, max = 65535))]
        pub peer_port: i32,
        /// Interface whose address is the source of the session; unset lets routing choose.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub source_interface: Option<String>,
    }

    impl Default for Transport {
        fn default() -> Self {
            Self {
                peer_port: DEFAULT_PEER_PORT,
                source_interface: None,
            }
        }
    }

    /// Observed state of a peer configuration.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct PeerConfigStatus {
        /// Conditions reporting problems such as a missing auth Secret.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
        pub conditions: Vec<Condition>,
    }
}

/// BGP session timers; the keepalive interval may not exceed the hold time.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "keepAliveTimeSeconds can not be larger than holdTimeSeconds",
    "rule": "self.keepAliveTimeSeconds <= self.holdTimeSeconds",
}]))]
pub struct Timers {
    /// Seconds to wait before retrying a failed connection.
    #[serde(default = "default_connect_retry_time_seconds")]
    #[schemars(range(min = 1, max = i32::MAX))]
    pub connect_retry_time_seconds: i32,
    /// Hold time proposed in OPEN; the session drops when nothing arrives for that long.
    #[serde(default = "default_hold_time_seconds")]
    #[schemars(range(min = 3, max = 65535))]
    pub hold_time_seconds: i32,
    /// Seconds between keepalive messages.
    #[serde(default = "default_keep_alive_time_seconds")]
    #[schemars(range(min = 1, max = 65535))]
    pub keep_alive_time_seconds: i32,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            connect_retry_time_seconds: DEFAULT_CONNECT_RETRY_TIME_SECONDS,
            hold_time_seconds: DEFAULT_HOLD_TIME_SECONDS,
            keep_alive_time_seconds: DEFAULT_KEEP_ALIVE_TIME_SECONDS,
        }
    }
}

/// Graceful restart: peers keep our routes while the BGP speaker restarts.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GracefulRestart {
    /// Whether graceful restart is negotiated.
    pub enabled: bool,
    /// Seconds peers should keep our routes after the session drops.
    #[serde(default = "default_restart_time_seconds")]
    #[schemars(range(min = 1, max = 4095))]
    pub restart_time_seconds: i32,
}

/// An address family of a session and the advertisements sent in it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AfiSafiAdvertisements {
    /// Selects the `CiliumBGPAdvertisement` objects announced in this family; unset
    /// announces nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertisements: Option<LabelSelector>,
    /// Address family identifier.
    pub afi: Afi,
    /// Subsequent address family identifier.
    pub safi: Safi,
}

/// Deprecated served version `cilium.io/v2alpha1`: the transport has a local port and no
/// source interface.
pub mod v2alpha1 {
    use super::*;

    /// How to run BGP sessions with the peers that reference this object (deprecated
    /// version).
    #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
    #[kube(
        group = "cilium.io",
        version = "v2alpha1",
        kind = "CiliumBGPPeerConfig",
        derive = "PartialEq",
        doc = "Session settings for the BGP peers that reference it (deprecated version).",
        plural = "ciliumbgppeerconfigs",
        category = "cilium",
        category = "ciliumbgp",
        shortname = "cbgppeer",
        status = "super::v2::PeerConfigStatus",
        deprecated,
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct BgpPeerConfigSpec {
        /// Name of a Secret (in the BGP secrets namespace) whose `password` key holds the
        /// TCP MD5 password of the sessions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub auth_secret_ref: Option<String>,
        /// TTL of packets to eBGP peers; above 1 reaches peers several hops away. Ignored for
        /// iBGP.
        #[serde(default = "default_ebgp_multihop")]
        #[schemars(range(min = 1, max = 255))]
        pub ebgp_multihop: i32,
        /// The address families to negotiate, each with the advertisements to send in it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub families: Vec<AfiSafiAdvertisements>,
        /// Graceful restart (RFC 4724) settings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub graceful_restart: Option<GracefulRestart>,
        /// Session timers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timers: Option<Timers>,
        /// TCP settings of the sessions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub transport: Option<Transport>,
    }

    impl Default for BgpPeerConfigSpec {
        fn default() -> Self {
            Self {
                auth_secret_ref: None,
                ebgp_multihop: DEFAULT_EBGP_MULTIHOP,
                families: Vec::new(),
                graceful_restart: None,
                timers: None,
                transport: None,
            }
        }
    }

    /// TCP settings of a session.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct Transport {
        /// Fixed local TCP port of the session; unset uses an ephemeral port. Deprecated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 65535))]
        pub local_port: Option<i32>,
        /// TCP port of the peer.
        #[serde(default = "default_peer_port")]
        #[schemars(range(min = 1, max = 65535))]
        pub peer_port: i32,
    }

    impl Default for Transport {
        fn default() -> Self {
            Self {
                local_port: None,
                peer_port: DEFAULT_PEER_PORT,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::tests::assert_no_nulls;

    const MANIFEST: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata:
  name: cilium-peer
spec:
  timers:
    holdTimeSeconds: 9
    keepAliveTimeSeconds: 3
  authSecretRef: bgp-auth-secret
  ebgpMultihop: 4
  gracefulRestart:
    enabled: true
  families:
  - afi: ipv4
    safi: unicast
    advertisements:
      matchLabels:
        advertise: bgp
  - afi: ipv6
    safi: mpls_vpn
"#;

    #[test]
    fn v2_manifest_gets_timer_and_restart_defaults() -> Result<(), Box<dyn std::error::Error>> {
        let config: v2::CiliumBGPPeerConfig = serde_yaml::from_str(MANIFEST)?;
        let spec = &config.spec;
        assert_eq!(
            spec.timers,
            Some(Timers {
                connect_retry_time_seconds: DEFAULT_CONNECT_RETRY_TIME_SECONDS,
                hold_time_seconds: 9,
                keep_alive_time_seconds: 3,
            })
        );
        assert_eq!(
            spec.graceful_restart,
            Some(GracefulRestart {
                enabled: true,
                restart_time_seconds: 120,
            })
        );
        assert_eq!(spec.ebgp_multihop, 4);
        assert_eq!(spec.transport, None);
        assert_eq!(spec.families[1].safi, Safi::MplsVpn);
        assert_eq!(
            spec.families[0]
                .advertisements
                .as_ref()
                .and_then(|s| s.match_labels.get("advertise"))
                .map(String::as_str),
            Some("bgp")
        );

        let value = serde_json::to_value(&config)?;
        assert_no_nulls(&value);
        assert_eq!(value["spec"]["timers"]["connectRetryTimeSeconds"], 120);
        assert_eq!(value["spec"]["families"][1]["safi"], "mpls_vpn");
        assert_eq!(
            serde_json::from_value::<v2::CiliumBGPPeerConfig>(value)?,
            config
        );
        Ok(())
    }

    #[test]
    fn empty_spec_and_empty_sub_objects_get_defaults() -> Result<(), Box<dyn std::error::Error>> {
        let spec: v2::BgpPeerConfigSpec = serde_yaml::from_str("timers: {}\ntransport: {}\n")?;
        assert_eq!(spec.ebgp_multihop, 1);
        assert_eq!(spec.timers, Some(Timers::default()));
        assert_eq!(spec.transport, Some(v2::Transport::default()));
        assert_eq!(
            spec.transport.as_ref().map(|t| t.peer_port),
            Some(DEFAULT_PEER_PORT)
        );
        assert_eq!(
            serde_yaml::from_str::<v2::BgpPeerConfigSpec>("{}")?,
            v2::BgpPeerConfigSpec::default()
        );
        Ok(())
    }

    #[test]
    fn v2alpha1_transport_has_a_local_port() -> Result<(), Box<dyn std::error::Error>> {
        let manifest = MANIFEST.replace("cilium.io/v2\n", "cilium.io/v2alpha1\n")
            + "  transport:\n    localPort: 1790\n";
        let config: v2alpha1::CiliumBGPPeerConfig = serde_yaml::from_str(&manifest)?;
        assert_eq!(
            config.spec.transport,
            Some(v2alpha1::Transport {
                local_port: Some(1790),
                peer_port: DEFAULT_PEER_PORT,
            })
        );
        assert_no_nulls(&serde_json::to_value(&config)?);
        Ok(())
    }
}
