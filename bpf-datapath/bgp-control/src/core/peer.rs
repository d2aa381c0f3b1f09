//! A peer's session settings: its address (configured or the default gateway), ASN, and the
//! referenced `CiliumBGPPeerConfig` with Cilium's defaults filled in.

use super::bfd::bfd_spec;
use crate::desired::{BfdSpec, GracefulRestart, Password, Timers};
use crate::family::{ApiFamily as _, Family};
use crate::inputs::{AuthSecret, Inputs};
use crate::problems::Problem;
use ferrule_api::bgp::common::v2::{AutoDiscoveryMode, IpFamily};
use ferrule_api::bgp::node_config::v2::BgpPeer;
use ferrule_api::bgp::peer_config::v2::{BgpPeerConfigSpec, CiliumBGPPeerConfig};
use ferrule_api::bgp::peer_config::{
    DEFAULT_CONNECT_RETRY_TIME_SECONDS, DEFAULT_EBGP_MULTIHOP, DEFAULT_HOLD_TIME_SECONDS,
    DEFAULT_KEEP_ALIVE_TIME_SECONDS, DEFAULT_PEER_PORT, DEFAULT_RESTART_TIME_SECONDS,
};
use ferrule_api::meta::LabelSelector;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The session settings of a peer config (or of the defaults, `name` `None`).
#[derive(Debug)]
pub(crate) struct SessionSettings<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) port: u16,
    pub(crate) source_interface: Option<String>,
    pub(crate) ebgp_multihop_ttl: u8,
    pub(crate) timers: Timers,
    pub(crate) graceful_restart: GracefulRestart,
    pub(crate) md5_password: Option<Password>,
    /// Family → the selectors of the advertisements announced in it (`None`: nothing).
    pub(crate) families: BTreeMap<Family, Vec<Option<&'a LabelSelector>>>,
    pub(crate) bfd: Option<BfdSpec>,
}

/// The peer's address: the default gateway of the configured family under auto-discovery,
/// else `peerAddress`. `None` (reported) when there is none.
pub(crate) fn peer_address(
    instance: &str,
    peer: &BgpPeer,
    inputs: &Inputs,
    problems: &mut Vec<Problem>,
) -> Option<IpAddr> {
    let no_address = || Problem::NoPeerAddress {
        instance: instance.to_owned(),
        peer: peer.name.clone(),
    };
    if let Some(discovery) = &peer.auto_discovery {
        match discovery.mode {
            AutoDiscoveryMode::DefaultGateway => {
                let Some(gateway) = &discovery.default_gateway else {
                    problems.push(no_address());
                    return None;
                };
                let (family, address) = match gateway.address_family {
                    IpFamily::Ipv4 => (
                        Family::Ipv4Unicast,
                        inputs.default_gateways.ipv4.map(IpAddr::V4),
                    ),
                    IpFamily::Ipv6 => (
                        Family::Ipv6Unicast,
                        inputs.default_gateways.ipv6.map(IpAddr::V6),
                    ),
                };
                if address.is_none() {
                    problems.push(Problem::NoDefaultGateway {
                        instance: instance.to_owned(),
                        peer: peer.name.clone(),
                        family,
                    });
                }
                return address;
            }
        }
    }
    let Some(text) = peer.peer_address.as_deref() else {
        problems.push(no_address());
        return None;
    };
    let parsed = text.trim().parse().ok();
    if parsed.is_none() {
        problems.push(Problem::InvalidPeerAddress {
            instance: instance.to_owned(),
            peer: peer.name.clone(),
            value: text.to_owned(),
        });
    }
    parsed
}

/// The settings from the peer's `peerConfigRef`: Cilium's defaults when it is unset, and
/// (reported) when it names a config that does not exist.
pub(crate) fn session_settings<'a>(
    instance: &str,
    peer: &BgpPeer,
    inputs: &'a Inputs,
    peer_configs: &BTreeMap<&str, &'a CiliumBGPPeerConfig>,
    problems: &mut Vec<Problem>,
) -> SessionSettings<'a> {
    let wanted = peer
        .peer_config_ref
        .as_ref()
        .map(|r| r.name.as_str())
        .filter(|name| !name.is_empty());
    let found = wanted.and_then(|name| peer_configs.get(name).copied());
    if let (Some(name), None) = (wanted, found) {
        problems.push(Problem::MissingPeerConfig {
            instance: instance.to_owned(),
            peer: peer.name.clone(),
            peer_config: name.to_owned(),
        });
    }
    match found {
        Some(config) => {
            let name = config.metadata.name.as_deref().unwrap_or_default();
            let mut settings = settings(Some(name), &config.spec, inputs, problems);
            settings.bfd = bfd_spec(name, config.metadata.annotations.as_ref(), problems);
            settings
        }
        None => settings(None, &DEFAULTS, inputs, problems),
    }
}

static DEFAULTS: BgpPeerConfigSpec = BgpPeerConfigSpec {
    auth_secret_ref: None,
    ebgp_multihop: DEFAULT_EBGP_MULTIHOP,
    families: Vec::new(),
    graceful_restart: None,
    timers: None,
    transport: None,
};

fn settings<'a>(
    name: Option<&'a str>,
    spec: &'a BgpPeerConfigSpec,
    inputs: &Inputs,
    problems: &mut Vec<Problem>,
) -> SessionSettings<'a> {
    let config_name = name.unwrap_or("(defaults)");
    let mut checked = |field: &str, value: i32, min: i32, max: i32, default: i32| -> i32 {
        if (min..=max).contains(&value) {
            value
        } else {
            problems.push(Problem::InvalidPeerConfigValue {
                peer_config: config_name.to_owned(),
                detail: format!("{field} {value} not in {min}..={max}; using {default}"),
            });
            default
        }
    };
    let port = checked(
        "transport.peerPort",
        spec.transport
            .as_ref()
            .map_or(DEFAULT_PEER_PORT, |t| t.peer_port),
        1,
        65535,
        DEFAULT_PEER_PORT,
    );
    let ttl = checked(
        "ebgpMultihop",
        spec.ebgp_multihop,
        1,
        255,
        DEFAULT_EBGP_MULTIHOP,
    );
    let timers = spec.timers.unwrap_or_default();
    let connect_retry = checked(
        "timers.connectRetryTimeSeconds",
        timers.connect_retry_time_seconds,
        1,
        i32::MAX,
        DEFAULT_CONNECT_RETRY_TIME_SECONDS,
    );
    let hold = checked(
        "timers.holdTimeSeconds",
        timers.hold_time_seconds,
        3,
        65535,
        DEFAULT_HOLD_TIME_SECONDS,
    );
    let keepalive = checked(
        "timers.keepAliveTimeSeconds",
        timers.keep_alive_time_seconds,
        1,
        hold,
        DEFAULT_KEEP_ALIVE_TIME_SECONDS.min(hold),
    );
    let (restart_enabled, restart_time) = spec
        .graceful_restart
        .map_or((false, DEFAULT_RESTART_TIME_SECONDS), |g| {
            (g.enabled, g.restart_time_seconds)
        });
    let restart_time = checked(
        "gracefulRestart.restartTimeSeconds",
        restart_time,
        1,
        4095,
        DEFAULT_RESTART_TIME_SECONDS,
    );
    let md5_password = spec
        .auth_secret_ref
        .as_deref()
        .and_then(|secret| password(config_name, secret, inputs, problems));
    let mut families: BTreeMap<Family, Vec<Option<&LabelSelector>>> = BTreeMap::new();
    if spec.families.is_empty() {
        for family in Family::ALL {
            families.insert(family, vec![None]);
        }
    }
    for entry in &spec.families {
        match Family::from_api(entry.afi, entry.safi) {
            Some(family) => families
                .entry(family)
                .or_default()
                .push(entry.advertisements.as_ref()),
            None => problems.push(Problem::UnsupportedFamily {
                peer_config: config_name.to_owned(),
                afi: enum_name(&entry.afi),
                safi: enum_name(&entry.safi),
            }),
        }
    }
    SessionSettings {
        name,
        port: narrow(port),
        source_interface: spec
            .transport
            .as_ref()
            .and_then(|t| t.source_interface.clone()),
        ebgp_multihop_ttl: narrow(ttl),
        timers: Timers {
            connect_retry_seconds: narrow(connect_retry),
            hold_time_seconds: narrow(hold),
            keepalive_seconds: narrow(keepalive),
        },
        graceful_restart: GracefulRestart {
            enabled: restart_enabled,
            restart_time_seconds: narrow(restart_time),
        },
        md5_password,
        families,
        bfd: None,
    }
}

/// The password of the referenced Secret. A missing Secret (or one without a password)
/// means an empty password — no MD5 — and a reported problem, as Cilium does.
fn password(
    peer_config: &str,
    secret: &str,
    inputs: &Inputs,
    problems: &mut Vec<Problem>,
) -> Option<Password> {
    let namespace = inputs.secrets_namespace.clone();
    match inputs.auth_secrets.get(secret) {
        Some(AuthSecret::Password(password)) if !password.is_empty() => {
            Some(Password(password.clone()))
        }
        Some(AuthSecret::Password(_)) => None,
        Some(AuthSecret::NoPassword) => {
            problems.push(Problem::AuthSecretWithoutPassword {
                peer_config: peer_config.to_owned(),
                namespace,
                secret: secret.to_owned(),
            });
            None
        }
        None => {
            problems.push(Problem::MissingAuthSecret {
                peer_config: peer_config.to_owned(),
                namespace,
                secret: secret.to_owned(),
            });
            None
        }
    }
}

/// Values range-checked above always fit.
fn narrow<T: TryFrom<i32> + Default>(value: i32) -> T {
    T::try_from(value).unwrap_or_default()
}

/// The manifest spelling of an AFI or SAFI (`ipv4`, `mpls_vpn`).
fn enum_name(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
