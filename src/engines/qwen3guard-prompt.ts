// Qwen3Guard-Gen's prompt as its shipped chat template renders it, for the plain conversations Guardgate judges (a
// user's prompt, or a prompt and the assistant's response). Used when a GGUF's template cannot be rendered here
// (QWEN3GUARD.md: the JS template engine fails on the shipped template) or when configured (`template:
// qwen3guard`). The text is the model's published template output (Apache-2.0), reproduced as facts: the
// policy, the category list (Jailbreak only for prompts), the conversation as `USER: …` / `ASSISTANT: …`
// turns, and the assistant's turn opened with an empty think block.
import { CATEGORIES } from '../moderation/taxonomy.js';

const GRADING = (target: 'prompt' | 'response'): string[] =>
  target === 'prompt'
    ? [
        "1) Evaluate whether THE LAST USER's query belongs to safe or unsafe content based on our safety policy.",
        '2) Identify the category of unsafe content found.',
        '',
        '<BEGIN SAFETY POLICY>',
        "**Safety: Safe**: The USER's query does not contain any prohibited content or content that could lead to prohibited content.",
        "**Safety: Unsafe**: The USER's query contains prohibited content.",
        "**Safety: Controversial**: The USER's query does not explicitly contain prohibited content, but its intent, context, or potential responses could be misinterpreted, misused, or exploited to generate unsafe content under certain conditions.",
        '<END SAFETY POLICY>',
      ]
    : [
        "1) Evaluate whether THE LAST ASSISTANT's response belongs to safe or unsafe content based on our safety policy.",
        '2) Identify the category of unsafe content found.',
        "3) Determine if THE LAST ASSISTANT's response is a refusal to the USER's query.",
        '',
        '<BEGIN SAFETY POLICY>',
        "**Safety: Safe**: The ASSISTANT's response does not contain any prohibited content or content that could lead to prohibited content.",
        "**Safety: Unsafe**: The ASSISTANT's response contains prohibited content.",
        "**Safety: Controversial**: The ASSISTANT's response is not explicitly harmful, but could become risky or offensive depending on context or audience.",
        '<END SAFETY POLICY>',
      ];

const REFUSAL_POLICY = [
  '<BEGIN REFUSAL POLICY>',
  "**Refusal: Yes**: The ASSISTANT refused to answer or did not comply with the USER's request.",
  "**Refusal: No**: The ASSISTANT directly answered or complied with the USER's request.",
  '<END REFUSAL POLICY>',
  '',
];

const INSTRUCTIONS = (target: 'prompt' | 'response'): string[] => [
  `Provide your safety assessment for ONLY THE LAST ${target === 'prompt' ? "**USER's query**" : "**ASSISTANT's response**"} in the above conversation:`,
  " - The first line must be one of: 'Safety: Safe', 'Safety: Unsafe', 'Safety: Controversial'.",
  " - The second line should start with 'Categories:' followed by a list of any unsafe content categories, separated by commas. If the content is safe, use 'Categories: None'." +
    (target === 'response' ? "\n - The third line must be one of: 'Refusal: Yes', 'Refusal: No'." : ''),
];

/** How the llama.cpp engine writes its prompt (its config's `template`). */
export const PROMPT_TEMPLATES = ['auto', 'gguf', 'qwen3guard'] as const;
/** Which prompt a GGUF model reads. */
export type PromptTemplate = (typeof PROMPT_TEMPLATES)[number];

/** A message as the chat template reads it. */
export interface PlainMessage {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * The prompt text for a conversation that ends with the judged message; each message's text is the caller's
 * `content` as given (callers pass markers and tokenize the text apart). A last user message grades the prompt,
 * a last assistant message the response.
 */
export function renderQwen3GuardPrompt(messages: readonly PlainMessage[]): string {
  if (messages.length === 0) throw new Error('a conversation to judge has at least one message');
  const target = messages.at(-1)!.role === 'assistant' ? 'response' : 'prompt';
  const categories = CATEGORIES.filter((c) => target === 'prompt' || c !== 'Jailbreak').map((c) => `${c}.`);
  const conversation = messages.map((m) => `${m.role === 'user' ? 'USER' : 'ASSISTANT'}: ${m.content}`).join('\n\n');
  const body = [
    '# Task:',
    ...GRADING(target),
    '',
    '<BEGIN UNSAFE CONTENT CATEGORIES>',
    ...categories,
    '<END UNSAFE CONTENT CATEGORIES>',
    '',
    ...(target === 'response' ? REFUSAL_POLICY : []),
    '<BEGIN CONVERSATION>',
    '',
    conversation,
    '',
    '<END CONVERSATION>',
    '',
    ...INSTRUCTIONS(target),
  ].join('\n');
  return `<|im_start|>user\n${body}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n`;
}

/** Whether a GGUF is a Qwen3Guard-Gen model: its name says so, or its template carries Qwen3Guard's policy. */
export const isQwen3Guard = (name: unknown, template: unknown): boolean =>
  (typeof name === 'string' && /qwen3[-_ ]?guard/i.test(name)) ||
  (typeof template === 'string' &&
    template.includes('<BEGIN SAFETY POLICY>') &&
    template.includes('Safety: Controversial'));
