// A seeded generator of hostile HTTP requests: mutated JSON, deep nesting, huge numbers, prototype keys,
// invalid UTF-8, oversized and countless headers, bad chunking, CL+TE smuggling pairs, HTTP/1.0,
// pipelining, Expect, absolute-form and encoded targets, odd methods and content types.

/** mulberry32: a small seeded PRNG, so that a failing case can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Target = 'public' | 'instance' | 'admin';

export interface HostileCase {
  target: Target;
  kind: string;
  bytes: Buffer;
  /** The method of each request in the bytes, in order (a HEAD's response has no body). */
  methods: string[];
}

const PREDICT_BODIES = [
  '{"prompt":"How can I kill a Python process?"}',
  '{"prompt":"How do I make a pipe bomb?","policy":"loose"}',
  '{"prompt":"Tell me a joke","response":"I cannot help with that."}',
  '{"inputs":[{"prompt":"one"},{"prompt":"two","response":"ok"}],"policy":"strict"}',
];
const MODERATION_BODIES = [
  '{"input":"I want to hurt someone"}',
  '{"input":["a","b","c"],"model":"omni-moderation-latest"}',
  '{"input":[{"type":"text","text":"hi"}]}',
];
const ADMIN_BODIES = ['{"instances":["http://127.0.0.1:9"],"version":"x"}', '{"force":true}', '{}', '{"fraction":0.5}'];
const TOKENS = [
  '{',
  '}',
  '[',
  ']',
  '"',
  ',',
  ':',
  '\\',
  '\\u0000',
  '\\ud800',
  '__proto__',
  '"__proto__":{"x":1},',
  '1e309',
  '-0',
  'null',
  'true',
  '[]',
  '{}',
  'NaN',
  '\u0000',
  '\u2028',
  '9'.repeat(400),
];

export function hostileCases(count: number, seed: number, adminToken: string): HostileCase[] {
  const random = seeded(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

  const mutate = (text: string): Buffer => {
    let bytes = Buffer.from(text);
    for (let m = 1 + int(5); m > 0; m--) {
      const at = int(bytes.length + 1);
      switch (int(5)) {
        case 0:
          if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = int(256);
          break;
        case 1:
          bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + int(8)))]);
          break;
        case 2:
          bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(pick(TOKENS)), bytes.subarray(at)]);
          break;
        case 3:
          bytes = Buffer.concat([bytes.subarray(0, at), randomBytes(1 + int(6)), bytes.subarray(at)]);
          break;
        default:
          bytes = bytes.subarray(0, at);
      }
    }
    return bytes;
  };

  const deep = (): Buffer => {
    const depth = pick([65, 100, 1_000, 10_000, 100_000]);
    const shape = int(3);
    if (shape === 0) return Buffer.from('['.repeat(depth) + ']'.repeat(depth));
    if (shape === 1) return Buffer.from(`{"prompt":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`);
    return Buffer.from(`{"inputs":${'['.repeat(depth)}${']'.repeat(depth)}}`);
  };

  const bodies: Record<Target, string[]> = {
    public: [...PREDICT_BODIES, ...MODERATION_BODIES],
    instance: [...PREDICT_BODIES, ...MODERATION_BODIES],
    admin: ADMIN_BODIES,
  };
  const paths: Record<Target, string[]> = {
    public: ['/predict', '/v1/moderations'],
    instance: ['/predict', '/v1/moderations'],
    // With the admin token only routes whose success changes nothing that live traffic depends on.
    admin: [
      '/admin/pools/purple',
      '/admin/promote',
      '/admin/abort',
      '/admin/rollback',
      '/admin/switch',
      '/admin/releases',
    ],
  };

  const body = (target: Target): Buffer => {
    switch (int(7)) {
      case 0:
        return deep();
      case 1:
        return Buffer.from(
          pick([
            `{"prompt":1e999999}`,
            `{"prompt":"x","policy":${'9'.repeat(500)}}`,
            `{"inputs":${'9'.repeat(1000)}}`,
            `{"input":-1e-400}`,
            `{"prompt":"x","response":123456789012345678901234567890}`,
          ]),
        );
      case 2:
        return Buffer.from(
          pick([
            '{"__proto__":{"admin":true},"prompt":"x"}',
            '{"constructor":{"prototype":{"polluted":1}},"prompt":"x"}',
            '{"inputs":[{"__proto__":{"prompt":"y"}}]}',
            '{"prompt":"x","__proto__":null}',
          ]),
        );
      case 3:
        return Buffer.concat([Buffer.from('{"prompt":"'), randomBytes(1 + int(200)), Buffer.from('"}')]);
      default:
        return mutate(pick(bodies[target]));
    }
  };

  const request = (
    target: Target,
    options: {
      method?: string;
      path?: string;
      version?: string;
      headers?: string[];
      body?: Buffer;
      omitLength?: boolean;
    } = {},
  ): Buffer => {
    const payload = options.body ?? body(target);
    const method = options.method ?? 'POST';
    const headers = ['Host: 127.0.0.1', ...(options.headers ?? ['Content-Type: application/json'])];
    if (!options.omitLength && method !== 'GET' && method !== 'HEAD') headers.push(`Content-Length: ${payload.length}`);
    if (target === 'admin' && random() < 0.7)
      headers.push(`Authorization: Bearer ${random() < 0.8 ? adminToken : 'wrong-token'}`);
    const head = `${method} ${options.path ?? pick(paths[target])} ${options.version ?? 'HTTP/1.1'}\r\n${headers.join('\r\n')}\r\n\r\n`;
    return Buffer.concat([
      Buffer.from(head, 'latin1'),
      method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : payload,
    ]);
  };

  const cases: HostileCase[] = [];
  for (let i = 0; i < count; i++) {
    const target: Target = pick(['public', 'public', 'public', 'instance', 'instance', 'admin', 'admin']);
    const kind = pick([
      'body',
      'body',
      'body',
      'body',
      'headers',
      'chunked',
      'smuggle',
      'http10',
      'pipeline',
      'expect',
      'target',
      'method',
      'content-type',
    ]);
    let bytes: Buffer;
    let methods = ['POST'];
    switch (kind) {
      case 'headers': {
        const shape = int(4);
        const headers =
          shape === 0
            ? ['Content-Type: application/json', `X-Big: ${'a'.repeat(65_536)}`]
            : shape === 1
              ? ['Content-Type: application/json', ...Array.from({ length: 200 + int(800) }, (_, n) => `X-H${n}: ${n}`)]
              : shape === 2
                ? [
                    'Content-Type: application/json',
                    `X-Bytes: ${randomBytes(40)
                      .toString('latin1')
                      .replace(/[\r\n]/g, '')}`,
                  ]
                : [
                    'Content-Type: application/json',
                    `Traceparent: ${randomBytes(60).toString('base64')}`,
                    `X-Request-Id: ${'../'.repeat(100)}`,
                    'X-Guardgate-Mirror: 1',
                  ];
        bytes = request(target, { headers });
        break;
      }
      case 'chunked': {
        const chunk = pick([
          'zz\r\nhello\r\n0\r\n\r\n',
          '5\r\nhello0\r\n\r\n',
          'ffffffffffffffffff\r\nx\r\n',
          '-1\r\nx\r\n0\r\n\r\n',
          '3;ext=1\r\n{}x\r\n0\r\n\r\n',
          '2\r\n{}\r\n0\r\nTrailer: x\r\n\r\n',
          '0\r\n\r\n',
          `${(20).toString(16)}\r\n{"prompt":"chunked!"}\r\n0\r\n\r\n`,
        ]);
        bytes = request(target, {
          headers: ['Content-Type: application/json', 'Transfer-Encoding: chunked'],
          body: Buffer.from(chunk),
          omitLength: true,
        });
        break;
      }
      case 'smuggle': {
        const shape = pick([
          ['Content-Length: 4', 'Transfer-Encoding: chunked'],
          ['Transfer-Encoding: chunked', 'Content-Length: 100'],
          ['Content-Length: 4', 'Content-Length: 40'],
          ['Transfer-Encoding: chunked', 'Transfer-Encoding: identity'],
          ['Transfer-Encoding: chunked, identity'],
          ['Transfer-Encoding : chunked'],
          ['Transfer-Encoding:\tchunked'],
          ['X-Folded: a\r\n  Transfer-Encoding: chunked'],
        ]);
        bytes = request(target, {
          headers: ['Content-Type: application/json', ...shape],
          body: Buffer.from(`0\r\n\r\nPOST /admin/switch HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`),
          omitLength: true,
        });
        break;
      }
      case 'http10':
        bytes = request(target, {
          version: 'HTTP/1.0',
          headers:
            random() < 0.5
              ? ['Content-Type: application/json', 'Connection: keep-alive']
              : ['Content-Type: application/json'],
        });
        break;
      case 'pipeline': {
        const parts = Array.from({ length: 2 + int(4) }, () =>
          random() < 0.2 ? request(target, { method: 'HEAD', path: '/healthz' }) : request(target),
        );
        methods = parts.map((p) => p.subarray(0, p.indexOf(' ')).toString());
        bytes = Buffer.concat(parts);
        break;
      }
      case 'expect':
        bytes = request(target, {
          headers: [
            'Content-Type: application/json',
            pick(['Expect: 100-continue', 'Expect: 100-continue', 'Expect: something-else']),
          ],
        });
        if (random() < 0.3)
          bytes = Buffer.from(
            bytes.toString('latin1').replace(/Content-Length: \d+/, 'Content-Length: 5000000'),
            'latin1',
          );
        break;
      case 'target':
        bytes = request(target, {
          path: pick([
            'http://127.0.0.1/predict',
            'https://example.com/predict',
            'ftp://x/predict',
            '*',
            '/%70redict',
            '/predict%00',
            '/%2e%2e/admin/status',
            '/%',
            '/%zz',
            `/${'a'.repeat(8_000)}`,
            '/predict?%',
            '/predict/../admin/status',
            '//predict',
            '/v1/moderations?input=x&input=y',
            '/%61dmin/status',
            '/admin/%2e%2e/admin/status',
          ]),
        });
        break;
      case 'method': {
        const method = pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'BREW', 'get', 'TRACE', 'CONNECT']);
        methods = [method];
        bytes = request(target, { method });
        break;
      }
      case 'content-type':
        bytes = request(target, {
          headers: [
            pick([
              'Content-Type: text/plain',
              'Content-Type: application/x-www-form-urlencoded',
              'Content-Type: multipart/form-data; boundary=x',
              'Content-Type: application/json; charset=latin1',
              'Content-Type: application/json; charset=utf-16',
              'Content-Type: ',
              'Content-Type: application/jsonx',
              'X-No-Type: 1',
            ]),
          ],
        });
        break;
      default:
        bytes = request(target);
    }
    cases.push({ target, kind, bytes, methods });
  }
  return cases;
}
