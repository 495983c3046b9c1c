// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark floor: the least a flow meter can do per frame. Ethernet, IPv4
 * without options, TCP or UDP ports into a 48-byte key (ato's key size), the
 * fine clock once, and one per-CPU hash update (lookup, then insert when the
 * flow is new). No VLANs, IPv6, fragments, configuration or events: what any
 * XDP flow counter pays at the very least, beside which xdp_audit's extra
 * work shows.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct floor_key {
	__u8 src[16];
	__u8 dst[16];
	__u32 ifindex;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[7];
};	/* 48 bytes, like struct flow_key */

struct floor_value {
	__u64 packets;
	__u64 bytes;
	__u64 first_seen_ns;
	__u64 last_seen_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct floor_key);
	__type(value, struct floor_value);
} floor_map SEC(".maps");

SEC("xdp")
int bench_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u16 *ports = data + sizeof(*eth) + sizeof(*ip);
	struct floor_value *v, nv = {};
	struct floor_key key = {};
	__u64 now;

	if ((void *)(ports + 2) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return XDP_PASS;
	__builtin_memcpy(key.src, &ip->saddr, 4);
	__builtin_memcpy(key.dst, &ip->daddr, 4);
	key.ifindex = ctx->ingress_ifindex;
	key.proto = ip->protocol;
	if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
		key.sport = bpf_ntohs(ports[0]);
		key.dport = bpf_ntohs(ports[1]);
	}
	now = bpf_ktime_get_ns();
	v = bpf_map_lookup_elem(&floor_map, &key);
	if (v) {
		v->packets++;
		v->bytes += bpf_ntohs(ip->tot_len);
		v->last_seen_ns = now;
		return XDP_PASS;
	}
	nv.packets = 1;
	nv.bytes = bpf_ntohs(ip->tot_len);
	nv.first_seen_ns = now;
	nv.last_seen_ns = now;
	bpf_map_update_elem(&floor_map, &key, &nv, BPF_NOEXIST);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
