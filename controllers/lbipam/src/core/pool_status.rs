//! A pool's desired status: Cilium's counts and conditions, plus ferrule's condition for a
//! spec with mistakes.

use super::claims::Book;
use super::conditions as c;
use super::model::{ConditionPlan, PoolCounts, PoolPlan, Status};
use super::pool::PoolView;

/// The status of every pool, keyed by name.
pub fn pool_plans<'p>(
    pools: &'p [PoolView<'_>],
    book: &'p Book<'_>,
) -> impl Iterator<Item = (String, PoolPlan)> + 'p {
    let used = book.used_per_pool(pools.len());
    pools.iter().enumerate().map(move |(i, pool)| {
        let counts = counts(pool, used[i], book);
        (
            pool.name().to_owned(),
            PoolPlan {
                conditions: conditions(pool, &counts),
                counts,
            },
        )
    })
}

/// Cilium's `updatePoolCounts`: total is every address of every block; used is every claimed
/// address plus the reserved first/last ones (Cilium reserves them by allocating them);
/// available is the rest.
fn counts(pool: &PoolView<'_>, claimed: u128, book: &Book<'_>) -> PoolCounts {
    let total = pool
        .blocks
        .iter()
        .fold(0u128, |sum, b| sum.saturating_add(b.range.size()));
    let reserved_free = pool.reserved().filter(|ip| !book.is_claimed(*ip)).count() as u128;
    let used = claimed.saturating_add(reserved_free).min(total);
    PoolCounts {
        total,
        available: total - used,
        used,
    }
}

fn conditions(pool: &PoolView<'_>, counts: &PoolCounts) -> Vec<ConditionPlan> {
    let count = |type_, n: u128| ConditionPlan {
        type_,
        status: Status::Unknown,
        reason: c::REASON_NOREASON.into(),
        message: n.to_string(),
    };
    let mut out = vec![
        count(c::POOL_IPS_TOTAL, counts.total),
        count(c::POOL_IPS_AVAILABLE, counts.available),
        count(c::POOL_IPS_USED, counts.used),
        match &pool.conflict {
            Some(conflict) => ConditionPlan {
                type_: c::POOL_CONFLICT,
                status: Status::True,
                reason: c::REASON_CIDR_OVERLAP.into(),
                message: c::msg_pool_conflict(
                    &conflict.range.to_string(),
                    &conflict.other_range.to_string(),
                    &conflict.other_pool,
                ),
            },
            None => ConditionPlan {
                type_: c::POOL_CONFLICT,
                status: Status::False,
                reason: c::REASON_RESOLVED.into(),
                message: String::new(),
            },
        },
    ];
    out.extend(invalid_spec(pool));
    out.sort_by(|a, b| a.type_.cmp(b.type_));
    out
}

/// `ferrule.io/InvalidSpec`, only while the spec has a mistake: every bad block by its
/// position, then a bad selector.
fn invalid_spec(pool: &PoolView<'_>) -> Option<ConditionPlan> {
    let mut problems: Vec<String> = pool
        .block_errors
        .iter()
        .map(|(i, e)| format!("spec.blocks[{i}]: {e}"))
        .collect();
    let selector_error = match &pool.selector {
        Some(Err(e)) => Some(format!(
            "spec.serviceSelector: {e}; the pool allocates no new IPs until it is fixed"
        )),
        _ => None,
    };
    let reason = if problems.is_empty() {
        c::REASON_INVALID_SELECTOR
    } else {
        c::REASON_INVALID_BLOCK
    };
    problems.extend(selector_error);
    if problems.is_empty() {
        return None;
    }
    if !pool.block_errors.is_empty() {
        problems.push(format!(
            "{} valid block(s) remain in use",
            pool.blocks.len()
        ));
    }
    Some(ConditionPlan {
        type_: c::POOL_INVALID_SPEC,
        status: Status::True,
        reason: reason.into(),
        message: c::clip(problems.join("; "), c::MAX_CONDITION_MESSAGE),
    })
}
