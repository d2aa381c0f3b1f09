//! The routes an owner asks the speaker to advertise.

use crate::community::{Community, LargeCommunity};
use crate::prefix::Prefix;

/// Attributes of an advertised route. ORIGIN, AS_PATH and NEXT_HOP are the speaker's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteAttrs {
    /// Standard communities, including well-known ones.
    pub communities: Vec<Community>,
    /// Large communities.
    pub large_communities: Vec<LargeCommunity>,
    /// LOCAL_PREF, sent on iBGP sessions only (100 there when unset).
    pub local_preference: Option<u32>,
}

/// A route to advertise.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// The prefix.
    pub prefix: Prefix,
    /// Its attributes.
    pub attrs: RouteAttrs,
}

impl Route {
    /// A route without communities or local preference.
    pub fn new(prefix: Prefix) -> Route {
        Route {
            prefix,
            attrs: RouteAttrs::default(),
        }
    }
}
