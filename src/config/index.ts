/** Every setting of ato (the table), the one resolver that reads them, and what is made from the table. */
export { SETTINGS, XDP_MODES, FLOW_SORTS, TOKEN_LABEL_FALLBACK, envNames, settingsOf, type CommandName, type FlowSort, type Setting, type SettingKey, type SettingValue, type XdpMode } from "./table.ts";
export { readSettings, settingFromEnv, type ConfigSources, type Env, type Flags, type Settings } from "./resolve.ts";
export { resolveConfig } from "./agent.ts";
export { redact, type RedactedConfig, type Presence } from "./redact.ts";
export { commandArgs, environmentText } from "./help.ts";
export { configurationDoc } from "./docs.ts";
export { bindError, LISTEN_FORMAT, parseListen, readListen, type ListenAddress } from "./listen.ts";
export type { AgentConfig } from "./types.ts";
