// The MSI installed under Wine (Debian's Wine 8) with the Node 22 variant of the Windows executable:
// Node 24 aborts at start under Wine 8 (it needs MEM_RESERVE_PLACEHOLDER, which Wine 8 lacks), so the
// release's Node 24 build is never run here. msiexec /i … SERVER=… ENROL_SECRET=… /qn installs the
// files and the CustodianAgent service, which runs (sc query); the service host hands the
// properties to the agent's enrol; the agent's heartbeats reach a real collector on 127.0.0.1; and
// msiexec /x removes service and files, after telling the collector the agent is being uninstalled
// (the MSI's ReportUninstall custom action; uninstall-service.cmd does the same; issue 17). The
// browser extension's host (issue 15): the MSI's registry
// values for Chrome and Edge name the manifest the running agent wrote for its collector's extension;
// the launcher it names, run with the command line Chrome uses on Windows, reaches the agent over the
// named pipe and a page's text becomes an alert (about 1.5-4 s of this file's 30-50 s). The install
// passes BROWSER_POLICY=force-install: once enrolled the agent puts its collector's extension into
// Chrome's and Edge's HKLM force-install lists beside a school's own entry, and msiexec /x takes only
// the agent's entry out again; an install without the property writes none.
// Wine specifics: every wine command's output goes to a file (Wine's pipes give Node EBADF), exit
// codes of Wine tools are never taken as success on their own (its powershell.exe is a stub that
// exits 0). Node 22's fetch() cannot connect under Wine 8 (`connect UNKNOWN`), but node:http and ws
// do, and the agent's enrol speaks node:http/https (it pins the collector's CA): so the host's
// enrolment from the MSI's properties runs for real here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORCELIST_VALUE_NAME } from '../../agent/src/native-host/forcelist.ts';
import {
  WINDOWS_AGENT_KEY,
  WINDOWS_BROWSER_POLICY_VALUE,
  WINDOWS_FORCELIST_KEYS,
  WINDOWS_HOST_LAUNCHER,
  WINDOWS_HOST_MANIFEST,
  WINDOWS_HOST_REGISTRY_KEYS,
} from '../../agent/src/native-host/windows-layout.ts';
import { ENROL_SECRET_KEY, INSTALL_DIR_NAME, SERVICE_NAME } from '../../packaging/src/msi.ts';
import { agentCli } from '../support/agent-process.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { allInstalled } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import { timeline } from './agent-harness.ts';
import { frame } from './browser-extension-helpers.ts';
import type { AlertRow } from './capture-helpers.ts';
import { adminApi, createStaff } from './console-helpers.ts';
import { type WindowsBuild, windowsBuild } from './package-build.ts';

const ready = allInstalled([
  'wine',
  'wixl',
  'msiinfo',
  'msiextract',
  'osslsigncode',
  'x86_64-w64-mingw32-gcc',
  'openssl',
]);
let build: WindowsBuild;
let collector: CollectorProcess | undefined;
let prefix: string;
let env: NodeJS.ProcessEnv;
let n = 0;

/** Runs a Wine command with stdout/stderr to a file; returns the status and what it wrote. */
function wine(args: string[], timeoutMs = 180_000): { status: number | null; out: string } {
  const file = join(prefix, `out-${++n}.txt`);
  const r = spawnSync('sh', ['-c', 'exec wine "$@" >"$0" 2>&1', file, ...args], { env, timeout: timeoutMs });
  return { status: r.status, out: existsSync(file) ? readFileSync(file, 'utf8') : '' };
}

/** A school's own force-install entry, there before the agent: it must survive install and uninstall. */
const SCHOOL_ENTRY = `${'c'.repeat(32)};https://school.example/updates.xml`;
const forcelists = () =>
  Object.values(WINDOWS_FORCELIST_KEYS).map((key) => wine(['reg', 'query', `HKLM\\${key}`]).out);
/** How many times the running agent has applied (or removed) its force-install entry. */
const policyPasses = () =>
  existsSync(join(dataDir(), 'logs', 'agent.log'))
    ? (readFileSync(join(dataDir(), 'logs', 'agent.log'), 'utf8').match(
        /"msg":"browser force-install policy"[^\n]*/g,
      ) ?? [])
    : [];

const HOST_EXE = `C:\\Program Files\\${INSTALL_DIR_NAME}\\custodian-service.exe`;
const SERVICE_KEY = `HKLM\\SYSTEM\\CurrentControlSet\\Services\\${SERVICE_NAME}`;

function agentLogTail(): string {
  const f = join(dataDir(), 'logs', 'agent.log');
  return existsSync(f) ? readFileSync(f, 'utf8').slice(-2000) : '(none)';
}

const programFiles = () => join(prefix, 'drive_c', 'Program Files', INSTALL_DIR_NAME);
/**
 * %ProgramData% of this Wine prefix as its services see it: Wine 8 gives services C:\users\Public and
 * every other process C:\ProgramData (on Windows both are C:\ProgramData). The uninstall steps
 * (msiexec's custom action, uninstall-service.cmd) find the service's data dir through %ProgramData%,
 * so the test runs them with the services' value (AS_SERVICES_SEE_IT).
 */
const AS_SERVICES_SEE_IT = 'set ProgramData=C:\\users\\Public&& ';
const dataDir = () => join(prefix, 'drive_c', 'users', 'Public', 'Custodian', 'agent');

function handProcesses(): string[] {
  const r = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => /CustodianHand\\custodian-(agent|service)\.exe/.test(l));
}

function agentProcesses(): string[] {
  const r = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => /Custodian Agent\\custodian-(agent|service)\.exe/.test(l));
}

beforeAll(async () => {
  if (!ready) return;
  build = await windowsBuild();
  collector = await startCollector();
  prefix = mkdtempSync(join(tmpdir(), 'custodian-wine-'));
  env = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
  const boot = wine(['wineboot', '-i'], 300_000);
  // wineboot returns before the registry is on disk; wineserver -w waits until it is flushed.
  spawnSync('wineserver', ['-w'], { env, timeout: 120_000 });
  expect(existsSync(join(prefix, 'system.reg')), boot.out).toBe(true);
  wine(['winecfg', '/v', 'win10']);
  spawnSync('wineserver', ['-w'], { env, timeout: 120_000 });
  expect(readFileSync(join(prefix, 'system.reg'), 'utf8')).toMatch(/"CurrentBuild(Number)?"="1\d{4}"/);
}, 1_200_000);

afterAll(async () => {
  if (prefix) {
    spawnSync('wineserver', ['-k'], { env });
    rmSync(prefix, { recursive: true, force: true });
  }
  await collector?.cleanup();
});

describe.runIf(ready)('agent MSI under Wine (Node 22 variant)', () => {
  it('msiexec /i with SERVER, ENROL_SECRET and BROWSER_POLICY installs the files and a running CustodianAgent service', async () => {
    const chrome = `HKLM\\${WINDOWS_FORCELIST_KEYS.chrome}`;
    wine(['reg', 'add', chrome, '/v', '1', '/t', 'REG_SZ', '/d', SCHOOL_ENTRY, '/f']);
    expect(wine(['reg', 'query', chrome]).out).toContain(SCHOOL_ENTRY);
    wine([
      'msiexec',
      '/i',
      build.wineMsi,
      `SERVER=${collector!.url}`,
      `ENROL_SECRET=${collector!.enrolSecret}`,
      'BROWSER_POLICY=force-install',
      '/qn',
    ]);
    // Where the service's agent reads it (the key local users may read: nothing secret in it).
    expect(wine(['reg', 'query', `HKLM\\${WINDOWS_AGENT_KEY}`]).out).toMatch(
      new RegExp(`${WINDOWS_BROWSER_POLICY_VALUE}\\s+REG_SZ\\s+force-install`),
    );
    expect(existsSync(join(programFiles(), 'custodian-agent.exe'))).toBe(true);
    expect(existsSync(join(programFiles(), 'custodian-service.exe'))).toBe(true);
    expect(existsSync(join(programFiles(), 'classic-level.node'))).toBe(true);
    const q = await waitFor(async () => {
      const r = wine(['sc', 'query', SERVICE_NAME]);
      return /STATE\s*:\s*4\s+RUNNING/.test(r.out) ? r.out : undefined;
    }, 'sc query CustodianAgent RUNNING');
    expect(q).toContain(`SERVICE_NAME: ${SERVICE_NAME}`);
    expect(wine(['reg', 'query', SERVICE_KEY]).out).toMatch(/ImagePath\s+REG_\w+\s+.*custodian-service\.exe/);
  }, 300_000);

  it("the host enrols with the MSI's SERVER and ENROL_SECRET, then removes the secret from the registry", async () => {
    const hostLog = await waitFor(
      async () => {
        const f = join(dataDir(), 'logs', 'service-host.log');
        const text = existsSync(f) ? readFileSync(f, 'utf8') : '';
        return /enrolled from the installer's properties/.test(text) ? text : undefined;
      },
      'the service host enrolling from the installer properties',
      180_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nagent.log: ${agentLogTail()}`);
    });
    expect(hostLog).not.toMatch(/enrolment from the installer's properties failed/);
    const agentLog = readFileSync(join(dataDir(), 'logs', 'agent.log'), 'utf8');
    expect(agentLog).toContain(`Enrolled as device`);
    const creds = JSON.parse(readFileSync(join(dataDir(), 'credentials.json'), 'utf8')) as {
      deviceId: string;
      serverUrl: string;
    };
    expect(creds.serverUrl).toBe(collector!.url);
    const reg = wine(['reg', 'query', 'HKLM\\SOFTWARE\\Custodian\\Agent']).out;
    expect(reg).toMatch(new RegExp(`Server\\s+REG_SZ\\s+${collector!.url.replace(/[.]/g, '\\.')}`));
    expect(reg).not.toContain('EnrolSecret');
    expect(reg).not.toContain(collector!.enrolSecret);
    // The host's protected key held it until now (issue 17); enrolled, the key is gone.
    expect(wine([HOST_EXE, '--enrol-secret-acl']).out.trim()).toBe('absent');
    // The secret never went onto a command line (the service's or the agent's).
    expect(spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout).not.toContain(
      collector!.enrolSecret,
    );
  }, 300_000);

  it("enrolled, the running service's agent sends heartbeats to the collector on 127.0.0.1", async () => {
    const { deviceId } = JSON.parse(readFileSync(join(dataDir(), 'credentials.json'), 'utf8')) as {
      deviceId: string;
    };
    const items = await waitFor(
      async () => {
        const t = await timeline(collector!, deviceId);
        return t.some((i) => i.kind === 'heartbeat') && t.some((i) => i.kind === 'agentStarted')
          ? t
          : undefined;
      },
      'agentStarted and a heartbeat from the agent under Wine',
      180_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nagent.log: ${agentLogTail()}`);
    });
    expect(items.find((i) => i.kind === 'heartbeat')).toBeDefined();
  }, 300_000);

  it("the browser host, started the way Chrome starts it, reaches the agent over its named pipe: a page's text becomes an alert", async () => {
    // The running agent (the service host passes --browser-files <its folder>) wrote the manifest
    // for its collector's extension over the MSI's placeholder; the MSI registered it for Chrome and Edge.
    const { extensionId } = (await (await fetch(`${collector!.url}/ext/extension-id`)).json()) as {
      extensionId: string;
    };
    const manifest = await waitFor(
      async () => {
        const f = join(programFiles(), WINDOWS_HOST_MANIFEST);
        const m = existsSync(f)
          ? (JSON.parse(readFileSync(f, 'utf8')) as { path: string; allowed_origins: string[] })
          : undefined;
        return m?.allowed_origins[0] === `chrome-extension://${extensionId}/` ? m : undefined;
      },
      "the agent's host manifest for the collector's extension",
      60_000,
    );
    const manifestPath = `C:\\Program Files\\${INSTALL_DIR_NAME}\\${WINDOWS_HOST_MANIFEST}`;
    expect(manifest.path).toBe(`C:\\Program Files\\${INSTALL_DIR_NAME}\\${WINDOWS_HOST_LAUNCHER}`);
    for (const key of Object.values(WINDOWS_HOST_REGISTRY_KEYS))
      expect(wine(['reg', 'query', `HKLM\\${key}`]).out).toContain(manifestPath);
    // BROWSER_POLICY=force-install: the collector's extension in both force-install lists, under the
    // agent's own value name; the school's entry "1" still there.
    const entry = `${extensionId};${collector!.url}/ext/updates.xml`;
    const lists = await waitFor(
      async () => {
        const out = forcelists();
        return out.every((o) => o.includes(entry)) ? out : undefined;
      },
      "the agent's force-install entry for Chrome and Edge",
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nagent.log: ${agentLogTail()}`);
    });
    for (const out of lists)
      expect(out).toMatch(
        new RegExp(`\\b${FORCELIST_VALUE_NAME}\\s+REG_SZ\\s+${entry.replace(/[.]/g, '\\.')}`),
      );
    expect(lists[0]).toMatch(new RegExp(`\\b1\\s+REG_SZ\\s+${SCHOOL_ENTRY.replace(/[.]/g, '\\.')}`));
    expect(policyPasses().at(-1)).toContain('"outcomes":"chrome:set,edge:set"');
    // Chrome on Windows runs `cmd /d /c ""<path>" <origin> --parent-window=N < pipe > pipe"`; files here.
    const text = 'why would anyone unalive yourself like that';
    writeFileSync(
      join(prefix, 'drive_c', 'host-in.bin'),
      frame(JSON.stringify({ kind: 'page', url: 'https://example.test/forum', title: 'Forum', text })),
    );
    // Separate arguments: Wine quotes the path (it has spaces) and leaves `<` `>` for cmd, which
    // gives cmd the command line Chrome gives it.
    const run = wine([
      'cmd',
      '/d',
      '/c',
      manifest.path,
      `chrome-extension://${extensionId}/`,
      '--parent-window=0',
      '<',
      'C:\\host-in.bin',
      '>',
      'C:\\host-out.bin',
    ]);
    expect(readFileSync(join(prefix, 'drive_c', 'host-out.bin'))).toHaveLength(0); // cmd printed nothing
    // The token in its own folder (its ACL is set by icacls: a stub under Wine, see the agent README).
    expect(readFileSync(join(dataDir(), 'run', 'token', 'native-host.token'), 'utf8')).toMatch(
      /^[0-9a-f]{64}$/,
    );
    // The handshake proved both ends and the lines were sealed (channel-crypto.ts).
    expect(readFileSync(join(dataDir(), 'logs', 'agent.log'), 'utf8')).toMatch(
      /"msg":"browser extension connected"[^\n]*"sealed":true/,
    );
    const dsl = await createStaff(collector!, 'dsl-wine', 'dsl');
    const login = await fetch(`${collector!.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(dsl),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const alert = await waitFor(
      async () => {
        const res = await fetch(`${collector!.url}/api/v1/alerts?limit=50`, { headers: { cookie } });
        const { alerts } = (await res.json()) as { alerts: AlertRow[] };
        return alerts.find((a) => a.term === 'unalive yourself');
      },
      'an alert from the page text the host forwarded',
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nhost run: ${run.out}\nagent.log: ${agentLogTail()}`);
    });
    expect(alert).toMatchObject({ source: 'page', windowUrl: 'https://example.test/forum' });
  }, 180_000);

  it('the enrol secret store: a key only SYSTEM and Administrators may open, never the readable key', async () => {
    // What the MSI's StoreEnrolSecret custom action runs (as SYSTEM): run here by hand, since the
    // install's own secret is already used and deleted. Wine runs every process as an administrator,
    // so it cannot show a standard user being refused; it shows the key's DACL as the host set it.
    wine([HOST_EXE, '--store-enrol-secret', 'probe-enrol-secret']);
    expect(wine([HOST_EXE, '--enrol-secret-acl']).out.trim()).toBe('D:P(A;;KA;;;SY)(A;;KA;;;BA)');
    expect(wine(['reg', 'query', `HKLM\\${ENROL_SECRET_KEY}`]).out).toContain('probe-enrol-secret');
    expect(wine(['reg', 'query', 'HKLM\\SOFTWARE\\Custodian\\Agent']).out).not.toContain(
      'probe-enrol-secret',
    );
  }, 120_000);

  it('msiexec /x stops the service, reports the uninstall to the collector, removes the service and the files', async () => {
    wine(['cmd', '/c', `${AS_SERVICES_SEE_IT}msiexec /x ${build.wineMsi} /qn`]);
    expect(existsSync(join(programFiles(), 'custodian-agent.exe'))).toBe(false);
    expect(existsSync(join(programFiles(), 'custodian-service.exe'))).toBe(false);
    // The browser host files the agent rewrote (over the MSI's placeholders) and their registration.
    expect(existsSync(join(programFiles(), WINDOWS_HOST_MANIFEST))).toBe(false);
    expect(existsSync(join(programFiles(), WINDOWS_HOST_LAUNCHER))).toBe(false);
    for (const key of Object.values(WINDOWS_HOST_REGISTRY_KEYS))
      expect(wine(['reg', 'query', `HKLM\\${key}`]).out).not.toContain(WINDOWS_HOST_MANIFEST);
    // The RemoveBrowserPolicy custom action took the agent's force-install entries out; the
    // school's stays, and the MSI's BrowserPolicy value went with the product.
    const lists = forcelists();
    for (const out of lists) expect(out).not.toContain('/ext/updates.xml');
    expect(lists[0]).toContain(SCHOOL_ENTRY);
    expect(wine(['reg', 'query', `HKLM\\${WINDOWS_AGENT_KEY}`]).out).not.toContain(
      WINDOWS_BROWSER_POLICY_VALUE,
    );
    const q = wine(['sc', 'query', SERVICE_NAME]);
    expect(q.out).not.toMatch(/RUNNING/);
    // Wine's sc prints nothing for a missing service: the service's registry key says it is gone.
    expect(q.out).not.toContain(`SERVICE_NAME: ${SERVICE_NAME}`);
    expect(wine(['reg', 'query', SERVICE_KEY]).out).not.toContain('custodian-service.exe');
    // The protected key goes with the product (its "-" Registry row), secret and all.
    expect(wine(['reg', 'query', `HKLM\\${ENROL_SECRET_KEY}`]).out).not.toContain('probe-enrol-secret');
    await waitFor(
      async () => (agentProcesses().length === 0 ? true : undefined),
      'agent and host processes gone',
      30_000,
    );
    // The service stop reached the agent as a clean stop (the host closes its stdin), not a kill:
    // its goodbye is in the timeline, so IT does not see an agent stopped without a shutdown.
    const { deviceId } = JSON.parse(readFileSync(join(dataDir(), 'credentials.json'), 'utf8')) as {
      deviceId: string;
    };
    const t = await timeline(collector!, deviceId);
    expect(readFileSync(join(dataDir(), 'logs', 'service-host.log'), 'utf8')).toContain(
      'agent stopped cleanly',
    );
    expect(
      t
        .filter((i) => i.kind === 'agentStopping')
        .map((i) => (i.event['agentStopping'] as { reason?: string }).reason),
    ).toEqual(['service stop']);
    // Then the uninstall itself, from the custom action run after StopServices (its own short session).
    const uninstalled = t.filter((i) => i.kind === 'agentUninstalled');
    expect(uninstalled.map((i) => (i.event['agentUninstalled'] as { method?: string }).method)).toEqual([
      'msi uninstall',
    ]);
    expect(uninstalled[0]!.seq).toBeGreaterThan(t.find((i) => i.kind === 'agentStopping')!.seq);
    const device = (await adminApi(collector!, 'GET', `/devices/${deviceId}`)).device;
    expect(device.status.uninstalled).toMatchObject({ method: 'msi uninstall' });
  }, 300_000);

  it("without the MSI: the agent's install-service.cmd registers the same host, the agent runs, uninstall-service.cmd removes it", async () => {
    // The MSI's files copied by hand (msiextract) to C:\CustodianHand, as an MDM would drop them.
    const hand = join(prefix, 'drive_c', 'CustodianHand');
    const extracted = join(prefix, 'extract');
    expect(spawnSync('msiextract', ['-C', extracted, build.wineMsi], { encoding: 'utf8' }).status).toBe(0);
    renameSync(join(extracted, INSTALL_DIR_NAME), hand);
    await agentCli(['install-service', '--target', 'win32', '--out', hand]);
    const { deviceId } = JSON.parse(readFileSync(join(dataDir(), 'credentials.json'), 'utf8')) as {
      deviceId: string;
    };
    const startsBefore = (await timeline(collector!, deviceId)).filter(
      (i) => i.kind === 'agentStarted',
    ).length;
    const passesBefore = policyPasses().length;
    const install = wine(['cmd', '/c', 'C:\\CustodianHand\\install-service.cmd']);
    const q = await waitFor(async () => {
      const r = wine(['sc', 'query', SERVICE_NAME]);
      return /STATE\s*:\s*4\s+RUNNING/.test(r.out) ? r.out : undefined;
    }, `sc query CustodianAgent RUNNING after install-service.cmd (it printed: ${install.out})`);
    expect(q).toContain(`SERVICE_NAME: ${SERVICE_NAME}`);
    expect(wine(['reg', 'query', SERVICE_KEY]).out).toMatch(
      /ImagePath\s+REG_\w+\s+.*CustodianHand\\custodian-service\.exe/i,
    );
    // The host runs the agent from the same folder, with the device's existing identity.
    await waitFor(
      async () =>
        (await timeline(collector!, deviceId)).filter((i) => i.kind === 'agentStarted').length > startsBefore
          ? true
          : undefined,
      'a new agentStarted from the hand-registered service',
      180_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nagent.log: ${agentLogTail()}`);
    });
    // No MSI, so no BROWSER_POLICY: the agent's start writes no force-install entry.
    const pass = await waitFor(
      async () => policyPasses()[passesBefore],
      "the hand-registered agent's force-install pass",
      120_000,
    );
    expect(pass).toContain('"requested":false');
    expect(pass).toContain('"outcomes":"chrome:none,edge:none"');
    for (const out of forcelists()) expect(out).not.toContain('/ext/updates.xml');
    const uninstall = wine(['cmd', '/c', `${AS_SERVICES_SEE_IT}C:\\CustodianHand\\uninstall-service.cmd`]);
    expect(uninstall.out).toContain('uninstall reported to the collector');
    await waitFor(
      async () =>
        wine(['reg', 'query', SERVICE_KEY]).out.includes('custodian-service.exe') ? undefined : true,
      'the service removed by uninstall-service.cmd',
      60_000,
    );
    await waitFor(
      async () => (agentProcesses().length === 0 && handProcesses().length === 0 ? true : undefined),
      'agent and host processes gone',
      30_000,
    );
    // Stopped cleanly by the host here too: a second service-stop goodbye.
    const stops = (await timeline(collector!, deviceId))
      .filter((i) => i.kind === 'agentStopping')
      .map((i) => (i.event['agentStopping'] as { reason?: string }).reason);
    expect(stops).toEqual(['service stop', 'service stop']);
    const methods = (await timeline(collector!, deviceId, ['agentUninstalled'])).map(
      (i) => (i.event['agentUninstalled'] as { method?: string }).method,
    );
    expect(methods).toEqual(['msi uninstall', 'uninstall-service.cmd']);
  }, 400_000);

  it('a secret waiting for its first enrolment (collector unreachable) is not in the key local users read', async () => {
    // The attack (issue 17): a pupil reads HKLM\SOFTWARE\Custodian\Agent between the install and the
    // first successful enrolment. Make that window last: a new machine (no credentials) and a
    // collector that does not answer.
    rmSync(join(dataDir(), 'credentials.json'), { force: true });
    const waiting = 'waiting-enrol-secret-17';
    wine(['msiexec', '/i', build.wineMsi, 'SERVER=http://127.0.0.1:9', `ENROL_SECRET=${waiting}`, '/qn']);
    await waitFor(
      async () => {
        const f = join(dataDir(), 'logs', 'service-host.log');
        return existsSync(f) &&
          /enrolment from the installer's properties failed/.test(readFileSync(f, 'utf8'))
          ? true
          : undefined;
      },
      'the first start failing to enrol',
      180_000,
    );
    const readable = wine(['reg', 'query', 'HKLM\\SOFTWARE\\Custodian\\Agent']).out;
    expect(readable).toMatch(/Server\s+REG_SZ\s+http:\/\/127\.0\.0\.1:9/);
    expect(readable).not.toContain(waiting);
    // Waiting in the protected key for the next start's retry.
    expect(wine([HOST_EXE, '--enrol-secret-acl']).out.trim()).toBe('D:P(A;;KA;;;SY)(A;;KA;;;BA)');
    expect(wine(['reg', 'query', `HKLM\\${ENROL_SECRET_KEY}`]).out).toContain(waiting);
    // Uninstalled before it ever enrolled: the key goes with the product.
    wine(['cmd', '/c', `${AS_SERVICES_SEE_IT}msiexec /x ${build.wineMsi} /qn`]);
    expect(existsSync(join(programFiles(), 'custodian-service.exe'))).toBe(false);
    expect(wine(['reg', 'query', `HKLM\\${ENROL_SECRET_KEY}`]).out).not.toContain(waiting);
  }, 400_000);
});
