/** The effective configuration of `ato run`: flags > environment > config file > defaults. */
export { resolveConfig, type ConfigSources, type Env, type Flags } from "./resolve.ts";
export { redact, type RedactedConfig, type Presence } from "./redact.ts";
export { defaultConfig, DEFAULT_AUDIT_DIR, DEFAULT_KEY_LABEL, DEFAULT_MODULE_PATH, DEFAULT_PIN_DIR } from "./defaults.ts";
export { SETTINGS, type Setting } from "./settings.ts";
export type { AgentConfig, SimdChoice, XdpMode } from "./types.ts";
