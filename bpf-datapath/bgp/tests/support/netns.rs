//! The router's and the speaker's network namespaces, joined by a veth and torn down on drop.

use ferrule_netns_testkit::{Link, Netns};

/// Router 192.0.2.1/24 and 2001:db8::1/64; speaker 192.0.2.2 and 192.0.2.3/24,
/// 2001:db8::2/64.
#[derive(Debug)]
pub struct Lab {
    pub router: Netns,
    pub speaker: Netns,
}

impl Lab {
    pub fn new(tag: &str) -> Lab {
        let Link { near, far, .. } = Link::new(
            &format!("fb{tag}"),
            &["192.0.2.2/24", "192.0.2.3/24", "2001:db8::2/64"],
            &["192.0.2.1/24", "2001:db8::1/64"],
        );
        Lab {
            router: far,
            speaker: near,
        }
    }
}
