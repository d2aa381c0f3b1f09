/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ferrule datapath ABI: every struct and map key shared between the C eBPF programs and Rust.
 *
 * This header is the single source of truth. `ferrule-bpf-common` mirrors each struct with
 * `#[repr(C)]` and a test parses the FERRULE_ABI_SIZE / FERRULE_ABI_OFFSET lines below to check
 * that Rust and C agree on every size and field offset. Rules that keep the two sides
 * byte-identical:
 *   - fixed-width types only, explicit `pad` fields, no implicit padding anywhere (every field
 *     offset and every struct size is asserted, so a hole or a tail pad fails the build);
 *   - multi-byte fields marked "be" are network byte order, everything else is host order;
 *   - IP addresses are always 16 bytes: IPv6 as is, IPv4 in the first 4 bytes and zeros after,
 *     so one key type serves both families and `family` disambiguates.
 */
#ifndef FERRULE_ABI_H
#define FERRULE_ABI_H

#include <linux/types.h>

/* Address families, the kernel's AF_* values (not available without libc headers). */
#define FERRULE_AF_INET 2
#define FERRULE_AF_INET6 10

/* Size assertion in a form the Rust test can parse: one per line, `FERRULE_ABI_SIZE(name, N);`. */
#define FERRULE_ABI_SIZE(type, size) \
	_Static_assert(sizeof(struct type) == (size), "ABI size of struct " #type " changed")
/* Field offset assertion, parsed the same way: `FERRULE_ABI_OFFSET(type, field, N);`. */
#define FERRULE_ABI_OFFSET(type, field, offset) \
	_Static_assert(__builtin_offsetof(struct type, field) == (offset), \
		       "ABI offset of " #type "." #field " changed")

/* ---------------------------------------------------------------- L2 responder ------------ */

/* Map `l2_responder` (BPF_MAP_TYPE_HASH): which IPs this node answers ARP / NS for, per
 * interface. Keyed by ingress ifindex so an IP is only announced on the selected devices. */
struct l2_responder_key {
	__u32 ifindex;
	__u8 family; /* FERRULE_AF_INET or FERRULE_AF_INET6 */
	__u8 pad[3];
	__u8 ip[16];
};
FERRULE_ABI_SIZE(l2_responder_key, 24);
FERRULE_ABI_OFFSET(l2_responder_key, ifindex, 0);
FERRULE_ABI_OFFSET(l2_responder_key, family, 4);
FERRULE_ABI_OFFSET(l2_responder_key, pad, 5);
FERRULE_ABI_OFFSET(l2_responder_key, ip, 8);

/* Value of `l2_responder`: replies sent for this entry (atomically incremented). */
struct l2_responder_stats {
	__u64 responses;
};
FERRULE_ABI_SIZE(l2_responder_stats, 8);
FERRULE_ABI_OFFSET(l2_responder_stats, responses, 0);

/* Map `l2_ifmac` (BPF_MAP_TYPE_HASH, key __u32 ifindex): the interface's own MAC, filled by
 * userspace. A map rather than the packet's destination MAC because ARP requests are broadcast
 * and NS are multicast: the frame never carries the MAC we must answer with. */
struct l2_ifmac {
	__u8 mac[6];
	__u8 pad[2];
};
FERRULE_ABI_SIZE(l2_ifmac, 8);
FERRULE_ABI_OFFSET(l2_ifmac, mac, 0);
FERRULE_ABI_OFFSET(l2_ifmac, pad, 6);

#define FERRULE_L2_RESPONDER_MAX_ENTRIES 4096
#define FERRULE_L2_IFMAC_MAX_ENTRIES 256

/* ---------------------------------------------------------------- service load balancer --- */

/* Map `lb_frontends` (HASH): VIP:port/proto → service. */
struct lb_frontend_key {
	__u8 ip[16];
	__u16 port; /* be */
	__u8 proto; /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 family;
};
FERRULE_ABI_SIZE(lb_frontend_key, 20);
FERRULE_ABI_OFFSET(lb_frontend_key, ip, 0);
FERRULE_ABI_OFFSET(lb_frontend_key, port, 16);
FERRULE_ABI_OFFSET(lb_frontend_key, proto, 18);
FERRULE_ABI_OFFSET(lb_frontend_key, family, 19);

/* externalTrafficPolicy: Local — only node-local backends are in the Maglev table, the
 * client IP is preserved (no SNAT), and a service without local backends is a counted drop. */
#define LB_SERVICE_F_ETP_LOCAL (1u << 0)

struct lb_service {
	__u32 id;            /* index into lb_maglev rows and lb_service_counters */
	__u16 backend_count; /* 0: counted drop (no backend) */
	__u16 flags;         /* LB_SERVICE_F_* */
};
FERRULE_ABI_SIZE(lb_service, 8);
FERRULE_ABI_OFFSET(lb_service, id, 0);
FERRULE_ABI_OFFSET(lb_service, backend_count, 4);
FERRULE_ABI_OFFSET(lb_service, flags, 6);

/* Map `lb_backends` (HASH, key __u32 backend id; id 0 is never used so an unfilled Maglev slot
 * is distinguishable). */
#define LB_BACKEND_F_NODE_LOCAL (1u << 0)

struct lb_backend {
	__u8 ip[16];
	__u16 port; /* be */
	__u8 family;
	__u8 flags; /* LB_BACKEND_F_* */
};
FERRULE_ABI_SIZE(lb_backend, 20);
FERRULE_ABI_OFFSET(lb_backend, ip, 0);
FERRULE_ABI_OFFSET(lb_backend, port, 16);
FERRULE_ABI_OFFSET(lb_backend, family, 18);
FERRULE_ABI_OFFSET(lb_backend, flags, 19);

/* Map `lb_maglev` (HASH, BPF_F_NO_PREALLOC): service id → that service's Maglev row, one
 * backend id per slot. A row per entry means the agent replaces a service's whole table with
 * one atomic update (a flow never sees half an old and half a new table) and kernel memory
 * grows with the services that exist (4 KiB each), not with LB_MAX_SERVICES. M is prime
 * (Maglev needs it for its permutations) and ~100x a typical backend count, which keeps load
 * imbalance near 1%. */
#define LB_MAGLEV_M 1021
#define LB_MAX_SERVICES 16384

struct lb_maglev_row {
	__u32 backends[LB_MAGLEV_M];
};
FERRULE_ABI_SIZE(lb_maglev_row, 4084);
FERRULE_ABI_OFFSET(lb_maglev_row, backends, 0);

#define LB_MAX_BACKENDS 65536

/* Map `lb_conntrack` (LRU_HASH): key is the flow as it arrives (client → VIP for the original
 * direction, backend → client for replies), value says how to rewrite it. */
struct lb_ct_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport; /* be */
	__u16 dport; /* be */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
FERRULE_ABI_SIZE(lb_ct_key, 40);
FERRULE_ABI_OFFSET(lb_ct_key, saddr, 0);
FERRULE_ABI_OFFSET(lb_ct_key, daddr, 16);
FERRULE_ABI_OFFSET(lb_ct_key, sport, 32);
FERRULE_ABI_OFFSET(lb_ct_key, dport, 34);
FERRULE_ABI_OFFSET(lb_ct_key, proto, 36);
FERRULE_ABI_OFFSET(lb_ct_key, family, 37);
FERRULE_ABI_OFFSET(lb_ct_key, pad, 38);

#define LB_CT_F_REPLY (1u << 0) /* entry describes the reply direction: reverse NAT */
#define LB_CT_F_SNAT (1u << 1)  /* source rewritten to the node IP (eTP Cluster, remote backend) */

/* Original direction: nat = backend (new destination); with LB_CT_F_SNAT, snat = node IP and
 * port (new source). Reply direction: nat = VIP (new source); with LB_CT_F_SNAT, snat = client
 * IP and port (new destination), because the reply is addressed to the node, not the client. */
struct lb_ct_value {
	__u8 nat_ip[16];
	__u16 nat_port;    /* be */
	__u8 family;
	__u8 flags;        /* LB_CT_F_* */
	__u32 backend_id;
	__u32 service_id;
	__u16 snat_port;   /* be; 0 without LB_CT_F_SNAT */
	__u16 pad;
	__u64 last_seen_ns; /* bpf_ktime_get_ns() of the last packet */
	__u8 snat_ip[16];
};
FERRULE_ABI_SIZE(lb_ct_value, 56);
FERRULE_ABI_OFFSET(lb_ct_value, nat_ip, 0);
FERRULE_ABI_OFFSET(lb_ct_value, nat_port, 16);
FERRULE_ABI_OFFSET(lb_ct_value, family, 18);
FERRULE_ABI_OFFSET(lb_ct_value, flags, 19);
FERRULE_ABI_OFFSET(lb_ct_value, backend_id, 20);
FERRULE_ABI_OFFSET(lb_ct_value, service_id, 24);
FERRULE_ABI_OFFSET(lb_ct_value, snat_port, 28);
FERRULE_ABI_OFFSET(lb_ct_value, pad, 30);
FERRULE_ABI_OFFSET(lb_ct_value, last_seen_ns, 32);
FERRULE_ABI_OFFSET(lb_ct_value, snat_ip, 40);

/* Map `lb_node_addrs` (ARRAY, key LB_NODE_ADDR_V4 / LB_NODE_ADDR_V6): the node IP that eTP
 * Cluster traffic to remote backends is SNATed to. All zeros: not configured, such traffic is
 * a counted drop (FERRULE_DROP_NO_NODE_ADDR) rather than leaving with an unroutable reply. */
struct lb_node_addr {
	__u8 ip[16];
};
FERRULE_ABI_SIZE(lb_node_addr, 16);
FERRULE_ABI_OFFSET(lb_node_addr, ip, 0);

#define LB_NODE_ADDR_V4 0
#define LB_NODE_ADDR_V6 1
#define LB_NODE_ADDR_MAX 2
/* SNAT keeps the client's source port when free, else tries this many ports from the
 * ephemeral range 32768-60999, derived from the flow hash. */
#define LB_SNAT_PORT_TRIES 4
#define LB_SNAT_PORT_MIN 32768
#define LB_SNAT_PORT_RANGE 28232

#define LB_CONNTRACK_MAX_ENTRIES 262144

/* Map `lb_frags` (LRU_HASH): the ports of fragmented datagrams. Only the first fragment
 * carries the L4 header, so it records its ports here and later fragments of the same
 * datagram (same addresses, identification and protocol) look them up to follow its flow. */
struct lb_frag_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 id;    /* host order: IPv4 16-bit identification, IPv6 fragment header's 32 bits */
	__u8 proto;  /* IPv4 protocol; IPv6 the fragment header's next header */
	__u8 family;
	__u8 pad[2];
};
FERRULE_ABI_SIZE(lb_frag_key, 40);
FERRULE_ABI_OFFSET(lb_frag_key, saddr, 0);
FERRULE_ABI_OFFSET(lb_frag_key, daddr, 16);
FERRULE_ABI_OFFSET(lb_frag_key, id, 32);
FERRULE_ABI_OFFSET(lb_frag_key, proto, 36);
FERRULE_ABI_OFFSET(lb_frag_key, family, 37);
FERRULE_ABI_OFFSET(lb_frag_key, pad, 38);

/* Value of `lb_frags`. `proto` is the L4 protocol, which for IPv6 can differ from the key's
 * (extension headers between the fragment header and L4 are in the first fragment only). */
struct lb_frag_value {
	__u16 sport; /* be */
	__u16 dport; /* be */
	__u8 proto;
	__u8 pad[3];
};
FERRULE_ABI_SIZE(lb_frag_value, 8);
FERRULE_ABI_OFFSET(lb_frag_value, sport, 0);
FERRULE_ABI_OFFSET(lb_frag_value, dport, 2);
FERRULE_ABI_OFFSET(lb_frag_value, proto, 4);
FERRULE_ABI_OFFSET(lb_frag_value, pad, 5);

/* Datagrams in reassembly at once; entries are tiny, and LRU eviction only costs the later
 * fragments of the oldest datagrams their translation. */
#define LB_FRAGS_MAX_ENTRIES 8192

/* ---------------------------------------------------------------- counters ---------------- */

/* Drop reasons, an index into ferrule_counters.drops. Append only: the agent reports by index. */
enum ferrule_drop_reason {
	FERRULE_DROP_MALFORMED = 0,     /* headers truncated or inconsistent */
	FERRULE_DROP_NO_BACKEND = 1,    /* service has no ready backend */
	FERRULE_DROP_NO_LOCAL_BACKEND = 2, /* eTP Local and no backend on this node */
	FERRULE_DROP_NO_IFMAC = 3,      /* responder entry exists but the interface MAC is unknown */
	FERRULE_DROP_CT_FULL = 4,       /* conntrack insert failed */
	FERRULE_DROP_FRAGMENT = 5,      /* later fragment whose first was not seen: passed as is */
	FERRULE_DROP_NO_NODE_ADDR = 6,  /* SNAT needed but lb_node_addrs has no address */
	FERRULE_DROP_SNAT_PORTS = 7,    /* every SNAT port tried is in use */
	FERRULE_DROP_NO_ROUTE = 8,      /* SNATed IPv4 packet the FIB cannot forward (see lb.bpf.c) */
	FERRULE_DROP_TTL_EXCEEDED = 9,  /* SNATed packet whose TTL/hop limit forwarding would end */
	FERRULE_DROP_REASONS = 16,      /* array size; room for new reasons without an ABI change */
};

/* Value of `prog_counters` (PERCPU_ARRAY indexed by enum ferrule_program) and of
 * `lb_service_counters` (PERCPU_ARRAY indexed by service id). Per-CPU so the hot path never
 * contends; userspace sums the CPUs. For the L2 responder "packets"/"bytes" are replies sent;
 * FERRULE_DROP_NO_IFMAC is counted there even though the frame is passed, not dropped, and so
 * is the lb's FERRULE_DROP_FRAGMENT (program counters only: no service is known). */
struct ferrule_counters {
	__u64 packets;
	__u64 bytes;
	__u64 drops[FERRULE_DROP_REASONS];
};
FERRULE_ABI_SIZE(ferrule_counters, 144);
FERRULE_ABI_OFFSET(ferrule_counters, packets, 0);
FERRULE_ABI_OFFSET(ferrule_counters, bytes, 8);
FERRULE_ABI_OFFSET(ferrule_counters, drops, 16);

enum ferrule_program {
	FERRULE_PROG_L2_RESPONDER = 0,
	FERRULE_PROG_LB = 1,
	FERRULE_PROG_MAX = 4,
};

#endif /* FERRULE_ABI_H */
