// The collector CLI as a user runs it: first start prints the URL, admin token and enrol secret
// (and they work); a bad setting stops it naming the field; TLS serves https and wss.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SUBPROTOCOL } from '@custodian/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../collector/bin/custodian-collector.js');
const dir = mkdtempSync(join(tmpdir(), 'custodian-cli-'));
const children: ReturnType<typeof spawn>[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const cleanEnv = () => {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('CUSTODIAN_')) delete env[k];
  return env;
};

/** Starts the CLI and collects stdout lines until `done` says so. */
function start(
  args: string[],
  done: (lines: string[]) => boolean,
): Promise<{ lines: string[]; child: ReturnType<typeof spawn> }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout:\n${lines.join('\n')}`)), 20_000);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l);
      if (done(lines)) {
        clearTimeout(timer);
        resolve({ lines, child });
      }
    });
    createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l));
    child.once('exit', () => {
      clearTimeout(timer);
      resolve({ lines, child });
    });
  });
}

describe('custodian-collector serve', () => {
  it('prints the URL, admin token and enrol secret once at first start, and they work', async () => {
    const dataDir = join(dir, 'first');
    const { lines, child } = await start(['serve', '--data-dir', dataDir, '--port', '0'], (l) =>
      l.some((x) => x.includes('enrol secret:')),
    );
    const listening = JSON.parse(lines.find((l) => l.includes('"collector listening"')) as string) as {
      url: string;
    };
    expect(listening.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const token = /admin token: +(\S+)/.exec(lines.join('\n'))?.[1];
    const secret = /enrol secret: +(\S+)/.exec(lines.join('\n'))?.[1];
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const devices = await fetch(`${listening.url}/api/v1/devices`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(devices.status).toBe(200);
    const enrol = await fetch(`${listening.url}/api/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ secret, machineId: 'cli-m', hostname: 'h', os: 'linux', serial: '' }),
    });
    expect(enrol.status).toBe(200);
    // Secrets are not part of the JSON log stream.
    expect(lines.filter((l) => l.startsWith('{')).join('\n')).not.toContain(token as string);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const again = await start(['serve', '--data-dir', dataDir, '--port', '0'], (l) =>
      l.some((x) => x.includes('collector listening')),
    );
    expect(again.lines.join('\n')).not.toContain('admin token:');
    again.child.kill('SIGTERM');
  });

  it('stops at start naming a bad setting', async () => {
    const { lines, child } = await start(
      ['serve', '--data-dir', join(dir, 'bad'), '--port', '99999'],
      () => false,
    );
    expect(child.exitCode ?? (await new Promise((r) => child.once('exit', r)))).toBe(2);
    expect(lines.join('\n')).toContain('config field port');
    const unknown = await start(['serve', '--data-dir', join(dir, 'bad'), '--prot', '80'], () => false);
    expect(unknown.lines.join('\n')).toContain('unknown option --prot');
  });

  it('refuses a screenshot key file reached through a symlink or owned by another user', async () => {
    // An attacker who can plant a link at the key path points it at a key they know (or can read).
    const real = join(dir, 'attacker-known.key');
    writeFileSync(real, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const link = join(dir, 'linked.key');
    symlinkSync(real, link);
    const viaLink = await start(
      ['serve', '--data-dir', join(dir, 'keylink'), '--port', '0', '--screenshot-key-file', link],
      () => false,
    );
    expect(viaLink.child.exitCode ?? (await new Promise((r) => viaLink.child.once('exit', r)))).not.toBe(0);
    const linkOut = viaLink.lines.join('\n');
    expect(linkOut).toContain('CUST_ERR_INVALID_CONFIG');
    expect(linkOut).toContain(`screenshotKeyFile ${link} is a symbolic link`);
    expect(linkOut).not.toContain('collector listening');

    const foreign = join(dir, 'foreign.key');
    writeFileSync(foreign, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    chownSync(foreign, 65534, 65534);
    const viaForeign = await start(
      ['serve', '--data-dir', join(dir, 'keyforeign'), '--port', '0', '--screenshot-key-file', foreign],
      () => false,
    );
    expect(
      viaForeign.child.exitCode ?? (await new Promise((r) => viaForeign.child.once('exit', r))),
    ).not.toBe(0);
    const foreignOut = viaForeign.lines.join('\n');
    expect(foreignOut).toContain('CUST_ERR_INVALID_CONFIG');
    expect(foreignOut).toContain(`screenshotKeyFile ${foreign} is owned by uid 65534`);
    expect(foreignOut).not.toContain('collector listening');
  });

  it('serves https and wss with --tls-cert and --tls-key', async () => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const { lines, child } = await start(
      ['serve', '--data-dir', join(dir, 'tls'), '--port', '0', '--tls-cert', cert, '--tls-key', key],
      (l) => l.some((x) => x.includes('collector listening')),
    );
    const { url } = JSON.parse(lines.find((l) => l.includes('"collector listening"')) as string) as {
      url: string;
    };
    expect(url).toMatch(/^https:/);
    const status = await new Promise<number>((resolve, reject) =>
      get(`${url}/api/v1/health`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject),
    );
    expect(status).toBe(200);
    const ws = new WebSocket(`${url.replace('https', 'wss')}/ws/agent`, [SUBPROTOCOL], {
      rejectUnauthorized: false,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    expect(ws.protocol).toBe(SUBPROTOCOL);
    ws.terminate();
    child.kill('SIGTERM');
  });
});
