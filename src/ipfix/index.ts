/** IPFIX export (RFC 7011) of flow records to the collectors network teams already run. */
export { IpfixExporter, IPFIX_ADDRESSES, type ExporterOptions, type IpfixAddresses } from "./exporter.ts";
export { END_REASON, type EndReason } from "./elements.ts";
export type { FlowExport } from "./message.ts";
export { readTarget, parseTarget, type IpfixTarget } from "./target.ts";
export type { StreamStats } from "./stream.ts";
