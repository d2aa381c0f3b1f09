//! ferrule-bgp: derives CiliumBGPNodeConfig objects (see the crate description).
