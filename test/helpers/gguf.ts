// A GGUF writer for tests: a tiny random-weight model of the `qwen3` architecture (2 layers, width 64, a
// byte-level BPE vocabulary of 256 byte tokens and the ChatML special tokens, a ChatML chat template), a few
// hundred KB, written in GGUF v3 with F32 tensors. Its verdicts are noise; a grammar still makes them parse.
const enum Kind {
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
}

type Value =
  | { kind: Kind.U32 | Kind.I32 | Kind.F32; value: number }
  | { kind: Kind.BOOL; value: boolean }
  | { kind: Kind.STRING; value: string }
  | { kind: Kind.ARRAY; of: Kind.STRING | Kind.I32; value: Array<string | number> };

class Writer {
  private readonly parts: Buffer[] = [];
  length = 0;
  bytes(buffer: Buffer): void {
    this.parts.push(buffer);
    this.length += buffer.length;
  }
  private fixed(size: number, write: (b: Buffer) => void): void {
    const b = Buffer.alloc(size);
    write(b);
    this.bytes(b);
  }
  u32 = (v: number) => this.fixed(4, (b) => b.writeUInt32LE(v));
  i32 = (v: number) => this.fixed(4, (b) => b.writeInt32LE(v));
  u64 = (v: number) => this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  f32 = (v: number) => this.fixed(4, (b) => b.writeFloatLE(v));
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.bytes(b);
  }
  scalar(kind: Kind, v: string | number | boolean): void {
    if (kind === Kind.U32) this.u32(v as number);
    else if (kind === Kind.I32) this.i32(v as number);
    else if (kind === Kind.F32) this.f32(v as number);
    else if (kind === Kind.BOOL) this.bytes(Buffer.from([v ? 1 : 0]));
    else this.string(v as string);
  }
  pad(alignment: number): void {
    this.bytes(Buffer.alloc((alignment - (this.length % alignment)) % alignment));
  }
  done = (): Buffer => Buffer.concat(this.parts);
}

/** GPT-2's byte-to-character table: byte-level BPE vocabularies name each byte by one printable character. */
function byteCharacters(): string[] {
  const printable = [
    ...Array.from({ length: 94 }, (_, i) => 33 + i),
    ...Array.from({ length: 12 }, (_, i) => 161 + i),
    ...Array.from({ length: 82 }, (_, i) => 174 + i),
  ];
  const chars: string[] = [];
  let extra = 0;
  for (let byte = 0; byte < 256; byte++)
    chars[byte] = String.fromCodePoint(printable.includes(byte) ? byte : 256 + extra++);
  return chars;
}

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface TinyModelOptions {
  layers?: number;
  width?: number;
  heads?: number;
  kvHeads?: number;
  /** Per attention head; default width / heads (Qwen3-0.6B: 128 with width 1024 and 16 heads). */
  headDim?: number;
  feedForward?: number;
  /** Tokens in all (default: the 256 bytes and 3 special tokens); more are unused placeholders, as wide as a real vocabulary. */
  vocabulary?: number;
  /** Weights as F32 (default) or F16 (half the file, what a converted model often is). */
  type?: 'f32' | 'f16';
  /** The model's name (general.name) and chat template (tokenizer.chat_template; null: none). */
  name?: string;
  chatTemplate?: string | null;
  /** Seeds the random weights: the same seed, the same bytes. */
  seed?: number;
}

/** IEEE 754 half precision bits of a float (round to nearest). */
function toHalf(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 127 + 15;
  const mantissa = x & 0x7fffff;
  if (exponent <= 0) return sign; // too small: zero (the weights here never are)
  if (exponent >= 31) return sign | 0x7c00;
  return sign | (exponent << 10) | ((mantissa + 0x1000) >>> 13);
}

export function tinyQwen3Gguf(options: TinyModelOptions = {}): Buffer {
  const { layers = 2, width = 64, heads = 4, kvHeads = 2, feedForward = 128, seed = 1, type = 'f32' } = options;
  const headDim = options.headDim ?? width / heads;
  const base = [...byteCharacters(), '<|endoftext|>', '<|im_start|>', '<|im_end|>'];
  const padding = Math.max(0, (options.vocabulary ?? base.length) - base.length);
  const tokens = [...base, ...Array.from({ length: padding }, (_, i) => `<|unused_${i}|>`)];
  // 1: normal (the bytes), 3: control (the special tokens), 5: unused (never produced by the tokenizer).
  const tokenTypes = tokens.map((_, i) => (i < 256 ? 1 : i < base.length ? 3 : 5));
  const metadata: Array<[string, Value]> = [
    ['general.architecture', { kind: Kind.STRING, value: 'qwen3' }],
    ['general.name', { kind: Kind.STRING, value: options.name ?? 'guardgate-test-tiny-qwen3' }],
    ['qwen3.context_length', { kind: Kind.U32, value: 2048 }],
    ['qwen3.embedding_length', { kind: Kind.U32, value: width }],
    ['qwen3.block_count', { kind: Kind.U32, value: layers }],
    ['qwen3.feed_forward_length', { kind: Kind.U32, value: feedForward }],
    ['qwen3.attention.head_count', { kind: Kind.U32, value: heads }],
    ['qwen3.attention.head_count_kv', { kind: Kind.U32, value: kvHeads }],
    ['qwen3.attention.key_length', { kind: Kind.U32, value: headDim }],
    ['qwen3.attention.value_length', { kind: Kind.U32, value: headDim }],
    ['qwen3.attention.layer_norm_rms_epsilon', { kind: Kind.F32, value: 1e-6 }],
    ['qwen3.rope.freq_base', { kind: Kind.F32, value: 1_000_000 }],
    ['tokenizer.ggml.model', { kind: Kind.STRING, value: 'gpt2' }],
    ['tokenizer.ggml.pre', { kind: Kind.STRING, value: 'qwen2' }],
    ['tokenizer.ggml.tokens', { kind: Kind.ARRAY, of: Kind.STRING, value: tokens }],
    ['tokenizer.ggml.token_type', { kind: Kind.ARRAY, of: Kind.I32, value: tokenTypes }],
    ['tokenizer.ggml.merges', { kind: Kind.ARRAY, of: Kind.STRING, value: [] }],
    ['tokenizer.ggml.bos_token_id', { kind: Kind.U32, value: 256 }],
    ['tokenizer.ggml.eos_token_id', { kind: Kind.U32, value: 258 }],
    ['tokenizer.ggml.padding_token_id', { kind: Kind.U32, value: 256 }],
    ['tokenizer.ggml.add_bos_token', { kind: Kind.BOOL, value: false }],
    ...(options.chatTemplate === null
      ? []
      : [
          ['tokenizer.chat_template', { kind: Kind.STRING, value: options.chatTemplate ?? CHATML_TEMPLATE }] as [
            string,
            Value,
          ],
        ]),
  ];
  // A linear congruential generator: deterministic weights, small enough to keep activations finite.
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) & 0x7fffffff;
    return (state / 0x7fffffff - 0.5) * 0.2;
  };
  const tensors: Array<{ name: string; dims: number[]; data: Buffer; type: number }> = [];
  // Large tensors repeat one random block: a model with a real model's shapes is written in seconds, not minutes.
  const BLOCK = 1 << 16;
  const tensor = (name: string, dims: number[], ones = false) => {
    const count = dims.reduce((a, b) => a * b, 1);
    // Norms stay F32 (llama.cpp expects them so); matrices take the chosen type.
    const half = type === 'f16' && dims.length === 2;
    const unique = Math.min(count, BLOCK);
    const values = half ? new Uint16Array(unique) : new Float32Array(unique);
    for (let i = 0; i < unique; i++) values[i] = half ? toHalf(ones ? 1 : random()) : ones ? 1 : random();
    const block = Buffer.from(values.buffer);
    const data = Buffer.alloc(count * (half ? 2 : 4));
    for (let at = 0; at < data.length; at += block.length)
      block.copy(data, at, 0, Math.min(block.length, data.length - at));
    tensors.push({ name, dims, data, type: half ? 1 : 0 });
  };
  tensor('token_embd.weight', [width, tokens.length]);
  tensor('output_norm.weight', [width], true);
  tensor('output.weight', [width, tokens.length]);
  for (let l = 0; l < layers; l++) {
    tensor(`blk.${l}.attn_norm.weight`, [width], true);
    tensor(`blk.${l}.attn_q.weight`, [width, heads * headDim]);
    tensor(`blk.${l}.attn_k.weight`, [width, kvHeads * headDim]);
    tensor(`blk.${l}.attn_v.weight`, [width, kvHeads * headDim]);
    tensor(`blk.${l}.attn_output.weight`, [heads * headDim, width]);
    tensor(`blk.${l}.attn_q_norm.weight`, [headDim], true);
    tensor(`blk.${l}.attn_k_norm.weight`, [headDim], true);
    tensor(`blk.${l}.ffn_norm.weight`, [width], true);
    tensor(`blk.${l}.ffn_gate.weight`, [width, feedForward]);
    tensor(`blk.${l}.ffn_up.weight`, [width, feedForward]);
    tensor(`blk.${l}.ffn_down.weight`, [feedForward, width]);
  }
  const ALIGNMENT = 32;
  const out = new Writer();
  out.bytes(Buffer.from('GGUF'));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.string(key);
    out.u32(value.kind);
    if (value.kind === Kind.ARRAY) {
      out.u32(value.of);
      out.u64(value.value.length);
      for (const item of value.value) out.scalar(value.of, item);
    } else out.scalar(value.kind, value.value);
  }
  let offset = 0;
  for (const t of tensors) {
    out.string(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(t.type); // 0: F32, 1: F16
    out.u64(offset);
    offset += Math.ceil(t.data.length / ALIGNMENT) * ALIGNMENT;
  }
  out.pad(ALIGNMENT);
  for (const t of tensors) {
    out.bytes(t.data);
    out.pad(ALIGNMENT);
  }
  return out.done();
}
