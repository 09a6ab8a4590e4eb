// A small upstream on loopback that says who it is, echoes what it got, and can be slowed, failed or
// made unready; it counts its open connections.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Echo {
  name: string;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestUpstream {
  name: string;
  url: string;
  ready: boolean;
  /** When set, whether a health check on that connection (numbered from 1 as they open) is answered ready. */
  readyFor?: (connection: number) => boolean;
  /** Milliseconds to wait before answering a non-health request. */
  delayMs: number;
  /** Milliseconds to wait before answering a health check. */
  healthDelayMs: number;
  /** The status of non-health answers (200 unless a test says otherwise). */
  status: number;
  /** How many health checks (GET /readyz) it has answered. */
  healthChecks: number;
  /** Requests (not health checks) received and not answered yet, and the most there were at once. */
  pending: number;
  peakPending: number;
  received: Echo[];
  openConnections(): number;
  close(): Promise<void>;
}

export async function startUpstream(name: string, port = 0): Promise<TestUpstream> {
  const sockets = new Set<Socket>();
  const upstream = {
    name,
    ready: true,
    delayMs: 0,
    healthDelayMs: 0,
    status: 200,
    healthChecks: 0,
    pending: 0,
    peakPending: 0,
    received: [] as Echo[],
    readyFor: undefined as ((connection: number) => boolean) | undefined,
  };
  const connections = new WeakMap<Socket, number>();
  const server: Server = createServer((req, res) => {
    if (req.url === '/readyz') {
      upstream.healthChecks++;
      const answer = () => {
        const ready = upstream.readyFor?.(connections.get(req.socket)!) ?? upstream.ready;
        res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready }));
      };
      if (upstream.healthDelayMs > 0) setTimeout(answer, upstream.healthDelayMs);
      else answer();
      return;
    }
    const large = /^\/large\?bytes=(\d+)$/.exec(req.url ?? '');
    if (large !== null) {
      // A streamed answer (chunked) of the given size: byte i is i % 251.
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const total = Number(large[1]);
      const more = () => {
        while (sent < total) {
          const chunk = Buffer.alloc(Math.min(65_536, total - sent), 0).map((_, i) => (sent + i) % 251);
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const echo: Echo = {
        name,
        method: req.method!,
        path: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      upstream.received.push(echo);
      upstream.peakPending = Math.max(upstream.peakPending, ++upstream.pending);
      const answer = () => {
        upstream.pending--;
        res
          .writeHead(upstream.status, {
            'content-type': 'application/json',
            'x-upstream': name,
            'set-cookie': ['a=1', 'b=2'],
          })
          .end(JSON.stringify(echo));
      };
      if (upstream.delayMs > 0) setTimeout(answer, upstream.delayMs);
      else answer();
    });
  });
  let opened = 0;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    connections.set(socket, ++opened);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return Object.assign(upstream, {
    url: `http://127.0.0.1:${bound}`,
    openConnections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
