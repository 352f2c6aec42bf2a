/** Constants of the remote client, kept apart so importing them does not load undici. */
/** Retries of one status read or one trigger (a watch has its own, larger budget). */
export const DEFAULT_REQUEST_RETRIES = 4;
