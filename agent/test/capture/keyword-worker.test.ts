// Keyword matching in the agent: short text on the calling thread, bulk text in a worker thread
// that starts when bulk text comes and stops when idle (src/capture/keyword-worker.ts).
import { createMatcher } from '@custodian/keywords';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.ts';
import { BULK_MIN_CHARS, KeywordMatching } from '../../src/capture/keyword-worker.ts';
import type { AgentLogger } from '../../src/core/contracts.ts';

const log: AgentLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const open: KeywordMatching[] = [];
afterEach(async () => {
  for (const m of open.splice(0)) await m.close();
});

function matching(options: ConstructorParameters<typeof KeywordMatching>[2] = {}): KeywordMatching {
  const m = new KeywordMatching({ ageBand: 'secondary' }, log, options);
  open.push(m);
  return m;
}

describe('keyword matching in the agent', () => {
  const page = `${'the quick brown fox jumps over the lazy dog. '.repeat(60)}i want to kill myself`;

  it('matches bulk text in a worker (same answer as the matcher), short text without one', async () => {
    const m = matching({ workerIdleMs: 100 });
    expect(page.length).toBeGreaterThanOrEqual(BULK_MIN_CHARS);
    expect(await m.match('how to tie a noose')).toEqual(
      createMatcher({ ageBand: 'secondary' }).match('how to tie a noose'),
    );
    expect(m.workerStarts).toBe(0);
    const found = await m.match(page);
    expect(found).toEqual(createMatcher({ ageBand: 'secondary' }).match(page));
    expect(found.map((x) => x.term)).toContain('want to kill myself');
    expect(m.workerStarts).toBe(1);
    // Idle: the worker stops (its memory goes back); the next bulk text starts another.
    await waitFor(async () => !m.workerRunning || undefined, 'worker stopped when idle', 10_000);
    await m.match(page);
    expect(m.workerStarts).toBe(2);
  }, 30_000);

  it('new settings apply to both paths; without a worker bulk text is matched in-thread', async () => {
    const m = matching({ noWorker: true });
    m.configure({
      ageBand: 'secondary',
      customTerms: [{ term: 'zorblax', category: 'bullying', severity: 4 }],
    });
    expect((await m.match(`${page} zorblax`)).map((x) => x.term)).toContain('zorblax');
    expect((await m.match('zorblax')).map((x) => x.term)).toEqual(['zorblax']);
    expect(m.workerStarts).toBe(0);
  });
});
