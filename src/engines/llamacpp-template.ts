// Which prompt a GGUF model reads: its own chat template (rendered with @huggingface/jinja, checked to place every
// message's text as it is, once and in order) or, for a Qwen3Guard model whose template cannot be rendered here,
// Qwen3Guard-Gen's published rendering.
import { Template } from '@huggingface/jinja';
import { GuardgateError } from '../vocabulary/errors.js';
import { isQwen3Guard, renderQwen3GuardPrompt, type PlainMessage, type PromptTemplate } from './qwen3guard-prompt.js';

/** Renders messages into the model's prompt text. */
export type Render = (messages: PlainMessage[]) => string;

/** Marks where each message's text goes: nothing a caller sends can be mistaken for one. */
const mark = (i: number) => `\ue000guardgate-content-${i}\ue001`;
const MARKS = /\ue000guardgate-content-(\d+)\ue001/;

/** The template text around each message's mark, checked to hold every message once, in order, as it is. */
export function splitAtMarks(render: Render, messages: readonly PlainMessage[]): string[] {
  const parts = render(messages.map((m, i) => ({ ...m, content: mark(i) }))).split(MARKS);
  const inOrder =
    parts.length === 2 * messages.length + 1 && parts.every((part, i) => i % 2 === 0 || Number(part) === (i - 1) / 2);
  if (!inOrder) throw new Error("the chat template does not place each message's text as it is, once and in order");
  return parts;
}

/** The prompt renderer for a model file, and which one it is; a reason when none can be used. */
export function choosePrompt(
  mode: PromptTemplate,
  metadata: { name: unknown; template: unknown },
): { render: Render; source: 'gguf' | 'qwen3guard'; note?: string } {
  const qwen3guard = isQwen3Guard(metadata.name, metadata.template);
  if (mode === 'qwen3guard') return { render: renderQwen3GuardPrompt, source: 'qwen3guard' };
  let problem: string;
  if (typeof metadata.template !== 'string') problem = 'the file has no chat template (tokenizer.chat_template)';
  else {
    try {
      const template = new Template(metadata.template);
      const render: Render = (messages) =>
        template.render({
          messages,
          add_generation_prompt: true,
          enable_thinking: false,
          bos_token: '',
          eos_token: '',
        });
      // Both shapes Guardgate sends, tried now: a template that cannot render them fails the load, not a request.
      splitAtMarks(render, [{ role: 'user', content: '' }]);
      splitAtMarks(render, [
        { role: 'user', content: '' },
        { role: 'assistant', content: '' },
      ]);
      return { render, source: 'gguf' };
    } catch (error) {
      problem = `its chat template cannot be rendered here (${(error as Error).message.slice(0, 200)})`;
    }
  }
  if (mode === 'auto' && qwen3guard)
    return {
      render: renderQwen3GuardPrompt,
      source: 'qwen3guard',
      note: `${problem}: using Qwen3Guard-Gen's published prompt`,
    };
  throw new GuardgateError(
    'engine_unavailable',
    `${problem}${qwen3guard ? " (template: auto or qwen3guard uses Qwen3Guard-Gen's published prompt)" : ': not a Qwen3Guard-Gen GGUF?'}`,
  );
}
