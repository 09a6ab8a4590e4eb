import { describe, expect, it } from 'vitest';
import { isFlagged } from '../../../src/moderation/policy.js';
import { OPENAI_CATEGORIES, OPENAI_CATEGORY_MAP, toOpenAIResult } from '../../../src/moderation/openai-mapping.js';
import { CATEGORIES } from '../../../src/moderation/taxonomy.js';
import { buildMessages, targetOf } from '../../../src/moderation/conversation.js';

describe('policy', () => {
  it('strict flags Controversial, loose does not; Unsafe is always flagged, Safe never', () => {
    expect(isFlagged('Controversial', 'strict')).toBe(true);
    expect(isFlagged('Controversial', 'loose')).toBe(false);
    expect(isFlagged('Unsafe', 'loose')).toBe(true);
    expect(isFlagged('Safe', 'strict')).toBe(false);
  });
});

describe('conversation', () => {
  it('builds the plain messages, user then assistant, with no system message', () => {
    expect(buildMessages({ prompt: 'p' })).toEqual([{ role: 'user', content: 'p' }]);
    expect(buildMessages({ prompt: 'p', response: 'r' })).toEqual([
      { role: 'user', content: 'p' },
      { role: 'assistant', content: 'r' },
    ]);
    expect(targetOf({ prompt: 'p' })).toBe('prompt');
    expect(targetOf({ prompt: 'p', response: 'r' })).toBe('response');
  });
});

describe('OpenAI mapping', () => {
  it('maps every Qwen3Guard category onto known OpenAI names', () => {
    for (const category of CATEGORIES)
      for (const name of OPENAI_CATEGORY_MAP[category]) expect(OPENAI_CATEGORIES).toContain(name);
  });

  it('an Unsafe Violent verdict sets violence with score 1 and nothing else', () => {
    const result = toOpenAIResult({ safety: 'Unsafe', categories: ['Violent'], refusal: null }, 'strict');
    expect(result.flagged).toBe(true);
    expect(Object.keys(result.categories)).toEqual([...OPENAI_CATEGORIES]);
    expect(
      Object.entries(result.categories)
        .filter(([, on]) => on)
        .map(([name]) => name),
    ).toEqual(['violence']);
    expect(result.category_scores.violence).toBe(1);
    expect(result.category_applied_input_types.violence).toEqual(['text']);
    expect(result.category_applied_input_types.sexual).toEqual([]);
  });

  it('a Controversial verdict scores 0.5 and is flagged only under the strict policy', () => {
    const verdict = { safety: 'Controversial' as const, categories: ['Suicide & Self-Harm' as const], refusal: null };
    expect(toOpenAIResult(verdict, 'strict')).toMatchObject({
      flagged: true,
      categories: { 'self-harm': true },
      category_scores: { 'self-harm': 0.5 },
    });
    expect(toOpenAIResult(verdict, 'loose')).toMatchObject({
      flagged: false,
      categories: { 'self-harm': false },
      category_scores: { 'self-harm': 0.5 },
    });
  });

  it('categories OpenAI lacks (Jailbreak, PII) still flag the result', () => {
    const result = toOpenAIResult({ safety: 'Unsafe', categories: ['Jailbreak'], refusal: null }, 'loose');
    expect(result.flagged).toBe(true);
    expect(Object.values(result.categories).some(Boolean)).toBe(false);
  });
});
