// A thread that judges large inputs for the lexicon engine, so that the thread answering requests (and
// /healthz) never waits on the rules.
import { parentPort } from 'node:worker_threads';
import type { ModerationInput } from '../../moderation/conversation.js';
import { judge, type Judgement } from './judge.js';

/** A judgement asked of a worker thread. */
export interface JudgeRequest {
  id: number;
  input: ModerationInput;
}

/** A worker thread's answer. */
export type JudgeReply = { id: number; ok: true; output: Judgement } | { id: number; ok: false; message: string };

parentPort!.on('message', ({ id, input }: JudgeRequest) => {
  try {
    parentPort!.postMessage({ id, ok: true, output: judge(input) } satisfies JudgeReply);
  } catch (error) {
    parentPort!.postMessage({ id, ok: false, message: (error as Error).message } satisfies JudgeReply);
  }
});
