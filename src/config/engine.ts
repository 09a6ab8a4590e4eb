// The engine section, the same in an instance's configuration and in a release spec. Secrets in it are
// references, resolved into the engine's own config only where the engine runs.
import { z } from 'zod';
import { positiveInt } from './schema-parts.js';
import type { EngineConfig } from '../engines/create.js';
import { resolveSecret, secretRefSchema } from './secret.js';
import { threadsFor } from '../engines/llamacpp-threads.js';
import { basename } from 'node:path';
import { knownModel } from '../models/catalog.js';
import { modelPathOf } from '../models/store.js';
import { PROMPT_TEMPLATES } from '../engines/qwen3guard-prompt.js';

/** Which engine judges: the embedded rules, an OpenAI-compatible server, or a GGUF file. */
export const engineSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('lexicon') }).strict(),
  z
    .object({
      kind: z.literal('openai'),
      baseUrl: z.url({ protocol: /^https?$/ }),
      model: z.string().min(1).default('Qwen/Qwen3Guard-Gen-4B'),
      revision: z.string().min(1).optional(),
      /** The model server's API key, by reference: `{ env: VLLM_API_KEY }` or `{ file: /run/secrets/vllm }`. */
      apiKey: secretRefSchema.optional(),
      timeoutMs: positiveInt.default(10_000),
      concurrency: positiveInt.default(32),
      retries: z.coerce.number().int().min(0).max(5).default(2),
      maxTokens: positiveInt.default(128),
      fallback: z.enum(['none', 'lexicon']).default('none'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('llamacpp'),
      /** A GGUF file's path, or the name of one `guardgate model pull` fetched (GUARDGATE_MODELS). */
      model: z.string().min(1),
      /** CPU threads per concurrent verdict; default: the cores shared among them; never more than the machine has. */
      threads: positiveInt.optional(),
      contextSize: positiveInt.min(256).default(8_192),
      gpuLayers: z.coerce.number().int().min(0).default(0),
      concurrency: positiveInt.max(64).default(1),
      maxQueued: z.coerce.number().int().min(0).default(16),
      timeoutMs: positiveInt.default(30_000),
      maxTokens: positiveInt.max(512).default(64),
      /** The prompt: the GGUF's chat template (`gguf`), Qwen3Guard-Gen's published one (`qwen3guard`), or `auto`. */
      template: z.enum(PROMPT_TEMPLATES).default('auto'),
    })
    .strict(),
]);

/** An engine as configured: secrets named, not resolved. Safe to store, hash and show. */
export type EngineSpec = z.output<typeof engineSchema>;

/** The engine's runtime configuration, with its secrets resolved from the environment or files. */
export function resolveEngine(spec: EngineSpec, env: NodeJS.ProcessEnv): EngineConfig {
  if (spec.kind === 'lexicon') return spec;
  if (spec.kind === 'llamacpp') {
    const { model, threads, ...rest } = spec;
    const modelPath = modelPathOf(model, env);
    const known = knownModel(basename(modelPath, '.gguf'));
    return {
      ...rest,
      modelPath,
      ...(known === undefined ? {} : { missingHint: `guardgate model pull ${known.name}` }),
      threads: threadsFor(threads, spec.concurrency),
    };
  }
  const { apiKey, ...rest } = spec;
  return apiKey === undefined ? rest : { ...rest, apiKey: resolveSecret(apiKey, env) };
}
