//! An advertisement's `attributes` as route attributes: communities parsed and well-known
//! names mapped to their values, local preference range-checked.

use crate::desired::RouteAttributes;
use crate::problems::Problem;
use ferrule_api::bgp::advertisement::BgpAttributes;
use ferrule_bgp_speaker::LargeCommunity;

/// The route attributes `attributes` asks for; unparsable values are reported and left out.
pub(crate) fn route_attributes(
    advertisement: &str,
    attributes: Option<&BgpAttributes>,
    problems: &mut Vec<Problem>,
) -> RouteAttributes {
    let mut out = RouteAttributes::default();
    let Some(attributes) = attributes else {
        return out;
    };
    let invalid = |value: &str| Problem::InvalidCommunity {
        advertisement: advertisement.to_owned(),
        value: value.to_owned(),
    };
    if let Some(communities) = &attributes.communities {
        for text in &communities.standard {
            match standard_community(text) {
                Some(value) => {
                    out.communities.insert(value);
                }
                None => problems.push(invalid(text)),
            }
        }
        out.communities
            .extend(communities.well_known.iter().map(|name| name.value()));
        for text in &communities.large {
            match large_community(text) {
                Some(value) => {
                    out.large_communities.insert(value);
                }
                None => problems.push(invalid(text)),
            }
        }
    }
    if let Some(value) = attributes.local_preference {
        match u32::try_from(value) {
            Ok(preference) => out.local_preference = Some(preference),
            Err(_) => problems.push(Problem::InvalidLocalPreference {
                advertisement: advertisement.to_owned(),
                value,
            }),
        }
    }
    out
}

/// `4259840100` or `65000:100` (two 16-bit halves).
pub(crate) fn standard_community(text: &str) -> Option<u32> {
    match text.split_once(':') {
        None => text.parse().ok(),
        Some((high, low)) => {
            let high: u16 = high.parse().ok()?;
            let low: u16 = low.parse().ok()?;
            Some(u32::from(high) << 16 | u32::from(low))
        }
    }
}

/// `global:local1:local2`, each a 32-bit decimal.
pub(crate) fn large_community(text: &str) -> Option<LargeCommunity> {
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_communities_in_both_spellings() {
        assert_eq!(standard_community("65000:100"), Some(65000 << 16 | 100));
        assert_eq!(standard_community("4259840100"), Some(4_259_840_100));
        assert_eq!(standard_community("65536:1"), None);
        assert_eq!(standard_community("4294967296"), None);
        assert_eq!(standard_community("a:b"), None);
    }

    #[test]
    fn large_communities_need_exactly_three_parts() {
        assert_eq!(
            large_community("64512:100:50"),
            Some(LargeCommunity {
                global: 64512,
                local1: 100,
                local2: 50
            })
        );
        assert_eq!(large_community("1:2"), None);
        assert_eq!(large_community("1:2:3:4"), None);
        assert_eq!(large_community("1:2:4294967296"), None);
    }
}
