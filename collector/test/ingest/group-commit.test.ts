// The group committer on its own: one synced write per group, FIFO resolution, failures
// reject exactly the group that failed, drain waits for everything queued.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../src/ingest/group-commit.ts';
import { createMemoryEngine } from '../../src/store/memory-engine.ts';
import type { KvEngine, KvOp } from '../../src/store/types.ts';

const put = (key: string): KvOp => ({ type: 'put', key, value: new Uint8Array([1]) });

function recording(failOn?: (ops: KvOp[]) => boolean, error: () => Error = () => new Error('disk full')) {
  const inner = createMemoryEngine();
  const writes: { ops: KvOp[]; sync: boolean }[] = [];
  /** Writes begun (the first step of batch()), so a test can wait for one to be in progress. */
  const started = { count: 0 };
  const engine: KvEngine = {
    get: (k) => inner.get(k),
    getMany: (k) => inner.getMany(k),
    entries: (r) => inner.entries(r),
    close: () => inner.close(),
    batch: async (ops, o) => {
      started.count++;
      await new Promise((r) => setTimeout(r, 5));
      if (failOn?.(ops)) throw error();
      writes.push({ ops, sync: o.sync });
      await inner.batch(ops, o);
    },
  };
  return { engine, writes, started };
}

describe('GroupCommitter', () => {
  it('writes everything enqueued in one tick as one synced batch', async () => {
    const { engine, writes } = recording();
    const gc = new GroupCommitter(engine, 5);
    await Promise.all([gc.enqueue([put('a')]), gc.enqueue([put('b'), put('c')]), gc.enqueue([])]);
    expect(writes).toEqual([{ ops: [put('a'), put('b'), put('c')], sync: true }]);
    expect(await engine.get('c')).toEqual(new Uint8Array([1]));
  });

  it('gathers what arrives during a write into the next group, and resolves in order', async () => {
    const { engine, writes, started } = recording();
    const gc = new GroupCommitter(engine, 0);
    const order: string[] = [];
    const first = gc.enqueue([put('a')]).then(() => order.push('a'));
    // Wait until the first write is in progress (its 5 ms disk delay has begun).
    while (started.count === 0) await new Promise((r) => setImmediate(r));
    const rest = ['b', 'c', 'd'].map((k) => gc.enqueue([put(k)]).then(() => order.push(k)));
    await Promise.all([first, ...rest]);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(writes.map((w) => w.ops.map((o) => o.key).join(''))).toEqual(['a', 'bcd']);
  });

  it('rejects only the failed group; the next group is written', async () => {
    const { engine, writes } = recording((ops) => ops.some((o) => o.key === 'bad'));
    const gc = new GroupCommitter(engine, 0);
    const bad = gc.enqueue([put('bad')]);
    const alsoBad = gc.enqueue([put('x')]);
    await expect(bad).rejects.toThrow('disk full');
    await expect(alsoBad).rejects.toThrow('disk full');
    await gc.enqueue([put('good')]);
    expect(writes.map((w) => w.ops.map((o) => o.key))).toEqual([['good']]);
    expect(await engine.get('x')).toBeUndefined();
  });

  it('a group refused as a conflict is written again waiter by waiter: only the conflicting one fails', async () => {
    const { engine, writes } = recording(
      (ops) => ops.some((o) => o.key === 'taken'),
      () => new CustodianError(ErrorCode.CONFLICT, 'already written by another process'),
    );
    const gc = new GroupCommitter(engine, 5);
    let firstFailed = false;
    const results = await Promise.allSettled([
      gc.enqueue([put('a')]),
      gc.enqueue([put('taken'), put('b')]).catch((err) => {
        firstFailed = true;
        throw err;
      }),
      // Built on the conflicting waiter's writes (its seqs): not written once that one failed.
      gc.enqueue([put('after-taken')], () => !firstFailed),
      gc.enqueue([put('c')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.CONFLICT });
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.STORAGE });
    expect(writes.map((w) => w.ops.map((o) => o.key).join(','))).toEqual(['a', 'c']);
    for (const k of ['a', 'c']) expect(await engine.get(k)).toEqual(new Uint8Array([1]));
    for (const k of ['taken', 'b', 'after-taken']) expect(await engine.get(k)).toBeUndefined();
  });

  it('drain waits until everything queued is written', async () => {
    const { engine } = recording();
    const gc = new GroupCommitter(engine, 50);
    void gc.enqueue([put('late')]);
    await gc.drain();
    expect(await engine.get('late')).toEqual(new Uint8Array([1]));
    expect(gc.queued).toBe(0);
  });
});
