// What is judged: a prompt alone, or a prompt and the assistant's response, as Qwen3Guard-Gen expects it.
import type { Target } from './taxonomy.js';

/** What is judged: a prompt, and optionally the response to it. */
export interface ModerationInput {
  prompt: string;
  /** The assistant's reply; when present the target is `response`. */
  response?: string | undefined;
}

/** One message of a conversation. */
export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** The response when there is one, else the prompt. */
export const targetOf = (input: ModerationInput): Target => (input.response === undefined ? 'prompt' : 'response');

/**
 * The plain messages the model's chat template expects. No system message: the template carries the
 * whole safety policy, and a leading system message is rendered as user text.
 */
export function buildMessages(input: ModerationInput): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'user', content: input.prompt }];
  if (input.response !== undefined) messages.push({ role: 'assistant', content: input.response });
  return messages;
}

/** The text that is judged for a target: the prompt, or the response. */
export const judgedText = (input: ModerationInput): string => input.response ?? input.prompt;
