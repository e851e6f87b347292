// The agent's keyword matching: short texts (titles, URLs, typed lines, a few lines read on screen)
// on the calling thread, bulk text (page text, a window full of on-screen text: BULK_MIN_CHARS and
// more) in a worker thread (@custodian/keywords createBulkMatcher), so no large match runs on the
// agent's event loop (issue 16). The agent runs with --lite-mode (no optimising JIT): 4 KiB costs
// about 1 ms to match, 32 KiB about 8 ms. The worker is started when bulk text comes and stopped
// after WORKER_IDLE_MS without any: a resident worker costs ~11.5 MiB for its isolate plus ~11 MiB
// for its own compiled library (measured with the bundle, Nov 2026), which the RSS target
// (≤ 1.5× bare node, BENCHMARKS.md) cannot hold; starting it costs ~160 ms of CPU. A worker that
// dies is started again; one that fails twice running, and the single executable (packaging/: one
// CommonJS file, no worker module beside it yet), match bulk text on the calling thread too.
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

/** Texts this long or longer are matched in the worker. */
export const BULK_MIN_CHARS = 2_048;
/** The worker stops after this long with nothing to match. */
export const WORKER_IDLE_MS = 60_000;

/**
 * Where the worker module is: in the installed bundle, `keyword-worker.mjs` beside the agent's
 * own module (agent/bin/bundle.ts emits it; a bundler does not follow `new Worker(url)`); from the
 * sources, the package's default (its bulk-worker.ts).
 */
export function bundledWorkerUrl(base: string = import.meta.url): URL | undefined {
  const url = new URL('./keyword-worker.mjs', base);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : undefined;
}

export interface KeywordMatchingOptions {
  /** Never start a worker (default: in the single executable). */
  noWorker?: boolean;
  bulkMinChars?: number;
  workerIdleMs?: number;
}

export class KeywordMatching {
  private readonly log: AgentLogger;
  private readonly bulkMinChars: number;
  private readonly idleMs: number;
  private settings: Settings;
  private matcher: Matcher;
  private bulk: BulkMatcher | undefined;
  private noWorker: boolean;
  private failures = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Worker matches under way (the idle timer waits for none). */
  private inFlight = 0;
  /** Workers started so far (tests, the log). */
  workerStarts = 0;

  constructor(settings: Settings, log: AgentLogger, options: KeywordMatchingOptions = {}) {
    this.settings = settings;
    this.log = log;
    this.matcher = createMatcher(settings);
    this.noWorker = options.noWorker ?? isSea();
    this.bulkMinChars = options.bulkMinChars ?? BULK_MIN_CHARS;
    this.idleMs = options.workerIdleMs ?? WORKER_IDLE_MS;
  }

  /** New settings (age band, categories, custom terms): compiled here; a running worker stops. */
  configure(settings: Settings): void {
    this.settings = settings;
    this.matcher = createMatcher(settings);
    this.stopWorker();
  }

  /** True while a worker thread is running (tests). */
  get workerRunning(): boolean {
    return this.bulk !== undefined;
  }

  async match(text: string): Promise<KeywordMatch[]> {
    if (this.noWorker || text.length < this.bulkMinChars) return this.matcher.match(text);
    if (!this.bulk) {
      const workerUrl = bundledWorkerUrl();
      this.bulk = createBulkMatcher({ ...this.settings, ...(workerUrl ? { workerUrl } : {}) });
      this.workerStarts++;
    }
    const bulk = this.bulk;
    clearTimeout(this.idleTimer);
    this.inFlight++;
    try {
      const found = await bulk.match(text);
      this.failures = 0;
      return found;
    } catch (err) {
      if (this.bulk !== bulk) return this.match(text); // reconfigured meanwhile
      // The worker failed (crashed, out of memory, cannot load): a new one, or this thread.
      this.stopWorker();
      if (++this.failures >= 2) {
        this.noWorker = true;
        this.log.error('keyword worker cannot run; bulk text is matched on the agent thread', {
          err: (err as Error).message,
        });
      } else this.log.warn('keyword worker failed; starting it again', { err: (err as Error).message });
      return this.match(text);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0 && this.bulk === bulk) {
        this.idleTimer = setTimeout(() => this.stopWorker(), this.idleMs);
        this.idleTimer.unref();
      }
    }
  }

  private stopWorker(): void {
    clearTimeout(this.idleTimer);
    const b = this.bulk;
    this.bulk = undefined;
    void b?.close();
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const b = this.bulk;
    this.bulk = undefined;
    await b?.close();
  }
}
