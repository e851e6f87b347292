// The agent's end of the browser channel, on a real unix socket: the token file in the desktop
// user's runtime dir (a planted symlink is replaced, never followed), no token → refused,
// with the token → text units and the browser_extension capability.
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPolicy } from '@custodian/policy';
import { afterEach, describe, expect, it } from 'vitest';
import { type TextUnit, TextUnitHub } from '../../src/capture/text-source.ts';
import { silentLogger } from '../../src/config/logger.ts';
import type { AgentContext, AgentLogger } from '../../src/core/contracts.ts';
import { BrowserReceiver } from '../../src/native-host/receiver.ts';
import { setSessionEnvProvider } from '../../src/platform/session.ts';

const dirs: string[] = [];
afterEach(async () => {
  setSessionEnvProvider(undefined);
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function rig(options: { maxConnections?: number; helloTimeoutMs?: number } = {}) {
  const root = await mkdtemp(join(tmpdir(), 'custodian-recv-'));
  dirs.push(root);
  const runtime = join(root, 'user-runtime');
  await mkdir(runtime, { mode: 0o700 });
  setSessionEnvProvider(() => ({ XDG_RUNTIME_DIR: runtime }));
  const warnings: string[] = [];
  const log: AgentLogger = { ...silentLogger, warn: (m) => void warnings.push(m) };
  let changed = 0;
  const ctx = {
    log,
    dataDir: join(root, 'data'),
    policy: { current: () => defaultPolicy(), onChange: () => () => {} },
    capabilitiesChanged: () => void changed++,
  } as unknown as AgentContext;
  const hub = new TextUnitHub(silentLogger);
  const units: TextUnit[] = [];
  hub.onUnit((u) => units.push(u));
  const receiver = new BrowserReceiver(ctx, hub, { runDir: join(root, 'run'), ...options });
  return { root, runtime, receiver, units, warnings, changed: () => changed };
}

function send(sock: string, lines: string[]): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(sock);
    s.on('error', () => resolve());
    s.on('connect', () => s.write(lines.map((l) => `${l}\n`).join('')));
    s.on('close', () => resolve());
    setTimeout(() => s.end(), 300);
  });
}

describe('browser channel receiver', () => {
  it('replaces a planted symlink with its own 0400 token file and never writes through it', async () => {
    const r = await rig();
    const victim = join(r.root, 'victim');
    await writeFile(victim, 'precious');
    await symlink(victim, join(r.runtime, 'custodian-agent.token'));
    await r.receiver.start();
    try {
      expect(await readFile(victim, 'utf8')).toBe('precious');
      const st = await lstat(join(r.runtime, 'custodian-agent.token'));
      expect(st.isFile()).toBe(true);
      expect(st.mode & 0o777).toBe(0o400);
      expect(await readFile(join(r.runtime, 'custodian-agent.token'), 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await r.receiver.stop();
    }
  });

  it('refuses a connection without the token; with it, publishes units and reports the browser', async () => {
    const r = await rig();
    await r.receiver.start();
    try {
      const sock = join(r.root, 'run', 'native-host.sock');
      const page = JSON.stringify({ kind: 'page', url: 'https://a.test/', title: 'T', text: 'hello there' });
      await send(sock, [JSON.stringify({ t: 'hello', token: 'f'.repeat(64), browser: 'x' }), page]);
      expect(r.units).toEqual([]);
      expect(r.warnings).toContain('browser channel: connection without the agent token refused');
      expect(r.receiver.capabilities()[0]).toMatchObject({ available: false });

      const token = await readFile(join(r.runtime, 'custodian-agent.token'), 'utf8');
      const s = connect(sock);
      await new Promise((res) => s.once('connect', res));
      s.write(`${JSON.stringify({ t: 'hello', token, browser: 'chromium', extensionId: 'a'.repeat(32) })}\n`);
      s.write(`${page}\n{"kind":"exec"}\n`);
      await new Promise((res) => setTimeout(res, 200));
      expect(r.receiver.capabilities()[0]).toEqual({
        name: 'browser_extension',
        available: true,
        reason: 'connected in chromium',
      });
      expect(r.receiver.connectedBrowsers()).toEqual(['chromium']);
      expect(r.units).toEqual([
        {
          origin: 'page',
          text: 'hello there',
          window: { title: 'T', url: 'https://a.test/', app: 'chromium' },
          time: expect.any(Number),
        },
      ]);
      expect(r.warnings).toContain('browser channel: message dropped');
      s.end();
      await new Promise((res) => s.once('close', res));
      await new Promise((res) => setTimeout(res, 50));
      expect(r.receiver.capabilities()[0]).toMatchObject({ available: false });
    } finally {
      await r.receiver.stop();
    }
  });

  it('closes a silent connection after the hello timeout and refuses connections beyond the cap', async () => {
    const r = await rig({ maxConnections: 2, helloTimeoutMs: 1_500 });
    await r.receiver.start();
    try {
      const sock = join(r.root, 'run', 'native-host.sock');
      const open = () =>
        new Promise<{ closedAt: Promise<number> }>((res) => {
          const s = connect(sock);
          s.on('error', () => undefined);
          const closedAt = new Promise<number>((c) => s.once('close', () => c(Date.now())));
          s.once('connect', () => res({ closedAt }));
        });
      const t0 = Date.now();
      const a = await open();
      const b = await open();
      await new Promise((res) => setTimeout(res, 50));
      const c = await open();
      expect((await c.closedAt) - t0).toBeLessThan(1_000); // refused at once
      expect(r.warnings).toContain('browser channel: too many connections; refused');
      expect((await a.closedAt) - t0).toBeGreaterThanOrEqual(1_400); // silent ones: after the timeout
      await b.closedAt;
    } finally {
      await r.receiver.stop();
    }
  });
});
