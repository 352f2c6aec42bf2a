/**
 * What one HTTP exchange needs from a client — the shape of undici's request API, which both
 * undici's dispatchers and the node:http transport (node-http.ts) give — and its timeouts.
 */
export const CONNECT_TIMEOUT_MS = 10_000;
export const HEADERS_TIMEOUT_MS = 30_000;
export const BODY_TIMEOUT_MS = 30_000;

export interface TransportRequest {
  origin: string;
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface TransportResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<unknown> & { dump(): Promise<unknown>; destroy(): unknown };
}

export interface Transport {
  request(request: TransportRequest): Promise<TransportResponse>;
}
