//! ferrule-bfd: BFD sessions for the node BGP speaker (see the crate description).
