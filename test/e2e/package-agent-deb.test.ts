// The agent's .deb installed on this machine for real (dpkg -i as root), against a real collector
// process under Xvfb: the service enrols from the installer's config at its first start, streams
// heartbeats, its inventory and window changes; dpkg -r tells the collector the agent was
// uninstalled (prerm: `report-uninstall`, issue 17) and dpkg -r / dpkg -P leave nothing behind.
// systemd is not PID 1 here (no `systemctl start`): the test starts the installed binary exactly as
// the installed unit would (its ExecStart words and Environment=, stdin not a terminal), plus the
// test's DISPLAY (on a laptop the service finds the desktop session itself; there is no logind
// session here to find).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINUX_LAUNCHER, LINUX_POLICY_FILE } from '../../agent/src/native-host/browser-files.ts';
import { HOST_MANIFEST_LOCATIONS, POLICY_DIRS_LINUX } from '../../agent/src/native-host/deploy.ts';
import { isPng } from '../../agent/src/platform/screenshot-process.ts';
import { HOST_NAME } from '../../packages/browser-extension/src/index.ts';
import {
  AGENT_BINARY,
  AGENT_BROWSER_FILES,
  AGENT_DATA_DIR,
  AGENT_ENROL_CONFIG,
  AGENT_PREFIX,
  AGENT_UNIT,
} from '../../packaging/src/agent-deb.ts';
import { type CollectorProcess, FULL_TITLES, startCollector } from '../support/collector-process.ts';
import { allInstalled } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import { startX, type XSession } from '../support/xvfb.ts';
import { timeline } from './agent-harness.ts';
import { adminApi, type Json } from './console-helpers.ts';
import { dpkg, isInstalled, type LinuxBuild, leftovers, linuxBuild } from './package-build.ts';

const LEFTOVERS = [
  ...AGENT_BROWSER_FILES,
  '/usr/lib/custodian-agent',
  AGENT_PREFIX,
  AGENT_UNIT,
  '/etc/systemd/system/multi-user.target.wants/custodian-agent.service',
  '/etc/custodian-agent',
  AGENT_DATA_DIR,
];

/** systemd's ExecStart= words (the agent writes every word double-quoted). */
export function execStartWords(unit: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? '').replace(/\\(.)/g, '$1'));
}

export function unitEnvironment(unit: string): Record<string, string> {
  return Object.fromEntries(
    [...unit.matchAll(/^Environment=([^=\n]+)=(.*)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
  );
}

const ready = allInstalled([
  'dpkg',
  'dpkg-deb',
  'systemd-analyze',
  'strip',
  'Xvfb',
  'openbox',
  'xterm',
  'xprop',
]);
let build: LinuxBuild;
let collector: CollectorProcess | undefined;
let x: XSession | undefined;
let agent: ChildProcess | undefined;
let agentLog = '';
let deviceId = '';

beforeAll(async () => {
  if (!ready) return;
  // A run that died half-way leaves the package installed: start from a clean machine.
  if (isInstalled('custodian-agent') || existsSync(AGENT_PREFIX)) await dpkg(['--purge', 'custodian-agent']);
  build = await linuxBuild();
  // Full titles for IT: the test reads the window title back as the admin token.
  collector = await startCollector({ env: { ...FULL_TITLES, CUSTODIAN_HEALTH_CHECK_INTERVAL_MS: '500' } });
  x = await startX();
}, 600_000);

afterAll(async () => {
  if (agent && agent.exitCode === null) {
    agent.kill('SIGKILL');
  }
  if (ready && isInstalled('custodian-agent')) await dpkg(['--purge', 'custodian-agent']);
  await x?.stop();
  await collector?.cleanup();
});

describe.runIf(ready)('agent .deb installed with dpkg', () => {
  it('installs the executable, the unit and the 0600 enrol config from the installing environment', async () => {
    await dpkg(['-i', build.agentDeb], {
      ...process.env,
      CUSTODIAN_SERVER: collector!.url,
      CUSTODIAN_ENROL_SECRET: collector!.enrolSecret,
    });
    expect(isInstalled('custodian-agent')).toBe(true);
    expect(statSync(AGENT_BINARY).mode & 0o777).toBe(0o755);
    expect(existsSync(`${AGENT_PREFIX}/classic-level.node`)).toBe(true);
    const conf = statSync(AGENT_ENROL_CONFIG);
    expect([conf.mode & 0o777, conf.uid]).toEqual([0o600, 0]);
    expect(statSync('/etc/custodian-agent').mode & 0o777).toBe(0o700);
    expect(readFileSync(AGENT_ENROL_CONFIG, 'utf8')).toBe(
      `SERVER=${collector!.url}\nENROL_SECRET=${collector!.enrolSecret}\n`,
    );
    // systemd is not running here: postinst must not have enabled anything.
    expect(existsSync('/etc/systemd/system/multi-user.target.wants/custodian-agent.service')).toBe(false);
  });

  it('the installed unit passes systemd-analyze verify and runs the executable itself', () => {
    const r = spawnSync('systemd-analyze', ['verify', AGENT_UNIT], { encoding: 'utf8' });
    expect(r.stderr.split('\n').filter((l) => l.includes('custodian-agent'))).toEqual([]);
    expect(r.status).toBe(0);
    // The same unit the installed executable generates itself (`install-service`), but for the
    // installer's --enrol-config.
    const dir = mkdtempSync(join(tmpdir(), 'custodian-unit-'));
    try {
      execFileSync(
        AGENT_BINARY,
        ['install-service', '--no-enable', '--unit-dir', dir, '--data-dir', AGENT_DATA_DIR],
        {
          stdio: 'pipe',
        },
      );
      const generated = readFileSync(join(dir, 'custodian-agent.service'), 'utf8');
      const withoutEnrolConfig = readFileSync(AGENT_UNIT, 'utf8').replace(
        ` "--enrol-config" "${AGENT_ENROL_CONFIG}" "--browser-files" "/"`,
        '',
      );
      expect(withoutEnrolConfig).toBe(generated);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(execStartWords(readFileSync(AGENT_UNIT, 'utf8'))).toEqual([
      AGENT_BINARY,
      'run',
      '--data-dir',
      AGENT_DATA_DIR,
      '--enrol-config',
      AGENT_ENROL_CONFIG,
      '--browser-files',
      '/',
    ]);
  });

  it('started as the unit starts it: enrols from the config, deletes it, streams heartbeat, inventory and windows', async () => {
    const unit = readFileSync(AGENT_UNIT, 'utf8');
    const [exe, ...args] = execStartWords(unit);
    agent = spawn(exe!, args, {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...unitEnvironment(unit), DISPLAY: x!.display },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout!.on('data', (d: Buffer) => {
      agentLog += d.toString();
    });
    agent.stderr!.on('data', (d: Buffer) => {
      agentLog += d.toString();
    });
    const creds = await waitFor(
      async () =>
        existsSync(`${AGENT_DATA_DIR}/credentials.json`)
          ? (JSON.parse(readFileSync(`${AGENT_DATA_DIR}/credentials.json`, 'utf8')) as { deviceId: string })
          : agent!.exitCode !== null
            ? Promise.reject(Object.assign(new Error(`agent exited:\n${agentLog}`), { fatal: true }))
            : undefined,
      'enrolment from the installer config',
    );
    expect(existsSync(AGENT_ENROL_CONFIG)).toBe(false);
    deviceId = creds.deviceId;
    await x!.openWindow('Custodian installed agent window');
    let seen = new Set<string>();
    const items = await waitFor(async () => {
      const t = await timeline(collector!, creds.deviceId);
      seen = new Set(t.map((i) => i.kind));
      const win = t.some((i) => i.event.activeWindow?.title === 'Custodian installed agent window');
      return win && seen.has('heartbeat') && seen.has('inventory') ? t : undefined;
    }, 'heartbeat, inventory and the window from the installed agent').catch((err: Error) => {
      throw new Error(
        `${err.message}; kinds seen: ${[...seen].join(', ')}\nagent log:\n${agentLog.slice(-3000)}`,
      );
    });
    // Inventory runs in a child process of the executable (`custodian-agent inventory`).
    const inventory = items.find((i) => i.kind === 'inventory')!.event['inventory'] as {
      agentVersion: string;
    };
    expect(inventory.agentVersion).toBe('0.1.0');
    // status.json is rewritten every few seconds: poll the installed binary's `status`.
    const status = await waitFor(async () => {
      const out = execFileSync(AGENT_BINARY, ['status', '--json', '--data-dir', AGENT_DATA_DIR], {
        encoding: 'utf8',
      });
      const parsed = JSON.parse(out) as { connection?: string };
      return parsed.connection === 'connected' ? parsed : undefined;
    }, 'the installed binary reporting connected');
    expect(status).toMatchObject({ enrolled: true, running: true, connection: 'connected' });
    // The browser extension's host files for this collector's extension id (`--browser-files /`),
    // and no force-install policy: IT did not ask for one (CUSTODIAN_BROWSER_POLICY).
    const { extensionId } = (await (await fetch(`${collector!.url}/ext/extension-id`)).json()) as {
      extensionId: string;
    };
    const manifestPath = `${HOST_MANIFEST_LOCATIONS.linux.chromium}/${HOST_NAME}.json`;
    const manifest = await waitFor(
      async () =>
        existsSync(manifestPath)
          ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as { path: string; allowed_origins: string[] })
          : undefined,
      'the host manifest written by the installed agent',
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nagent log:\n${agentLog.slice(-3000)}`);
    });
    expect(manifest.allowed_origins).toEqual([`chrome-extension://${extensionId}/`]);
    expect(manifest.path).toBe(LINUX_LAUNCHER);
    expect(statSync(LINUX_LAUNCHER).mode & 0o777).toBe(0o755);
    expect(readFileSync(LINUX_LAUNCHER, 'utf8')).toContain(AGENT_BINARY);
    for (const dir of Object.values(POLICY_DIRS_LINUX))
      expect(existsSync(`${dir}/${LINUX_POLICY_FILE}`)).toBe(false);
    expect(agentLog).not.toMatch(/"level":"error"/);
    expect(agentLog).not.toContain(collector!.enrolSecret);
    agent.kill('SIGTERM');
    await new Promise((r) => agent!.once('exit', r));
  });

  it('the installed executable takes a screenshot in its own child (`custodian-agent screenshot-child`)', () => {
    const out = execFileSync(AGENT_BINARY, ['screenshot-child'], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DISPLAY: x!.display },
      encoding: 'utf8',
      timeout: 30_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const png = Buffer.from(out, 'base64');
    expect(isPng(png)).toBe(true);
    expect(png.length).toBeGreaterThan(1000);
  });

  it('dpkg -r reports the uninstall to the collector, removes the program and unit but keeps the data; dpkg -P then leaves nothing', async () => {
    expect(existsSync(LINUX_LAUNCHER)).toBe(true);
    // The service was stopped cleanly (SIGTERM above): until now the device reads "stopped".
    const before = (await adminApi(collector!, 'GET', `/devices/${deviceId}`)).device;
    expect(before.status.lastStop).toBeDefined();
    expect(before.status.uninstalled).toBeUndefined();
    // An upgrade runs the same prerm with "upgrade": that is not an uninstall.
    const upgrade = spawnSync('sh', ['/var/lib/dpkg/info/custodian-agent.prerm', 'upgrade', '0.1.1'], {
      encoding: 'utf8',
    });
    expect(upgrade.status).toBe(0);
    expect(upgrade.stdout).not.toContain('uninstall');
    expect(await timeline(collector!, deviceId, ['agentUninstalled'])).toEqual([]);
    const out = await dpkg(['-r', 'custodian-agent'], { ...process.env, SUDO_USER: 'it-technician' });
    expect(out).toContain('uninstall reported to the collector');
    const [ev] = await timeline(collector!, deviceId, ['agentUninstalled']);
    expect(ev?.event['agentUninstalled']).toEqual({ method: 'dpkg remove', user: 'it-technician' });
    // After the clean stop's agentStopping, in the same stream.
    const [stop] = (await timeline(collector!, deviceId, ['agentStopping'])).slice(-1);
    expect(ev!.seq).toBeGreaterThan(stop!.seq);
    const after = (await adminApi(collector!, 'GET', `/devices/${deviceId}`)).device;
    expect(after.status).toMatchObject({ connected: false, uninstalled: { method: 'dpkg remove' } });
    const alert = await waitFor(async () => {
      const a = (await adminApi(collector!, 'GET', `/device-health/alerts?deviceId=${deviceId}`))
        .alerts as Json[];
      return a.find((x) => x.kind === 'agent-uninstalled');
    }, 'the agent-uninstalled health alert');
    expect(alert.state).toBe('open');
    expect(existsSync(AGENT_PREFIX)).toBe(false);
    // What the agent wrote for the browser goes with the program.
    expect(AGENT_BROWSER_FILES.filter((f) => existsSync(f))).toEqual([]);
    expect(existsSync(AGENT_UNIT)).toBe(false);
    expect(existsSync(`${AGENT_DATA_DIR}/credentials.json`)).toBe(true);
    await dpkg(['-P', 'custodian-agent']);
    expect(isInstalled('custodian-agent')).toBe(false);
    expect(leftovers(LEFTOVERS)).toEqual([]);
  });
});
