// Socket-level failures: the request may not have reached the peer, or the peer's answer was lost
// before its first byte. Shared by the engines and the router, which both retry them (a verdict is idempotent).

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Did the connection fail (refused, reset, unreachable) rather than the request? */
export const isConnectionError = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && CONNECTION_ERRORS.has((error as { code?: string }).code ?? '');

/** The client's address as one form: an IPv4 client of a dual-stack listener (`::ffff:127.0.0.1`) is its IPv4 address. */
export function clientAddress(socket: { remoteAddress?: string | undefined }): string {
  const address = socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
