// Names for Qwen3Guard-Gen GGUF files, so that `guardgate model pull qwen3guard-gen-0.6b` needs no URL. Qwen
// publishes Qwen3Guard-Gen as safetensors only (no GGUF of its own was found); these are community conversions
// on Hugging Face, named after their publishers' usual file layout. None was fetched from the machine this was
// written on (no network to the hub): the SHA-256 checked is the one the hub states for the file (its
// `x-linked-etag`), and `model list` shows it. HF_ENDPOINT points the names at a mirror of the hub.

import { isLoopback } from '../config/auth.js';

/** A model `model pull` knows by name. */
export interface KnownModel {
  /** The name to pull and to put in `engine.model`; the file is kept as `<name>.gguf`. */
  name: string;
  /** Hugging Face repository and file. */
  repo: string;
  file: string;
  /** Approximate size, for the listing. */
  size: string;
  note: string;
}

/** The models `model pull` knows. */
export const KNOWN_MODELS: readonly KnownModel[] = [
  {
    name: 'qwen3guard-gen-0.6b',
    repo: 'QuantFactory/Qwen3Guard-Gen-0.6B-GGUF',
    file: 'Qwen3Guard-Gen-0.6B.Q8_0.gguf',
    size: '0.8 GB',
    note: 'Q8_0: the CPU default, closest to the original weights',
  },
  {
    name: 'qwen3guard-gen-0.6b-q4_k_m',
    repo: 'QuantFactory/Qwen3Guard-Gen-0.6B-GGUF',
    file: 'Qwen3Guard-Gen-0.6B.Q4_K_M.gguf',
    size: '0.5 GB',
    note: 'Q4_K_M: smaller and faster, a little less accurate',
  },
  {
    name: 'qwen3guard-gen-4b',
    repo: 'mradermacher/Qwen3Guard-Gen-4B-GGUF',
    file: 'Qwen3Guard-Gen-4B.Q4_K_M.gguf',
    size: '2.5 GB',
    note: 'Q4_K_M',
  },
  {
    name: 'qwen3guard-gen-4b-q8_0',
    repo: 'mradermacher/Qwen3Guard-Gen-4B-GGUF',
    file: 'Qwen3Guard-Gen-4B.Q8_0.gguf',
    size: '4.3 GB',
    note: 'Q8_0',
  },
  {
    name: 'qwen3guard-gen-8b',
    repo: 'mradermacher/Qwen3Guard-Gen-8B-GGUF',
    file: 'Qwen3Guard-Gen-8B.Q4_K_M.gguf',
    size: '5.0 GB',
    note: 'Q4_K_M; a GPU or a patient CPU',
  },
];

/** A known model by name. */
export const knownModel = (name: string): KnownModel | undefined =>
  KNOWN_MODELS.find((m) => m.name === name.toLowerCase());

/** Where a known model is downloaded from: the hub, or the mirror HF_ENDPOINT names (as huggingface_hub reads it). */
export function knownModelUrl(model: KnownModel, env: NodeJS.ProcessEnv): string {
  const endpoint = (env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  // The digest checked is the one the hub states: a hub reached in clear could state any.
  if (!URL.canParse(endpoint) || (new URL(endpoint).protocol !== 'https:' && !isLoopback(new URL(endpoint).hostname)))
    throw new Error(`HF_ENDPOINT must be an https URL (or http on loopback): ${endpoint.slice(0, 100)}`);
  return `${endpoint}/${model.repo}/resolve/main/${model.file}`;
}
