//! The interface an announcement goes out on, and sending raw Ethernet frames on it.

use std::io;
use std::path::Path;
use std::time::Duration;

use ferrule_bpf_loader::netif::parse_mac;
use pnet_datalink::{Channel, Config, MacAddr, NetworkInterface};

use super::frames::Mac;

/// A frame that cannot be queued within this long is reported as failed rather than stalling
/// the sync loop (the device's queue is stuck or the link is going away).
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// One interface as the sender needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub name: String,
    pub ifindex: u32,
    pub mac: Mac,
}

impl Link {
    /// Finds interface `ifindex` in `/sys/class/net` (the same source `netif` reads), at
    /// announcement time: the MAC is the one the interface has now.
    pub fn by_index(ifindex: u32) -> Result<Self, String> {
        Self::by_index_in(Path::new("/sys/class/net"), ifindex)
    }

    fn by_index_in(sys_class_net: &Path, ifindex: u32) -> Result<Self, String> {
        let entries = std::fs::read_dir(sys_class_net)
            .map_err(|e| format!("listing {}: {e}", sys_class_net.display()))?;
        for entry in entries.filter_map(Result::ok) {
            let dir = entry.path();
            let index = std::fs::read_to_string(dir.join("ifindex")).unwrap_or_default();
            if index.trim().parse() != Ok(ifindex) {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let address = std::fs::read_to_string(dir.join("address"))
                .map_err(|e| format!("reading the MAC of {name}: {e}"))?;
            let mac = parse_mac(&address)
                .ok_or_else(|| format!("{name} has no Ethernet address ({:?})", address.trim()))?;
            return Ok(Self { name, ifindex, mac });
        }
        Err("no such interface".to_owned())
    }

    /// Sends each frame as is. A packet socket is opened per call and closed again: while
    /// open it also receives every frame on the interface, which nobody here reads.
    pub fn send(&self, frames: &[&[u8]]) -> io::Result<()> {
        let mut tx = open(self.ifindex, &self.name)?;
        for frame in frames {
            tx.send_to(frame, None)
                .unwrap_or_else(|| Err(io::Error::other("frame larger than the send buffer")))?;
        }
        Ok(())
    }
}

/// Opening a packet socket needs CAP_NET_RAW; the announcer checks that once at start-up on
/// the loopback interface (always ifindex 1) so a missing capability fails the agent's start
/// instead of every later failover.
pub fn check_packet_sockets() -> io::Result<()> {
    open(1, "lo").map(drop)
}

fn open(ifindex: u32, name: &str) -> io::Result<Box<dyn pnet_datalink::DataLinkSender>> {
    let interface = NetworkInterface {
        name: name.to_owned(),
        description: String::new(),
        index: ifindex,
        mac: None::<MacAddr>,
        ips: Vec::new(),
        flags: 0,
    };
    let config = Config {
        write_timeout: Some(SEND_TIMEOUT),
        read_buffer_size: 0,
        promiscuous: false,
        ..Config::default()
    };
    match pnet_datalink::channel(&interface, config)? {
        Channel::Ethernet(tx, _rx) => Ok(tx),
        _ => Err(io::Error::other("not an Ethernet channel")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_sys(dir: &Path, name: &str, ifindex: u32, address: &str) {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("ifindex"), format!("{ifindex}\n")).expect("write ifindex");
        std::fs::write(d.join("address"), address).expect("write address");
    }

    #[test]
    fn finds_the_interface_and_its_mac_by_index() {
        let dir = std::env::temp_dir().join(format!("ferrule-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        fake_sys(&dir, "lo", 1, "00:00:00:00:00:00\n");
        fake_sys(&dir, "eth0", 2, "02:00:5e:10:00:0a\n");
        fake_sys(&dir, "wg0", 3, "\n");

        let found = Link::by_index_in(&dir, 2);
        let missing = Link::by_index_in(&dir, 9);
        let no_mac = Link::by_index_in(&dir, 3);
        let _ = std::fs::remove_dir_all(&dir);

        assert_eq!(
            found,
            Ok(Link {
                name: "eth0".into(),
                ifindex: 2,
                mac: [0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a]
            })
        );
        assert_eq!(missing, Err("no such interface".into()));
        assert!(
            no_mac
                .expect_err("wg0 has no MAC")
                .contains("no Ethernet address")
        );
    }
}
