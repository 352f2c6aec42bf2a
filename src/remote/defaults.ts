/** Constants shared by the backends, kept apart so importing them does not load undici. */
export const DEFAULT_BASE_URL = 'https://app.nex.ai/api/developers';
/** Retries of one status read or one trigger (a watch has its own, larger budget). */
export const DEFAULT_REQUEST_RETRIES = 4;
