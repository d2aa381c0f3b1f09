//! The Linux routing-table reader in a network namespace of its own: the lowest-metric
//! default route per family is found, and a route change is noticed through `ip monitor`
//! (the poll interval is an hour, so only the monitor can report it). Needs root; fails
//! rather than skips without it when CI=true.

use ferrule_bgp_control::gateway::linux::RouteReader;
use ferrule_netns_testkit::{Netns, require_root, veth};
use std::net::Ipv4Addr;
use std::time::Duration;

#[tokio::test]
async fn lowest_metric_gateway_is_found_and_followed() {
    if !require_root() {
        return;
    }
    // Deleted (with its links and routes) on drop, also on panic.
    let netns = Netns::new("bgc");
    for (link, v4, v6) in [
        ("d0", "192.0.2.2/24", "2001:db8::2/64"),
        ("d1", "198.51.100.2/24", "2001:db8:1::2/64"),
    ] {
        // veth pairs (both ends in the namespace): the kernel may lack the dummy driver.
        let peer = format!("{link}p");
        veth(&netns, link, &netns, &peer);
        netns.up(&peer);
        netns.up(link);
        netns.addr(link, v4);
        netns.addr(link, v6);
    }
    netns.ip(&[
        "route",
        "add",
        "default",
        "via",
        "192.0.2.1",
        "metric",
        "200",
    ]);
    netns.ip(&[
        "route",
        "add",
        "default",
        "via",
        "198.51.100.1",
        "metric",
        "100",
    ]);
    netns.ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8::1",
        "metric",
        "1024",
    ]);
    netns.ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8:1::1",
        "metric",
        "2048",
    ]);

    let reader = RouteReader::in_netns(netns.name().to_owned());
    let gateways = reader.default_gateways().await.expect("the table is read");
    assert_eq!(gateways.ipv4, Some(Ipv4Addr::new(198, 51, 100, 1)));
    assert_eq!(gateways.ipv6, "2001:db8::1".parse().ok());
    let addresses = reader
        .interface_addresses()
        .await
        .expect("addresses are read");
    assert!(addresses["d1"].contains(&"198.51.100.2".parse().expect("an address")));

    let (mut receiver, task) = reader
        .watch(Duration::from_secs(3600))
        .await
        .expect("the watch starts");
    // Give `ip monitor` a moment to subscribe before the change it must report.
    tokio::time::sleep(Duration::from_millis(300)).await;
    netns.ip(&[
        "route",
        "del",
        "default",
        "via",
        "198.51.100.1",
        "metric",
        "100",
    ]);
    let followed = tokio::time::timeout(
        Duration::from_secs(10),
        receiver.wait_for(|g| g.default_gateways.ipv4 == Some(Ipv4Addr::new(192, 0, 2, 1))),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    assert!(
        followed,
        "the next default route takes over: {:?}",
        *receiver.borrow()
    );
    assert_eq!(
        receiver.borrow().default_gateways.ipv6,
        "2001:db8::1".parse().ok(),
        "IPv6 untouched"
    );
    // An address added to an interface is followed too.
    netns.ip(&["addr", "add", "203.0.113.9/32", "dev", "d0"]);
    let followed = tokio::time::timeout(
        Duration::from_secs(10),
        receiver.wait_for(|s| {
            s.interface_addresses["d0"].contains(&"203.0.113.9".parse().expect("an address"))
        }),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    assert!(
        followed,
        "the new address is seen: {:?}",
        *receiver.borrow()
    );
    task.abort();
}
