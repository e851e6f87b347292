// The agent's one keyword matcher, in a worker thread (@custodian/keywords createBulkMatcher):
// page text and on-screen text run to kilobytes, and no match ever runs on the agent's event loop
// (issue 16). Titles, URLs and typed lines go the same way: one compiled library in the process,
// not one per thread. A worker that dies is started again on the next text; one that cannot start
// twice running, or the single executable (packaging/: one CommonJS file, no worker module beside
// it yet), matches on the calling thread as before, said once in the log.
import { existsSync } from 'node:fs';
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import {
  type BulkMatcher,
  createBulkMatcher,
  createMatcher,
  type KeywordMatch,
  type Matcher,
  type MatcherOptions,
} from '@custodian/keywords';
import type { AgentLogger } from '../core/contracts.ts';

type Settings = Omit<MatcherOptions, 'library'>;

/**
 * Where the worker module is: in the installed bundle, `keyword-worker.mjs` beside the agent's
 * own module (agent/bin/bundle.ts emits it; a bundler does not follow `new Worker(url)`); from the
 * sources, the package's default (its bulk-worker.ts).
 */
export function bundledWorkerUrl(base: string = import.meta.url): URL | undefined {
  const url = new URL('./keyword-worker.mjs', base);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : undefined;
}

export class KeywordWorker {
  private readonly log: AgentLogger;
  private settings: Settings;
  private bulk: BulkMatcher | undefined;
  /** In-thread fallback (no worker possible), compiled on first use. */
  private inThread: Matcher | undefined;
  private useThread: boolean;
  private failures = 0;

  constructor(settings: Settings, log: AgentLogger, options: { inThread?: boolean } = {}) {
    this.settings = settings;
    this.log = log;
    this.useThread = options.inThread ?? isSea();
  }

  /** New settings (age band, categories, custom terms): a new worker compiles them. */
  configure(settings: Settings): void {
    this.settings = settings;
    void this.bulk?.close();
    this.bulk = undefined;
    this.inThread = undefined;
  }

  private worker(): BulkMatcher {
    if (!this.bulk) {
      const workerUrl = bundledWorkerUrl();
      this.bulk = createBulkMatcher({ ...this.settings, ...(workerUrl ? { workerUrl } : {}) });
    }
    return this.bulk;
  }

  /** Resolves once the worker has compiled the library (start-up). */
  async ready(): Promise<void> {
    if (!this.useThread) await this.worker().ready();
  }

  /** True while matching runs in the worker (status, tests). */
  get inWorker(): boolean {
    return !this.useThread;
  }

  async match(text: string): Promise<KeywordMatch[]> {
    if (this.useThread) {
      this.inThread ??= createMatcher(this.settings);
      return this.inThread.match(text);
    }
    const bulk = this.worker();
    try {
      const found = await bulk.match(text);
      this.failures = 0;
      return found;
    } catch (err) {
      if (this.bulk !== bulk) return this.match(text); // reconfigured meanwhile
      // The worker failed (crashed, out of memory, cannot load): a new one, or this thread.
      void bulk.close();
      this.bulk = undefined;
      if (++this.failures >= 2) {
        this.useThread = true;
        this.log.error('keyword worker cannot run; matching on the agent thread', {
          err: (err as Error).message,
        });
      } else this.log.warn('keyword worker failed; starting it again', { err: (err as Error).message });
      return this.match(text);
    }
  }

  async close(): Promise<void> {
    const b = this.bulk;
    this.bulk = undefined;
    await b?.close();
  }
}
