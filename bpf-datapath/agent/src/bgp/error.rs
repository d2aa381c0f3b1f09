//! Why the BGP control plane stopped. Configuration mistakes are not errors: they are logged
//! and counted ([`ferrule_bgp_control::Problem`]).

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `ip` could not be run to read routes and interface addresses.
    #[error("reading routes and interface addresses")]
    RouteReader(#[source] ferrule_bgp_control::Error),
    /// The watch driver's channel closed (its tasks ended).
    #[error("the BGP control plane's watches stopped")]
    DriverStopped,
    /// The BFD event channel closed.
    #[error("the BFD sessions stopped")]
    BfdStopped,
}
