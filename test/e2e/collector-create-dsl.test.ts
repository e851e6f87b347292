// The server-side way to make a DSL (issue 10 item 6): when no DSL is left to approve a request,
// `custodian-collector create-dsl` on the server (collector stopped) makes one with a one-time
// password that must be changed, audited, and the DSLs are told. Over the network an admin still
// only gets a request.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../support/collector-process.ts';
import { createStaff, staffSession } from './console-helpers.ts';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../collector/bin/custodian-collector.js');

describe('collector: create-dsl on the server', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  beforeAll(async () => {
    collector = await startCollector();
  });
  afterAll(async () => {
    await collector?.cleanup();
  });

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, 'create-dsl', '--data-dir', collector.dataDir, ...args], {
      env: {
        ...process.env,
        CUSTODIAN_SCREENSHOT_KEY_FILE: join(dirname(collector.dataDir), 'screenshot.key'),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('makes a DSL with a one-time password when the collector is stopped, and tells the DSLs', async () => {
    const lead = await createStaff(collector, 'dsl-lead', 'dsl');
    // While the collector runs the store is locked: the command refuses and changes nothing.
    const busy = cli('--username', 'night-dsl');
    expect(busy.status).not.toBe(0);

    expect(await collector.stop()).toBe(0);
    const made = cli('--username', 'night-dsl', '--display-name', 'Deputy DSL');
    expect(made.status, made.stderr).toBe(0);
    const otp = /one-time password: (\S+)/.exec(made.stdout)?.[1] ?? '';
    expect(otp).toMatch(/^[A-Za-z0-9_-]{24}$/);
    await collector.restart();

    const login = await fetch(`${collector.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'night-dsl', password: otp }),
    });
    expect(login.status).toBe(200);
    expect(await login.json()).toMatchObject({ role: 'dsl', mustChangePassword: true });

    const asLead = await staffSession(collector, lead);
    const notices = await asLead('GET', '/notifications');
    expect(
      notices.data.notifications.filter((n: { kind: string }) => n.kind === 'dsl-account.created-on-server'),
    ).toHaveLength(1);
    const audit = await fetch(`${collector.url}/api/v1/audit?action=user.dsl-created-on-server`, {
      headers: { authorization: `Bearer ${collector.adminToken}` },
    });
    expect(((await audit.json()) as { records: unknown[] }).records).toHaveLength(1);
    // The same over the network is still only a request.
    const asked = await fetch(`${collector.url}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${collector.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'day-dsl', role: 'dsl' }),
    });
    expect(asked.status).toBe(202);
  });
});
