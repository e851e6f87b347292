// The collector's .deb installed on this machine for real (dpkg -i as root): its own system user,
// data in /var/lib/custodian, the screenshot key outside it, configuration in
// /etc/custodian/collector.json, a hardened unit. systemd is not PID 1 here: the test starts the
// installed binary as the unit would — its ExecStart as user `custodian`, with the two state
// directories created as StateDirectory= creates them (owned by the user, 0700) — and a real agent
// executable enrols with it. dpkg -P leaves no files, unit or user behind.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COLLECTOR_BINARY,
  COLLECTOR_CONFIG,
  COLLECTOR_DATA_DIR,
  COLLECTOR_KEY_FILE,
  COLLECTOR_PREFIX,
  COLLECTOR_UNIT,
  COLLECTOR_USER,
} from '../../packaging/src/collector-deb.ts';
import { allInstalled } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import { dpkg, isInstalled, type LinuxBuild, leftovers, linuxBuild } from './package-build.ts';

const LEFTOVERS = [
  COLLECTOR_PREFIX,
  COLLECTOR_UNIT,
  '/etc/custodian',
  COLLECTOR_DATA_DIR,
  '/var/lib/custodian-keys',
];

const ready = allInstalled(['dpkg', 'dpkg-deb', 'systemd-analyze', 'strip', 'setpriv', 'useradd']);
let build: LinuxBuild;
let collector: ChildProcess | undefined;
let out = '';
let agentDir: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function userExists(name: string): boolean {
  return spawnSync('getent', ['passwd', name]).status === 0;
}

beforeAll(async () => {
  if (!ready) return;
  if (isInstalled('custodian-collector') || existsSync(COLLECTOR_PREFIX))
    await dpkg(['--purge', 'custodian-collector']);
  build = await linuxBuild();
  agentDir = mkdtempSync(join(tmpdir(), 'custodian-deb-agent-'));
}, 600_000);

afterAll(async () => {
  if (collector && collector.exitCode === null) collector.kill('SIGKILL');
  if (ready && isInstalled('custodian-collector')) await dpkg(['--purge', 'custodian-collector']);
  if (agentDir) rmSync(agentDir, { recursive: true, force: true });
});

describe.runIf(ready)('collector .deb installed with dpkg', () => {
  it('installs the executable, a hardened unit, its config and its own system user', async () => {
    await dpkg(['-i', build.collectorDeb]);
    expect(isInstalled('custodian-collector')).toBe(true);
    const user = execFileSync('getent', ['passwd', COLLECTOR_USER], { encoding: 'utf8' }).trim().split(':');
    expect(Number(user[2])).toBeLessThan(1000);
    expect(user[6]).toBe('/usr/sbin/nologin');
    const conf = statSync(COLLECTOR_CONFIG);
    expect(conf.mode & 0o777).toBe(0o640);
    expect(JSON.parse(readFileSync(COLLECTOR_CONFIG, 'utf8'))).toMatchObject({
      dataDir: COLLECTOR_DATA_DIR,
      screenshotKeyFile: COLLECTOR_KEY_FILE,
    });
    const verify = spawnSync('systemd-analyze', ['verify', COLLECTOR_UNIT], { encoding: 'utf8' });
    expect(verify.stderr.split('\n').filter((l) => l.includes('custodian'))).toEqual([]);
    expect(verify.status).toBe(0);
    // The exposure score the README reports (lower is better; "OK" is below 4.0).
    const security = spawnSync('systemd-analyze', ['security', '--offline=true', COLLECTOR_UNIT], {
      encoding: 'utf8',
    });
    const score = Number(
      /Overall exposure level for custodian-collector\.service: ([\d.]+)/.exec(security.stdout)?.[1],
    );
    expect(score).toBeLessThanOrEqual(1.5);
  });

  it('started as the unit starts it (as user custodian), an agent executable enrols with it', async () => {
    // What IT would do: set the port in /etc/custodian/collector.json.
    const port = await freePort();
    const config = JSON.parse(readFileSync(COLLECTOR_CONFIG, 'utf8')) as Record<string, unknown>;
    writeFileSync(COLLECTOR_CONFIG, JSON.stringify({ ...config, port }));
    for (const dir of [COLLECTOR_DATA_DIR, '/var/lib/custodian-keys']) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      execFileSync('chown', [`${COLLECTOR_USER}:${COLLECTOR_USER}`, dir]);
    }
    const unit = readFileSync(COLLECTOR_UNIT, 'utf8');
    const words = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(' ');
    expect(words[0]).toBe(COLLECTOR_BINARY);
    collector = spawn(
      'setpriv',
      ['--reuid', COLLECTOR_USER, '--regid', COLLECTOR_USER, '--init-groups', '--', ...words],
      { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    collector.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    collector.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const url = `http://127.0.0.1:${port}`;
    const creds = await waitFor(async () => {
      if (collector!.exitCode !== null)
        throw Object.assign(new Error(`collector exited:\n${out}`), { fatal: true });
      const token = /admin token: +(\S+)/.exec(out)?.[1];
      const secret = /enrol secret: +(\S+)/.exec(out)?.[1];
      const health = await fetch(`${url}/api/v1/health`);
      return token && secret && health.ok ? { token, secret } : undefined;
    }, 'the installed collector answering');
    const key = statSync(COLLECTOR_KEY_FILE);
    expect(key.mode & 0o777).toBe(0o600);
    expect(key.uid).toBe(Number(execFileSync('id', ['-u', COLLECTOR_USER], { encoding: 'utf8' })));
    expect(readFileSync('/proc/' + collector.pid + '/status', 'utf8')).toMatch(/^Uid:\s+[1-9]/m);
    const enrolled = execFileSync(build.agentExecutable, ['enrol', '--server', url, '--data-dir', agentDir], {
      encoding: 'utf8',
      env: {
        ...process.env,
        CUSTODIAN_ENROL_SECRET: creds.secret,
        CUSTODIAN_AGENT_MACHINE_ID: 'c'.repeat(32),
      },
    });
    const deviceId = /Enrolled as device (\S+)/.exec(enrolled)?.[1];
    expect(deviceId).toBeDefined();
    const devices = (await (
      await fetch(`${url}/api/v1/devices`, { headers: { authorization: `Bearer ${creds.token}` } })
    ).json()) as { devices: { id: string }[] };
    expect(devices.devices.map((d) => d.id)).toContain(deviceId);
    collector.kill('SIGTERM');
    expect(await new Promise((r) => collector!.once('exit', r))).toBe(0);
  });

  it('dpkg -r keeps data, key, config and user; dpkg -P removes them all', async () => {
    await dpkg(['-r', 'custodian-collector']);
    expect(existsSync(COLLECTOR_PREFIX)).toBe(false);
    expect(existsSync(COLLECTOR_UNIT)).toBe(false);
    expect(existsSync(COLLECTOR_KEY_FILE)).toBe(true);
    expect(userExists(COLLECTOR_USER)).toBe(true);
    await dpkg(['-P', 'custodian-collector']);
    expect(isInstalled('custodian-collector')).toBe(false);
    expect(leftovers(LEFTOVERS)).toEqual([]);
    expect(userExists(COLLECTOR_USER)).toBe(false);
    expect(spawnSync('getent', ['group', COLLECTOR_USER]).status).not.toBe(0);
  });
});
