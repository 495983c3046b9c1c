/**
 * redact(): the configuration as `ato run --print-config` shows it. Secrets (the table's `secret` settings)
 * become "(set)" or "(unset)"; their values are never copied into the result, so nothing downstream can print
 * them by mistake.
 */
import type { AgentConfig } from "./types.ts";

export type Presence = "(set)" | "(unset)";

export type RedactedConfig = Omit<AgentConfig, "pkcs11" | "masking"> & {
  pkcs11: Omit<AgentConfig["pkcs11"], "pin"> & { pin: Presence };
  masking: Omit<AgentConfig["masking"], "tokenKey" | "sealKey"> & { tokenKey: Presence; sealKey: Presence };
};

const presence = (v: unknown): Presence => (v === undefined || v === "" ? "(unset)" : "(set)");

export function redact(config: AgentConfig): RedactedConfig {
  const { pin, ...pkcs11 } = config.pkcs11;
  const { tokenKey, sealKey, ...masking } = config.masking;
  return {
    ...structuredClone({ ...config, pkcs11: undefined, masking: undefined }),
    pkcs11: { ...pkcs11, pin: presence(pin) },
    masking: { ...masking, tokenKey: presence(tokenKey), sealKey: presence(sealKey) },
  };
}
