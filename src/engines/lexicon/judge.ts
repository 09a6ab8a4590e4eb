// The lexicon engine's decision: pure rules that weigh phrase matches, context and intent into a
// Qwen3Guard-style verdict. No I/O; every input gives the same answer.
import { judgedText, targetOf, type ModerationInput } from '../../moderation/conversation.js';
import { findPii, type PiiKind } from '../../moderation/pii.js';
import { CATEGORIES, severity, type Category, type Safety } from '../../moderation/taxonomy.js';
import type { GuardOutput } from '../../moderation/verdict.js';
import { foldConfusables } from './confusables.js';
import { complies, detectRefusal } from './refusal.js';
import {
  ADVOCACY,
  BENIGN,
  BENIGN_ZH,
  DISCUSSION,
  DISCUSSION_ZH,
  GAME_CONTEXT,
  HUMAN_TARGET,
  HUMAN_TARGET_ZH,
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

/** What an explanation quotes of a text: at most 40 characters. */
const quote = (text: string): string => JSON.stringify(text.length > 40 ? `${text.slice(0, 39)}…` : text);

const BENIGN_ALL: readonly RegExp[] = [...BENIGN, ...BENIGN_ZH];

/** Remove the phrases whose alarming words are harmless; each one removed is noted. */
const stripBenign = (text: string, notes: string[] | undefined): string => {
  let out = text;
  for (const pattern of BENIGN_ALL)
    out = out.replace(pattern, (phrase) => {
      notes?.push(`harmless use ${quote(phrase.trim())}`);
      return ' ';
    });
  return out;
};

interface Context {
  intent: boolean;
  human: boolean;
  knowledge: boolean;
  game: boolean;
  story: boolean;
  /** History, analysis, protection, medicine, law or literature, with no advocacy (rules.ts: DISCUSSION). */
  discussion: boolean;
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
  if (context.discussion && rule.weight !== 'unsafe') return 'Safe';
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

/** The context cues a text holds, each with the phrase that showed it (for explanations). */
function contextOf(text: string): { context: Context; cues: string[] } {
  const cues: string[] = [];
  const cue = (name: string, ...patterns: RegExp[]): boolean => {
    for (const pattern of patterns) {
      const found = pattern.exec(text);
      if (found !== null) {
        cues.push(`${name} ${quote(found[0].trim())}`);
        return true;
      }
    }
    return false;
  };
  const context: Context = {
    intent: cue('intent', INTENT, INTENT_ZH),
    human: cue('aimed at people', HUMAN_TARGET, HUMAN_TARGET_ZH),
    knowledge: cue('a question of knowledge', KNOWLEDGE),
    game: cue('a game', GAME_CONTEXT),
    story: cue('a story', STORY_CONTEXT),
    discussion: !ADVOCACY.test(text) && cue('a discussion', DISCUSSION, DISCUSSION_ZH),
  };
  return { context, cues };
}

/** The first match of a rule's pattern (a global pattern's state is not kept between texts). */
function firstMatch(pattern: RegExp, text: string): string | null {
  pattern.lastIndex = 0;
  const found = pattern.exec(text);
  pattern.lastIndex = 0;
  return found === null ? null : found[0];
}

/**
 * The tier of every category that one text touches. With `notes`, says why: each harmless use taken out, each
 * rule that matched (its id, the phrase, the tier it gave) and the context cues that weighed on them.
 */
export function categoryTiers(normalisedText: string, allowJailbreak: boolean, notes?: string[]): Tiers {
  let text = stripBenign(normalisedText, notes);
  // Read once a rule matches (most texts match none), on the text as it was before any rule consumed a phrase.
  let found: ReturnType<typeof contextOf> | undefined;
  const tiers: Tiers = new Map();
  for (const rules of [RULES_EN, RULES_ZH]) {
    for (const rule of rules) {
      if (rule.category === 'Jailbreak' && !allowJailbreak) continue;
      const phrase = firstMatch(rule.pattern, text);
      if (phrase === null) continue;
      found ??= contextOf(text);
      const tier = tierOf(rule, found.context);
      raise(tiers, rule.category, tier);
      notes?.push(`rule ${rule.id} matched ${quote(phrase.trim())}: ${tier}`);
      if (rule.consumes) text = text.replace(rule.pattern, ' ');
    }
  }
  if (found !== undefined && found.cues.length > 0) notes?.push(`context: ${found.cues.join(', ')}`);
  // Validated identifiers (cards, national IDs, IBANs, SSNs) in the text are a leak on their own;
  // e-mail addresses and phone numbers are ordinary contact details.
  const leaked = findPii(normalisedText).find((m) => SHARING_SEVERE_PII.has(m.kind));
  if (leaked !== undefined) {
    raise(tiers, 'PII', 'Unsafe');
    notes?.push(`a ${leaked.kind.replace(/_/g, ' ')} in the text: Unsafe`);
  }
  return tiers;
}

/** The highest tier and every category at it, in the model's category order. */
export function summarise(tiers: Tiers): Pick<GuardOutput, 'safety' | 'categories'> {
  let safety: Safety = 'Safe';
  for (const tier of tiers.values()) if (severity(tier) > severity(safety)) safety = tier;
  const categories = safety === 'Safe' ? [] : CATEGORIES.filter((c) => tiers.get(c) === safety);
  return { safety, categories };
}

/** The lexicon's answer: a verdict in the model's terms, and why (the rules that matched, the context that weighed). */
export interface Judgement extends GuardOutput {
  explanation: string;
}

/** An explanation from its notes; the nothing-matched case said so. */
const explain = (notes: readonly string[]): string => (notes.length === 0 ? 'no rule matched' : notes.join('; '));

/**
 * Judge a prompt, or a prompt and response, the way Qwen3Guard-Gen answers, and say why.
 * @example judge({ prompt: 'How can I kill a Python process?' }) // { safety: 'Safe', categories: [], refusal: null, explanation: 'harmless use "kill a python process"' }
 */
export function judge(input: ModerationInput): Judgement {
  const notes: string[] = [];
  if (targetOf(input) === 'prompt') {
    return {
      ...summarise(categoryTiers(normalise(input.prompt), true, notes)),
      refusal: null,
      explanation: explain(notes),
    };
  }
  const response = normalise(judgedText(input));
  const refusal = detectRefusal(response);
  if (refusal) return { safety: 'Safe', categories: [], refusal, explanation: 'the response refuses' };
  const tiers = categoryTiers(response, false, notes);
  // A reply that goes along with a harmful request carries the request's harm, whatever its own words.
  if (complies(normalise(judgedText(input), true))) {
    for (const [category, tier] of categoryTiers(normalise(input.prompt), false)) {
      if (tier === 'Unsafe') {
        raise(tiers, category, 'Unsafe');
        notes.push(`the response goes along with a request that is Unsafe (${category})`);
      }
    }
  }
  return { ...summarise(tiers), refusal, explanation: explain(notes) };
}
