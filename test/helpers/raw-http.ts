// Raw HTTP/1.x over a socket, for hostile-input tests: send exactly these bytes, half-close, and read every
// response that comes back until the server closes the connection.
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawExchange {
  responses: RawResponse[];
  /** The server neither answered nor closed within the deadline. */
  hung: boolean;
  /** Bytes that did not parse as a response (a bare status line from the HTTP parser, say). */
  garbage: string | null;
}

function indexOfCrlf2(buffer: Buffer, from: number): number {
  return buffer.indexOf('\r\n\r\n', from, 'latin1');
}

/**
 * Parse the responses in `data`, the i-th answering `methods[i]` (a HEAD's response has no body); whatever
 * does not parse is returned as garbage.
 */
export function parseResponses(
  data: Buffer,
  methods: readonly string[] = [],
): { responses: RawResponse[]; garbage: string | null } {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const end = indexOfCrlf2(data, at);
    if (end < 0) return { responses, garbage: data.subarray(at).toString('latin1').slice(0, 200) };
    const lines = data.subarray(at, end).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (match === null) return { responses, garbage: lines[0]!.slice(0, 200) };
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(match[1]);
    let bodyStart = end + 4;
    let body: Buffer = Buffer.alloc(0);
    if (status === 100) {
      at = bodyStart;
      continue;
    }
    if (status === 304 || status === 204 || methods[responses.length] === 'HEAD') {
      // no body
    } else if (headers['transfer-encoding']?.includes('chunked')) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = data.indexOf('\r\n', bodyStart, 'latin1');
        if (lineEnd < 0) return { responses, garbage: 'truncated chunked body' };
        const size = parseInt(data.subarray(bodyStart, lineEnd).toString('latin1'), 16);
        bodyStart = lineEnd + 2;
        if (size === 0) {
          bodyStart += 2;
          break;
        }
        parts.push(data.subarray(bodyStart, bodyStart + size));
        bodyStart += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      body = data.subarray(bodyStart, bodyStart + length);
      bodyStart += length;
    } else {
      body = data.subarray(bodyStart);
      bodyStart = data.length;
    }
    responses.push({ status, headers, body });
    at = bodyStart;
  }
  return { responses, garbage: null };
}

/** Send `bytes` to host:port, close our side, collect the answers until the server closes (or the deadline). */
/**
 * With `expect`, the connection stays open (no half-close) until that many responses have arrived, as a
 * pipelining client that waits for its answers.
 */
export function exchange(
  host: string,
  port: number,
  bytes: Buffer,
  options: { timeoutMs?: number; methods?: readonly string[]; halfClose?: boolean; expect?: number } = {},
): Promise<RawExchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host, port });
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      socket.destroy();
    }, options.timeoutMs ?? 10_000);
    socket.on('connect', () => {
      socket.write(bytes);
      if (options.halfClose !== false && options.expect === undefined) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (
        options.expect !== undefined &&
        parseResponses(Buffer.concat(chunks), options.methods).responses.length >= options.expect
      )
        socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const parsed = parseResponses(Buffer.concat(chunks), options.methods);
      resolve({ ...parsed, hung });
    });
  });
}
