// The Windows MSI as built on Linux: its tables say what Windows Installer will do (files under
// Program Files, the LocalSystem service started at install and removed at uninstall, SERVER and
// ENROL_SECRET and BROWSER_POLICY as secure properties, the secret hidden from logs, the agent's
// force-install entries removed at uninstall), and the MSI and the executables
// inside it carry Authenticode signatures osslsigncode verifies against the signing certificate.
// Installing it is test/e2e/package-msi-wine.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  WINDOWS_BROWSER_POLICY_VALUE,
  WINDOWS_HOST_LAUNCHER,
  WINDOWS_HOST_MANIFEST,
  WINDOWS_HOST_REGISTRY_KEYS,
} from '../../agent/src/native-host/windows-layout.ts';
import { SERVICE_NAME } from '../../packaging/src/msi.ts';
import { allInstalled } from '../support/tools.ts';
import { type WindowsBuild, windowsBuild } from './package-build.ts';

const ready = allInstalled([
  'wixl',
  'msiinfo',
  'msibuild',
  'osslsigncode',
  'x86_64-w64-mingw32-gcc',
  'openssl',
]);
let build: WindowsBuild;
let scratch: string;

/** One MSI table as rows of named columns (msiinfo export: names, types, table name, rows). */
function table(msi: string, name: string): Record<string, string>[] {
  const lines = execFileSync('msiinfo', ['export', msi, name], { encoding: 'utf8' }).split(/\r?\n/);
  const cols = (lines[0] ?? '').split('\t');
  return lines
    .slice(3)
    .filter((l) => l !== '')
    .map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i] ?? String(i), v])));
}

function verify(file: string): { status: number | null; out: string } {
  const r = spawnSync('osslsigncode', ['verify', '-CAfile', build.cert, '-in', file], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  if (!ready) return;
  build = await windowsBuild();
  scratch = mkdtempSync(join(tmpdir(), 'custodian-msi-'));
}, 900_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe.runIf(ready)('agent MSI (wixl)', () => {
  it('installs the LocalSystem service CustodianAgent: auto start, started at install, stopped and removed at uninstall', () => {
    expect(table(build.msi, 'ServiceInstall')).toEqual([
      expect.objectContaining({
        Name: SERVICE_NAME,
        ServiceType: '16', // own process
        StartType: '2', // automatic
        StartName: 'LocalSystem',
        Component_: 'ServiceHost',
      }),
    ]);
    // 163 = start at install (1) + stop at install (2) and uninstall (32) + delete at uninstall (128)
    expect(table(build.msi, 'ServiceControl')).toEqual([
      expect.objectContaining({ Name: SERVICE_NAME, Event: '163', Wait: '1', Component_: 'ServiceHost' }),
    ]);
  });

  it('an uninstall (not an upgrade) runs report-uninstall as SYSTEM after the service stopped, before it and the files go', () => {
    const agentExe = table(build.msi, 'File').find(
      (r) => r['FileName']?.split('|').pop() === 'custodian-agent.exe',
    );
    // 3154 = 18 (run an installed file) + 64 (exit code ignored) + 1024 (deferred) + 2048 (no impersonation: SYSTEM)
    expect(table(build.msi, 'CustomAction').filter((r) => r['Action'] === 'ReportUninstall')).toEqual([
      expect.objectContaining({
        Action: 'ReportUninstall',
        Type: '3154',
        Source: agentExe?.['File'],
        Target: 'report-uninstall --method "msi uninstall" --user "[LogonUser]" --wait-seconds 10',
      }),
    ]);
    const seq = Object.fromEntries(table(build.msi, 'InstallExecuteSequence').map((r) => [r['Action'], r]));
    expect(seq['ReportUninstall']?.['Condition']).toBe('REMOVE="ALL" AND NOT UPGRADINGPRODUCTCODE');
    const at = (a: string) => Number(seq[a]?.['Sequence']);
    expect(at('StopServices')).toBeLessThan(at('ReportUninstall'));
    expect(at('ReportUninstall')).toBeLessThan(at('DeleteServices'));
    expect(at('DeleteServices')).toBeLessThan(at('RemoveFiles'));
  });

  it('takes SERVER and ENROL_SECRET as secure properties, the secret hidden; the secret never goes where local users read', () => {
    const props = Object.fromEntries(table(build.msi, 'Property').map((r) => [r['Property'], r['Value']]));
    expect(props['SecureCustomProperties']).toBe('SERVER;ENROL_SECRET;BROWSER_POLICY');
    expect(props['MsiHiddenProperties']).toBe('ENROL_SECRET');
    expect(props['ALLUSERS']).toBe('1');
    const reg = table(build.msi, 'Registry').map((r) => [r['Root'], r['Key'], r['Name'], r['Value']]);
    // Issue 17: HKLM\SOFTWARE is readable by every local user: the server only, never the secret.
    expect(reg).toEqual([
      ['2', 'SOFTWARE\\Custodian\\Agent\\', 'Server', '[SERVER]'],
      // Issue 15: IT's opt-in to the force-install policy, for the agent to read at each start.
      ['2', 'SOFTWARE\\Custodian\\Agent\\', 'BrowserPolicy', '[BROWSER_POLICY]'],
      // The browser extension's native-messaging host (issue 15), for Chrome and Edge.
      [
        '2',
        'SOFTWARE\\Google\\Chrome\\NativeMessagingHosts\\uk.custodian.agent',
        '',
        '[INSTALLDIR]uk.custodian.agent.json',
      ],
      [
        '2',
        'SOFTWARE\\Microsoft\\Edge\\NativeMessagingHosts\\uk.custodian.agent',
        '',
        '[INSTALLDIR]uk.custodian.agent.json',
      ],
      // "-": the host's protected key goes, with its values, at uninstall.
      ['2', 'SOFTWARE\\Custodian\\Agent\\Enrolment', '-', ''],
    ]);
    // The secret reaches the host's protected key through a deferred custom action as SYSTEM:
    // 11282 = 18 (run an installed file) + 1024 (deferred) + 2048 (no impersonation) + 8192 (target
    // hidden from the log); a failure fails the install (no silent install that never enrols).
    const hostExe = table(build.msi, 'File').find(
      (r) => r['FileName']?.split('|').pop() === 'custodian-service.exe',
    );
    expect(table(build.msi, 'CustomAction').find((r) => r['Action'] === 'StoreEnrolSecret')).toEqual(
      expect.objectContaining({
        Type: '11282',
        Source: hostExe?.['File'],
        Target: '--store-enrol-secret "[ENROL_SECRET]"',
      }),
    );
    const seq = Object.fromEntries(table(build.msi, 'InstallExecuteSequence').map((r) => [r['Action'], r]));
    expect(seq['StoreEnrolSecret']?.['Condition']).toBe('ENROL_SECRET AND NOT REMOVE="ALL"');
    const at = (a: string) => Number(seq[a]?.['Sequence']);
    expect(at('InstallFiles')).toBeLessThan(at('StoreEnrolSecret'));
    expect(at('StoreEnrolSecret')).toBeLessThan(at('StartServices'));
  });

  it("BROWSER_POLICY: a secure property kept for the agent; an uninstall (not an upgrade) takes the agent's force-install entries out as SYSTEM while its exe is still there", () => {
    const agentExe = table(build.msi, 'File').find(
      (r) => r['FileName']?.split('|').pop() === 'custodian-agent.exe',
    );
    expect(table(build.msi, 'Registry').filter((r) => r['Name'] === WINDOWS_BROWSER_POLICY_VALUE)).toEqual([
      expect.objectContaining({ Root: '2', Value: '[BROWSER_POLICY]', Component_: 'EnrolSettings' }),
    ]);
    // 3154 = 18 (run an installed file) + 64 (exit code ignored) + 1024 (deferred) + 2048 (SYSTEM)
    expect(table(build.msi, 'CustomAction').filter((r) => r['Action'] === 'RemoveBrowserPolicy')).toEqual([
      expect.objectContaining({
        Type: '3154',
        Source: agentExe?.['File'],
        Target: 'browser-policy --remove',
      }),
    ]);
    const seq = Object.fromEntries(table(build.msi, 'InstallExecuteSequence').map((r) => [r['Action'], r]));
    expect(seq['RemoveBrowserPolicy']?.['Condition']).toBe('REMOVE="ALL" AND NOT UPGRADINGPRODUCTCODE');
    const at = (a: string) => Number(seq[a]?.['Sequence']);
    // The service is stopped (it would write the entry again at its next start), the exe not yet removed.
    expect(at('StopServices')).toBeLessThan(at('RemoveBrowserPolicy'));
    expect(at('RemoveBrowserPolicy')).toBeLessThan(at('RemoveFiles'));
  });

  it('puts the executables, the addon and the keyword data under Program Files\\Custodian Agent', () => {
    const files = table(build.msi, 'File').map((r) => r['FileName']?.split('|').pop());
    expect(files).toEqual(
      expect.arrayContaining(['custodian-agent.exe', 'custodian-service.exe', 'classic-level.node']),
    );
    expect(files.filter((f) => f?.endsWith('.tsv') || f?.endsWith('.txt')).length).toBeGreaterThan(3);
    const dirs = table(build.msi, 'Directory');
    const install = dirs.find((d) => d['DefaultDir']?.endsWith('Custodian Agent'));
    expect(install?.['Directory_Parent']).toBe('ProgramFiles64Folder');
  });

  it('registers the browser host for Chrome and Edge, naming the manifest the agent keeps in its folder', () => {
    const reg = table(build.msi, 'Registry')
      .filter((r) => r['Component_'] === 'BrowserHost')
      .map((r) => [r['Root'], r['Key'], r['Name'], r['Value']]);
    expect(reg.sort()).toEqual(
      Object.values(WINDOWS_HOST_REGISTRY_KEYS)
        .map((key) => ['2', key, '', `[INSTALLDIR]${WINDOWS_HOST_MANIFEST}`])
        .sort(),
    );
    // Placeholders the agent overwrites once enrolled: the MSI owns them, so uninstall removes them.
    const files = table(build.msi, 'File')
      .filter((r) => r['Component_'] === 'BrowserHost')
      .map((r) => r['FileName']?.split('|').pop());
    expect(files.sort()).toEqual([WINDOWS_HOST_LAUNCHER, WINDOWS_HOST_MANIFEST].sort());
  });

  it('the MSI and both executables inside it verify against the signing certificate; a changed byte does not', () => {
    expect(verify(build.msi)).toMatchObject({ status: 0 });
    execFileSync('msiextract', ['-C', scratch, build.msi], { stdio: 'pipe' });
    const dir = join(scratch, 'Custodian Agent');
    for (const exe of ['custodian-agent.exe', 'custodian-service.exe']) {
      const r = verify(join(dir, exe));
      expect(r.out).toMatch(/Signature verification: ok/);
      expect(r.status).toBe(0);
    }
    const tampered = join(scratch, 'tampered.msi');
    copyFileSync(build.msi, tampered);
    const bytes = readFileSync(tampered);
    const at = bytes.length - 4096;
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    writeFileSync(tampered, bytes);
    expect(verify(tampered).status).not.toBe(0);
  });
});
