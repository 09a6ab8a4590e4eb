// Where pulled models live: GUARDGATE_MODELS, or ~/.cache/guardgate/models. Each model is `<name>.gguf` with
// `<name>.gguf.sha256` beside it; a download in progress is `<name>.gguf.partial` (never loaded).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where pulled models live. */
export const modelsDir = (env: NodeJS.ProcessEnv): string =>
  env.GUARDGATE_MODELS ?? join(homedir(), '.cache', 'guardgate', 'models');

/** A model name: a file name without a path (letters, digits, . _ -), ending in .gguf. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.gguf$/;

/** A pulled model (or a partial download). */
export interface StoredModel {
  name: string;
  path: string;
  bytes: number;
  sha256: string | null;
  modifiedAt: string;
  /** A download that stopped (it resumes with the next pull, or goes with `model rm`): never loaded. */
  partial: boolean;
}

const PARTIAL = '.partial';

/** The models (and partial downloads) in a folder. */
export function listModels(dir: string): StoredModel[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(
      (file) => MODEL_NAME.test(file) || (file.endsWith(PARTIAL) && MODEL_NAME.test(file.slice(0, -PARTIAL.length))),
    )
    .sort()
    .map((file) => {
      const path = join(dir, file);
      const stat = statSync(path);
      const partial = file.endsWith(PARTIAL);
      const digestFile = `${path}.sha256`;
      return {
        name: partial ? file.slice(0, -PARTIAL.length) : file,
        path,
        bytes: stat.size,
        sha256: !partial && existsSync(digestFile) ? readFileSync(digestFile, 'utf8').trim() : null,
        modifiedAt: stat.mtime.toISOString(),
        partial,
      };
    });
}

/** Remove a model, its digest and any partial download; false when there was nothing. */
export function removeModel(dir: string, name: string): boolean {
  const path = join(dir, name);
  const found = [path, `${path}.sha256`, `${path}.partial`, `${path}.partial.json`].filter((file) => existsSync(file));
  for (const file of found) rmSync(file, { force: true });
  return found.length > 0;
}

/** Make a folder if it is not there. */
export const ensureDir = (dir: string): void => void mkdirSync(dir, { recursive: true });

/** A model named in configuration: a path when it has a slash or exists, else a pulled model's name. */
export const modelPathOf = (model: string, env: NodeJS.ProcessEnv): string =>
  model.includes('/') || existsSync(model)
    ? model
    : join(modelsDir(env), model.endsWith('.gguf') ? model : `${model}.gguf`);
