import { describe, expect, it } from 'vitest';
import { PasswordCheckGate } from '../../src/auth/check-gate.ts';

describe('PasswordCheckGate', () => {
  it('runs maxConcurrent at once, queues up to maxQueued, refuses the rest with 429', async () => {
    const gate = new PasswordCheckGate({ maxConcurrent: 1, maxQueued: 1, perIp: 10 });
    const a = gate.enter('1.1.1.1');
    const b = gate.enter('2.2.2.2');
    expect(() => gate.enter('3.3.3.3')).toThrow(
      expect.objectContaining({ status: 429, code: 'CUST_ERR_RATE_LIMITED' }),
    );
    let bStarted = false;
    void b.ready.then(() => {
      bStarted = true;
    });
    await a.ready;
    await Promise.resolve();
    expect(bStarted).toBe(false);
    a.release();
    await b.ready;
    expect(bStarted).toBe(true);
    expect(gate.running).toBe(1);
    b.release();
    expect(gate.running).toBe(0);
  });

  it('caps checks in hand per address, and a queued ticket released before its turn frees its place', async () => {
    const gate = new PasswordCheckGate({ maxConcurrent: 1, maxQueued: 5, perIp: 2 });
    const a = gate.enter('1.1.1.1');
    const b = gate.enter('1.1.1.1');
    expect(() => gate.enter('1.1.1.1')).toThrow(expect.objectContaining({ status: 429 }));
    b.release(); // gave up while waiting
    const c = gate.enter('1.1.1.1');
    a.release();
    await c.ready;
    expect(gate.running).toBe(1);
    c.release();
    a.release(); // a second release changes nothing
    expect(gate.running).toBe(0);
  });
});
