/** The metrics server's address: the grammar, parsing and bind errors live with the settings (src/config/listen.ts). */
import { SETTINGS } from "../config/index.ts";

export { bindError, LISTEN_FORMAT, parseListen, readListen, type ListenAddress } from "../config/index.ts";
export const DEFAULT_LISTEN = SETTINGS.listen.default;
