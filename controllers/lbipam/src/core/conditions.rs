//! Every condition type and reason LB-IPAM writes, spelled as Cilium spells them: users'
//! dashboards, scripts and `kubectl wait` read these strings.
//!
//! Source of the Cilium spellings: `operator/pkg/lbipam/lbipam.go` in cilium/cilium (the
//! `const` block at the top, `satisfySpecificIPRequests`, `satisfyGenericIPv4Requests`,
//! `updatePoolCounts`, `markPoolConflicting`, `unmarkPool`) and
//! `operator/pkg/lbipam/service_store.go` (`ServiceView.isCompatible`). Where Cilium has no
//! condition for a mistake ferrule reports, the constant says so and uses the `ferrule.io`
//! prefix, so nothing collides with a future Cilium name.

// ---- Service condition -------------------------------------------------------------------

/// Service condition type. lbipam.go: `ciliumSvcRequestSatisfiedCondition`.
pub const SVC_REQUEST_SATISFIED: &str = "cilium.io/IPAMRequestSatisfied";

/// Every requested IP or family is assigned. lbipam.go `satisfyService`:
/// `setSVCSatisfiedCondition(sv, true, "satisfied", "")`.
pub const REASON_SATISFIED: &str = "satisfied";
/// A requested IP lies in no pool, or no enabled pool of the needed family selects the
/// service. lbipam.go `satisfySpecificIPRequests` and `satisfyGenericIPv4Requests`.
pub const REASON_NO_POOL: &str = "no_pool";
/// A requested IP lies in a pool whose serviceSelector does not match the service.
/// lbipam.go `satisfySpecificIPRequests`.
pub const REASON_POOL_SELECTOR_MISMATCH: &str = "pool_selector_mismatch";
/// A requested IP is held by another service and this one has no sharing key.
/// lbipam.go `satisfySpecificIPRequests`.
pub const REASON_ALREADY_ALLOCATED: &str = "already_allocated";
/// A requested IP is held by services this one may not share with. lbipam.go
/// `satisfySpecificIPRequests`.
pub const REASON_ALREADY_ALLOCATED_INCOMPATIBLE: &str = "already_allocated_incompatible_service";
/// Every enabled pool that selects the service is full. lbipam.go
/// `satisfyGenericIPv4Requests` / `satisfyGenericIPv6Requests`.
pub const REASON_OUT_OF_IPS: &str = "out_of_ips";
/// ferrule only (Cilium logs and ignores the entry): a requested IP in
/// `lbipam.cilium.io/ips`, `io.cilium/lb-ipam-ips` or `spec.loadBalancerIP` is not an address.
pub const REASON_INVALID_IP: &str = "invalid_ip";
/// ferrule only (Cilium's code satisfies such a service with one family although its
/// documentation says it is unsatisfied; we follow the documentation): `RequireDualStack`
/// while LB-IPAM has one family disabled.
pub const REASON_IP_FAMILY_DISABLED: &str = "ip_family_disabled";

/// lbipam.go `satisfySpecificIPRequests`, reason `no_pool`.
pub fn msg_no_pool_contains(ip: &str) -> String {
    format!("No pool exists with a CIDR containing '{ip}'")
}
/// lbipam.go `satisfySpecificIPRequests`, reason `pool_selector_mismatch`.
pub fn msg_pool_selector_mismatch(ip: &str) -> String {
    format!("The pool with the CIDR containing '{ip}', doesn't select this service")
}
/// lbipam.go `satisfySpecificIPRequests`, reason `already_allocated`.
pub fn msg_already_allocated(ip: &str) -> String {
    format!("The IP '{ip}' is already allocated to another service")
}
/// lbipam.go `satisfySpecificIPRequests`, reason `already_allocated_incompatible_service`.
pub fn msg_already_allocated_incompatible(ip: &str, why: &str) -> String {
    format!("The IP '{ip}' is already allocated to an incompatible service. Reason: {why}")
}
/// lbipam.go `satisfyGenericIPv4Requests`, reason `no_pool`.
pub const MSG_NO_MATCHING_POOL: &str =
    "There are no enabled CiliumLoadBalancerIPPools that match this service";
/// lbipam.go `satisfyGenericIPv4Requests`, reason `out_of_ips`.
pub const MSG_OUT_OF_IPS: &str =
    "All enabled CiliumLoadBalancerIPPools that match this service ran out of allocatable IPs";

/// Incompatibility reasons quoted in `already_allocated_incompatible_service` messages.
/// service_store.go `ServiceView.isCompatible`.
pub mod incompatible {
    pub const DIFFERENT_SHARING_KEY: &str = "different sharing key";
    pub const NAMESPACE_NOT_PERMITTED: &str = "different and not permitted namespace";
    pub const SAME_PORT: &str = "same port";
    pub const DIFFERENT_ETP: &str = "different ExternalTrafficPolicy";
    pub const LOCAL_DIFFERENT_PODS: &str =
        "compatible ExternalTrafficPolicy local but selecting different set of pods";
}

// ---- Pool conditions ---------------------------------------------------------------------

/// lbipam.go: `ciliumPoolIPsTotalCondition`; status Unknown, reason `noreason`, the message
/// is the count in decimal.
pub const POOL_IPS_TOTAL: &str = "cilium.io/IPsTotal";
/// lbipam.go: `ciliumPoolIPsAvailableCondition` (same shape as IPsTotal).
pub const POOL_IPS_AVAILABLE: &str = "cilium.io/IPsAvailable";
/// lbipam.go: `ciliumPoolIPsUsedCondition` (same shape as IPsTotal).
pub const POOL_IPS_USED: &str = "cilium.io/IPsUsed";
/// The reason Cilium writes on the three count conditions. lbipam.go `updatePoolCounts`.
pub const REASON_NOREASON: &str = "noreason";

/// lbipam.go: `ciliumPoolConflict`. True with `cidr_overlap` while conflicting, False with
/// `resolved` otherwise (Cilium sets the False form on every new pool, `unmarkPool`).
pub const POOL_CONFLICT: &str = "cilium.io/PoolConflict";
/// lbipam.go `markPoolConflicting`.
pub const REASON_CIDR_OVERLAP: &str = "cidr_overlap";
/// lbipam.go `unmarkPool` (message empty).
pub const REASON_RESOLVED: &str = "resolved";

/// lbipam.go `markPoolConflicting`; ranges are printed `first - last` (`ipNetStr`).
pub fn msg_pool_conflict(range: &str, other_range: &str, other_pool: &str) -> String {
    format!(
        "Pool conflicts since range '{range}' overlaps range '{other_range}' from IP Pool '{other_pool}'"
    )
}

/// ferrule only: Cilium has no condition for an unparsable block (it logs, retries the pool
/// event forever and skips the rest of the pool). ferrule skips just the bad blocks and
/// writes this condition, True, only while the spec has a mistake, so a valid pool's status
/// is exactly Cilium's four conditions.
pub const POOL_INVALID_SPEC: &str = "ferrule.io/InvalidSpec";
/// A block has a bad CIDR or address, start after stop, mixed families or no start.
pub const REASON_INVALID_BLOCK: &str = "invalid_block";
/// The serviceSelector cannot be evaluated (the pool then allocates nothing new; the IPs it
/// handed out stay, because we cannot tell whether they still match).
pub const REASON_INVALID_SELECTOR: &str = "invalid_selector";

/// The API server's limit on `metav1.Condition.message`.
pub const MAX_CONDITION_MESSAGE: usize = 32_768;
/// The API server's limit on `events.k8s.io/v1 Event.note`.
pub const MAX_EVENT_NOTE: usize = 1_024;

/// Cuts `text` to at most `max` bytes (at a character boundary, ending in "...") so that
/// user-controlled input quoted in a message can never make a status write fail.
pub fn clip(mut text: String, max: usize) -> String {
    const MARK: &str = "...";
    if text.len() <= max {
        return text;
    }
    let mark = if max >= MARK.len() { MARK } else { "" };
    let mut cut = max - mark.len();
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(mark);
    text
}

// ---- Events (ferrule only: Cilium's LB-IPAM emits no Events) -----------------------------

/// A service lost an IP and received another of the same family.
pub const EVENT_IP_REALLOCATED: &str = "IPReallocated";
/// A service lost an IP without a replacement (or LB-IPAM stopped managing it).
pub const EVENT_IP_RELEASED: &str = "IPReleased";
/// The service's request became unsatisfiable (the note is the condition message).
pub const EVENT_REQUEST_UNSATISFIED: &str = "IPRequestUnsatisfied";
/// Event actions (events.k8s.io requires one).
pub const ACTION_REALLOCATE: &str = "Reallocate";
pub const ACTION_RELEASE: &str = "Release";
pub const ACTION_ALLOCATE: &str = "Allocate";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_respects_the_limit_and_character_boundaries() {
        assert_eq!(clip("short".into(), 10), "short");
        let long = "é".repeat(20); // 40 bytes
        let clipped = clip(long, 10);
        assert!(clipped.len() <= 10, "{clipped}");
        assert!(clipped.ends_with("..."));
        assert_eq!(clip("abcdef".into(), 5), "ab...");
        assert_eq!(clip("abcdef".into(), 2), "ab");
    }
}
