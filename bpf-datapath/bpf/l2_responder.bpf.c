// SPDX-License-Identifier: Apache-2.0
/*
 * L2 responder (XDP): answers ARP requests and IPv6 Neighbor Solicitations for the IPs in the
 * `l2_responder` map, keyed by (ingress ifindex, IP), with the interface's MAC from `l2_ifmac`.
 * Everything it does not answer is XDP_PASS, byte for byte untouched, so the kernel's own
 * neighbour handling keeps working for every address that is not a service VIP.
 *
 * Headers: uapi linux headers and libbpf only (no vmlinux.h generated on the build machine).
 *
 * Scope decisions:
 *  - VLAN-tagged frames (802.1Q / 802.1ad) are passed. A VLAN is a Linux device of its own; the
 *    agent attaches to the VLAN device when it is selected, where frames arrive untagged. Parsing
 *    tags here would answer on a VLAN the operator did not select.
 *  - IPv6 with extension headers before ICMPv6 is passed: valid NS never need them, and the
 *    kernel still handles the rare one correctly (at worst the VIP is not resolvable that way).
 *  - An NS is answered only with a valid ICMPv6 checksum (RFC 4861 7.1.1), checked over at most
 *    NS_MAX_LEN bytes; longer ones (never seen in practice) are left to the kernel.
 *  - Gratuitous ARP (sender IP == target IP) is an announcement, not a question: passed.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "abi.h"

/* ARP (RFC 826). Defined here because <linux/if_arp.h> drags in libc headers that do not exist
 * for the bpf target. */
#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2

struct arphdr {
	__be16 ar_hrd;
	__be16 ar_pro;
	__u8 ar_hln;
	__u8 ar_pln;
	__be16 ar_op;
};

#define NDISC_NEIGHBOUR_SOLICITATION 135
#define NDISC_NEIGHBOUR_ADVERTISEMENT 136
#define ND_OPT_TARGET_LL_ADDR 2
/* NA flags word (RFC 4861 4.4), host order before bpf_htonl. */
#define NA_FLAG_SOLICITED 0x40000000u
#define NA_FLAG_OVERRIDE 0x20000000u

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FERRULE_L2_RESPONDER_MAX_ENTRIES);
	__type(key, struct l2_responder_key);
	__type(value, struct l2_responder_stats);
} l2_responder SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FERRULE_L2_IFMAC_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct l2_ifmac);
} l2_ifmac SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FERRULE_PROG_MAX);
	__type(key, __u32);
	__type(value, struct ferrule_counters);
} prog_counters SEC(".maps");

/* ARP payload for Ethernet/IPv4 (RFC 826); all byte arrays, so no padding. */
struct arp_eth_ipv4 {
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
};

/* NS and NA share this layout (RFC 4861 4.3, 4.4); options follow. */
struct nd_msg {
	__u8 type;
	__u8 code;
	__be16 checksum;
	__be32 flags;
	__u8 target[16];
};

/* Target link-layer address option of the NA we send. */
struct nd_opt_lladdr {
	__u8 type;
	__u8 len; /* units of 8 bytes */
	__u8 mac[ETH_ALEN];
};

/* NS payload bytes we checksum: the 24-byte message plus up to 13 8-byte options. */
#define NS_MAX_LEN 128

#define NA_FRAME_LEN \
	(sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + sizeof(struct nd_msg) + \
	 sizeof(struct nd_opt_lladdr))
#define NA_PAYLOAD_LEN (sizeof(struct nd_msg) + sizeof(struct nd_opt_lladdr))

static __always_inline void count_reply(__u64 bytes)
{
	__u32 key = FERRULE_PROG_L2_RESPONDER;
	struct ferrule_counters *c = bpf_map_lookup_elem(&prog_counters, &key);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void count_drop(__u32 reason)
{
	__u32 key = FERRULE_PROG_L2_RESPONDER;
	struct ferrule_counters *c = bpf_map_lookup_elem(&prog_counters, &key);

	if (c && reason < FERRULE_DROP_REASONS)
		c->drops[reason]++;
}

static __always_inline int handle_arp(struct xdp_md *ctx, struct ethhdr *eth, void *data_end)
{
	struct arphdr *arp = (void *)(eth + 1);
	struct arp_eth_ipv4 *body = (void *)(arp + 1);
	struct l2_responder_key key = {};
	struct l2_responder_stats *stats;
	struct l2_ifmac *ifmac;
	__u8 req_mac[ETH_ALEN];
	__u8 req_ip[4];

	if ((void *)(body + 1) > data_end)
		return XDP_PASS;
	if (arp->ar_hrd != bpf_htons(ARPHRD_ETHER) || arp->ar_pro != bpf_htons(ETH_P_IP) ||
	    arp->ar_hln != ETH_ALEN || arp->ar_pln != 4 || arp->ar_op != bpf_htons(ARPOP_REQUEST))
		return XDP_PASS;
	if (__builtin_memcmp(body->spa, body->tpa, 4) == 0)
		return XDP_PASS;

	key.ifindex = ctx->ingress_ifindex;
	key.family = FERRULE_AF_INET;
	__builtin_memcpy(key.ip, body->tpa, 4);
	stats = bpf_map_lookup_elem(&l2_responder, &key);
	if (!stats)
		return XDP_PASS;
	ifmac = bpf_map_lookup_elem(&l2_ifmac, &key.ifindex);
	if (!ifmac) {
		count_drop(FERRULE_DROP_NO_IFMAC);
		return XDP_PASS;
	}

	/* Reply to the ARP sender hardware address: that is who asked (RFC 826), and for a
	 * proxied request it may differ from the frame's source. */
	__builtin_memcpy(req_mac, body->sha, ETH_ALEN);
	__builtin_memcpy(req_ip, body->spa, 4);

	__builtin_memcpy(eth->h_dest, req_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, ifmac->mac, ETH_ALEN);
	arp->ar_op = bpf_htons(ARPOP_REPLY);
	__builtin_memcpy(body->sha, ifmac->mac, ETH_ALEN);
	__builtin_memcpy(body->spa, key.ip, 4);
	__builtin_memcpy(body->tha, req_mac, ETH_ALEN);
	__builtin_memcpy(body->tpa, req_ip, 4);

	__sync_fetch_and_add(&stats->responses, 1);
	count_reply((__u64)(data_end - (void *)eth));
	return XDP_TX;
}

/* One's-complement sum of big-endian 16-bit words; `len` is a compile-time constant at every
 * call site, so the loop unrolls and the verifier sees straight-line code. */
static __always_inline __u32 csum_add(__u32 sum, const __u8 *p, int len)
{
#pragma unroll
	for (int i = 0; i < len; i += 2)
		sum += ((__u32)p[i] << 8) | p[i + 1];
	return sum;
}

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* RFC 4443 2.3 over the received NS: pseudo-header plus `len` payload bytes. A bounded loop
 * (not unrolled) because the length varies; len is a multiple of 8 and at most NS_MAX_LEN. */
static __always_inline int ns_checksum_ok(struct ipv6hdr *ip6, __u32 len, void *data_end)
{
	__u8 *payload = (void *)(ip6 + 1);
	__u32 sum;

	sum = csum_add(0, ip6->saddr.in6_u.u6_addr8, 16);
	sum = csum_add(sum, ip6->daddr.in6_u.u6_addr8, 16);
	sum += len + IPPROTO_ICMPV6;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < NS_MAX_LEN; i += 2) {
		__u8 *w = payload + i;

		if (i >= len)
			break;
		if ((void *)(w + 2) > data_end)
			return 0;
		sum += ((__u32)w[0] << 8) | w[1];
	}
	return csum_fold(sum) == 0;
}

static __always_inline int is_unspecified(const __u8 *a)
{
	__u8 acc = 0;

#pragma unroll
	for (int i = 0; i < 16; i++)
		acc |= a[i];
	return acc == 0;
}

static __always_inline int handle_ns(struct xdp_md *ctx, void *data_end)
{
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct nd_msg *ns = (void *)(ip6 + 1);
	struct l2_responder_key key = {};
	struct l2_responder_stats *stats;
	struct l2_ifmac *ifmac;
	struct nd_opt_lladdr *opt;
	__u8 mac[ETH_ALEN];
	__u8 req_mac[ETH_ALEN];
	__u8 dst[16];
	__u32 flags, sum;
	int dad;

	if ((void *)(ns + 1) > data_end)
		return XDP_PASS;
	/* RFC 4861 7.1.1 validity checks that the map lookup does not imply. */
	if (ip6->version != 6 || ip6->nexthdr != IPPROTO_ICMPV6 || ip6->hop_limit != 255)
		return XDP_PASS;
	if (ns->type != NDISC_NEIGHBOUR_SOLICITATION || ns->code != 0)
		return XDP_PASS;
	if (bpf_ntohs(ip6->payload_len) < sizeof(*ns) ||
	    (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > data_end)
		return XDP_PASS;
	if (ns->target[0] == 0xff)
		return XDP_PASS;
	if (bpf_ntohs(ip6->payload_len) % 8 != 0 || bpf_ntohs(ip6->payload_len) > NS_MAX_LEN ||
	    !ns_checksum_ok(ip6, bpf_ntohs(ip6->payload_len), data_end))
		return XDP_PASS;

	key.ifindex = ctx->ingress_ifindex;
	key.family = FERRULE_AF_INET6;
	__builtin_memcpy(key.ip, ns->target, 16);
	stats = bpf_map_lookup_elem(&l2_responder, &key);
	if (!stats)
		return XDP_PASS;
	ifmac = bpf_map_lookup_elem(&l2_ifmac, &key.ifindex);
	if (!ifmac) {
		count_drop(FERRULE_DROP_NO_IFMAC);
		return XDP_PASS;
	}
	__builtin_memcpy(mac, ifmac->mac, ETH_ALEN);

	/* Duplicate address detection (source ::): answer to all-nodes, not solicited (7.2.4). */
	dad = is_unspecified(ip6->saddr.in6_u.u6_addr8);
	if (dad) {
		__u8 all_nodes[16] = {0xff, 0x02, [15] = 0x01};
		__u8 all_nodes_mac[ETH_ALEN] = {0x33, 0x33, 0, 0, 0, 0x01};

		__builtin_memcpy(dst, all_nodes, 16);
		__builtin_memcpy(req_mac, all_nodes_mac, ETH_ALEN);
		flags = NA_FLAG_OVERRIDE;
	} else {
		__builtin_memcpy(dst, ip6->saddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(req_mac, eth->h_source, ETH_ALEN);
		flags = NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE;
	}

	/* The NA has a fixed size; the NS may be shorter (no source link-layer option) or longer
	 * (more options), so resize the frame to exactly what we send. */
	{
		int delta = (int)NA_FRAME_LEN - (int)(data_end - data);

		if (delta != 0 && bpf_xdp_adjust_tail(ctx, delta) != 0)
			return XDP_PASS;
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	ip6 = (void *)(eth + 1);
	ns = (void *)(ip6 + 1);
	opt = (void *)(ns + 1);
	if ((void *)(opt + 1) > data_end)
		return XDP_ABORTED;

	__builtin_memcpy(eth->h_dest, req_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IPV6);

	ip6->version = 6;
	ip6->priority = 0;
	ip6->flow_lbl[0] = 0;
	ip6->flow_lbl[1] = 0;
	ip6->flow_lbl[2] = 0;
	ip6->payload_len = bpf_htons(NA_PAYLOAD_LEN);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = 255;
	__builtin_memcpy(ip6->saddr.in6_u.u6_addr8, key.ip, 16);
	__builtin_memcpy(ip6->daddr.in6_u.u6_addr8, dst, 16);

	ns->type = NDISC_NEIGHBOUR_ADVERTISEMENT;
	ns->code = 0;
	ns->checksum = 0;
	ns->flags = bpf_htonl(flags);
	__builtin_memcpy(ns->target, key.ip, 16);
	opt->type = ND_OPT_TARGET_LL_ADDR;
	opt->len = 1;
	__builtin_memcpy(opt->mac, mac, ETH_ALEN);

	/* ICMPv6 checksum (RFC 4443 2.3): pseudo-header (src, dst, upper-layer length, next
	 * header) plus the message, summed from the values we wrote rather than re-read from the
	 * packet, which keeps every access on the stack. */
	sum = csum_add(0, key.ip, 16);
	sum = csum_add(sum, dst, 16);
	sum += NA_PAYLOAD_LEN + IPPROTO_ICMPV6;
	sum += NDISC_NEIGHBOUR_ADVERTISEMENT << 8; /* type, code 0 */
	sum += flags >> 16;                       /* low 16 bits of flags are reserved zeros */
	sum = csum_add(sum, key.ip, 16);          /* target */
	sum += (ND_OPT_TARGET_LL_ADDR << 8) | 1;
	sum = csum_add(sum, mac, ETH_ALEN);
	ns->checksum = bpf_htons(csum_fold(sum));

	__sync_fetch_and_add(&stats->responses, 1);
	count_reply(NA_FRAME_LEN);
	return XDP_TX;
}

SEC("xdp")
int l2_responder_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return handle_arp(ctx, eth, data_end);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return handle_ns(ctx, data_end);
	return XDP_PASS;
}

/* The project licence; no GPL-only helper is used, so the kernel needs no GPL string. */
char LICENSE[] SEC("license") = "Apache-2.0";
