// The engine section, the same in an instance's configuration and in a release spec.
import { z } from 'zod';

const positiveInt = z.coerce.number().int().positive();

export const engineSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('lexicon') }).strict(),
  z
    .object({
      kind: z.literal('openai'),
      baseUrl: z.url({ protocol: /^https?$/ }),
      model: z.string().min(1).default('Qwen/Qwen3Guard-Gen-4B'),
      revision: z.string().min(1).optional(),
      /** Better given as GUARDGATE_ENGINE_API_KEY than written in a file. */
      apiKey: z.string().optional(),
      timeoutMs: positiveInt.default(10_000),
      concurrency: positiveInt.default(32),
      retries: z.coerce.number().int().min(0).max(5).default(2),
      maxTokens: positiveInt.default(128),
      fallback: z.enum(['none', 'lexicon']).default('none'),
    })
    .strict(),
]);
