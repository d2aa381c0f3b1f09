//! A service's desired status and Events, from what the planner decided for it.

use super::conditions as c;
use super::model::{
    ConditionPlan, EventType, Plan, PlannedEvent, Regarding, ServiceInput, ServiceKey, ServicePlan,
    Status,
};
use super::plan::{Failure, Managed, Outcome};
use super::pool::PoolIndex;
use super::ranges::parse_ip;
use super::request::Management;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The planner's last phase for one managed service: its status and Events.
pub(super) fn finish(m: &Managed<'_>, mut out: Outcome, plan: &mut Plan) {
    let key = &m.svc.key;
    out.held.sort();
    let condition = condition(&out.failures);

    if !out.released.is_empty() {
        let added: Vec<String> = out
            .held
            .iter()
            .filter(|ip| m.current.binary_search(ip).is_err())
            .map(ToString::to_string)
            .collect();
        let released: Vec<String> = out
            .released
            .iter()
            .map(|(ip, why)| format!("{ip} ({why})"))
            .collect();
        let type_ = if out.released.iter().all(|(_, why)| why.user_driven()) {
            EventType::Normal
        } else {
            EventType::Warning
        };
        let (reason, action, note) = if added.is_empty() {
            (
                c::EVENT_IP_RELEASED,
                c::ACTION_RELEASE,
                format!("Released {}", released.join(", ")),
            )
        } else {
            (
                c::EVENT_IP_REALLOCATED,
                c::ACTION_REALLOCATE,
                format!(
                    "Released {}; assigned {}",
                    released.join(", "),
                    added.join(", ")
                ),
            )
        };
        plan.events
            .push(service_event(key, type_, reason, action, note));
    }

    let unchanged = m.svc.current_condition.as_ref().is_some_and(|cur| {
        cur.status == condition.status
            && cur.reason == condition.reason
            && cur.message == condition.message
    });
    if condition.status == Status::False && !unchanged {
        plan.events.push(service_event(
            key,
            EventType::Warning,
            c::EVENT_REQUEST_UNSATISFIED,
            c::ACTION_ALLOCATE,
            condition.message.clone(),
        ));
    }

    let ingress_ips: Vec<IpAddr> = out.held.iter().map(|ip| ip.addr()).collect();
    plan.services.insert(
        key.clone(),
        ServicePlan::Managed {
            ingress_ips,
            condition,
        },
    );
}

/// True/`satisfied`, or False with the first failure's reason and every distinct message
/// (Cilium keeps only the last one it hit; one message is exactly Cilium's text).
fn condition(failures: &[Failure]) -> ConditionPlan {
    let Some(first) = failures.first() else {
        return ConditionPlan {
            type_: c::SVC_REQUEST_SATISFIED,
            status: Status::True,
            reason: c::REASON_SATISFIED.into(),
            message: String::new(),
        };
    };
    let mut seen = BTreeSet::new();
    let mut messages: Vec<&str> = Vec::new();
    let mut length = 0;
    for f in failures {
        // Past the API limit nothing more would be shown anyway.
        if length > c::MAX_CONDITION_MESSAGE {
            break;
        }
        if seen.insert(f.message.as_str()) {
            length += f.message.len() + 2;
            messages.push(&f.message);
        }
    }
    ConditionPlan {
        type_: c::SVC_REQUEST_SATISFIED,
        status: Status::False,
        reason: first.reason.into(),
        message: c::clip(messages.join("; "), c::MAX_CONDITION_MESSAGE),
    }
}

/// A service LB-IPAM does not manage: `Released` when we may have written to it (our
/// condition is there, or its IPs lie in our pools), otherwise absent from the plan.
pub(super) fn release_unmanaged(
    svc: &ServiceInput,
    why: &Management,
    index: &PoolIndex,
    plan: &mut Plan,
) {
    let in_our_pools = svc
        .current_ips
        .iter()
        .filter_map(|t| parse_ip(t.trim()))
        .any(|ip| index.pools_containing(ip).next().is_some());
    if !svc.has_our_condition && !in_our_pools {
        return;
    }
    // Only when our condition proves we managed it: IPs another controller wrote from an
    // overlapping range must not raise an Event on every pass.
    if svc.has_our_condition && !svc.current_ips.is_empty() {
        plan.events.push(service_event(
            &svc.key,
            EventType::Normal,
            c::EVENT_IP_RELEASED,
            c::ACTION_RELEASE,
            format!("Released {}: {}", svc.current_ips.join(", "), why.why_not()),
        ));
    }
    plan.services.insert(svc.key.clone(), ServicePlan::Released);
}

fn service_event(
    key: &ServiceKey,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) -> PlannedEvent {
    PlannedEvent {
        regarding: Regarding::Service(key.clone()),
        type_,
        reason: reason.into(),
        action: action.into(),
        note: c::clip(note, c::MAX_EVENT_NOTE),
    }
}

/// Events sorted by what they are about, then reason and note.
pub(super) fn event_key(e: &PlannedEvent) -> (u8, String, String, &str, &str) {
    let (kind, a, b) = match &e.regarding {
        Regarding::Service(k) => (0, k.namespace.clone(), k.name.clone()),
        Regarding::Pool(name) => (1, String::new(), name.clone()),
    };
    (kind, a, b, e.reason.as_str(), e.note.as_str())
}
