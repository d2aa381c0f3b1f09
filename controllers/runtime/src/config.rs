//! Flags every ferrule binary shares. Each binary flattens [`CommonArgs`] into its own clap
//! struct; every flag has an environment fallback so Deployments can be configured either way.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::error::Error;

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, for terminals and `kubectl logs`.
    #[default]
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// Flags shared by every ferrule controller binary.
#[derive(Clone, Debug, Args)]
pub struct CommonArgs {
    /// Path to a kubeconfig (a `:`-separated list is merged like kubectl does). When unset:
    /// ~/.kube/config if present, else the in-cluster service account (kube's `Config::infer`).
    #[arg(long, env = "KUBECONFIG", global = true)]
    pub kubeconfig: Option<PathBuf>,

    /// Namespace of the binary's own objects (leader-election Lease, Events about itself).
    #[arg(
        long,
        env = "POD_NAMESPACE",
        default_value = "kube-system",
        global = true
    )]
    pub namespace: String,

    /// Sustained client-side request rate to the Kubernetes API, requests per second.
    #[arg(
        long,
        env = "FERRULE_KUBE_API_QPS",
        default_value_t = 20.0,
        global = true
    )]
    pub kube_api_qps: f32,

    /// Requests that may be sent at once before `--kube-api-qps` applies.
    #[arg(
        long,
        env = "FERRULE_KUBE_API_BURST",
        default_value_t = 40,
        global = true
    )]
    pub kube_api_burst: u32,

    /// Listen address of /healthz, /readyz and /metrics (port 0 picks a free port).
    #[arg(
        long,
        env = "FERRULE_METRICS_ADDR",
        default_value = "0.0.0.0:9090",
        global = true
    )]
    pub metrics_addr: SocketAddr,

    /// Log line format.
    #[arg(long, env = "FERRULE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Log filter in `RUST_LOG` syntax, e.g. `info,ferrule_lbipam=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info", global = true)]
    pub log_level: String,

    /// Run only while holding the leader-election Lease (for Deployments with replicas > 1).
    #[arg(
        long,
        env = "FERRULE_LEADER_ELECT",
        default_value_t = false,
        global = true
    )]
    pub leader_elect: bool,

    /// Name of the leader-election Lease in `--namespace`; defaults to the binary name.
    #[arg(long, env = "FERRULE_LEADER_ELECTION_LEASE_NAME", global = true)]
    pub leader_election_lease_name: Option<String>,

    /// How long a standby waits, by its own clock, after it last saw the Lease change before
    /// taking it over.
    #[arg(long, env = "FERRULE_LEADER_ELECTION_LEASE_DURATION", default_value = "15s", value_parser = parse_duration, global = true)]
    pub leader_election_lease_duration: Duration,

    /// How long the leader keeps acting without a successful renewal before it stops.
    #[arg(long, env = "FERRULE_LEADER_ELECTION_RENEW_DEADLINE", default_value = "10s", value_parser = parse_duration, global = true)]
    pub leader_election_renew_deadline: Duration,

    /// Interval between acquire / renew attempts.
    #[arg(long, env = "FERRULE_LEADER_ELECTION_RETRY_PERIOD", default_value = "2s", value_parser = parse_duration, global = true)]
    pub leader_election_retry_period: Duration,

    /// This pod's name (downward API); the leader-election identity and the Event reporter
    /// instance. When unset, the hostname plus a random suffix is used.
    #[arg(long, env = "POD_NAME", global = true)]
    pub pod_name: Option<String>,

    /// The node this pod runs on (downward API `spec.nodeName`); DaemonSets need it.
    #[arg(long, env = "NODE_NAME", global = true)]
    pub node_name: Option<String>,
}

impl CommonArgs {
    /// Rejects values that would make the binary misbehave rather than fail: a zero or negative
    /// rate limit, or leader-election timings that let two leaders overlap.
    pub fn validate(&self) -> Result<(), Error> {
        if !self.kube_api_qps.is_finite() || self.kube_api_qps <= 0.0 {
            return Err(invalid("kube-api-qps", "must be a positive number"));
        }
        if self.kube_api_burst == 0 {
            return Err(invalid("kube-api-burst", "must be at least 1"));
        }
        if self.namespace.trim().is_empty() {
            return Err(invalid("namespace", "must not be empty"));
        }
        if let Some(name) = &self.leader_election_lease_name
            && name.trim().is_empty()
        {
            return Err(invalid("leader-election-lease-name", "must not be empty"));
        }
        let lease = self.leader_election_lease_duration;
        let renew = self.leader_election_renew_deadline;
        let retry = self.leader_election_retry_period;
        // leaseDurationSeconds is whole seconds on the Lease object.
        if lease < Duration::from_secs(1) || lease.subsec_nanos() != 0 {
            return Err(invalid(
                "leader-election-lease-duration",
                "must be a whole number of seconds, at least 1s",
            ));
        }
        if lease.as_secs() > i32::MAX as u64 {
            return Err(invalid("leader-election-lease-duration", "is too long"));
        }
        // The leader must give up before a standby may take over, or both act at once.
        if renew >= lease {
            return Err(invalid(
                "leader-election-renew-deadline",
                "must be shorter than --leader-election-lease-duration",
            ));
        }
        // At least one retry must fit before the deadline, or every blip loses leadership.
        if retry.is_zero() || retry >= renew {
            return Err(invalid(
                "leader-election-retry-period",
                "must be non-zero and shorter than --leader-election-renew-deadline",
            ));
        }
        Ok(())
    }

    /// Name of the leader-election Lease: the flag, else the binary name.
    pub fn lease_name(&self, binary: &str) -> String {
        self.leader_election_lease_name
            .clone()
            .unwrap_or_else(|| binary.to_owned())
    }
}

fn invalid(flag: &'static str, reason: &str) -> Error {
    Error::ValidateArgs {
        flag,
        reason: reason.to_owned(),
    }
}

/// Parses `500ms`, `15s`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 15s or 2m"))?;
    let scale = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(flatten)]
        common: CommonArgs,
    }

    fn parse(args: &[&str]) -> CommonArgs {
        let argv = std::iter::once("ferrule-test").chain(args.iter().copied());
        TestCli::try_parse_from(argv)
            .expect("flags should parse")
            .common
    }

    /// Flags that do not depend on the test runner's environment, with `overrides` replacing
    /// the flag of the same name (clap rejects a flag given twice).
    fn explicit(overrides: &[&'static str]) -> Vec<&'static str> {
        let name = |flag: &str| flag.split('=').next().unwrap_or(flag).to_owned();
        let mut flags: Vec<&'static str> = [
            "--namespace=ferrule-system",
            "--kube-api-qps=20",
            "--kube-api-burst=40",
            "--leader-election-lease-duration=15s",
            "--leader-election-renew-deadline=10s",
            "--leader-election-retry-period=2s",
        ]
        .into_iter()
        .filter(|flag| !overrides.iter().any(|o| name(o) == name(flag)))
        .collect();
        flags.extend_from_slice(overrides);
        flags
    }

    #[test]
    fn defaults_are_valid() {
        let args = parse(&explicit(&[]));
        args.validate().expect("default timings should be valid");
        assert_eq!(args.leader_election_lease_duration, Duration::from_secs(15));
        assert_eq!(args.leader_election_retry_period, Duration::from_secs(2));
        assert_eq!(args.lease_name("ferrule-lbipam"), "ferrule-lbipam");
    }

    #[test]
    fn renew_deadline_must_be_shorter_than_lease() {
        let flags = explicit(&["--leader-election-renew-deadline=15s"]);
        let err = parse(&flags)
            .validate()
            .expect_err("deadline == lease must fail");
        assert!(
            matches!(
                err,
                Error::ValidateArgs {
                    flag: "leader-election-renew-deadline",
                    ..
                }
            ),
            "unexpected error {err:?}"
        );
    }

    #[test]
    fn retry_period_must_be_shorter_than_renew_deadline() {
        let flags = explicit(&["--leader-election-retry-period=10s"]);
        let err = parse(&flags)
            .validate()
            .expect_err("retry == deadline must fail");
        assert!(matches!(
            err,
            Error::ValidateArgs {
                flag: "leader-election-retry-period",
                ..
            }
        ));
    }

    #[test]
    fn lease_duration_must_be_whole_seconds() {
        let flags = explicit(&["--leader-election-lease-duration=15500ms"]);
        let err = parse(&flags)
            .validate()
            .expect_err("fractional lease must fail");
        assert!(matches!(
            err,
            Error::ValidateArgs {
                flag: "leader-election-lease-duration",
                ..
            }
        ));
    }

    #[test]
    fn qps_must_be_positive() {
        for qps in [
            "--kube-api-qps=0",
            "--kube-api-qps=-1",
            "--kube-api-qps=NaN",
        ] {
            let flags = explicit(&[qps]);
            let err = parse(&flags)
                .validate()
                .expect_err("non-positive qps must fail");
            assert!(
                matches!(
                    err,
                    Error::ValidateArgs {
                        flag: "kube-api-qps",
                        ..
                    }
                ),
                "{qps}"
            );
        }
    }

    #[test]
    fn burst_must_be_positive() {
        let flags = explicit(&["--kube-api-burst=0"]);
        let err = parse(&flags).validate().expect_err("zero burst must fail");
        assert!(matches!(
            err,
            Error::ValidateArgs {
                flag: "kube-api-burst",
                ..
            }
        ));
    }

    #[test]
    fn explicit_lease_name_wins() {
        let flags = explicit(&["--leader-election-lease-name=custom"]);
        assert_eq!(parse(&flags).lease_name("ferrule-lbipam"), "custom");
    }

    #[test]
    fn log_format_parses() {
        let flags = explicit(&["--log-format=json"]);
        assert_eq!(parse(&flags).log_format, LogFormat::Json);
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("15 parsecs").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
    }
}
