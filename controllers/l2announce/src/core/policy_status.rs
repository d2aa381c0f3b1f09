//! A policy's desired `status.conditions`, with Cilium's condition types and its rules
//! (`updatePolicyStatus` in Cilium's `pkg/l2announcer`):
//!
//! - a problem sets its condition: status True, reason `error`, message = the error;
//! - once the problem is gone, an existing condition turns False with an empty message (the
//!   reason stays `error`: Cilium writes that reason in both cases);
//! - a problem that never occurred gets no condition at all.
//!
//! One deliberate difference: Cilium stamps `lastTransitionTime` on every update, ferrule
//! only when the status changes, as `metav1.Condition` documents — so re-evaluating a settled
//! policy writes nothing.

use super::policy::Problems;
use ferrule_api::meta::{Condition, ConditionStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub const BAD_SERVICE_SELECTOR: &str = "io.cilium/bad-service-selector";
pub const BAD_NODE_SELECTOR: &str = "io.cilium/bad-node-selector";
pub const BAD_INTERFACE_REGEX: &str = "io.cilium/bad-interface-regex";
/// The only reason Cilium writes on these conditions.
pub const REASON_ERROR: &str = "error";
/// The API server's limit on `metav1.Condition.message`.
pub const MAX_CONDITION_MESSAGE: usize = 32_768;

/// The conditions the policy should carry: `current` with ours updated in place, new ones
/// appended in a fixed order, everyone else's left exactly as they are.
pub fn desired_conditions(
    current: &[Condition],
    problems: &Problems,
    generation: i64,
    now: &Time,
) -> Vec<Condition> {
    let ours = [
        (BAD_SERVICE_SELECTOR, &problems.service_selector),
        (BAD_NODE_SELECTOR, &problems.node_selector),
        (BAD_INTERFACE_REGEX, &problems.interface_regex),
    ];
    let mut out = current.to_vec();
    for (type_, problem) in ours {
        let existing = out.iter_mut().find(|c| c.r#type == type_);
        let (status, message) = match problem {
            Some(message) => (ConditionStatus::True, clip(message)),
            None if existing.is_some() => (ConditionStatus::False, String::new()),
            None => continue,
        };
        match existing {
            Some(c) => {
                if c.status != status {
                    c.last_transition_time = now.clone();
                }
                c.status = status;
                c.message = message;
                c.reason = REASON_ERROR.to_owned();
                c.observed_generation = Some(generation);
            }
            None => out.push(Condition {
                last_transition_time: now.clone(),
                message,
                observed_generation: Some(generation),
                reason: REASON_ERROR.to_owned(),
                status,
                r#type: type_.to_owned(),
            }),
        }
    }
    out
}

/// Cuts a message to the API server's limit at a character boundary, so that a very long
/// user-written expression can never make the status write fail.
fn clip(message: &str) -> String {
    const MARK: &str = "...";
    if message.len() <= MAX_CONDITION_MESSAGE {
        return message.to_owned();
    }
    let mut cut = MAX_CONDITION_MESSAGE - MARK.len();
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{MARK}", &message[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn at(second: i64) -> Time {
        Time(Timestamp::from_second(second).expect("valid timestamp"))
    }

    fn regex_problem(message: &str) -> Problems {
        Problems {
            interface_regex: Some(message.to_owned()),
            ..Default::default()
        }
    }

    #[test]
    fn a_policy_that_never_had_a_problem_gets_no_conditions() {
        assert!(desired_conditions(&[], &Problems::default(), 1, &at(10)).is_empty());
    }

    #[test]
    fn a_problem_sets_its_condition_true_with_reason_error() {
        let out = desired_conditions(&[], &regex_problem("bad"), 3, &at(10));
        assert_eq!(out.len(), 1);
        let c = &out[0];
        assert_eq!(c.r#type, BAD_INTERFACE_REGEX);
        assert_eq!(c.status, ConditionStatus::True);
        assert_eq!(c.reason, "error");
        assert_eq!(c.message, "bad");
        assert_eq!(c.observed_generation, Some(3));
        assert_eq!(c.last_transition_time, at(10));
    }

    #[test]
    fn a_fixed_problem_turns_false_with_an_empty_message() {
        let broken = desired_conditions(&[], &regex_problem("bad"), 3, &at(10));
        let fixed = desired_conditions(&broken, &Problems::default(), 4, &at(20));
        assert_eq!(fixed.len(), 1);
        let c = &fixed[0];
        assert_eq!(c.status, ConditionStatus::False);
        assert_eq!(c.message, "");
        assert_eq!(c.reason, "error");
        assert_eq!(c.observed_generation, Some(4));
        assert_eq!(c.last_transition_time, at(20));
        // Staying fixed changes nothing, so nothing is written.
        assert_eq!(
            desired_conditions(&fixed, &Problems::default(), 4, &at(30)),
            fixed
        );
    }

    #[test]
    fn transition_time_is_kept_while_the_status_holds() {
        let first = desired_conditions(&[], &regex_problem("bad"), 3, &at(10));
        let again = desired_conditions(&first, &regex_problem("still bad"), 5, &at(20));
        assert_eq!(again[0].last_transition_time, at(10));
        assert_eq!(again[0].message, "still bad");
        assert_eq!(again[0].observed_generation, Some(5));
        assert_eq!(
            desired_conditions(&first, &regex_problem("bad"), 3, &at(30)),
            first,
            "a settled policy yields exactly its current conditions"
        );
    }

    #[test]
    fn each_problem_has_its_own_type_and_others_conditions_are_untouched() {
        let foreign = Condition {
            last_transition_time: at(1),
            message: "someone else's".into(),
            observed_generation: Some(1),
            reason: "Other".into(),
            status: ConditionStatus::Unknown,
            r#type: "example.com/Other".into(),
        };
        let problems = Problems {
            service_selector: Some("s".into()),
            node_selector: Some("n".into()),
            interface_regex: None,
        };
        let out = desired_conditions(std::slice::from_ref(&foreign), &problems, 2, &at(10));
        let types: Vec<&str> = out.iter().map(|c| c.r#type.as_str()).collect();
        assert_eq!(
            types,
            ["example.com/Other", BAD_SERVICE_SELECTOR, BAD_NODE_SELECTOR]
        );
        assert_eq!(out[0], foreign);
        assert_eq!(out[1].message, "s");
        assert_eq!(out[2].message, "n");
    }

    #[test]
    fn a_huge_message_is_clipped_to_the_api_limit() {
        let out = desired_conditions(&[], &regex_problem(&"é".repeat(20_000)), 1, &at(1));
        assert!(out[0].message.len() <= MAX_CONDITION_MESSAGE);
        assert!(out[0].message.ends_with("..."));
    }
}
