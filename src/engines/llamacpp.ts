// Qwen3Guard-Gen on this machine: a GGUF file through llama.cpp (node-llama-cpp, CPU prebuilt binaries, never
// built or downloaded at run time). The prompt is the model's own chat template from the GGUF, rendered with the
// plain messages (no system prompt of ours: the template carries the policy), or, for a Qwen3Guard model whose
// template the JS template engine cannot render, Qwen3Guard-Gen's published rendering (`template`: auto, gguf,
// qwen3guard); the output is held to Qwen3Guard's
// format by a grammar, so that a verdict always parses. Sequences of one context serve requests side by side;
// more wait in a bounded queue, and past it get 503 engine_busy. The model loads in the background: the
// instance is ready once a warm-up verdict came back.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Llama, LlamaContext, LlamaContextSequence, LlamaGrammar, LlamaModel, Token } from 'node-llama-cpp';
import { setTimeout as delay } from 'node:timers/promises';
import type { PromptTemplate } from './qwen3guard-prompt.js';
import { buildMessages, targetOf, type ModerationInput } from '../moderation/conversation.js';
import { GuardgateError } from '../vocabulary/errors.js';
import { parseGuardOutput } from '../moderation/parse.js';
import type { EngineInfo } from '../moderation/verdict.js';
import { modelDigest } from './llamacpp-digest.js';
import { guardGrammar } from './llamacpp-grammar.js';
import { choosePrompt, splitAtMarks, type Render } from './llamacpp-template.js';
import { fingerprintOf, type ClassifyOptions, type Engine, type EngineResult } from './engine.js';

/** How the llama.cpp engine runs a GGUF file. */
export interface LlamaCppEngineConfig {
  /** The GGUF file. */
  modelPath: string;
  /** What to tell a user whose model file is missing (how to pull it). */
  missingHint?: string;
  /** CPU threads per sequence; never more than the machine has. */
  threads: number;
  contextSize: number;
  gpuLayers: number;
  /** Requests judged at once (sequences of the context). */
  concurrency: number;
  /** Requests waiting at most; more get 503 engine_busy. */
  maxQueued: number;
  timeoutMs: number;
  maxTokens: number;
  /**
   * How the prompt is written: `gguf` the file's chat template, `qwen3guard` Qwen3Guard-Gen's published prompt,
   * `auto` the file's template when it renders here, else (for a Qwen3Guard model only) the published one.
   */
  template: PromptTemplate;
}

interface Loaded {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  render: Render;
  grammars: Record<'prompt' | 'response', LlamaGrammar>;
  free: LlamaContextSequence[];
}

/**
 * What `promise` gives, unless `signal` aborts first (then its reason). Leaves nothing behind: no listener, and no
 * promise that could reject later unhandled (which would end the process).
 */
const unlessAborted = <T>(promise: Promise<T>, signal: AbortSignal): Promise<T> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener('abort', onAbort), reject(error)),
    );
  });

/** Qwen3Guard-Gen from a GGUF file through llama.cpp, on this machine. */
export class LlamaCppEngine implements Engine {
  readonly info: EngineInfo;
  private readonly loading: Promise<Loaded>;
  private readonly waiting: Array<(sequence: LlamaContextSequence) => void> = [];
  private closed = false;
  /** Aborts every request when the engine closes. */
  private readonly shutdown = new AbortController();
  private running = 0;
  private drained: (() => void) | undefined;
  /** Which prompt the model reads, once it is loaded (logged when the instance is ready). */
  private prompting: Record<string, string> = {};

  constructor(private readonly config: LlamaCppEngineConfig) {
    if (!existsSync(config.modelPath)) {
      throw new GuardgateError(
        'engine_unavailable',
        `no model file at ${config.modelPath} (${config.missingHint ?? 'guardgate model pull NAME|URL, then name it in engine.model'})`,
      );
    }
    const digest = modelDigest(config.modelPath);
    this.info = {
      name: 'llamacpp',
      model: basename(config.modelPath).replace(/\.gguf$/, ''),
      version: `sha256:${digest.slice(0, 12)}`,
      // The model file and everything that can change its answers; threads and queue sizes cannot.
      fingerprint: fingerprintOf(['llamacpp', digest, config.contextSize, config.maxTokens, config.template]),
    };
    this.loading = this.load();
    this.loading.catch(() => undefined); // a failed load is reported by classify and the warm-up
  }

  private async load(): Promise<Loaded> {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    const llama = await getLlama({
      gpu: this.config.gpuLayers > 0 ? 'auto' : false,
      build: 'never',
      logLevel: LlamaLogLevel.error,
    });
    let model: LlamaModel | undefined;
    let context: LlamaContext | undefined;
    try {
      model = await llama.loadModel({ modelPath: this.config.modelPath, gpuLayers: this.config.gpuLayers });
      const prompt = choosePrompt(this.config.template, {
        name: model.fileInfo.metadata.general?.name,
        template: model.fileInfo.metadata.tokenizer?.chat_template,
      });
      this.prompting = { template: prompt.source, ...(prompt.note === undefined ? {} : { note: prompt.note }) };
      context = await model.createContext({
        contextSize: this.config.contextSize,
        sequences: this.config.concurrency,
        threads: this.config.threads,
      });
      const grammars = {
        prompt: await llama.createGrammar({ grammar: guardGrammar('prompt') }),
        response: await llama.createGrammar({ grammar: guardGrammar('response') }),
      };
      const free = Array.from({ length: this.config.concurrency }, () => context!.getSequence());
      return { llama, model, context, render: prompt.render, grammars, free };
    } catch (error) {
      // What a failed load made is freed: the instance stays unready, not holding a model in memory.
      await context?.dispose();
      await model?.dispose();
      await llama.dispose();
      throw error;
    }
  }

  /**
   * The prompt's tokens: the template's own text with its special tokens, the messages' text without: a text
   * that writes `<|im_end|>` is those characters, never the end of its turn.
   */
  private promptTokens(loaded: Loaded, input: ModerationInput): Token[] {
    const messages = buildMessages(input);
    // The messages' text never goes through the template: markers stand in for it.
    const parts = splitAtMarks(loaded.render, messages);
    return parts.flatMap((part, i) =>
      i % 2 === 0 ? loaded.model.tokenize(part, true) : loaded.model.tokenize(messages[Number(part)]!.content, false),
    );
  }

  describe(): Record<string, unknown> {
    return {
      ...this.prompting,
      threads: this.config.threads,
      concurrency: this.config.concurrency,
      contextSize: this.config.contextSize,
    };
  }

  /** The prompt the model reads for an input, as tokens (for diagnostics and tests). */
  async prompt(input: ModerationInput): Promise<Token[]> {
    return this.promptTokens(await this.loading, input);
  }

  /** The same prompt as text (the messages' text in place; for diagnostics and tests). */
  async promptText(input: ModerationInput): Promise<string> {
    const messages = buildMessages(input);
    return splitAtMarks((await this.loading).render, messages)
      .map((part, i) => (i % 2 === 0 ? part : messages[Number(part)]!.content))
      .join('');
  }

  /** A free sequence, or a place in the queue; 503 engine_busy when the queue is full. */
  private acquire(loaded: Loaded, signal: AbortSignal): Promise<LlamaContextSequence> {
    signal.throwIfAborted();
    const free = loaded.free.pop();
    if (free !== undefined) return Promise.resolve(free);
    if (this.waiting.length >= this.config.maxQueued)
      throw new GuardgateError(
        'engine_busy',
        `${this.config.concurrency} verdicts are being judged and ${this.waiting.length} wait; try again shortly`,
        { retryAfter: 1 },
      );
    return new Promise((resolve, reject) => {
      const take = (sequence: LlamaContextSequence) => {
        signal.removeEventListener('abort', leave);
        resolve(sequence);
      };
      const leave = () => {
        this.waiting.splice(this.waiting.indexOf(take), 1);
        reject(signal.reason);
      };
      this.waiting.push(take);
      signal.addEventListener('abort', leave, { once: true });
    });
  }

  private release(loaded: Loaded, sequence: LlamaContextSequence): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(sequence);
    else loaded.free.push(sequence);
  }

  async classify(input: ModerationInput, options: ClassifyOptions = {}): Promise<EngineResult> {
    if (this.closed) throw new GuardgateError('engine_unavailable', 'the engine is closing');
    // One deadline from the start (a request waiting for the model to load waits no longer than for an answer).
    const timeout = AbortSignal.timeout(this.config.timeoutMs);
    const signal = AbortSignal.any([timeout, this.shutdown.signal, ...(options.signal ? [options.signal] : [])]);
    this.running++;
    let loaded: Loaded | undefined;
    let sequence: LlamaContextSequence | undefined;
    let completion: import('node-llama-cpp').LlamaCompletion | undefined;
    try {
      try {
        loaded = await unlessAborted(this.loading, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        throw error instanceof GuardgateError
          ? error
          : new GuardgateError('engine_unavailable', `the model could not be loaded: ${(error as Error).message}`, {
              cause: error,
            });
      }
      const target = targetOf(input);
      const tokens = this.promptTokens(loaded, input);
      if (tokens.length + this.config.maxTokens > this.config.contextSize) {
        throw new GuardgateError(
          'text_too_long',
          `the text is ${tokens.length} tokens with the template; the model's context holds ${this.config.contextSize - this.config.maxTokens}: it is rejected, not truncated`,
        );
      }
      signal.throwIfAborted();
      sequence = await this.acquire(loaded, signal);
      await sequence.clearHistory();
      const { LlamaCompletion } = await import('node-llama-cpp');
      completion = new LlamaCompletion({ contextSequence: sequence });
      // Greedy, as upstream decodes: no repeat penalty (node-llama-cpp applies one by default).
      const raw = await completion.generateCompletion(tokens, {
        grammar: loaded.grammars[target],
        maxTokens: this.config.maxTokens,
        temperature: 0,
        repeatPenalty: false,
        signal,
        stopOnAbortSignal: false,
      });
      const usage = { promptTokens: tokens.length, completionTokens: loaded.model.tokenize(raw, false).length };
      return { ...parseGuardOutput(raw, target), raw, engine: this.info, degraded: false, usage };
    } catch (error) {
      if (this.shutdown.signal.aborted)
        throw new GuardgateError('engine_unavailable', 'the engine is closing', { cause: error });
      if (timeout.aborted && !options.signal?.aborted)
        throw new GuardgateError('engine_timeout', `the model did not answer within ${this.config.timeoutMs} ms`, {
          cause: error,
          retryAfter: 1,
        });
      throw error;
    } finally {
      // The sequence outlives the completion: it goes back to the pool.
      completion?.dispose({ disposeSequence: false });
      if (loaded !== undefined && sequence !== undefined) this.release(loaded, sequence);
      if (--this.running === 0) this.drained?.();
    }
  }

  /** Stop: new requests are refused, waiting and running ones end (engine_unavailable), then the model is freed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.shutdown.abort(new GuardgateError('engine_unavailable', 'the engine is closing'));
    if (this.running > 0) await Promise.race([new Promise<void>((resolve) => (this.drained = resolve)), delay(10_000)]);
    const loaded = await this.loading.catch(() => undefined);
    if (loaded === undefined) return;
    await loaded.context.dispose();
    await loaded.model.dispose();
    await loaded.llama.dispose();
  }
}
