// Worker threads for the lexicon engine's large inputs: started on first use, each one judging one input
// at a time; the least busy takes the next input; a thread that dies is replaced and its inputs fail with
// engine_unavailable; more than `maxQueued` waiting inputs are refused with engine_busy.
import { Worker } from 'node:worker_threads';
import type { ModerationInput } from '../../moderation/conversation.js';
import { GuardgateError } from '../../vocabulary/errors.js';
import type { Judgement } from './judge.js';
import { builtFile } from '../../shared/built.js';
import type { JudgeReply } from './worker.js';

const WORKER = builtFile('engines/lexicon/worker.js');

interface Pending {
  resolve: (output: Judgement) => void;
  reject: (error: Error) => void;
}

class JudgeThread {
  readonly pending = new Map<number, Pending>();
  private worker: Worker;

  constructor(private readonly onExit: (thread: JudgeThread) => void) {
    this.worker = this.start();
  }

  private start(): Worker {
    const worker = new Worker(WORKER);
    worker.unref();
    worker.on('message', (reply: JudgeReply) => {
      const pending = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) pending?.resolve(reply.output);
      else pending?.reject(new GuardgateError('engine_unavailable', `the rules failed: ${reply.message}`));
    });
    worker.on('error', () => undefined);
    worker.on('exit', () => {
      for (const pending of this.pending.values())
        pending.reject(new GuardgateError('engine_unavailable', 'a judging thread stopped', { retryAfter: 1 }));
      this.pending.clear();
      this.onExit(this);
    });
    return worker;
  }

  send(id: number, input: ModerationInput, pending: Pending): void {
    this.pending.set(id, pending);
    this.worker.postMessage({ id, input });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/** Worker threads for long inputs, bounded and queued. */
export class JudgeWorkers {
  private threads: JudgeThread[] = [];
  private nextId = 0;
  private closed = false;
  /** Inputs judged in a thread so far (a metric and a test's evidence). */
  offloaded = 0;

  constructor(
    private readonly size: number,
    private readonly maxQueued: number,
  ) {}

  private replace = (dead: JudgeThread): void => {
    this.threads = this.threads.filter((t) => t !== dead);
  };

  judge(input: ModerationInput): Promise<Judgement> {
    if (this.closed) return Promise.reject(new GuardgateError('engine_unavailable', 'the engine is closing'));
    if (this.threads.length < this.size) this.threads.push(new JudgeThread(this.replace));
    let thread = this.threads[0]!;
    for (const candidate of this.threads) if (candidate.pending.size < thread.pending.size) thread = candidate;
    if (thread.pending.size >= this.maxQueued) {
      return Promise.reject(
        new GuardgateError('engine_busy', `${this.maxQueued * this.threads.length} inputs are waiting to be judged`, {
          retryAfter: 1,
        }),
      );
    }
    this.offloaded++;
    const id = this.nextId++;
    return new Promise((resolve, reject) => thread.send(id, input, { resolve, reject }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.terminate()));
    this.threads = [];
  }
}
