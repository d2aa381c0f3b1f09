//! The planner: observed pools and services in, desired statuses and Events out.
//!
//! Order of work, and why:
//! 1. Pools are parsed and put in *pool order* (creationTimestamp, then name); the younger
//!    of two overlapping pools is conflicting.
//! 2. Services LB-IPAM manages are put in *service order* (creationTimestamp, then
//!    namespace/name). Every other service is left alone, or released if we wrote to it.
//! 3. Keep: in service order, every current IP that is still valid is kept before anything
//!    new is handed out, so editing a pool, restarting, or a new service never moves an
//!    existing one. Valid = the service still asks for it (its family, or it is among the
//!    requested IPs), some pool containing it selects the service (an invalid selector
//!    counts as selecting: we cannot tell), and no older service holds it without being
//!    allowed to share. Pools that are disabled or conflicting keep their IPs valid: they
//!    only stop handing out new ones (Cilium also keeps them while running; it drops them
//!    only after an operator restart, which is exactly the move we must not make).
//! 4. Allocate: in service order, requested IPs not yet held are claimed or shared; missing
//!    families are filled by joining an IP of the service's sharing key, else with the
//!    lowest free address of the first pool (in pool order) that allocates, has the family
//!    and selects the service.
//! 5. Refused requested IPs are re-judged against the final claims, so the reason shown is
//!    the one the next pass will give.
//! 6. Statuses, pool counts and Events are derived from the result (`service_status`,
//!    `pool_status`). An Event is planned only for a change (an IP released; the condition
//!    turning unsatisfied), so feeding the plan back as the observed state yields the same
//!    plan and no Events.
//!
//! Cost: one pass over pools and services with ordered-map lookups; the only product term
//! is the selector check of a service against the pools before the one it allocates from.

use super::allocator::lowest_free;
use super::claims::{Book, Claim};
use super::conditions as c;
use super::model::{Input, Plan, ServiceInput};
use super::order::CreationOrder;
use super::pool::{PoolIndex, PoolView, Selects, parse_pools};
use super::pool_status::pool_plans;
use super::ranges::{Family, Ip, parse_ip};
use super::release::Release;
use super::request::{Management, Request};
use super::service_status::{event_key, finish, release_unmanaged};
use super::sharing::SharingProfile;
use ferrule_api::selector::ExtendedLabels;
use std::collections::BTreeSet;

/// Computes the desired state of every pool and every service LB-IPAM has to do with.
/// Pure and deterministic: the same input always gives the same plan.
pub fn plan(input: &Input) -> Plan {
    let pools = parse_pools(&input.pools);
    let index = PoolIndex::new(&pools);
    let mut plan = Plan::default();

    let mut services = Vec::new();
    for svc in &input.services {
        match Management::of(&input.config, svc) {
            Management::Managed => services.push(Managed::new(&input.config, svc)),
            why => release_unmanaged(svc, &why, &index, &mut plan),
        }
    }
    services.sort_by(|a, b| a.order.cmp(&b.order));
    let profiles: Vec<SharingProfile<'_>> =
        services.iter().map(|m| SharingProfile::of(m.svc)).collect();

    let planner = Planner {
        pools: &pools,
        index: &index,
        services: &services,
        profiles: &profiles,
    };
    let mut book = Book::new(&pools);
    let mut outcomes: Vec<Outcome> = services.iter().map(|_| Outcome::default()).collect();
    for (i, out) in outcomes.iter_mut().enumerate() {
        planner.keep(i, &mut book, out);
    }
    for (i, out) in outcomes.iter_mut().enumerate() {
        planner.allocate(i, &mut book, out);
    }
    for (i, out) in outcomes.iter_mut().enumerate() {
        planner.rediagnose(i, &book, out);
    }

    for (m, out) in services.iter().zip(outcomes) {
        finish(m, out, &mut plan);
    }

    plan.pools.extend(pool_plans(&pools, &book));
    plan.events.sort_by(|a, b| event_key(a).cmp(&event_key(b)));
    plan
}

/// A managed service, parsed once.
#[derive(Debug)]
pub(super) struct Managed<'a> {
    pub(super) svc: &'a ServiceInput,
    order: CreationOrder<'a>,
    labels: ExtendedLabels<'a>,
    request: Request,
    /// Parsed current IPs, sorted, without duplicates.
    pub(super) current: Vec<Ip>,
    /// Current entries that are not IPs.
    garbage: Vec<&'a str>,
}

impl<'a> Managed<'a> {
    fn new(config: &super::model::Config, svc: &'a ServiceInput) -> Self {
        let mut current = Vec::new();
        let mut garbage = Vec::new();
        for text in &svc.current_ips {
            match parse_ip(text.trim()) {
                Some(ip) => current.push(ip),
                None => garbage.push(text.as_str()),
            }
        }
        current.sort();
        current.dedup();
        Self {
            svc,
            order: CreationOrder::new(&svc.created, &svc.key.namespace, &svc.key.name),
            labels: ExtendedLabels::service(&svc.key.namespace, &svc.key.name, Some(&svc.labels)),
            request: Request::of(config, svc),
            current,
            garbage,
        }
    }

    /// Whether the service names specific IPs (even only invalid ones: then nothing generic
    /// is handed out, because the user clearly wanted particular addresses).
    fn asks_specific(&self) -> bool {
        !self.request.ips.is_empty() || !self.request.invalid.is_empty()
    }
}

/// Why part of a request is not met: a Cilium reason and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    pub(super) reason: &'static str,
    pub(super) message: String,
}

impl Failure {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

/// What happened to one service during the plan.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) held: Vec<Ip>,
    pub(super) released: Vec<(String, Release)>,
    pub(super) failures: Vec<Failure>,
    /// Requested IPs refused, with the index of their failure (see [`Planner::rediagnose`]).
    refused: Vec<(usize, Ip)>,
}

/// How a requested IP is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claiming {
    /// Join the group already holding it.
    Join,
    /// Found a group, counted against this pool.
    Found(usize),
}

struct Planner<'p, 'a> {
    pools: &'p [PoolView<'a>],
    index: &'p PoolIndex,
    services: &'p [Managed<'a>],
    profiles: &'p [SharingProfile<'a>],
}

impl<'a> Planner<'_, 'a> {
    /// Phase 3: keep every still-valid current IP.
    fn keep(&self, i: usize, book: &mut Book<'a>, out: &mut Outcome) {
        let m = &self.services[i];
        for &ip in &m.current {
            match self.check_current(i, ip, book, &out.held) {
                Ok(()) => out.held.push(ip),
                Err(why) => out.released.push((ip.to_string(), why)),
            }
        }
        for text in &m.garbage {
            out.released.push(((*text).to_owned(), Release::NotAnIp));
        }
    }

    fn check_current(
        &self,
        i: usize,
        ip: Ip,
        book: &mut Book<'a>,
        held: &[Ip],
    ) -> Result<(), Release> {
        let m = &self.services[i];
        if !m.request.ips.is_empty() {
            if !m.request.requests(ip) {
                return Err(Release::NotRequested);
            }
        } else if !m.request.wants(ip.family) {
            return Err(Release::FamilyNotRequested(ip.family));
        }
        let Some(counted_in) = self.index.pools_containing(ip).next() else {
            return Err(Release::NoPool);
        };
        if !self
            .index
            .pools_containing(ip)
            .any(|p| self.pools[p].selects(&m.labels) != Selects::No)
        {
            let names = self
                .index
                .pools_containing(ip)
                .map(|p| self.pools[p].name().to_owned())
                .collect();
            return Err(Release::NotSelected(names));
        };
        // A generic request holds one IP per family (the lowest valid one is met first).
        if m.request.ips.is_empty()
            && let Some(&kept) = held.iter().find(|h| h.family == ip.family)
        {
            return Err(Release::Surplus(kept));
        }
        let verdict = book.get(ip).map(|claim| {
            self.group_compatible(claim, i)
                .map_err(|why| Release::Claimed {
                    by: self.holder(claim).clone(),
                    why,
                })
        });
        match verdict {
            Some(Err(release)) => Err(release),
            Some(Ok(())) => {
                book.join(ip, i);
                Ok(())
            }
            None => {
                book.found(ip, counted_in, i, self.profiles[i].key);
                Ok(())
            }
        }
    }

    /// Phase 4: satisfy what the keep phase left open.
    fn allocate(&self, i: usize, book: &mut Book<'a>, out: &mut Outcome) {
        let m = &self.services[i];
        for entry in &m.request.invalid {
            out.failures.push(Failure::new(
                c::REASON_INVALID_IP,
                format!(
                    "The value '{}' in {} is not an IP address",
                    entry.value, entry.source
                ),
            ));
        }
        if m.asks_specific() {
            // Held IPs so far come from the keep phase, which walks the sorted current IPs.
            let kept: BTreeSet<Ip> = out.held.iter().copied().collect();
            for &ip in &m.request.ips {
                if kept.contains(&ip) {
                    continue;
                }
                match self.claim_requested(i, ip, book) {
                    Ok(()) => out.held.push(ip),
                    Err(f) => {
                        out.refused.push((out.failures.len(), ip));
                        out.failures.push(f);
                    }
                }
            }
        } else {
            for family in Family::ALL {
                if !m.request.wants(family) || out.held.iter().any(|h| h.family == family) {
                    continue;
                }
                if let Some(ip) = self.join_sharing_key(i, family, book) {
                    out.held.push(ip);
                    continue;
                }
                match self.allocate_new(i, family, book) {
                    Ok(ip) => out.held.push(ip),
                    Err(f) => out.failures.push(f),
                }
            }
        }
        for family in &m.request.families_disabled {
            out.failures.push(Failure::new(
                c::REASON_IP_FAMILY_DISABLED,
                format!(
                    "ipFamilyPolicy RequireDualStack needs IPv4 and IPv6, but {} is not enabled for LB-IPAM",
                    family.name()
                ),
            ));
        }
    }

    /// Re-judges refused requested IPs against the final book. A refusal stays a refusal
    /// (see `requested_verdict`), but its reason may not: a service older than the current
    /// holders can join the holding group later in the same pass, and the next pass checks
    /// the group oldest member first. Judging against the final book gives the reason the
    /// next pass will give, so a settled cluster never flips its condition (nor emits an
    /// Event for that).
    fn rediagnose(&self, i: usize, book: &Book<'_>, out: &mut Outcome) {
        for &(n, ip) in &out.refused {
            if let (Err(f), Some(slot)) =
                (self.requested_verdict(i, ip, book), out.failures.get_mut(n))
            {
                *slot = f;
            }
        }
    }

    /// Claims or joins a requested IP when `requested_verdict` allows it.
    fn claim_requested(&self, i: usize, ip: Ip, book: &mut Book<'a>) -> Result<(), Failure> {
        match self.requested_verdict(i, ip, book)? {
            Claiming::Join => book.join(ip, i),
            Claiming::Found(pool) => book.found(ip, pool, i, self.profiles[i].key),
        }
        Ok(())
    }

    /// Whether service `i` may take the requested `ip` given `book`: Cilium's
    /// `satisfySpecificIPRequests` checks, in its order. As in Cilium's `findRangeOfIP`, a
    /// requested IP is only taken (claimed or joined) through a pool that selects the service
    /// and allocates (enabled, not conflicting). That keeps every failure either independent
    /// of the book or caused by a claim, and claims only accumulate during a pass: an IP
    /// refused now is refused on the next pass too, with the same reason.
    fn requested_verdict(&self, i: usize, ip: Ip, book: &Book<'_>) -> Result<Claiming, Failure> {
        let m = &self.services[i];
        let text = ip.to_string();
        let verdicts: Vec<(usize, Selects)> = self
            .index
            .pools_containing(ip)
            .map(|p| (p, self.pools[p].selects(&m.labels)))
            .collect();
        if verdicts.is_empty() {
            return Err(Failure::new(
                c::REASON_NO_POOL,
                c::msg_no_pool_contains(&text),
            ));
        }
        let selecting: Vec<usize> = verdicts
            .iter()
            .filter(|(_, s)| *s == Selects::Yes)
            .map(|(p, _)| *p)
            .collect();
        let Some(&first_selecting) = selecting.first() else {
            let message = match verdicts.iter().find(|(_, s)| *s == Selects::Unknown) {
                Some(&(p, _)) => format!(
                    "The pool '{}' containing '{text}' has an invalid serviceSelector",
                    self.pools[p].name()
                ),
                None => c::msg_pool_selector_mismatch(&text),
            };
            return Err(Failure::new(c::REASON_POOL_SELECTOR_MISMATCH, message));
        };
        let Some(pool) = selecting.into_iter().find(|&p| self.pools[p].allocates()) else {
            let p = &self.pools[first_selecting];
            let message = match &p.conflict {
                Some(conflict) => format!(
                    "The pool '{}' containing '{text}' conflicts with pool '{}' and allocates nothing",
                    p.name(),
                    conflict.other_pool
                ),
                None => format!("The pool '{}' containing '{text}' is disabled", p.name()),
            };
            return Err(Failure::new(c::REASON_NO_POOL, message));
        };
        if let Some(claim) = book.get(ip) {
            if self.profiles[i].key.is_none() {
                return Err(Failure::new(
                    c::REASON_ALREADY_ALLOCATED,
                    c::msg_already_allocated(&text),
                ));
            }
            self.group_compatible(claim, i).map_err(|why| {
                Failure::new(
                    c::REASON_ALREADY_ALLOCATED_INCOMPATIBLE,
                    c::msg_already_allocated_incompatible(&text, why),
                )
            })?;
            return Ok(Claiming::Join);
        }
        let p = &self.pools[pool];
        if p.is_reserved(ip) {
            return Err(Failure::new(
                c::REASON_ALREADY_ALLOCATED,
                format!(
                    "The IP '{text}' is reserved: pool '{}' has allowFirstLastIPs: No",
                    p.name()
                ),
            ));
        }
        // An allocating pool is not conflicting, so it is the one the IP counts against.
        Ok(Claiming::Found(pool))
    }

    /// Joins the lowest IP of the service's sharing key (in `family`) it may share and whose
    /// pool (the one the IP counts against, Cilium's "origin pool") selects it. Judging by
    /// that one pool, not any overlapping conflicting pool, matters for restart safety: an
    /// older service that found nothing to join must not find something on the next pass.
    fn join_sharing_key(&self, i: usize, family: Family, book: &mut Book<'a>) -> Option<Ip> {
        let key = self.profiles[i].key?;
        let labels = &self.services[i].labels;
        let ip = book.key_ips(key, family).find(|&ip| {
            book.get(ip)
                .is_some_and(|claim| self.group_compatible(claim, i).is_ok())
                && self
                    .index
                    .pools_containing(ip)
                    .next()
                    .is_some_and(|p| self.pools[p].selects(labels) == Selects::Yes)
        })?;
        book.join(ip, i);
        Some(ip)
    }

    /// A fresh address: the lowest free one of the first pool in pool order that may
    /// allocate, has the family and selects the service.
    fn allocate_new(&self, i: usize, family: Family, book: &mut Book<'a>) -> Result<Ip, Failure> {
        let labels = &self.services[i].labels;
        let mut matched = false;
        for (p, pool) in self.pools.iter().enumerate() {
            let ranges = &pool.ranges[family.index()];
            if !pool.allocates() || ranges.is_empty() || pool.selects(labels) != Selects::Yes {
                continue;
            }
            matched = true;
            if let Some(bits) = lowest_free(book.taken(family), ranges) {
                let ip = Ip { family, bits };
                book.found(ip, p, i, self.profiles[i].key);
                return Ok(ip);
            }
        }
        Err(if matched {
            Failure::new(c::REASON_OUT_OF_IPS, c::MSG_OUT_OF_IPS)
        } else {
            Failure::new(c::REASON_NO_POOL, c::MSG_NO_MATCHING_POOL)
        })
    }

    /// Whether service `i` may join every member of `claim` (itself excepted).
    fn group_compatible(&self, claim: &Claim, i: usize) -> Result<(), &'static str> {
        claim
            .members
            .iter()
            .filter(|&&m| m != i)
            .try_for_each(|&m| self.profiles[i].compatible(&self.profiles[m]))
    }

    fn holder(&self, claim: &Claim) -> &super::model::ServiceKey {
        &self.services[claim.members[0]].svc.key
    }
}
