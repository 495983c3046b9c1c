export { XdpAuditor, DEFAULT_CONFIG, MAPS, PROGRAM_NAME, modeName, type AttachMode, type Attachment } from "./loader.ts";
export { FlowBatch, FlowMapReader, type Flow, type ReadMethod } from "./flows.ts";
export { EventStream } from "./events.ts";
export { readCounters } from "./counters.ts";
export { ifindexOf, ifaceName, requireBpffs } from "./system.ts";
export { AgentLock } from "./lock.ts";
export * from "./layout.ts";
