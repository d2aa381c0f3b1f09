use crate::netns::Netns;

/// Adds a veth pair: `a_dev` in `a`, its peer `b_dev` in `b` (which may be `a` itself).
/// Both ends start down.
pub fn veth(a: &Netns, a_dev: &str, b: &Netns, b_dev: &str) {
    a.ip(&[
        "link",
        "add",
        a_dev,
        "type",
        "veth",
        "peer",
        "name",
        b_dev,
        "netns",
        b.name(),
    ]);
}

/// Two namespaces joined by one veth, both ends up with their addresses: typically the side
/// under test (`near`) and a router or peer (`far`). Addresses stay on a link taken down, so
/// [`Link::cut`] and [`Link::restore`] need no DAD or re-adding.
#[derive(Debug)]
pub struct Link {
    pub near: Netns,
    pub far: Netns,
    pub near_if: String,
    pub far_if: String,
}

impl Link {
    /// Namespaces `PREFIXn<pid>-<k>` and `PREFIXf<pid>-<k>`; interfaces `PREFIXa` (near) and
    /// `PREFIXb` (far), at most 15 bytes. `near_addrs` and `far_addrs` are CIDRs.
    ///
    /// # Panics
    /// When a step fails; what was created so far is removed.
    pub fn new(prefix: &str, near_addrs: &[&str], far_addrs: &[&str]) -> Self {
        let link = Self {
            near: Netns::new(&format!("{prefix}n")),
            far: Netns::new(&format!("{prefix}f")),
            near_if: format!("{prefix}a"),
            far_if: format!("{prefix}b"),
        };
        assert!(link.near_if.len() <= 15, "interface name too long");
        veth(&link.near, &link.near_if, &link.far, &link.far_if);
        for (ns, dev, addrs) in [
            (&link.near, &link.near_if, near_addrs),
            (&link.far, &link.far_if, far_addrs),
        ] {
            ns.sysctl("net.ipv6.conf.all.keep_addr_on_down=1");
            ns.sysctl(&format!("net.ipv6.conf.{dev}.keep_addr_on_down=1"));
            for cidr in addrs {
                ns.addr(dev, cidr);
            }
            ns.up(dev);
        }
        link
    }

    /// Takes the far end down: nothing passes either way, while the near end stays up (so
    /// only a liveness protocol or a hold timer there can notice).
    pub fn cut(&self) {
        self.far.down(&self.far_if);
    }

    pub fn restore(&self) {
        self.far.up(&self.far_if);
    }
}
