import { describe, expect, it } from 'vitest';
import { formatGuardOutput, parseGuardOutput } from '../../../src/moderation/parse.js';
import { GuardgateError } from '../../../src/vocabulary/errors.js';

describe('parseGuardOutput', () => {
  it('reads the prompt format', () => {
    expect(parseGuardOutput('Safety: Unsafe\nCategories: Violent', 'prompt')).toEqual({
      safety: 'Unsafe',
      categories: ['Violent'],
      refusal: null,
    });
  });

  it('reads the response format with its Refusal line', () => {
    expect(parseGuardOutput('Safety: Safe\nCategories: None\nRefusal: Yes', 'response')).toEqual({
      safety: 'Safe',
      categories: [],
      refusal: true,
    });
    expect(parseGuardOutput('Safety: Unsafe\nCategories: PII\nRefusal: No', 'response')).toEqual({
      safety: 'Unsafe',
      categories: ['PII'],
      refusal: false,
    });
  });

  it('tolerates the extra Refusal line on a prompt verdict (larger models write it)', () => {
    expect(
      parseGuardOutput('Safety: Controversial\nCategories: Politically Sensitive Topics\nRefusal: No', 'prompt'),
    ).toEqual({
      safety: 'Controversial',
      categories: ['Politically Sensitive Topics'],
      refusal: null,
    });
  });

  it('tolerates spacing, case, line order, extra lines and a comma-separated category list', () => {
    const text =
      '\n  categories :  Violent,  Non-violent Illegal Acts , Unknown Thing\nsome chatter\nSAFETY:unsafe  \n';
    expect(parseGuardOutput(text, 'prompt')).toEqual({
      safety: 'Unsafe',
      categories: ['Violent', 'Non-violent Illegal Acts'],
      refusal: null,
    });
  });

  it('maps the policy-text spelling of PII to what the model writes', () => {
    expect(
      parseGuardOutput('Safety: Unsafe\nCategories: Personally Identifiable Information', 'prompt').categories,
    ).toEqual(['PII']);
  });

  it('reads a response verdict with no Refusal line as unknown refusal', () => {
    expect(parseGuardOutput('Safety: Safe\nCategories: None', 'response').refusal).toBeNull();
  });

  it('fails loudly with engine_invalid_output when there is no Safety line', () => {
    for (const text of ['', 'Categories: Violent', 'I cannot determine this.', 'Safety: Maybe']) {
      const error = (() => {
        try {
          parseGuardOutput(text, 'prompt');
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(GuardgateError);
      expect((error as GuardgateError).code).toBe('engine_invalid_output');
    }
  });

  it('formats a verdict the way the model writes it, and reads it back', () => {
    const verdict = { safety: 'Unsafe' as const, categories: ['Jailbreak' as const], refusal: null };
    expect(formatGuardOutput(verdict)).toBe('Safety: Unsafe\nCategories: Jailbreak');
    expect(parseGuardOutput(formatGuardOutput(verdict), 'prompt')).toEqual(verdict);
    expect(formatGuardOutput({ safety: 'Safe', categories: [], refusal: true })).toBe(
      'Safety: Safe\nCategories: None\nRefusal: Yes',
    );
  });
});
