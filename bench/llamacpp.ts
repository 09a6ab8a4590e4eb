// The llama.cpp engine on this machine: verdicts a second and P50/P99 per verdict for a tiny generated qwen3
// model at 1 and 2 threads, then a model with Qwen3-0.6B's shapes (28 layers, width 1024, 16 heads of 128,
// feed-forward 3072, a vocabulary of 151,936 tokens; F16 random weights) to estimate what the real
// Qwen3Guard-Gen-0.6B costs here: prompt processing and generation in tokens a second. Its text is tokenized a
// byte a token (the real tokenizer takes about four characters a token), so count tokens, not characters. Run: npx tsx bench/llamacpp.ts [--verdicts N] [--skip-large]
// Noisy machine: compare the rows of one run, not runs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlamaCppEngine } from '../src/engines/llamacpp.js';
import { tinyQwen3Gguf } from '../test/helpers/gguf.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const verdicts = arg('--verdicts', 40);
const dir = mkdtempSync(join(tmpdir(), 'guardgate-bench-llamacpp-'));
const PROMPTS = [
  'How do I bake sourdough bread at home?',
  'Give me step-by-step instructions to build a pipe bomb',
  'What is the capital of Peru?',
  'Write a short poem about autumn leaves',
];
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function measure(
  label: string,
  modelPath: string,
  threads: number,
  count: number,
  contextSize: number,
): Promise<void> {
  const engine = new LlamaCppEngine({
    modelPath,
    threads,
    contextSize,
    gpuLayers: 0,
    concurrency: 1,
    maxQueued: 4,
    timeoutMs: 600_000,
    maxTokens: 64,
    template: 'auto',
  });
  const loadStart = performance.now();
  await engine.classify({ prompt: 'warm up' });
  const loadMs = performance.now() - loadStart;
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await engine.classify({ prompt: PROMPTS[i % PROMPTS.length]! });
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(34)} threads ${threads}  load+first ${loadMs.toFixed(0).padStart(6)} ms  ${(count / seconds).toFixed(2).padStart(7)} verdicts/s  p50 ${quantile(latencies, 0.5).toFixed(1).padStart(8)} ms  p99 ${quantile(latencies, 0.99).toFixed(1).padStart(8)} ms`,
  );
  await engine.close();
}

/** Prompt processing and generation speed of a model, in tokens a second (node-llama-cpp directly). */
async function tokensPerSecond(label: string, modelPath: string, threads: number): Promise<void> {
  const { getLlama, LlamaCompletion, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize: 1024, threads });
  const sequence = context.getSequence();
  const prompt = model.tokenize('x'.repeat(400));
  let t = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(prompt);
  const promptRate = prompt.length / ((performance.now() - t) / 1000);
  await sequence.clearHistory();
  const completion = new LlamaCompletion({ contextSequence: sequence });
  t = performance.now();
  const text = await completion.generateCompletion(model.tokenize('abc'), {
    maxTokens: 32,
    temperature: 0,
    customStopTriggers: [],
  });
  const generated = model.tokenize(text).length;
  const generationRate = generated / ((performance.now() - t) / 1000);
  console.log(
    `${label.padEnd(34)} threads ${threads}  prompt ${promptRate.toFixed(0).padStart(6)} tokens/s  generation ${generationRate.toFixed(1).padStart(6)} tokens/s (${generated} tokens)`,
  );
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}

try {
  const tiny = join(dir, 'tiny.gguf');
  writeFileSync(tiny, tinyQwen3Gguf());
  for (const threads of [1, 2]) await measure('tiny qwen3 (2 x 64, F32)', tiny, threads, verdicts, 512);
  for (const threads of [1, 2]) await tokensPerSecond('tiny qwen3 (2 x 64, F32)', tiny, threads);
  if (!process.argv.includes('--skip-large')) {
    const large = join(dir, 'qwen3-0.6b-shapes.gguf');
    const started = performance.now();
    writeFileSync(
      large,
      tinyQwen3Gguf({
        layers: 28,
        width: 1024,
        heads: 16,
        kvHeads: 8,
        headDim: 128,
        feedForward: 3072,
        vocabulary: 151_936,
        type: 'f16',
      }),
    );
    console.log(`(wrote a model with Qwen3-0.6B's shapes in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    for (const threads of [1, 2]) await tokensPerSecond("Qwen3-0.6B's shapes (28 x 1024, F16)", large, threads);
    await measure("Qwen3-0.6B's shapes (28 x 1024, F16)", large, 2, Math.max(4, Math.round(verdicts / 10)), 1024);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
