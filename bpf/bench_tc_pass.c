// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark baseline for TC programs (netobserv-ebpf-agent's flow program
 * runs at TC): the cheapest classifier, which lets every packet through. TC
 * programs see an sk_buff, so they are measured against this, not XDP_PASS.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int bench_tc_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
