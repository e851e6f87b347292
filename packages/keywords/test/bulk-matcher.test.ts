// createBulkMatcher: a real worker thread running the real matcher.
import { describe, expect, it } from 'vitest';
import { createBulkMatcher, createMatcher } from '../src/index.ts';

describe('createBulkMatcher', () => {
  it('gives the same matches as createMatcher, off the calling thread', async () => {
    const bulk = createBulkMatcher({ ageBand: 'secondary' });
    try {
      const info = await bulk.ready();
      const local = createMatcher({ ageBand: 'secondary' });
      expect(info).toEqual({ termCount: local.termCount, ruleCount: local.ruleCount });
      const page = `${'Ordinary page text about the water cycle. '.repeat(2000)}how to k1ll myself. chcę umrzeć.`;
      const texts = [page, 'hello world', 'ill give you 500 robux for a pic'];
      const results = await Promise.all(texts.map((t) => bulk.match(t)));
      expect(results).toEqual(texts.map((t) => local.match(t)));
      expect(results[0]!.map((m) => m.category)).toEqual(['suicide', 'suicide']);
      // the event loop stayed free while the worker matched
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      await bulk.match(page.repeat(20));
      clearInterval(timer);
      expect(ticks).toBeGreaterThan(0);
    } finally {
      await bulk.close();
    }
  });

  it('rejects calls after close and bad options up front', async () => {
    const bulk = createBulkMatcher({ ageBand: 'primary' });
    await bulk.close();
    await expect(bulk.match('x')).rejects.toThrow(/closed/);
    expect(() => createBulkMatcher({ ageBand: 'infant' as 'primary' })).toThrow(/ageBand/);
  });
});
