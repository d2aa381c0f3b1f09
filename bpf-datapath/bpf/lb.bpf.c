// SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only
/*
 * Service load balancer (tc ingress, `classifier`): DNAT of packets to a frontend
 * (VIP, port, proto) to a backend chosen by Maglev, an LRU conntrack so a flow keeps its
 * backend when the backend set changes, and reverse NAT of replies back to the VIP.
 *
 * tc rather than XDP: the rewritten packet continues up the stack (routing to a local veth,
 * forwarding to another node, netfilter), which XDP would have to reimplement with redirects,
 * and replies from local backends only exist at the skb level. The exception is SNATed
 * traffic: its source is a node address, which IPv4 input routing would drop as a martian, so
 * the program forwards it itself (bpf_fib_lookup, TTL/hop-limit decrement,
 * bpf_redirect_neigh: verdict TC_ACT_REDIRECT), and counts what it cannot forward (see
 * forward_snat).
 *
 * Implemented: TCP and UDP, IPv4 and IPv6, eTP Cluster and Local backend selection, counted
 * drops, SNAT to the node IP for eTP Cluster traffic to backends on other nodes, forwarded
 * from here to the backend's node, ICMP errors
 * of tracked flows (SNATed ones included), IPv6 hop-by-hop, routing (segments left 0),
 * destination options and fragment headers before L4 (up to LB_IPV6_MAX_EXT_HDRS), and
 * fragments of both families: the first fragment is balanced and records its ports in
 * lb_frags, later fragments of that datagram follow its flow with an address-only rewrite.
 * Passed untouched (not load balanced): later fragments whose first fragment was not seen
 * (counted as FERRULE_DROP_FRAGMENT on the program), IPv6 with AH, ESP, unknown or too many
 * extension headers, routing headers with segments left, truncated L4 headers — the kernel
 * treats them as it would without us. Fragments are never reassembled here.
 * Not yet forwarded here: ICMP errors translated to leave from the node address (a client's
 * error about a SNATed reply, sent on to the backend) still go to the stack, where IPv4 drops
 * them as martians.
 *
 * Conntrack holds two entries per flow: the original direction keyed client→VIP (value: the
 * backend), and the reply direction keyed backend→client, or backend→node:port with SNAT
 * (value: the VIP, LB_CT_F_REPLY). A hit on either short-circuits the frontend lookup, so
 * established flows survive backend and Maglev table changes.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_SERVICES);
	__type(key, struct lb_frontend_key);
	__type(value, struct lb_service);
} lb_frontends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_backend);
} lb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct lb_maglev_row);
} lb_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_CONNTRACK_MAX_ENTRIES);
	__type(key, struct lb_ct_key);
	__type(value, struct lb_ct_value);
} lb_conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_NODE_ADDR_MAX);
	__type(key, __u32);
	__type(value, struct lb_node_addr);
} lb_node_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct ferrule_counters);
} lb_service_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FERRULE_PROG_MAX);
	__type(key, __u32);
	__type(value, struct ferrule_counters);
} prog_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_FRAGS_MAX_ENTRIES);
	__type(key, struct lb_frag_key);
	__type(value, struct lb_frag_value);
} lb_frags SEC(".maps");

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define IP6_MF 0x0001
#define IP6_OFFSET 0xfff8
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST 60
/* Extension headers walked before giving up on finding L4 (the packet is then passed). */
#define LB_IPV6_MAX_EXT_HDRS 4

struct flow {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 l3_only; /* a later fragment: no L4 header, only the addresses are rewritten */
	__u8 hop_limit; /* IPv4 TTL or IPv6 hop limit as received */
	__u32 service_id; /* set by a handler returning LB_FORWARD_SNAT */
	__u32 l3_off;
	__u32 l4_off;
	__u32 csum_off; /* offset of the L4 checksum */
};

/* A handler's verdict for an original-direction packet it translated with SNAT: lb_ingress
 * then calls forward_snat, so the forwarder's frame adds to lb_ingress's, not to the
 * handler's (together those exceed the 512-byte stack). Not a TC_ACT_* value. */
#define LB_FORWARD_SNAT 0x100

/* What parse_flow found. */
#define PARSE_FLOW 0       /* `f` describes a TCP/UDP flow (or a later fragment of one) */
#define PARSE_NOT_FLOW 1   /* not TCP/UDP we can balance: maybe an ICMP error, else pass */
#define PARSE_UNTRACKED 2  /* a later fragment whose first fragment was not seen: pass */

struct frag_info {
	__u32 id;
	__u8 proto; /* the key's protocol (IPv6: the fragment header's next header) */
	__u8 first; /* offset 0 with more fragments: carries the ports */
	__u8 later; /* offset > 0: carries no L4 header */
};

static __always_inline void frag_key_of(struct lb_frag_key *k, const struct flow *f,
					const struct frag_info *fi)
{
	__builtin_memcpy(k->saddr, f->saddr, 16);
	__builtin_memcpy(k->daddr, f->daddr, 16);
	k->id = fi->id;
	k->proto = fi->proto;
	k->family = f->family;
}

/* Walks the IPv6 extension headers from `*nexthdr` at `*off` to TCP/UDP, recording a
 * fragment header in `fi`. Nonzero: not balanceable (AH, ESP, no next header, unknown or
 * too many headers, a routing header with segments left — its destination address is not the
 * final one the L4 checksum covers — truncation, a second fragment header). A later fragment
 * stops the walk at its fragment header: what follows is payload. */
static __always_inline int ipv6_skip_ext(struct __sk_buff *skb, __u8 *nexthdr, __u32 *off,
					 struct frag_info *fi)
{
	__u8 hdr[8];

#pragma unroll
	for (int i = 0; i < LB_IPV6_MAX_EXT_HDRS; i++) {
		__u8 nh = *nexthdr;

		if (nh == IPPROTO_TCP || nh == IPPROTO_UDP)
			return 0;
		if (nh == NEXTHDR_FRAGMENT) {
			__u16 frag_off;

			if (fi->first || bpf_skb_load_bytes(skb, *off, hdr, 8))
				return -1;
			frag_off = ((__u16)hdr[2] << 8) | hdr[3];
			fi->id = ((__u32)hdr[4] << 24) | ((__u32)hdr[5] << 16) |
				 ((__u32)hdr[6] << 8) | hdr[7];
			fi->proto = hdr[0];
			*nexthdr = hdr[0];
			*off += 8;
			if (frag_off & IP6_OFFSET) {
				fi->later = 1;
				return 0;
			}
			/* An atomic fragment (offset 0, no more) is a whole datagram. */
			fi->first = (frag_off & IP6_MF) != 0;
		} else if (nh == NEXTHDR_HOP || nh == NEXTHDR_DEST || nh == NEXTHDR_ROUTING) {
			if (bpf_skb_load_bytes(skb, *off, hdr, 4))
				return -1;
			/* Routing header: type-independent segments-left at byte 3 (RFC 8200 4.4). */
			if (nh == NEXTHDR_ROUTING && hdr[3] != 0)
				return -1;
			*nexthdr = hdr[0];
			*off += ((__u32)hdr[1] + 1) * 8;
		} else {
			return -1;
		}
	}
	return *nexthdr == IPPROTO_TCP || *nexthdr == IPPROTO_UDP ? 0 : -1;
}

/* Counts a later fragment we cannot translate (program counters: no service is known); it
 * is passed, so the kernel reassembles or drops it as it would without us. */
static __always_inline int pass_untracked_fragment(void)
{
	__u32 prog = FERRULE_PROG_LB;
	struct ferrule_counters *c = bpf_map_lookup_elem(&prog_counters, &prog);

	if (c)
		c->drops[FERRULE_DROP_FRAGMENT]++;
	return PARSE_UNTRACKED;
}

/* Fills `f` from the packet, returning PARSE_*. A first fragment records its ports in
 * lb_frags; a later one takes them from there and is marked l3_only. A BPF-to-BPF call so the
 * fragment key and value do not sit in lb_ingress's frame. */
static __attribute__((noinline)) int parse_flow(struct __sk_buff *skb, struct flow *f)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct frag_info fi = {};
	struct lb_frag_key fkey = {};
	struct lb_frag_value fval = {}, *known;
	__be16 ports[2];
	__u32 l4_len;

	if ((void *)(eth + 1) > data_end)
		return PARSE_NOT_FLOW;
	f->l3_off = sizeof(*eth);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__u16 frag_off;

		if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5)
			return PARSE_NOT_FLOW;
		frag_off = bpf_ntohs(ip->frag_off);
		fi.id = bpf_ntohs(ip->id);
		fi.proto = ip->protocol;
		fi.later = (frag_off & IP_OFFSET) != 0;
		fi.first = !fi.later && (frag_off & IP_MF);
		f->family = FERRULE_AF_INET;
		f->proto = ip->protocol;
		f->hop_limit = ip->ttl;
		f->l4_off = f->l3_off + ip->ihl * 4;
		__builtin_memcpy(f->saddr, &ip->saddr, 4);
		__builtin_memcpy(f->daddr, &ip->daddr, 4);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		__u8 nexthdr;
		__u32 off;

		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return PARSE_NOT_FLOW;
		f->family = FERRULE_AF_INET6;
		f->hop_limit = ip6->hop_limit;
		__builtin_memcpy(f->saddr, ip6->saddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(f->daddr, ip6->daddr.in6_u.u6_addr8, 16);
		nexthdr = ip6->nexthdr;
		off = f->l3_off + sizeof(*ip6);
		if (ipv6_skip_ext(skb, &nexthdr, &off, &fi))
			return PARSE_NOT_FLOW;
		f->proto = nexthdr;
		f->l4_off = off;
	} else {
		return PARSE_NOT_FLOW;
	}

	if (fi.later) {
		/* IPv4 protocol or IPv6 first fragmentable header: only TCP/UDP datagrams (possibly
		 * behind IPv6 destination options) are ever recorded; other protocols' fragments
		 * are none of our business, not "untracked". */
		if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP &&
		    (f->family == FERRULE_AF_INET || f->proto != NEXTHDR_DEST))
			return PARSE_NOT_FLOW;
		frag_key_of(&fkey, f, &fi);
		known = bpf_map_lookup_elem(&lb_frags, &fkey);
		if (!known)
			return pass_untracked_fragment();
		f->sport = known->sport;
		f->dport = known->dport;
		f->proto = known->proto;
		f->l3_only = 1;
		return PARSE_FLOW;
	}

	if (f->proto == IPPROTO_TCP) {
		l4_len = 20;
		f->csum_off = f->l4_off + 16;
	} else if (f->proto == IPPROTO_UDP) {
		l4_len = 8;
		f->csum_off = f->l4_off + 6;
	} else {
		return PARSE_NOT_FLOW;
	}
	if (f->l4_off + l4_len > skb->len || bpf_skb_load_bytes(skb, f->l4_off, ports, 4))
		return PARSE_NOT_FLOW;
	f->sport = ports[0];
	f->dport = ports[1];
	if (fi.first) {
		/* Recorded for every fragmented TCP/UDP datagram, not only balanced ones, so an
		 * unknown later fragment means exactly "first fragment not seen". */
		frag_key_of(&fkey, f, &fi);
		fval.sport = f->sport;
		fval.dport = f->dport;
		fval.proto = f->proto;
		bpf_map_update_elem(&lb_frags, &fkey, &fval, BPF_ANY);
	}
	return PARSE_FLOW;
}

static __always_inline __u32 mix(__u32 h, __u32 w)
{
	w *= 0xcc9e2d51;
	w = (w << 15) | (w >> 17);
	w *= 0x1b873593;
	h ^= w;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64;
}

/* murmur3-style hash of the 5-tuple: the Maglev slot of a new flow. */
static __always_inline __u32 flow_hash(const struct flow *f)
{
	__u32 h = 0x9747b28c, w;

	/* struct flow is 4-byte aligned; saying so makes these word loads. Byte-wise, clang
	 * loads and spills all 32 address bytes, which alone nearly fills handle_new's frame. */
#pragma unroll
	for (int i = 0; i < 16; i += 4) {
		__builtin_memcpy(&w, __builtin_assume_aligned(f->saddr + i, 4), 4);
		h = mix(h, w);
		__builtin_memcpy(&w, __builtin_assume_aligned(f->daddr + i, 4), 4);
		h = mix(h, w);
	}
	h = mix(h, ((__u32)f->sport << 16) | f->dport);
	h = mix(h, f->proto);
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

static __always_inline void count(__u32 service_id, __u64 bytes, int have_service)
{
	__u32 prog = FERRULE_PROG_LB;
	struct ferrule_counters *c = bpf_map_lookup_elem(&prog_counters, &prog);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	if (!have_service)
		return;
	c = bpf_map_lookup_elem(&lb_service_counters, &service_id);
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline int drop(__u32 service_id, __u32 reason)
{
	__u32 prog = FERRULE_PROG_LB;
	struct ferrule_counters *c;

	if (reason >= FERRULE_DROP_REASONS)
		return TC_ACT_SHOT;
	c = bpf_map_lookup_elem(&prog_counters, &prog);
	if (c)
		c->drops[reason]++;
	c = bpf_map_lookup_elem(&lb_service_counters, &service_id);
	if (c)
		c->drops[reason]++;
	return TC_ACT_SHOT;
}

/* A later fragment holds no L4 header: only the address (and the IPv4 header checksum)
 * changes. The L4 checksum, in the first fragment, already covers the whole datagram's new
 * pseudo-header, because the first fragment was rewritten with the same addresses. */
static __always_inline int rewrite_l3_only(struct __sk_buff *skb, const struct flow *f, int dst,
					   const __u8 *new_ip)
{
	const __u8 *old_ip = dst ? f->daddr : f->saddr;

	if (f->family == FERRULE_AF_INET) {
		__u32 ip_off = f->l3_off + (dst ? offsetof(struct iphdr, daddr)
					       : offsetof(struct iphdr, saddr));
		__be32 old4, new4;

		__builtin_memcpy(&old4, old_ip, 4);
		__builtin_memcpy(&new4, new_ip, 4);
		if (bpf_l3_csum_replace(skb, f->l3_off + offsetof(struct iphdr, check), old4, new4,
					4) ||
		    bpf_skb_store_bytes(skb, ip_off, &new4, 4, 0))
			return -1;
		return 0;
	}
	return bpf_skb_store_bytes(skb,
				   f->l3_off + (dst ? offsetof(struct ipv6hdr, daddr)
						    : offsetof(struct ipv6hdr, saddr)),
				   (void *)new_ip, 16, 0)
		       ? -1
		       : 0;
}

/* Rewrites the destination (dst != 0) or source address and port, fixing the IPv4 header
 * checksum and the L4 checksum (whose pseudo-header covers the addresses). */
static __always_inline int rewrite(struct __sk_buff *skb, const struct flow *f, int dst,
				   const __u8 *new_ip, __be16 new_port)
{
	__u64 l4_flags = BPF_F_PSEUDO_HDR;
	__u32 port_off = f->l4_off + (dst ? 2 : 0);
	__be16 old_port = dst ? f->dport : f->sport;
	const __u8 *old_ip = dst ? f->daddr : f->saddr;

	if (f->l3_only)
		return rewrite_l3_only(skb, f, dst, new_ip);
	/* A zero UDP checksum means "none" (IPv4 only): keep it zero, never compute one. */
	if (f->proto == IPPROTO_UDP)
		l4_flags |= BPF_F_MARK_MANGLED_0;

	if (f->family == FERRULE_AF_INET) {
		__u32 ip_off = f->l3_off + (dst ? offsetof(struct iphdr, daddr)
					       : offsetof(struct iphdr, saddr));
		__be32 old4, new4;

		__builtin_memcpy(&old4, old_ip, 4);
		__builtin_memcpy(&new4, new_ip, 4);
		if (bpf_l4_csum_replace(skb, f->csum_off, old4, new4, l4_flags | 4) ||
		    bpf_l3_csum_replace(skb, f->l3_off + offsetof(struct iphdr, check), old4, new4,
					4) ||
		    bpf_skb_store_bytes(skb, ip_off, &new4, 4, 0))
			return -1;
	} else {
		__u32 ip_off = f->l3_off + (dst ? offsetof(struct ipv6hdr, daddr)
					       : offsetof(struct ipv6hdr, saddr));
		/* Both addresses are already on a stack (ours or the caller's): no copies, which
		 * keeps the frame inside the 512-byte budget. */
		__s64 diff = bpf_csum_diff((__be32 *)old_ip, 16, (__be32 *)new_ip, 16, 0);

		if (diff < 0 || bpf_l4_csum_replace(skb, f->csum_off, 0, diff, l4_flags) ||
		    bpf_skb_store_bytes(skb, ip_off, (void *)new_ip, 16, 0))
			return -1;
	}
	if (bpf_l4_csum_replace(skb, f->csum_off, old_port, new_port,
				(l4_flags & BPF_F_MARK_MANGLED_0) | 2) ||
	    bpf_skb_store_bytes(skb, port_off, &new_port, 2, 0))
		return -1;
	return 0;
}

static __always_inline void ct_key_of(struct lb_ct_key *k, const struct flow *f)
{
	__builtin_memcpy(k->saddr, f->saddr, 16);
	__builtin_memcpy(k->daddr, f->daddr, 16);
	k->sport = f->sport;
	k->dport = f->dport;
	k->proto = f->proto;
	k->family = f->family;
}

/* ------------------------------------------------------------ SNAT forwarding ---------- */

/* An SNATed packet leaves with one of the node's own addresses as its source. Handed to the
 * stack at ingress, IPv4 input routing drops it as a martian (a local source arriving on an
 * interface; accept_local only helps with rp_filter off), so the program forwards it itself:
 * a FIB lookup from the ingress interface, the TTL/hop-limit decrement a router owes, and
 * bpf_redirect_neigh (5.10+) to the egress device, which also resolves the next hop's MAC.
 * Netfilter's FORWARD and POSTROUTING hooks are bypassed for these packets, as with any tc
 * redirect.
 *
 * A packet whose TTL/hop limit forwarding would exhaust is dropped and counted as
 * FERRULE_DROP_TTL_EXCEEDED before it is translated. Passing it instead helps nobody: passed
 * untranslated, the stack would treat a packet for the VIP as if there were no load balancer
 * (deliver it to whatever local socket holds the VIP and port, or route it wherever the VIP
 * routes); passed translated, IPv4 drops it as a martian and IPv6 addresses its Time Exceeded
 * to the node itself (the SNAT source), not to the client. Sending ICMP from here is not
 * implemented. */

/* Reads the translated headers back from the packet (so the callers' frames hold no copy),
 * looks the route up and redirects. When the FIB cannot forward it (forwarding disabled on the
 * ingress device, no route, blackhole/unreachable/prohibit, a local or non-unicast
 * destination, too big for the egress MTU, lightweight-tunnel routes, no such device):
 *  - IPv4: counted as FERRULE_DROP_NO_ROUTE and dropped. The stack cannot do better: the
 *    martian check drops the packet before any of its own routing runs.
 *  - IPv6: passed, so the stack decides as it would without us (it has no martian check, and
 *    routes bpf_fib_lookup does not model, like lightweight tunnels, still work there).
 * Callers have already rejected packets whose hop limit forwarding would exhaust. */
static __attribute__((noinline)) int forward_snat(struct __sk_buff *skb, const struct flow *f)
{
	__u32 service_id = f->service_id;
	struct bpf_fib_lookup fib = {};
	int have_service = service_id < LB_MAX_SERVICES;
	__be16 ports[2] = {};
	void *data, *data_end;
	__u8 ttl = 0, l3_proto = 0;
	long rc;

	/* A later fragment carries no ports; the lookup then hashes on addresses only. */
	if (!f->l3_only && bpf_skb_load_bytes(skb, f->l4_off, ports, 4))
		return drop(service_id, FERRULE_DROP_MALFORMED);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	fib.l4_protocol = f->proto;
	fib.sport = ports[0];
	fib.dport = ports[1];
	/* tot_len 0: the kernel checks the skb itself against the egress MTU, which accounts for
	 * GRO/GSO aggregates; a tot_len would fail those as too big. */
	fib.tot_len = 0;
	fib.ifindex = skb->ingress_ifindex;
	if (f->family == FERRULE_AF_INET) {
		struct iphdr *ip = data + sizeof(struct ethhdr);

		if ((void *)(ip + 1) > data_end)
			return drop(service_id, FERRULE_DROP_MALFORMED);
		fib.family = FERRULE_AF_INET;
		ttl = ip->ttl;
		l3_proto = ip->protocol;
		fib.tos = ip->tos;
		fib.ipv4_src = ip->saddr;
		fib.ipv4_dst = ip->daddr;
	} else {
		struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

		if ((void *)(ip6 + 1) > data_end)
			return drop(service_id, FERRULE_DROP_MALFORMED);
		fib.family = FERRULE_AF_INET6;
		ttl = ip6->hop_limit;
		fib.flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff);
		__builtin_memcpy(fib.ipv6_src, ip6->saddr.in6_u.u6_addr32, 16);
		__builtin_memcpy(fib.ipv6_dst, ip6->daddr.in6_u.u6_addr32, 16);
	}

	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH) {
		if (f->family == FERRULE_AF_INET)
			return drop(service_id, FERRULE_DROP_NO_ROUTE);
		count(service_id, skb->len, have_service);
		return TC_ACT_OK;
	}
	/* Checked by the callers before translating; checked again so the decrement below can
	 * never wrap whatever the callers do. */
	if (ttl <= 1)
		return drop(service_id, FERRULE_DROP_TTL_EXCEEDED);

	if (f->family == FERRULE_AF_INET) {
		/* TTL shares a checksummed 16-bit word with the protocol. */
		__be16 old_word = bpf_htons(((__u16)ttl << 8) | l3_proto);
		__be16 new_word = bpf_htons(((__u16)(ttl - 1) << 8) | l3_proto);

		ttl--;
		if (bpf_l3_csum_replace(skb, f->l3_off + offsetof(struct iphdr, check), old_word,
					new_word, 2) ||
		    bpf_skb_store_bytes(skb, f->l3_off + offsetof(struct iphdr, ttl), &ttl, 1, 0))
			return drop(service_id, FERRULE_DROP_MALFORMED);
	} else {
		/* No header checksum, and the hop limit is not in the L4 pseudo-header. */
		ttl--;
		if (bpf_skb_store_bytes(skb, f->l3_off + offsetof(struct ipv6hdr, hop_limit), &ttl,
					1, 0))
			return drop(service_id, FERRULE_DROP_MALFORMED);
	}
	count(service_id, skb->len, have_service);
	return bpf_redirect_neigh(fib.ifindex, NULL, 0, 0);
}

/* A flow conntrack already knows: rewrite as recorded. Original direction: destination to
 * the backend (and source to the node with SNAT); reply: source to the VIP (and destination
 * back to the client with SNAT). */
static __always_inline int handle_tracked(struct __sk_buff *skb, struct flow *f,
					  struct lb_ct_value *ct)
{
	__u8 nat_ip[16], snat_ip[16];
	__be16 nat_port = ct->nat_port, snat_port = ct->snat_port;
	__u32 service_id = ct->service_id;
	int reply = ct->flags & LB_CT_F_REPLY;
	int snat = ct->flags & LB_CT_F_SNAT;

	ct->last_seen_ns = bpf_ktime_get_ns();
	if (snat && !reply && f->hop_limit <= 1)
		return drop(service_id, FERRULE_DROP_TTL_EXCEEDED);
	__builtin_memcpy(nat_ip, ct->nat_ip, 16);
	__builtin_memcpy(snat_ip, ct->snat_ip, 16);
	if (rewrite(skb, f, !reply, nat_ip, nat_port))
		return drop(service_id, FERRULE_DROP_MALFORMED);
	if (snat && rewrite(skb, f, reply, snat_ip, snat_port))
		return drop(service_id, FERRULE_DROP_MALFORMED);
	if (snat && !reply) {
		f->service_id = service_id;
		return LB_FORWARD_SNAT;
	}
	count(service_id, skb->len, service_id < LB_MAX_SERVICES);
	return TC_ACT_OK;
}

static __always_inline int addr_is_zero(const __u8 *a)
{
	__u8 acc = 0;

#pragma unroll
	for (int i = 0; i < 16; i++)
		acc |= a[i];
	return acc == 0;
}

/* A new flow to a frontend: pick the backend, record both directions, translate.
 * eTP Cluster to a backend on another node also SNATs to the node IP, so the backend's reply
 * comes back through this node (and this conntrack) instead of straight to the client. */
static __attribute__((noinline)) int handle_new(struct __sk_buff *skb, struct flow *f,
						const struct lb_service *svc)
{
	__u32 service_id = svc->id;
	int local_only = svc->flags & LB_SERVICE_F_ETP_LOCAL;
	__u32 no_backend = local_only ? FERRULE_DROP_NO_LOCAL_BACKEND : FERRULE_DROP_NO_BACKEND;
	struct lb_ct_key orig_key = {}, reply_key = {};
	struct lb_ct_value orig = {}, reply = {};
	struct lb_node_addr *node = 0;
	struct lb_backend *be;
	struct lb_maglev_row *row;
	__u32 slot, hash, *backend_id;
	int snat, claimed = 0;

	if (svc->backend_count == 0 || service_id >= LB_MAX_SERVICES)
		return drop(service_id, no_backend);
	hash = flow_hash(f);
	row = bpf_map_lookup_elem(&lb_maglev, &service_id);
	if (!row)
		return drop(service_id, no_backend);
	slot = hash % LB_MAGLEV_M;
	/* The verifier cannot bound a modulo result; the empty asm keeps clang from proving the
	 * check redundant and dropping it. */
	asm volatile("" : "+r"(slot));
	if (slot >= LB_MAGLEV_M)
		return drop(service_id, no_backend);
	backend_id = &row->backends[slot];
	if (*backend_id == 0)
		return drop(service_id, no_backend);
	be = bpf_map_lookup_elem(&lb_backends, backend_id);
	if (!be || be->family != f->family)
		return drop(service_id, no_backend);
	/* The agent only puts local backends in a Local service's table; checking again here
	 * keeps a stale table from forwarding client-IP-preserving traffic off the node. */
	if (local_only && !(be->flags & LB_BACKEND_F_NODE_LOCAL))
		return drop(service_id, FERRULE_DROP_NO_LOCAL_BACKEND);
	snat = !local_only && !(be->flags & LB_BACKEND_F_NODE_LOCAL);
	if (snat) {
		__u32 idx = f->family == FERRULE_AF_INET ? LB_NODE_ADDR_V4 : LB_NODE_ADDR_V6;

		node = bpf_map_lookup_elem(&lb_node_addrs, &idx);
		if (!node || addr_is_zero(node->ip))
			return drop(service_id, FERRULE_DROP_NO_NODE_ADDR);
		/* Before any conntrack state or SNAT port is taken for a packet we will not forward
		 * (see forward_snat for why it is not passed instead). */
		if (f->hop_limit <= 1)
			return drop(service_id, FERRULE_DROP_TTL_EXCEEDED);
	}

	ct_key_of(&orig_key, f);
	__builtin_memcpy(orig.nat_ip, be->ip, 16);
	orig.nat_port = be->port;
	orig.family = f->family;
	orig.backend_id = *backend_id;
	orig.service_id = service_id;
	orig.last_seen_ns = bpf_ktime_get_ns();

	__builtin_memcpy(reply_key.saddr, be->ip, 16);
	reply_key.sport = be->port;
	reply_key.proto = f->proto;
	reply_key.family = f->family;
	__builtin_memcpy(reply.nat_ip, f->daddr, 16);
	reply.nat_port = f->dport;
	reply.family = f->family;
	reply.flags = LB_CT_F_REPLY;
	reply.backend_id = orig.backend_id;
	reply.service_id = service_id;
	reply.last_seen_ns = orig.last_seen_ns;

	if (!snat || !node) {
		__builtin_memcpy(reply_key.daddr, f->saddr, 16);
		reply_key.dport = f->sport;
		claimed = !bpf_map_update_elem(&lb_conntrack, &reply_key, &reply, BPF_ANY);
		if (!claimed)
			return drop(service_id, FERRULE_DROP_CT_FULL);
	} else {
		/* The reply key (backend → node:port) must be unique per flow: claim it with
		 * BPF_NOEXIST, keeping the client's port when free, else hash-derived ports. */
		__builtin_memcpy(reply_key.daddr, node->ip, 16);
		__builtin_memcpy(reply.snat_ip, f->saddr, 16);
		reply.snat_port = f->sport;
		reply.flags |= LB_CT_F_SNAT;
#pragma unroll
		for (int i = 0; i < LB_SNAT_PORT_TRIES; i++) {
			__u16 port = i == 0 ? bpf_ntohs(f->sport)
					    : LB_SNAT_PORT_MIN + (hash + i * 7919) % LB_SNAT_PORT_RANGE;

			reply_key.dport = bpf_htons(port);
			if (!bpf_map_update_elem(&lb_conntrack, &reply_key, &reply, BPF_NOEXIST)) {
				claimed = 1;
				break;
			}
		}
		if (!claimed)
			return drop(service_id, FERRULE_DROP_SNAT_PORTS);
		__builtin_memcpy(orig.snat_ip, node->ip, 16);
		orig.snat_port = reply_key.dport;
		orig.flags = LB_CT_F_SNAT;
	}
	if (bpf_map_update_elem(&lb_conntrack, &orig_key, &orig, BPF_ANY))
		return drop(service_id, FERRULE_DROP_CT_FULL);
	if (rewrite(skb, f, 1, orig.nat_ip, orig.nat_port))
		return drop(service_id, FERRULE_DROP_MALFORMED);
	if (snat && rewrite(skb, f, 0, orig.snat_ip, orig.snat_port))
		return drop(service_id, FERRULE_DROP_MALFORMED);
	if (snat) {
		f->service_id = service_id;
		return LB_FORWARD_SNAT;
	}
	count(service_id, skb->len, 1);
	return TC_ACT_OK;
}

/* ---------------------------------------------------------------- ICMP errors ------------ */

#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PARAMPROB 4 /* 1..4: unreachable, too big, time exceeded, parameter problem */
#define ICMP_HDR_LEN 8

/* Rewrites one address inside an ICMP error. IPv4: fix that header's checksum; the ICMP
 * checksum needs nothing, because address and header checksum change by opposite amounts in
 * the one's-complement sum the ICMP checksum covers. IPv6: no header checksum, so the change
 * goes into the ICMPv6 checksum (as a pseudo-header field for the outer header). */
static __always_inline int icmp_rewrite_addr(struct __sk_buff *skb, __u8 family, __u32 hdr_off,
					     __u32 addr_off, __u32 icmp_csum_off, int outer,
					     const __u8 *old_ip, const __u8 *new_ip)
{
	if (family == FERRULE_AF_INET) {
		__be32 old4, new4;

		__builtin_memcpy(&old4, old_ip, 4);
		__builtin_memcpy(&new4, new_ip, 4);
		if (bpf_l3_csum_replace(skb, hdr_off + offsetof(struct iphdr, check), old4, new4, 4))
			return -1;
		return bpf_skb_store_bytes(skb, addr_off, &new4, 4, 0) ? -1 : 0;
	} else {
		__s64 diff = bpf_csum_diff((__be32 *)old_ip, 16, (__be32 *)new_ip, 16, 0);

		if (diff < 0 ||
		    bpf_l4_csum_replace(skb, icmp_csum_off, 0, diff, outer ? BPF_F_PSEUDO_HDR : 0))
			return -1;
		return bpf_skb_store_bytes(skb, addr_off, (void *)new_ip, 16, 0) ? -1 : 0;
	}
}

/* Both are 16-byte ABI addresses on the stack (IPv4 zero-extended); an explicit loop because
 * clang leaves a 16-byte memcmp as a libc call, which BPF cannot make. */
static __always_inline int same_addr(const __u8 *a, const __u8 *b)
{
	__u8 diff = 0;

#pragma unroll
	for (int i = 0; i < 16; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* Where an ICMP error's headers are; the *_off fields are absolute skb offsets. */
struct icmp_layout {
	__u32 l3, inner, inner_l4, csum_off;
	__u32 saddr_off, daddr_off, in_saddr_off, in_daddr_off;
	__u8 family;
};

/* Translates one endpoint of the quoted packet, its source (quoted_dst == 0) or destination,
 * and the outer address mirroring it when `outer_match`: the error travels the other way, so
 * the quoted source's counterpart is the outer destination and vice versa. */
static __always_inline int icmp_translate_endpoint(struct __sk_buff *skb,
						   const struct icmp_layout *l, int quoted_dst,
						   int outer_match, const __u8 *old_ip,
						   __be16 old_port, const __u8 *new_ip,
						   __be16 new_port)
{
	if (icmp_rewrite_addr(skb, l->family, l->inner,
			      quoted_dst ? l->in_daddr_off : l->in_saddr_off, l->csum_off, 0, old_ip,
			      new_ip) ||
	    /* The quoted port is covered by the ICMP checksum (not a pseudo-header field). */
	    bpf_l4_csum_replace(skb, l->csum_off, old_port, new_port, 2) ||
	    bpf_skb_store_bytes(skb, l->inner_l4 + (quoted_dst ? 2 : 0), &new_port, 2, 0))
		return -1;
	if (outer_match && icmp_rewrite_addr(skb, l->family, l->l3,
					     quoted_dst ? l->saddr_off : l->daddr_off, l->csum_off,
					     1, old_ip, new_ip))
		return -1;
	return 0;
}

/* An ICMP error about a tracked flow (RFC 1812 / 4443 quote the offending packet's headers):
 * translate the quoted packet, and the outer address where it is the translated endpoint, so
 * the error reaches the socket that sent the original packet. Two cases, told apart by the
 * conntrack entry the reversed quoted tuple finds:
 *  - LB_CT_F_REPLY: an error from the backend side about client→backend; the quoted
 *    destination (backend) becomes the VIP, and so does the outer source if the backend sent it.
 *    With SNAT the quoted source (node:snat_port) also becomes the client, and so does the
 *    outer destination (the node), so the error goes on to the client.
 *  - original: an error from the client side about VIP→client replies; the quoted source (VIP)
 *    becomes the backend, and so does the outer destination. With SNAT the quoted destination
 *    (the client) also becomes node:snat_port, and so does the outer source if the client
 *    sent it: the backend only ever talked to the node.
 * The quoted L4 checksum is left as is: ICMP only guarantees 8 quoted L4 bytes, and receivers
 * match errors to sockets by addresses and ports. */
static __attribute__((noinline)) int handle_icmp_error(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct icmp_layout l = {};
	struct lb_ct_key key = {};
	struct lb_ct_value *ct;
	__u8 *outer_src, *outer_dst, *in_src, *in_dst;
	__be16 *ports;
	__u8 nat_ip[16], snat_ip[16], out_src[16] = {}, out_dst[16] = {};
	__be16 nat_port, snat_port, q_sport, q_dport;
	__u32 service_id;
	int reply, snat, src_match, dst_match;

	l.l3 = sizeof(*eth);
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1), *in;
		__u8 *type;

		if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5 ||
		    ip->protocol != IPPROTO_ICMP || (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
			return TC_ACT_OK;
		l.csum_off = l.l3 + ip->ihl * 4; /* the ICMP header for now */
		if (l.csum_off > l.l3 + 60)
			return TC_ACT_OK;
		/* `in` derived from `type` so one bounds check covers both for the verifier. */
		type = data + l.csum_off;
		l.inner = l.csum_off + ICMP_HDR_LEN;
		in = (void *)(type + ICMP_HDR_LEN);
		if ((void *)(in + 1) > data_end)
			return TC_ACT_OK;
		if (*type != ICMP_DEST_UNREACH && *type != ICMP_TIME_EXCEEDED &&
		    *type != ICMP_PARAMETERPROB)
			return TC_ACT_OK;
		if (in->version != 4 || in->ihl < 5 ||
		    (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP))
			return TC_ACT_OK;
		l.inner_l4 = l.inner + in->ihl * 4;
		if (l.inner_l4 > l.inner + 60)
			return TC_ACT_OK;
		l.family = FERRULE_AF_INET;
		key.proto = in->protocol;
		outer_src = (__u8 *)&ip->saddr;
		outer_dst = (__u8 *)&ip->daddr;
		in_src = (__u8 *)&in->saddr;
		in_dst = (__u8 *)&in->daddr;
		l.saddr_off = l.l3 + offsetof(struct iphdr, saddr);
		l.daddr_off = l.l3 + offsetof(struct iphdr, daddr);
		l.in_saddr_off = l.inner + offsetof(struct iphdr, saddr);
		l.in_daddr_off = l.inner + offsetof(struct iphdr, daddr);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1), *in;
		__u8 *type;

		l.csum_off = l.l3 + sizeof(*ip6);
		l.inner = l.csum_off + ICMP_HDR_LEN;
		in = data + l.inner;
		if ((void *)(in + 1) > data_end || ip6->version != 6 ||
		    ip6->nexthdr != IPPROTO_ICMPV6)
			return TC_ACT_OK;
		type = data + l.csum_off;
		if (*type < ICMPV6_DEST_UNREACH || *type > ICMPV6_PARAMPROB)
			return TC_ACT_OK;
		if (in->version != 6 || (in->nexthdr != IPPROTO_TCP && in->nexthdr != IPPROTO_UDP))
			return TC_ACT_OK;
		l.inner_l4 = l.inner + sizeof(*in);
		l.family = FERRULE_AF_INET6;
		key.proto = in->nexthdr;
		outer_src = ip6->saddr.in6_u.u6_addr8;
		outer_dst = ip6->daddr.in6_u.u6_addr8;
		in_src = in->saddr.in6_u.u6_addr8;
		in_dst = in->daddr.in6_u.u6_addr8;
		l.saddr_off = l.l3 + offsetof(struct ipv6hdr, saddr);
		l.daddr_off = l.l3 + offsetof(struct ipv6hdr, daddr);
		l.in_saddr_off = l.inner + offsetof(struct ipv6hdr, saddr);
		l.in_daddr_off = l.inner + offsetof(struct ipv6hdr, daddr);
	} else {
		return TC_ACT_OK;
	}
	l.csum_off += 2;
	ports = data + l.inner_l4;
	if ((void *)(ports + 2) > data_end)
		return TC_ACT_OK;

	/* The quoted packet travelled the other way: reverse it to find the tracked flow. */
	key.family = l.family;
	if (l.family == FERRULE_AF_INET) {
		__builtin_memcpy(key.saddr, in_dst, 4);
		__builtin_memcpy(key.daddr, in_src, 4);
		__builtin_memcpy(out_src, outer_src, 4);
		__builtin_memcpy(out_dst, outer_dst, 4);
	} else {
		__builtin_memcpy(key.saddr, in_dst, 16);
		__builtin_memcpy(key.daddr, in_src, 16);
		__builtin_memcpy(out_src, outer_src, 16);
		__builtin_memcpy(out_dst, outer_dst, 16);
	}
	q_sport = ports[0];
	q_dport = ports[1];
	key.sport = q_dport;
	key.dport = q_sport;
	ct = bpf_map_lookup_elem(&lb_conntrack, &key);
	if (!ct)
		return TC_ACT_OK;
	reply = ct->flags & LB_CT_F_REPLY;
	snat = ct->flags & LB_CT_F_SNAT;
	__builtin_memcpy(nat_ip, ct->nat_ip, 16);
	__builtin_memcpy(snat_ip, ct->snat_ip, 16);
	nat_port = ct->nat_port;
	snat_port = ct->snat_port;
	service_id = ct->service_id;
	ct->last_seen_ns = bpf_ktime_get_ns();

	/* key.saddr is the quoted destination, key.daddr the quoted source; each is mirrored by
	 * the opposite outer address. */
	dst_match = same_addr(out_src, key.saddr);
	src_match = same_addr(out_dst, key.daddr);

	/* Packet pointers are invalid after the first helper that writes the skb. The entry's
	 * nat side is the quoted destination for a reply entry, the source for an original one;
	 * with SNAT its snat side is the other endpoint. */
	if (icmp_translate_endpoint(skb, &l, reply, reply ? dst_match : src_match,
				    reply ? key.saddr : key.daddr, reply ? q_dport : q_sport, nat_ip,
				    nat_port))
		return drop(service_id, FERRULE_DROP_MALFORMED);
	if (snat && icmp_translate_endpoint(skb, &l, !reply, reply ? src_match : dst_match,
					    reply ? key.daddr : key.saddr,
					    reply ? q_sport : q_dport, snat_ip, snat_port))
		return drop(service_id, FERRULE_DROP_MALFORMED);
	count(service_id, skb->len, service_id < LB_MAX_SERVICES);
	return TC_ACT_OK;
}

/* A parsed flow conntrack knows; -1 when it does not. */
static __attribute__((noinline)) int handle_known_flow(struct __sk_buff *skb, struct flow *f)
{
	struct lb_ct_key ct_key = {};
	struct lb_ct_value *ct;

	ct_key_of(&ct_key, f);
	ct = bpf_map_lookup_elem(&lb_conntrack, &ct_key);
	if (!ct)
		return -1;
	return handle_tracked(skb, f, ct);
}

/* The handlers are BPF-to-BPF calls, not inlined: each path needs its own keys and address
 * copies on the stack, and inlined together they exceed the 512-byte frame. As calls, only
 * lb_ingress's small frame plus the largest handler count against the limit. */
SEC("classifier")
int lb_ingress(struct __sk_buff *skb)
{
	struct flow f = {};
	struct lb_frontend_key fe = {};
	struct lb_service *svc;
	int verdict;

	switch (parse_flow(skb, &f)) {
	case PARSE_FLOW:
		break;
	case PARSE_UNTRACKED:
		return TC_ACT_OK;
	default:
		return handle_icmp_error(skb);
	}
	verdict = handle_known_flow(skb, &f);
	if (verdict < 0) {
		__builtin_memcpy(fe.ip, f.daddr, 16);
		fe.port = f.dport;
		fe.proto = f.proto;
		fe.family = f.family;
		svc = bpf_map_lookup_elem(&lb_frontends, &fe);
		if (!svc)
			return TC_ACT_OK;
		verdict = handle_new(skb, &f, svc);
	}
	if (verdict == LB_FORWARD_SNAT)
		return forward_snat(skb, &f);
	return verdict;
}

/* The project licence, plus GPL-2.0 as an alternative: bpf_fib_lookup is a GPL-only helper,
 * and the kernel accepts it only from programs whose licence string is GPL-compatible
 * ("GPL and additional rights": GPLv2, and here the Apache-2.0 option too). */
char LICENSE[] SEC("license") = "GPL and additional rights";
