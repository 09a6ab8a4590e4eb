// Configuration precedence and validation: defaults < YAML file < environment < flags.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInstanceConfig } from '../../../src/config/instance.js';
import { ConfigError } from '../../../src/config/load.js';

const file = (yaml: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'guardgate-config-')), 'c.yaml');
  writeFileSync(path, yaml);
  return path;
};

describe('instance configuration', () => {
  it('has working defaults: lexicon engine, loopback, port 8080, strict policy', () => {
    const config = loadInstanceConfig({}, {});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      policy: 'strict',
      color: null,
      engine: { kind: 'lexicon' },
    });
    expect(config.limits).toEqual({ bodyBytes: 1_048_576, textChars: 32_000, batchSize: 64, totalChars: 200_000 });
  });

  it('the file is overridden by the environment, which is overridden by flags', () => {
    const path = file('port: 9000\npolicy: loose\nversion: from-file\ncolor: green\nlimits:\n  batchSize: 8\n');
    const config = loadInstanceConfig(
      { config: path, port: '9002' },
      { GUARDGATE_PORT: '9001', GUARDGATE_VERSION: 'from-env' },
    );
    expect(config).toMatchObject({ port: 9002, policy: 'loose', version: 'from-env', color: 'green' });
    expect(config.limits).toEqual({ bodyBytes: 1_048_576, textChars: 32_000, batchSize: 8, totalChars: 200_000 });
  });

  it("secret references: a file's own router secret beats GUARDGATE_ROUTER_SECRET, and a later source replaces a reference whole", () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-config-'));
    writeFileSync(join(dir, 'router-secret'), 'new-secret\nold-secret\n');
    writeFileSync(join(dir, 'jwt-secret'), 'j'.repeat(40));
    const path = file(
      `routerSecret:\n  file: ${join(dir, 'router-secret')}\nauth:\n  jwt:\n    secret:\n      file: ${join(dir, 'jwt-secret')}\n`,
    );
    const config = loadInstanceConfig(
      { config: path },
      { GUARDGATE_ROUTER_SECRET: 'from-environment', GUARDGATE_JWT_SECRET: 'e'.repeat(40) },
    );
    // The mounted file stays a file (it is read again as a rotation changes it), with every value it lists.
    expect(config.routerSecret).toEqual({ file: join(dir, 'router-secret') });
    // The environment's JWT secret replaces the file's reference (before, the two merged into one invalid reference).
    expect(config.auth.jwt?.secret).toBe('e'.repeat(40));
    // Without a file naming one, GUARDGATE_ROUTER_SECRET is the router secret.
    expect(loadInstanceConfig({}, { GUARDGATE_ROUTER_SECRET: 'a\nb' }).routerSecret).toEqual({ values: ['a', 'b'] });
  });

  it('builds the openai engine with its defaults from a URL', () => {
    const config = loadInstanceConfig(
      { engine: 'openai', engineUrl: 'http://127.0.0.1:8000/v1' },
      { GUARDGATE_ENGINE_API_KEY: 'k' },
    );
    expect(config.engine).toEqual({
      kind: 'openai',
      baseUrl: 'http://127.0.0.1:8000/v1',
      model: 'Qwen/Qwen3Guard-Gen-4B',
      apiKey: 'k',
      timeoutMs: 10_000,
      concurrency: 32,
      retries: 2,
      maxTokens: 128,
      fallback: 'none',
    });
  });

  it('a flag that switches to lexicon drops the file openai settings', () => {
    const path = file('engine:\n  kind: openai\n  baseUrl: http://127.0.0.1:8000/v1\n');
    expect(loadInstanceConfig({ config: path, engine: 'lexicon' }, {}).engine).toEqual({ kind: 'lexicon' });
  });

  it('lists every problem with its path', () => {
    const path = file('port: -1\nengine:\n  kind: openai\n  baseUrl: ftp://x\nlimits:\n  textChars: 0\n');
    expect(() => loadInstanceConfig({ config: path }, {})).toThrow(ConfigError);
    try {
      loadInstanceConfig({ config: path }, {});
    } catch (error) {
      expect((error as Error).message).toMatch(/port:/);
      expect((error as Error).message).toMatch(/engine\.baseUrl:/);
      expect((error as Error).message).toMatch(/limits\.textChars:/);
    }
  });

  it('rejects a file that is not YAML', () => {
    expect(() => loadInstanceConfig({ config: file('port: [1,\n') }, {})).toThrow(/not valid YAML/);
  });
});
