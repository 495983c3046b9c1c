// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The conservation check's packet sum of flow_map, computed in the kernel (src/kernel/flow-sum.ts):
 * a BPF_PROG_TYPE_SYSCALL program run once per check through BPF_PROG_TEST_RUN, against the agent's
 * own flow_map (libbpf reuses its fd before load). It walks the map with bpf_for_each_map_elem and
 * adds every entry's packets on every possible CPU (bpf_map_lookup_percpu_elem, Linux 5.19), so
 * user space gets two numbers instead of copying every entry's per-CPU values and summing them.
 *
 * Kept apart from xdp_audit.o: that object's bytes are attested (bpf_object_sha256) and its 5.10
 * build must stay loadable; where this one does not load (before 5.19) the check reads the map
 * with batch lookups as before.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdp_audit.h"

/* More possible CPUs than this: user space does not run the program (the batch read sums them). */
#define FLOW_SUM_MAX_CPUS 1024

/* The flow map is the agent's (bpf_map__reuse_fd): only its type, key and value must match here. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
} flow_map SEC(".maps");

/* The test run's ctx, copied in and back out by the kernel: cpus in, the rest out. */
struct flow_sum_ctx {
	__u32 cpus;     /* libbpf_num_possible_cpus(), at most FLOW_SUM_MAX_CPUS */
	__u32 missing;  /* entries gone between the walk's visit and a per-CPU lookup (deleted meanwhile) */
	__u64 flows;    /* entries visited */
	__u64 packets;  /* their packets, summed over every possible CPU */
};

struct walk {
	__u32 cpus;
	__u32 self;     /* the CPU this run is on: the walk hands over its value without a lookup */
	__u32 missing;
	__u64 flows;
	__u64 packets;
};

/*
 * The other CPUs' values are looked up before this CPU's is read, and both added at the end: each is
 * a cache miss in a check that runs once an interval, and the helper's call chain (indirect, with
 * retpolines) between two reads would otherwise make them wait for each other. Read together they
 * overlap (scripts/bench-attest.ts --sums --sum-gap-ms 250, beside the walk that read its own first):
 * 10-16% less CPU for 4,096 flows in 65,536 entries, ~20% for 4,096 in 4,096, ~30% for 100,000 in 100,000.
 */
static long add_flow(void *map, struct flow_key *key, struct flow_value *value, struct walk *w)
{
	__u32 cpus = w->cpus;
	__u64 others = 0;

	w->flows++;
	for (__u32 cpu = 0; cpu < FLOW_SUM_MAX_CPUS; cpu++) {
		struct flow_value *v;

		if (cpu >= cpus)
			break;
		if (cpu == w->self)
			continue;
		v = bpf_map_lookup_percpu_elem(&flow_map, key, cpu);
		if (!v) {
			w->missing++;
			break;
		}
		others += v->packets;
	}
	w->packets += value->packets + others;
	return 0;
}

SEC("syscall")
int flow_sum(struct flow_sum_ctx *ctx)
{
	/* The test run pins the program to its CPU (migration off), so self stays the CPU whose value the walk gives. */
	struct walk w = { .cpus = ctx->cpus, .self = bpf_get_smp_processor_id() };

	bpf_for_each_map_elem(&flow_map, add_flow, &w, 0);
	ctx->missing = w.missing;
	ctx->flows = w.flows;
	ctx->packets = w.packets;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
