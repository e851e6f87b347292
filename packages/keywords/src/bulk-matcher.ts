// createBulkMatcher: the matcher in a worker thread, for page and screen text (kilobytes to
// megabytes per call) that must never block the agent's event loop. Same options and results
// as createMatcher; texts are matched one at a time in the order given.
import { Worker } from 'node:worker_threads';
import type { KeywordMatch, MatcherOptions } from './matcher.ts';

export interface BulkMatcher {
  /** Matches one text off the calling thread. Rejects if the worker failed or was closed. */
  match(text: string): Promise<KeywordMatch[]>;
  /** Resolves once the worker has compiled the library (status reporting, tests). */
  ready(): Promise<{ termCount: number; ruleCount: number }>;
  /** Stops the worker; pending and later calls reject. */
  close(): Promise<void>;
}

export type BulkMatcherOptions = Omit<MatcherOptions, 'library'> & {
  /**
   * Where the worker module is. Default: bulk-worker.ts beside this file, which is right when the
   * sources run as they are; a bundle (the agent's rolldown build) must emit bulk-worker as its own
   * entry and pass its URL here, since a bundler does not follow `new Worker(url)`.
   */
  workerUrl?: URL;
};

export function createBulkMatcher(options: BulkMatcherOptions): BulkMatcher {
  if (!['primary', 'secondary', 'staff'].includes(options.ageBand))
    throw new TypeError(
      `ageBand must be primary, secondary or staff (got ${JSON.stringify(options.ageBand)})`,
    );
  const worker = new Worker(options.workerUrl ?? new URL('./bulk-worker.ts', import.meta.url), {
    workerData: {
      ageBand: options.ageBand,
      customTerms: options.customTerms,
      categories: options.categories,
    },
  });
  // The agent keeps one for its lifetime; it must not keep the process alive on its own.
  worker.unref();
  const pending = new Map<number, { resolve: (m: KeywordMatch[]) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let failure: Error | null = null;

  let markReady!: (info: { termCount: number; ruleCount: number }) => void;
  let markFailed!: (err: Error) => void;
  const readyInfo = new Promise<{ termCount: number; ruleCount: number }>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  readyInfo.catch(() => {}); // observed through ready() or match()

  const failAll = (err: Error) => {
    failure ??= err;
    markFailed(failure);
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  worker.on(
    'message',
    (msg: {
      ready?: true;
      termCount: number;
      ruleCount: number;
      id: number;
      matches?: KeywordMatch[];
      error?: string;
    }) => {
      if (msg.ready) {
        markReady({ termCount: msg.termCount, ruleCount: msg.ruleCount });
        return;
      }
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.matches!);
      if (pending.size === 0) worker.unref();
    },
  );
  worker.on('error', (err) => failAll(err));
  worker.on('exit', (code) => failAll(new Error(`keyword worker exited (code ${code})`)));

  return {
    match(text: string): Promise<KeywordMatch[]> {
      if (typeof text !== 'string') return Promise.reject(new TypeError('match() needs a string'));
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.ref(); // an answer is owed: keep the process alive until it arrives
        worker.postMessage({ id, text });
      });
    },
    ready: () => readyInfo,
    async close(): Promise<void> {
      failAll(new Error('keyword worker closed'));
      await worker.terminate();
    },
  };
}
