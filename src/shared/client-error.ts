// Node's HTTP parser refuses some requests before any handler runs (bad chunked encoding, oversized or
// too many headers, smuggling attempts, slow headers). Node would answer those with a bare text status
// line; this answers with the same JSON error shape as every route, then closes the connection.
import type { Socket } from 'node:net';
import { ERROR_STATUS, type ErrorCode } from '../vocabulary/errors.js';

interface ClientError extends Error {
  code?: string;
}

const RESPONSES: Record<string, [reason: string, code: ErrorCode, message: string]> = {
  HPE_HEADER_OVERFLOW: ['Request Header Fields Too Large', 'headers_too_large', 'the request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: ['Request Timeout', 'request_timeout', 'the request was not received in time'],
  ERR_HTTP_HEADERS_TIMEOUT: ['Request Timeout', 'request_timeout', 'the request headers were not received in time'],
};
const BAD_REQUEST: [string, ErrorCode, string] = [
  'Bad Request',
  'invalid_request',
  'the request is not valid HTTP/1.1',
];

/** The raw response for a request the parser refused. */
export function clientErrorResponse(error: ClientError): string {
  const [reason, code, message] = RESPONSES[error.code ?? ''] ?? BAD_REQUEST;
  const status = ERROR_STATUS[code];
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/** A `clientError` listener: answer in JSON where the socket can still take it, then close. */
export function answerClientError(error: ClientError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(clientErrorResponse(error));
}
