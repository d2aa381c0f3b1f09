//! ferrule-bgp-speaker: the node BGP speaker (see the crate description).
