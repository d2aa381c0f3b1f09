//! The pure core of ferrule-l2announcer: observed policies, services and nodes in, the
//! announcements every node should make out. No kube client, no clock, no randomness: time is
//! passed in (`now`), and every "random" choice is a fixed hash written out in [`hash`].
//!
//! # Election design
//!
//! Cilium elects an announcer per *service*: every agent whose node a policy selects runs a
//! client-go leader election on one Lease per service (`cilium-l2announce-<ns>-<name>`). That
//! has three costs users complain about:
//!
//! - **API load grows with services.** Each holder renews each of its Leases every renew
//!   deadline, and every candidate polls every Lease every retry period: roughly
//!   services ÷ renewDeadline writes per second for the cluster, plus the retries.
//! - **Uneven spread.** The first node to grab a Lease keeps it, so after a rolling restart
//!   one node typically holds nearly everything.
//! - **Slow, lease-by-lease failover**, and no notion of externalTrafficPolicy Local.
//!
//! ferrule elects *nodes*, not services, and derives the services from them:
//!
//! 1. Each ferrule-l2announcer (a DaemonSet, one per node) renews exactly one Lease, for its
//!    own node, and only while that node's ferrule-agent is healthy. The Lease is the node's
//!    liveness signal; its timings are the validated [`timings::LeaseTimings`]. API load is
//!    therefore nodes ÷ renewDeadline, independent of the number of services.
//! 2. Every announcer watches the same Leases, policies, Services and Nodes, so every one of
//!    them computes the same set of live candidates and — because [`assign::assign`] is a
//!    pure function of that input — the same assignment. No per-service coordination is
//!    needed: agreement comes from determinism, not from locks.
//! 3. Each eligible service goes to exactly one of its candidate nodes by rendezvous (highest
//!    random weight) hashing of (service, node) with a fixed, versioned hash
//!    ([`hash::weight`]), bounded by a load cap so the spread is even (see [`assign`]).
//!    Rendezvous hashing needs no shared state and, when a node's Lease lapses, moves that
//!    node's services while leaving almost everything else in place.
//! 4. Each announcer writes what *its* node announces into one derived object for the node
//!    (only when it changes); the node's ferrule-agent programs its ARP/NDP responder from it.
//!
//! While announcers briefly disagree (one has seen a Lease lapse, another not yet), two nodes
//! may answer for the same IP for up to one watch latency; the clients' neighbour caches
//! converge on the last gratuitous ARP / unsolicited NA, which comes from the new owner. That
//! is the price of having no per-service lock, and it is bounded by the watch latency rather
//! than by the lease duration.

pub mod assign;
pub mod eligible;
pub mod hash;
pub mod model;
pub mod policy;
pub mod policy_status;
pub mod timings;

#[cfg(test)]
mod assign_tests;
#[cfg(test)]
mod testing;
