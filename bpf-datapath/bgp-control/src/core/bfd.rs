//! BFD settings of a peer config. Cilium's CRDs have no BFD fields, so they come from the
//! `bfd.ferrule.io/*` annotations ([`ferrule_api::names::ferrule_annotation`]). A bad value
//! turns BFD off for the config's peers and is reported: the BGP session runs either way.

use crate::desired::BfdSpec;
use crate::problems::Problem;
use ferrule_api::names::ferrule_annotation::{
    BFD_DEFAULT_DETECT_MULTIPLIER, BFD_DETECT_MULTIPLIER, BFD_ENABLED, BFD_MIN_RX_INTERVAL,
    BFD_MIN_TX_INTERVAL,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// The shortest interval accepted: FRR's lower bound, and below it a busy node would flap.
const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The longest interval accepted (FRR's upper bound).
const MAX_INTERVAL: Duration = Duration::from_secs(60);
const DEFAULT_INTERVAL: Duration = Duration::from_millis(300);

/// The BFD settings the annotations ask for; `None` when BFD is off or misconfigured.
pub(crate) fn bfd_spec(
    peer_config: &str,
    annotations: Option<&BTreeMap<String, String>>,
    problems: &mut Vec<Problem>,
) -> Option<BfdSpec> {
    let annotations = annotations?;
    let mut invalid = |annotation: &'static str, value: &str, reason: String| {
        problems.push(Problem::InvalidBfdAnnotation {
            peer_config: peer_config.to_owned(),
            annotation,
            value: value.to_owned(),
            reason,
        });
    };
    match annotations.get(BFD_ENABLED).map(|v| v.trim()) {
        None | Some("false") => return None,
        Some("true") => {}
        Some(other) => {
            invalid(BFD_ENABLED, other, "expected \"true\" or \"false\"".into());
            return None;
        }
    }
    let mut interval = |annotation: &'static str| match annotations.get(annotation) {
        None => Some(DEFAULT_INTERVAL),
        Some(text) => match parse_go_duration(text) {
            Ok(d) if (MIN_INTERVAL..=MAX_INTERVAL).contains(&d) => Some(d),
            Ok(_) => {
                invalid(annotation, text, "must be between 10ms and 60s".into());
                None
            }
            Err(reason) => {
                invalid(annotation, text, reason);
                None
            }
        },
    };
    let min_tx = interval(BFD_MIN_TX_INTERVAL);
    let min_rx = interval(BFD_MIN_RX_INTERVAL);
    let multiplier = match annotations.get(BFD_DETECT_MULTIPLIER) {
        None => Some(BFD_DEFAULT_DETECT_MULTIPLIER),
        Some(text) => match text.trim().parse::<u8>() {
            Ok(m) if m >= 1 => Some(m),
            _ => {
                invalid(
                    BFD_DETECT_MULTIPLIER,
                    text,
                    "must be a whole number from 1 to 255".into(),
                );
                None
            }
        },
    };
    Some(BfdSpec {
        min_tx: min_tx?,
        min_rx: min_rx?,
        detect_multiplier: multiplier?,
    })
}

/// A Go `time.ParseDuration` string: a sequence of decimal numbers with units (`ns`, `us`,
/// `µs`, `ms`, `s`, `m`, `h`), e.g. `300ms`, `1.5s`, `1m30s`; `0` alone is zero. Negative
/// durations are rejected (an interval cannot be negative).
pub(crate) fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = |why: &str| format!("{text:?} is not a Go duration like 300ms ({why})");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(bad("empty"));
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| bad("missing unit"))?;
        let (number, after) = rest.split_at(number_end);
        let value: f64 = number.parse().map_err(|_| bad("expected a number"))?;
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad("unknown unit")),
        };
        total += value * scale;
        rest = after;
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad("out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn go_durations_parse_like_go() {
        let ms = Duration::from_millis;
        assert_eq!(parse_go_duration("100ms"), Ok(ms(100)));
        assert_eq!(parse_go_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_go_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse_go_duration("250000us"), Ok(ms(250)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "100", "-100ms", "100 ms", "1d", "ms", "1..5s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn enabled_without_timers_uses_300ms_times_3() {
        let mut problems = Vec::new();
        let spec = bfd_spec(
            "pc",
            Some(&annotations(&[(BFD_ENABLED, "true")])),
            &mut problems,
        );
        assert_eq!(
            spec,
            Some(BfdSpec {
                min_tx: DEFAULT_INTERVAL,
                min_rx: DEFAULT_INTERVAL,
                detect_multiplier: 3
            })
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn timers_without_enabled_do_not_turn_bfd_on() {
        let mut problems = Vec::new();
        let a = annotations(&[(BFD_MIN_TX_INTERVAL, "100ms"), (BFD_ENABLED, "false")]);
        assert_eq!(bfd_spec("pc", Some(&a), &mut problems), None);
        assert_eq!(bfd_spec("pc", None, &mut problems), None);
        assert!(problems.is_empty());
    }

    #[test]
    fn each_bad_value_is_reported_and_turns_bfd_off() {
        for (key, value) in [
            (BFD_ENABLED, "yes"),
            (BFD_MIN_TX_INTERVAL, "100"),
            (BFD_MIN_RX_INTERVAL, "5ms"),
            (BFD_MIN_RX_INTERVAL, "2m"),
            (BFD_DETECT_MULTIPLIER, "0"),
            (BFD_DETECT_MULTIPLIER, "256"),
        ] {
            let mut a = annotations(&[(BFD_ENABLED, "true")]);
            a.insert(key.to_owned(), value.to_owned());
            let mut problems = Vec::new();
            assert_eq!(
                bfd_spec("pc", Some(&a), &mut problems),
                None,
                "{key}={value}"
            );
            assert!(
                matches!(&problems[..], [Problem::InvalidBfdAnnotation { annotation, value: v, .. }]
                    if *annotation == key && v == value),
                "{key}={value}: {problems:?}"
            );
        }
    }
}
