/** resolveConfig(): defaults, precedence flags > environment > file > defaults, and the config file forms. */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { readSettings, resolveConfig, SETTINGS, type Setting, type SettingKey } from "../../src/config/index.ts";
import { tempFiles } from "./_files.ts";
import { thrownAtoError } from "../support/errors.ts";

let files = tempFiles();
afterEach(() => {
  files.cleanup();
  files = tempFiles();
});
afterAll(() => files.cleanup()); // the set made after the last test

const HEX_KEY = "4f".repeat(32);

describe("resolveConfig defaults", () => {
  test("with nothing given, every setting has its documented default", () => {
    const c = resolveConfig({ flags: {}, env: {} });
    expect(c).toMatchObject({
      ifaces: [], mode: "auto", pinDir: "/sys/fs/bpf/ato", maxFlows: 65536, auditDir: "/var/log/audit", listen: "127.0.0.1:9400",
      intervalMs: 1000, checkpointEvery: 1000, checkpointSeconds: 10, idleTimeoutSeconds: 60, activeTimeoutSeconds: 60, conservationEvery: 10,
      masking: { ipv4Prefix: 24, ipv6Prefix: 48, keepPorts: "none" },
      features: { tokens: false, sealing: false, timingAudit: false, spikeGuard: false },
      spike: { threshold: 0, windowMs: 1000 },
      timing: { minSamples: 32, tscore: 4 },
      pkcs11: { modulePath: "/usr/lib/softhsm/libsofthsm2.so", keyLabel: "ato-ed25519" },
    });
  });

  test("the conservation check's cadence is one checkpoint period in intervals, at most a minute, at least one; given, it is taken as it is", () => {
    const every = (flags: Record<string, string>, env: Record<string, string> = {}) => resolveConfig({ flags, env }).conservationEvery;
    expect(every({ "interval-ms": "200" })).toBe(50); // 10 s of 200 ms
    expect(every({ "interval-ms": "300" })).toBe(34); // 33.3 rounded up: never checked less often than once a period
    expect(every({ "checkpoint-seconds": "3600" })).toBe(60); // the minute's cap
    expect(every({ "checkpoint-seconds": "0.5" })).toBe(1); // a period shorter than an interval: every interval
    expect(every({ "interval-ms": "60000", "checkpoint-seconds": "1" })).toBe(1);
    expect(every({ "conservation-every": "3", "interval-ms": "200" })).toBe(3);
    expect(every({}, { ATO_CONSERVATION_EVERY: "0" })).toBe(0); // off
  });

  test("empty strings count as not given", () => {
    const c = resolveConfig({ flags: { mode: "", listen: "" }, env: { XDP_MODE: "", ATO_LISTEN: "" } });
    expect(c.mode).toBe("auto");
    expect(c.listen).toBe("127.0.0.1:9400");
  });
});

describe("precedence: flags > environment > file > defaults", () => {
  test("each layer wins over the ones below it, setting by setting", () => {
    const file = files.write("ato.env", "XDP_MODE=hw\nATO_LISTEN=0.0.0.0:9401\nATO_MAX_FLOWS=1024\nATO_INTERVAL_MS=250\n");
    const c = resolveConfig({
      flags: { mode: "drv", config: file },
      env: { XDP_MODE: "skb", ATO_LISTEN: "[::1]:9402", ATO_CHECKPOINT_EVERY: "5000" },
    });
    expect(c.mode).toBe("drv"); // flag over environment and file
    expect(c.listen).toBe("[::1]:9402"); // environment over file
    expect(c.maxFlows).toBe(1024); // file over default
    expect(c.intervalMs).toBe(250);
    expect(c.checkpointEvery).toBe(5000); // environment over default
    expect(c.checkpointSeconds).toBe(10); // default
    expect(c.configFile).toBe(file);
  });

  test("the file is found from the file option, then --config, then ATO_CONFIG", () => {
    const a = files.write("a.env", "XDP_MODE=drv\n");
    const b = files.write("b.env", "XDP_MODE=skb\n");
    const cc = files.write("c.env", "XDP_MODE=hw\n");
    expect(resolveConfig({ flags: { config: b }, env: { ATO_CONFIG: cc }, file: a }).mode).toBe("drv");
    expect(resolveConfig({ flags: { config: b }, env: { ATO_CONFIG: cc } }).mode).toBe("skb");
    expect(resolveConfig({ flags: {}, env: { ATO_CONFIG: cc } }).mode).toBe("hw");
  });

  test("interfaces: a repeated flag, a comma list, or XDP_INTERFACE; duplicates dropped", () => {
    expect(resolveConfig({ flags: { iface: ["veth0", "veth1,veth2", "veth0"] }, env: { XDP_INTERFACE: "eth9" } }).ifaces).toEqual(["veth0", "veth1", "veth2"]);
    expect(resolveConfig({ flags: {}, env: { XDP_INTERFACE: "eth0, eth1" } }).ifaces).toEqual(["eth0", "eth1"]);
  });

  test("pin directory: --pin-dir, then ATO_PIN_DIR, then the directory of the stack's FLOW_MAP_PATH", () => {
    expect(resolveConfig({ flags: {}, env: { FLOW_MAP_PATH: "/sys/fs/bpf/flow_map" } }).pinDir).toBe("/sys/fs/bpf");
    expect(resolveConfig({ flags: {}, env: { FLOW_MAP_PATH: "/sys/fs/bpf/flow_map", ATO_PIN_DIR: "/sys/fs/bpf/x" } }).pinDir).toBe("/sys/fs/bpf/x");
    expect(resolveConfig({ flags: { "pin-dir": "/sys/fs/bpf/y" }, env: { ATO_PIN_DIR: "/sys/fs/bpf/x" } }).pinDir).toBe("/sys/fs/bpf/y");
  });

  test("relative paths become absolute against the working directory", () => {
    expect(resolveConfig({ flags: { "audit-dir": "evidence" }, env: {} }).auditDir).toBe(`${process.cwd()}/evidence`);
  });

  test("boolean flags as citty passes them, and boolean words in the environment", () => {
    expect(resolveConfig({ flags: { timing: true }, env: {} }).features.timingAudit).toBe(true);
    expect(resolveConfig({ flags: { timing: false }, env: { ATO_TIMING_AUDIT: "yes" } }).features.timingAudit).toBe(false);
    expect(resolveConfig({ flags: {}, env: { ATO_TIMING_AUDIT: "on" } }).features.timingAudit).toBe(true);
  });

  test("PKCS#11 settings from the stack's variables, flags first", () => {
    const env = { PKCS11_MODULE_PATH: "/opt/hsm/lib.so", HSM_TOKEN_LABEL: "tok", HSM_KEY_LABEL: "key", PKCS11_PIN: "0000" };
    expect(resolveConfig({ flags: {}, env }).pkcs11).toEqual({ modulePath: "/opt/hsm/lib.so", tokenLabel: "tok", keyLabel: "key", pin: "0000" });
    expect(resolveConfig({ flags: { module: "/x.so", "token-label": "t2", "key-label": "k2" }, env }).pkcs11).toEqual({
      modulePath: "/x.so", tokenLabel: "t2", keyLabel: "k2", pin: "0000",
    });
  });

  test("masking: prefixes with or without a slash, kept ports normalised", () => {
    const c = resolveConfig({ flags: { "ipv4-prefix": "/16", "keep-ports": "Well-Known, 8080" }, env: { ATO_MASK_IPV6_PREFIX: "64", ATO_MASK_SIMD: "sse2" } });
    expect(c.masking).toEqual({ ipv4Prefix: 16, ipv6Prefix: 64, keepPorts: "well-known,8080", simd: "sse2", tokenKey: undefined, sealKey: undefined });
  });

  test("spike guard is on exactly when the threshold is above 0", () => {
    expect(resolveConfig({ flags: { "spike-threshold": "500", "spike-window-ms": "250" }, env: {} })).toMatchObject({
      features: { spikeGuard: true }, spike: { threshold: 500, windowMs: 250 },
    });
    expect(resolveConfig({ flags: { "spike-threshold": "0" }, env: {} }).features.spikeGuard).toBe(false);
  });

  test("checkpoint seconds may be a fraction", () => {
    expect(resolveConfig({ flags: { "checkpoint-seconds": "0.5" }, env: {} }).checkpointSeconds).toBe(0.5);
  });
});

describe("features and their keys", () => {
  test("a token or sealing key turns its feature on", () => {
    const c = resolveConfig({ flags: {}, env: { ATO_TOKEN_KEY: HEX_KEY } });
    expect(c.features.tokens).toBe(true);
    expect(c.masking.tokenKey?.export().toString("hex")).toBe(HEX_KEY);
    expect(c.features.sealing).toBe(false);
  });

  test("a feature switched off explicitly stays off, and its key is not kept", () => {
    const c = resolveConfig({ flags: { tokens: false }, env: { ATO_TOKEN_KEY: HEX_KEY } });
    expect(c.features.tokens).toBe(false);
    expect(c.masking.tokenKey).toBeUndefined();
  });

  test("a feature switched on without a key is a CONFIG error naming both variables", () => {
    const e = thrownAtoError(() => resolveConfig({ flags: { seal: true }, env: {} }));
    expect(e.code).toBe("CONFIG");
    expect(e.message).toContain("ATO_SEAL_KEY or ATO_SEAL_KEY_FILE");
  });

  test("keys from _FILE variables, in the environment or the config file", () => {
    const keyFile = files.write("seal.key", `${HEX_KEY}\n`);
    const file = files.write("ato.env", `ATO_SEAL_KEY_FILE=${keyFile}\n`);
    const c = resolveConfig({ flags: { config: file }, env: {} });
    expect(c.features.sealing).toBe(true);
    expect(c.masking.sealKey?.export().toString("hex")).toBe(HEX_KEY);
  });

  test("the PIN from PKCS11_PIN_FILE, without its final newline", () => {
    const pinFile = files.write("pin", "s3cret-pin\n");
    expect(resolveConfig({ flags: {}, env: { PKCS11_PIN_FILE: pinFile } }).pkcs11.pin).toBe("s3cret-pin");
  });

  test("the environment's PIN wins over the config file's", () => {
    const file = files.write("ato.env", "PKCS11_PIN=from-file\n");
    expect(resolveConfig({ flags: { config: file }, env: { PKCS11_PIN: "from-env" } }).pkcs11.pin).toBe("from-env");
    expect(resolveConfig({ flags: { config: file }, env: {} }).pkcs11.pin).toBe("from-file");
  });
});

describe("config file forms", () => {
  test("env-file: comments, blank lines, export, quotes, trailing comments", () => {
    const file = files.write("ato.env", [
      "# ato settings",
      "",
      "export XDP_INTERFACE=eth0,eth1",
      'HSM_KEY_LABEL="ato key # one"',
      "HSM_TOKEN_LABEL='tok'",
      "ATO_CHECKPOINT_EVERY=5000   # records",
      "DRUPAL_DB_PASSWORD=not-ours", // compose's .env holds other services' settings: ignored
    ].join("\n"));
    const c = resolveConfig({ flags: { config: file }, env: {} });
    expect(c.ifaces).toEqual(["eth0", "eth1"]);
    expect(c.pkcs11.keyLabel).toBe("ato key # one");
    expect(c.pkcs11.tokenLabel).toBe("tok");
    expect(c.checkpointEvery).toBe(5000);
  });

  test("JSON: the same names, with numbers, booleans and lists", () => {
    const file = files.write("ato.json", JSON.stringify({
      XDP_INTERFACE: ["eth0", "eth1"], XDP_MODE: "skb", ATO_CHECKPOINT_EVERY: 5000, ATO_TIMING_AUDIT: true, ATO_MASK_KEEP_PORTS: [80, 443],
    }));
    const c = resolveConfig({ flags: { config: file }, env: {} });
    expect(c).toMatchObject({ ifaces: ["eth0", "eth1"], mode: "skb", checkpointEvery: 5000, features: { timingAudit: true }, masking: { keepPorts: "80,443" } });
  });

  test("a missing file is NOT_FOUND naming the path", () => {
    const e = thrownAtoError(() => resolveConfig({ flags: { config: "/nonexistent/ato.env" }, env: {} }));
    expect(e.code).toBe("NOT_FOUND");
    expect(e.message).toContain("/nonexistent/ato.env");
  });

  test("a line that is not NAME=VALUE names its line, not its content", () => {
    const file = files.write("ato.env", "XDP_MODE=drv\nPKCS11_PIN 123456\n");
    const e = thrownAtoError(() => resolveConfig({ flags: { config: file }, env: {} }));
    expect(e.message).toBe(`config file ${file} line 2: expected NAME=VALUE`);
  });

  test("a name one typo away from a known one is refused with a suggestion", () => {
    const file = files.write("ato.env", "ATO_LISTNE=0.0.0.0:9400\n");
    expect(thrownAtoError(() => resolveConfig({ flags: { config: file }, env: {} })).message).toContain("unknown setting ATO_LISTNE; did you mean ATO_LISTEN?");
  });

  test("JSON that is not an object of scalars is a CONFIG error", () => {
    expect(thrownAtoError(() => resolveConfig({ flags: { config: files.write("a.json", "[1]") }, env: {} })).code).toBe("CONFIG");
    expect(thrownAtoError(() => resolveConfig({ flags: { config: files.write("b.json", '{"XDP_MODE": {"x": 1}}') }, env: {} })).message).toContain("XDP_MODE must be a string");
    expect(thrownAtoError(() => resolveConfig({ flags: { config: files.write("c.json", "{nope") }, env: {} })).message).toContain("not valid JSON");
  });
});

describe("every setting of the table through the one resolver", () => {
  const all = Object.entries(SETTINGS) as [SettingKey, Setting][];
  const text = (s: Setting) => (Array.isArray(s.default) ? (s.default as string[]).join(",") : String(s.default));
  const samples = all.filter(([, s]) => s.parse && s.default !== undefined && text(s) !== "" && !s.readBy);

  test("a setting not given has its default and is not 'given'; tokenLabel, pin and the BPF object have none", () => {
    const r = readSettings({ env: {} });
    for (const [key, s] of samples) expect({ key, value: r.get(key), given: r.given(key) }).toEqual({ key, value: s.default, given: false });
    expect([r.get("tokenLabel"), r.get("pin"), r.get("bpfObject"), r.get("tokenKey"), r.get("sealKey")]).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  test("each is read from each of its environment names, from the config file, and from its flag", () => {
    for (const [key, s] of samples) {
      for (const name of s.env) {
        expect({ key, name, given: readSettings({ env: { [name]: text(s) } }).given(key) }).toEqual({ key, name, given: true });
        const file = files.write(`${name}.env`, `${name}=${text(s)}\n`);
        expect({ key, name, fromFile: readSettings({ env: {}, file }).given(key) }).toEqual({ key, name, fromFile: true });
      }
      if (s.flag) expect({ key, given: readSettings({ flags: { [s.flag]: text(s) }, env: {} }).given(key) }).toEqual({ key, given: true });
    }
    const written = files.write("some.env", "ATO_MAX_FLOWS=77\nHSM_KEY_LABEL=from-file\n");
    const r = readSettings({ env: { ATO_CONFIG: written } });
    expect([r.get("maxFlows"), r.get("keyLabel"), r.given("maxFlows"), r.configFile]).toEqual([77, "from-file", true, written]);
  });

  test("secrets come from NAME or NAME_FILE, in the environment or the config file, never from a flag", () => {
    const pinFile = files.write("pin", "1234\n");
    expect(readSettings({ env: { PKCS11_PIN: "1234" } }).get("pin")).toBe("1234");
    expect(readSettings({ env: { PKCS11_PIN_FILE: pinFile } }).get("pin")).toBe("1234");
    expect(readSettings({ env: { PKCS11_SO_PIN_FILE: pinFile } }).get("soPin")).toBe("1234");
    const conf = files.write("pin.env", `PKCS11_PIN_FILE=${pinFile}\n`);
    expect(readSettings({ env: {}, file: conf }).get("pin")).toBe("1234");
    // A flag of the same name is no source of a secret.
    expect(readSettings({ flags: { pin: "9999", "so-pin": "9999" }, env: {} }).get("pin")).toBeUndefined();
  });
});
