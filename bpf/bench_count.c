// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark baseline: one map lookup and one per-CPU increment per frame.
 * Between bench_pass and xdp_audit, it separates the cost of touching a map
 * from the cost of parsing and flow accounting. Not pinned: each load gets
 * its own counter.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bench_counter SEC(".maps");

SEC("xdp")
int bench_count(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&bench_counter, &zero);

	if (count)
		(*count)++;	/* per-CPU slot: no atomic needed */
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
