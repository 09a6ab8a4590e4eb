// The lexicon engine's decision: pure rules that weigh phrase matches, context and intent into a
// Qwen3Guard-style verdict. No I/O; every input gives the same answer.
import { judgedText, targetOf, type ModerationInput } from '../../moderation/conversation.js';
import { findPii, type PiiKind } from '../../moderation/pii.js';
import { CATEGORIES, severity, type Category, type Safety } from '../../moderation/taxonomy.js';
import type { GuardOutput } from '../../moderation/verdict.js';
import { foldConfusables } from './confusables.js';
import { complies, detectRefusal } from './refusal.js';
import {
  BENIGN,
  BENIGN_ZH,
  GAME_CONTEXT,
  HUMAN_TARGET,
  INTENT,
  INTENT_ZH,
  KNOWLEDGE,
  RULES_EN,
  RULES_ZH,
  STORY_CONTEXT,
  type Rule,
} from './rules.js';

/**
 * Lower case, compatibility forms folded (full-width letters, ligatures), look-alike letters of other scripts in
 * Latin-pretending words folded to Latin (confusables.ts), invisible characters dropped, one
 * kind of apostrophe, runs of spaces collapsed; line breaks kept with `lines` (the compliance check reads
 * lists), else folded too, so that a phrase split over lines or tabs is still the phrase.
 */
export function normalise(text: string, lines = false): string {
  const folded = foldConfusables(
    text
      .normalize('NFKC')
      .toLowerCase()
      .replace(/[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/g, '')
      .replace(/[’‘`´]/g, "'"),
  );
  return (lines ? folded.replace(/[^\S\n]+/g, ' ').replace(/ ?\n ?/g, '\n') : folded.replace(/\s+/g, ' ')).trim();
}

const stripBenign = (text: string): string => {
  let out = text;
  for (const pattern of BENIGN) out = out.replace(pattern, ' ');
  for (const pattern of BENIGN_ZH) out = out.replace(pattern, ' ');
  return out;
};

interface Context {
  intent: boolean;
  human: boolean;
  knowledge: boolean;
  game: boolean;
  story: boolean;
}

/** Categories whose `harm` phrases are only Unsafe when aimed at people (otherwise one tier lower). */
const NEEDS_HUMAN_TARGET: ReadonlySet<Category> = new Set(['PII', 'Unethical Acts']);
/** Categories that a game or story setting makes harmless. */
const PLAYABLE: ReadonlySet<Category> = new Set(['Violent', 'Non-violent Illegal Acts']);
const SHARING_SEVERE_PII: ReadonlySet<PiiKind> = new Set(['payment_card', 'cn_resident_id', 'iban', 'us_ssn']);

const lower = (safety: Safety): Safety => (safety === 'Unsafe' ? 'Controversial' : 'Safe');

/** The tier one matched rule gives, in its context. */
export function tierOf(rule: Rule, context: Context): Safety {
  if (PLAYABLE.has(rule.category) && context.game) return 'Safe';
  if (PLAYABLE.has(rule.category) && context.story) return rule.weight === 'unsafe' ? 'Controversial' : 'Safe';
  switch (rule.weight) {
    case 'unsafe':
      return 'Unsafe';
    case 'targeted':
      return context.human && !(context.knowledge && !context.intent) ? 'Unsafe' : 'Safe';
    case 'topic':
      if (rule.category === 'Politically Sensitive Topics') return 'Controversial';
      return context.knowledge && !context.intent ? 'Safe' : 'Controversial';
    case 'harm': {
      if (context.knowledge && !context.intent) return 'Safe';
      const tier: Safety = context.human || context.intent ? 'Unsafe' : 'Controversial';
      return NEEDS_HUMAN_TARGET.has(rule.category) && !context.human ? lower(tier) : tier;
    }
  }
}

type Tiers = Map<Category, Safety>;

const raise = (tiers: Tiers, category: Category, safety: Safety): void => {
  const current = tiers.get(category);
  if (safety !== 'Safe' && (current === undefined || severity(safety) > severity(current))) tiers.set(category, safety);
};

/** The tier of every category that one text touches. */
export function categoryTiers(normalisedText: string, allowJailbreak: boolean): Tiers {
  let text = stripBenign(normalisedText);
  const context: Context = {
    intent: INTENT.test(text) || INTENT_ZH.test(text),
    human: HUMAN_TARGET.test(text),
    knowledge: KNOWLEDGE.test(text),
    game: GAME_CONTEXT.test(text),
    story: STORY_CONTEXT.test(text),
  };
  const tiers: Tiers = new Map();
  for (const rules of [RULES_EN, RULES_ZH]) {
    for (const rule of rules) {
      if (rule.category === 'Jailbreak' && !allowJailbreak) continue;
      if (text.search(rule.pattern) === -1) continue;
      raise(tiers, rule.category, tierOf(rule, context));
      if (rule.consumes) text = text.replace(rule.pattern, ' ');
    }
  }
  // Validated identifiers (cards, national IDs, IBANs, SSNs) in the text are a leak on their own;
  // e-mail addresses and phone numbers are ordinary contact details.
  if (findPii(normalisedText).some((m) => SHARING_SEVERE_PII.has(m.kind))) raise(tiers, 'PII', 'Unsafe');
  return tiers;
}

/** The highest tier and every category at it, in the model's category order. */
export function summarise(tiers: Tiers): Pick<GuardOutput, 'safety' | 'categories'> {
  let safety: Safety = 'Safe';
  for (const tier of tiers.values()) if (severity(tier) > severity(safety)) safety = tier;
  const categories = safety === 'Safe' ? [] : CATEGORIES.filter((c) => tiers.get(c) === safety);
  return { safety, categories };
}

/**
 * Judge a prompt, or a prompt and response, the way Qwen3Guard-Gen answers.
 * @example judge({ prompt: 'How can I kill a Python process?' }) // { safety: 'Safe', categories: [], refusal: null }
 */
export function judge(input: ModerationInput): GuardOutput {
  if (targetOf(input) === 'prompt') {
    return { ...summarise(categoryTiers(normalise(input.prompt), true)), refusal: null };
  }
  const response = normalise(judgedText(input));
  const refusal = detectRefusal(response);
  if (refusal) return { safety: 'Safe', categories: [], refusal };
  const tiers = categoryTiers(response, false);
  // A reply that goes along with a harmful request carries the request's harm, whatever its own words.
  if (complies(normalise(judgedText(input), true))) {
    for (const [category, tier] of categoryTiers(normalise(input.prompt), false)) {
      if (tier === 'Unsafe') raise(tiers, category, 'Unsafe');
    }
  }
  return { ...summarise(tiers), refusal };
}
