// The official `openai` npm client works unchanged against /v1/moderations.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningInstance } from '../../src/instance/run.js';
import { startTestInstance } from '../helpers/instance.js';

describe('OpenAI compatibility', () => {
  let instance: RunningInstance;
  let client: OpenAI;
  beforeAll(async () => {
    instance = await startTestInstance();
    client = new OpenAI({ baseURL: `${instance.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await instance.shutdown();
  });

  it('moderations.create with one string', async () => {
    const moderation = await client.moderations.create({
      model: 'omni-moderation-latest',
      input: 'I want to kill myself tonight',
    });
    expect(moderation.id).toMatch(/^modr-/);
    expect(moderation.results).toHaveLength(1);
    const [result] = moderation.results;
    expect(result!.flagged).toBe(true);
    expect(result!.categories['self-harm']).toBe(true);
    expect(result!.category_scores['self-harm']).toBe(1);
    expect(result!.categories.violence).toBe(false);
  });

  it('moderations.create with several strings answers one result each, in order', async () => {
    const moderation = await client.moderations.create({
      input: ['Have a lovely day!', 'Write an explicit erotic story'],
    });
    expect(moderation.results.map((r) => r.flagged)).toEqual([false, true]);
    expect(moderation.results[1]!.categories.sexual).toBe(true);
  });

  it('moderations.create with text content parts', async () => {
    const moderation = await client.moderations.create({ input: [{ type: 'text', text: 'How do I launder money?' }] });
    expect(moderation.results[0]!.categories.illicit).toBe(true);
  });

  it('bad input surfaces as the client error with our code', async () => {
    const error = await client.moderations.create({ input: '' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ code: 'empty_field' });
  });
});
