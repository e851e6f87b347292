// The footprint bench sums a process's whole tree (test/bench/proc-tree.ts). Checked here on a
// real tree: a node parent with a long-running child that burns CPU and holds memory, a
// grandchild, and short-lived children the parent reaps.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { descendants, ownCpuSeconds, sampleTree, treeCpuSeconds, treeRss } from '../bench/proc-tree.ts';
import { waitFor } from '../support/wait-for.ts';

let parent: ChildProcess | undefined;
afterEach(() => {
  if (parent?.pid) process.kill(-parent.pid, 'SIGKILL');
});

// The parent idles; its children do the work, as the agent's helpers do.
const PARENT = `
const { spawn } = require('node:child_process');
// long-running: burns CPU, holds ~64 MiB, and has a child of its own (sleep)
spawn(process.execPath, ['-e', "const b = Buffer.alloc(64 * 2 ** 20, 1); require('node:child_process').spawn('sleep', ['60']); for (;;) { b[0]++; }"], { stdio: 'ignore' });
// short-lived, every 300 ms: reaped by the parent (its CPU shows up in the parent's cutime)
setInterval(() => spawn(process.execPath, ['-e', 'let x = 0; for (let i = 0; i < 2e7; i++) x += i;'], { stdio: 'ignore' }), 300);
`;

describe('process tree sampling for the footprint bench', () => {
  it('finds live descendants at any depth and counts their memory and CPU, which the parent alone does not', async () => {
    parent = spawn(process.execPath, ['-e', PARENT], { stdio: 'ignore', detached: true });
    const pid = parent.pid!;
    await waitFor(async () => descendants(pid).length >= 2, 'the long-running child and its sleep', 20_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const a = sampleTree(pid);
    await new Promise((r) => setTimeout(r, 3_000));
    const b = sampleTree(pid);
    const comms = [...b.members.values()].map((m) => m.comm);
    expect(comms).toContain('sleep'); // a grandchild
    expect(treeRss(b) - b.root.rssBytes).toBeGreaterThan(64 * 2 ** 20);
    // What the long-running members used between the samples, read directly: the tree figure
    // must hold it (load on the machine changes how much, not whether).
    let helpers = 0;
    for (const [key, m] of b.members) {
      const before = a.members.get(key);
      if (before) helpers += m.self - before.self;
    }
    const reaped = b.root.reaped - a.root.reaped;
    expect(helpers).toBeGreaterThan(0);
    expect(reaped).toBeGreaterThan(0);
    const tree = treeCpuSeconds(a, b);
    const own = ownCpuSeconds(a, b);
    expect(tree).toBeGreaterThanOrEqual(own + helpers + reaped - 0.05);
    expect(tree).toBeGreaterThan(own);
    expect(tree).toBeLessThan(((b.at - a.at) / 1000) * 2 + 0.5); // at most 2 cores, plus tick slack
  }, 60_000);
});
