// The production engine: Qwen3Guard-Gen behind any OpenAI-compatible chat-completions server (vLLM, SGLang).
import { Pool } from 'undici';
import { buildMessages, targetOf, type ModerationInput } from '../moderation/conversation.js';
import { GuardgateError, isGuardgateError } from '../vocabulary/errors.js';
import { parseGuardOutput } from '../moderation/parse.js';
import { isConnectionError } from '../shared/net.js';
import type { EngineInfo } from '../moderation/verdict.js';
import { fingerprintOf, type ClassifyOptions, type Engine, type EngineResult } from './engine.js';

/** Where the OpenAI-compatible model server is, and how it is asked. */
export interface OpenAIEngineConfig {
  /** The server's OpenAI base URL, with its `/v1`: `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  /** The served model name: `Qwen/Qwen3Guard-Gen-4B`. */
  model: string;
  /** The model's revision or any label that tells two deployments of the same name apart. */
  revision?: string | undefined;
  apiKey?: string | undefined;
  /** Deadline for one verdict, queueing and retries included. */
  timeoutMs: number;
  /** Requests in flight to the server at once; more wait in line. */
  concurrency: number;
  /** Extra attempts after a connection error (a verdict is idempotent). */
  retries: number;
  /** Upstream uses 128; a verdict is 8 to 14 tokens. */
  maxTokens: number;
}

const CONTEXT_TOO_LONG =
  /context length|maximum context|too long|max_model_len|prompt is too long|exceeds the maximum/i;

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

interface ChatCompletion {
  model?: string;
  choices?: Array<{ message?: { content?: string | null } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

/** Qwen3Guard-Gen behind a vLLM or SGLang server (OpenAI-compatible chat completions). */
export class OpenAIEngine implements Engine {
  readonly info: EngineInfo;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly config: OpenAIEngineConfig) {
    const url = new URL(config.baseUrl);
    this.path = `${url.pathname.replace(/\/$/, '')}/chat/completions`;
    this.pool = new Pool(url.origin, { connections: config.concurrency, keepAliveTimeout: 30_000 });
    this.headers = { 'content-type': 'application/json' };
    if (config.apiKey) this.headers.authorization = `Bearer ${config.apiKey}`;
    this.info = {
      name: 'openai',
      model: config.model,
      version: config.revision ?? config.model,
      fingerprint: fingerprintOf([
        'openai',
        url.origin + this.path,
        config.model,
        config.revision ?? null,
        config.maxTokens,
      ]),
    };
  }

  async classify(input: ModerationInput, options: ClassifyOptions = {}): Promise<EngineResult> {
    const deadline = AbortSignal.timeout(this.config.timeoutMs);
    const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
    const body = JSON.stringify({
      model: this.config.model,
      messages: buildMessages(input),
      temperature: 0,
      max_tokens: this.config.maxTokens,
    });
    try {
      const { raw, usage } = await this.complete(body, signal, options.traceparent);
      return { ...parseGuardOutput(raw, targetOf(input)), raw, engine: this.info, degraded: false, usage };
    } catch (error) {
      if (isGuardgateError(error)) throw error;
      if (deadline.aborted) {
        throw new GuardgateError('engine_timeout', `engine did not answer within ${this.config.timeoutMs} ms`, {
          cause: error,
          retryAfter: 1,
        });
      }
      if (options.signal?.aborted) throw error;
      throw new GuardgateError('engine_unavailable', `engine request failed: ${(error as Error).message}`, {
        cause: error,
        retryAfter: 1,
      });
    }
  }

  /** POST the chat completion, retrying connection errors, and return the message text. */
  private async complete(
    body: string,
    signal: AbortSignal,
    traceparent: string | undefined,
  ): Promise<{ raw: string; usage: EngineResult['usage'] }> {
    // The model server continues the trace (vLLM and SGLang read traceparent when they trace).
    const headers = traceparent === undefined ? this.headers : { ...this.headers, traceparent };
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.pool.request({ method: 'POST', path: this.path, headers, body, signal });
        const text = await response.body.text();
        if (response.statusCode !== 200)
          throw this.httpError(response.statusCode, text, response.headers['retry-after']);
        return this.contentOf(text);
      } catch (error) {
        if (!isConnectionError(error) || attempt >= this.config.retries || signal.aborted) throw error;
        await sleep(25 * 2 ** attempt, signal);
      }
    }
  }

  private httpError(status: number, text: string, retryAfterHeader: string | string[] | undefined): GuardgateError {
    if (status === 400 && CONTEXT_TOO_LONG.test(text)) {
      return new GuardgateError(
        'text_too_long',
        "text is longer than the model's context; it is rejected, not truncated",
      );
    }
    const retryAfter = Number(Array.isArray(retryAfterHeader) ? retryAfterHeader[0] : retryAfterHeader) || 1;
    const detail = status === 401 || status === 403 ? 'the engine rejected our credentials' : text.slice(0, 200);
    return new GuardgateError('engine_unavailable', `engine answered HTTP ${status}: ${detail}`, { retryAfter });
  }

  private contentOf(text: string): { raw: string; usage: EngineResult['usage'] } {
    let completion: ChatCompletion;
    try {
      completion = JSON.parse(text) as ChatCompletion;
    } catch (error) {
      throw new GuardgateError('engine_invalid_output', `engine answered with invalid JSON: ${text.slice(0, 200)}`, {
        cause: error,
      });
    }
    const content = completion.choices?.[0]?.message?.content;
    if (typeof content !== 'string') {
      throw new GuardgateError('engine_invalid_output', 'engine answer has no choices[0].message.content');
    }
    const usage = completion.usage;
    return {
      raw: content,
      usage:
        typeof usage?.prompt_tokens === 'number' && typeof usage.completion_tokens === 'number'
          ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }
          : undefined,
    };
  }

  /** Called once nobody waits for an answer any more (the listener is closed): drop what is left. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
