/** The kernel side of ato: the XDP program's loader, its maps read from user space, and the host facts they need. */
export { XdpAuditor, DEFAULT_CONFIG, MAPS, PROGRAM_NAME, modeName, type AttachMode, type Attachment, type LoadedObject } from "./loader.ts";
export { FlowBatch, FlowMapReader, flowNumbers, type Flow, type FlowNumbers, type ReadMethod } from "./flows.ts";
export { readPinnedFlows } from "./pinned.ts";
export { FlowSum, FLOW_SUM_PROGRAM, type FlowSumRefused, type KernelSum } from "./flow-sum.ts";
export { EventStream } from "./events.ts";
export { readCounters } from "./counters.ts";
export { ifindexOf, ifaceName, requireBpffs } from "./system.ts";
export { AgentLock } from "./lock.ts";
export { bpfCompatPath, bpfObjectName, bpfObjectPath, bpfObjectSha256 } from "./object.ts";
export { probeObject, type ObjectProbe } from "./probe.ts";
export { libbpfVersion } from "../../ffi/libbpf.ts";
export {
  COUNTERS_SIZE, EVENT_KINDS, FLOW_KEY, FLOW_VALUE, decodeKey, encodeKey, percpuStride, tScore,
  type AuditConfig, type AuditEvent, type CounterName, type EventKind, type FlowCounts, type FlowKey,
} from "./layout.ts";
