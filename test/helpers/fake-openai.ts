// A fake OpenAI-compatible server on loopback that plays Qwen3Guard-Gen: it answers with the body shape
// vLLM sends (QWEN3GUARD.md), and misbehaves on purpose when told to.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatMessage } from '../../src/moderation/conversation.js';
import { judge } from '../../src/engines/lexicon/judge.js';
import { formatGuardOutput } from '../../src/moderation/parse.js';

export type Behaviour =
  | { kind: 'model' }
  | { kind: 'content'; content: string }
  | { kind: 'slow'; ms: number }
  | { kind: 'status'; status: number; body?: string; retryAfter?: string }
  | { kind: 'invalid-json' }
  | { kind: 'drop' };

export interface ReceivedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: { model: string; messages: ChatMessage[]; temperature: number; max_tokens: number };
}

export interface FakeOpenAI {
  baseUrl: string;
  received: ReceivedRequest[];
  /** What the next requests get; a queue of one-shot behaviours is taken first. */
  behaviour: Behaviour;
  once: Behaviour[];
  /** The most requests the fake was answering at one moment. */
  maxInFlight: number;
  close(): Promise<void>;
}

/** What the fake model writes: the rules' verdict in Qwen3Guard's exact format. */
function modelOutput(messages: ChatMessage[]): string {
  const prompt = messages.find((m) => m.role === 'user')?.content ?? '';
  const response = messages.find((m) => m.role === 'assistant')?.content;
  return formatGuardOutput(judge({ prompt, response }));
}

function completion(model: string, content: string): string {
  return JSON.stringify({
    id: `chatcmpl-${Math.random().toString(16).slice(2)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', reasoning_content: null, content, tool_calls: [] },
        logprobs: null,
        finish_reason: 'stop',
        stop_reason: null,
      },
    ],
    usage: { prompt_tokens: 445, total_tokens: 459, completion_tokens: 14 },
  });
}

export async function startFakeOpenAI(host = '127.0.0.1', listenPort = 0): Promise<FakeOpenAI> {
  const fake: Omit<FakeOpenAI, 'baseUrl' | 'close'> = {
    received: [],
    behaviour: { kind: 'model' },
    once: [],
    maxInFlight: 0,
  };
  let inFlight = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    fake.maxInFlight = Math.max(fake.maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    // vLLM's health check.
    if (req.method === 'GET' && req.url === '/health') return void res.writeHead(200).end();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedRequest['body'];
      fake.received.push({ path: req.url ?? '', headers: req.headers, body });
      const behaviour = fake.once.shift() ?? fake.behaviour;
      const send = (status: number, text: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(text);
      };
      switch (behaviour.kind) {
        case 'model':
          return send(200, completion(body.model, modelOutput(body.messages)));
        case 'content':
          return send(200, completion(body.model, behaviour.content));
        case 'slow':
          setTimeout(() => send(200, completion(body.model, modelOutput(body.messages))), behaviour.ms).unref();
          return;
        case 'status':
          return send(
            behaviour.status,
            behaviour.body ?? JSON.stringify({ object: 'error', message: 'server error' }),
            behaviour.retryAfter ? { 'retry-after': behaviour.retryAfter } : {},
          );
        case 'invalid-json':
          return send(200, '<html>502 Bad Gateway</html>');
        case 'drop':
          req.socket.destroy();
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(listenPort, host, resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    baseUrl: `http://${host}:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
