// Service definitions: the systemd unit (installed for real into a temp unit dir), and the
// launchd plist checked with a real parser (python3 plistlib), the Windows scripts as text here and
// run under Wine in test/e2e/package-msi-wine.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentCli } from '../../../test/support/agent-process.ts';
import { LAUNCHD_LABEL, launchdPlist } from '../../src/service/launchd.ts';
import { BUNDLE_NODE_FLAGS, defaultServiceSpec, type ServiceSpec } from '../../src/service/service-spec.ts';
import { systemdQuote, systemdUnit } from '../../src/service/systemd.ts';
import {
  WINDOWS_SERVICE_NAME,
  windowsInstallScript,
  windowsUninstallScript,
} from '../../src/service/windows.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'service-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec: ServiceSpec = {
  name: 'custodian-agent',
  description: 'Custodian endpoint agent',
  nodePath: '/opt/node 24/bin/node',
  nodeArgs: ['--lite-mode'],
  scriptPath: '/opt/custodian/agent/dist/lib/custodian-agent.mjs',
  args: ['run', '--data-dir', '/var/lib/custodian agent & "co" <x> 100%'],
  logDir: '/var/log',
};

function python(code: string, file: string): string {
  return execFileSync('python3', ['-c', code, file], { encoding: 'utf8' });
}

describe('systemd', () => {
  it('runs the absolute Node binary, restarts always, starts at boot', () => {
    const unit = systemdUnit(spec);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^WantedBy=multi-user.target$/m);
    const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!;
    expect(exec.startsWith('"/opt/node 24/bin/node" "--lite-mode" ')).toBe(true);
    expect(exec).toContain('"/var/lib/custodian agent & \\"co\\" <x> 100%%"');
  });

  it('quotes for systemd: backslash, quote, percent and dollar', () => {
    expect(systemdQuote('a\\b"c%d$e')).toBe('"a\\\\b\\"c%%d$$e"');
    expect(() => systemdQuote('a\nb')).toThrow(/newline/);
  });

  it('the default spec uses process.execPath and the bundle gets the lite-mode flags', () => {
    const bundled = defaultServiceSpec(
      '/var/lib/custodian-agent',
      '/var/log',
      '/x/dist/lib/custodian-agent.mjs',
    );
    expect(bundled.nodePath).toBe(process.execPath);
    expect(bundled.nodeArgs).toEqual([...BUNDLE_NODE_FLAGS]);
    const ts = defaultServiceSpec('/var/lib/custodian-agent', '/var/log', '/x/agent/bin/custodian-agent.js');
    expect(ts.nodeArgs).toEqual([]); // lite mode has no WebAssembly: type stripping would fail
  });

  it('`install-service --no-enable --unit-dir` writes the unit (no systemctl needed)', async () => {
    const { stdout } = await agentCli([
      'install-service',
      '--no-enable',
      '--unit-dir',
      dir,
      '--data-dir',
      '/var/lib/x',
    ]);
    const unit = await readFile(join(dir, 'custodian-agent.service'), 'utf8');
    expect(stdout).toContain(`wrote ${join(dir, 'custodian-agent.service')}`);
    expect(unit).toContain(`ExecStart="${process.execPath}" `);
    expect(unit).toContain('"run" "--data-dir" "/var/lib/x"');
    expect(unit).toMatch(/^Restart=always$/m);
  });
});

describe('launchd (macOS)', () => {
  it('is a valid plist with KeepAlive, RunAtLoad and the exact arguments', async () => {
    const file = join(dir, 'agent.plist');
    await writeFile(file, launchdPlist(spec));
    const parsed = JSON.parse(
      python('import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],"rb"))))', file),
    );
    expect(parsed).toMatchObject({ Label: LAUNCHD_LABEL, KeepAlive: true, RunAtLoad: true });
    expect(parsed.ProgramArguments).toEqual([spec.nodePath, ...spec.nodeArgs, spec.scriptPath, ...spec.args]);
  });

  it('`install-service --target darwin` writes the plist', async () => {
    await agentCli([
      'install-service',
      '--target',
      'darwin',
      '--out',
      dir,
      '--data-dir',
      '/var/db/custodian',
    ]);
    const text = await readFile(join(dir, 'uk.custodian.agent.plist'), 'utf8');
    expect(text).toContain('<string>/var/db/custodian</string>');
  });
});

describe("Windows (the MSI's service host, registered by hand)", () => {
  it('install-service --target win32 writes the two scripts, CRLF, registering the host beside them', async () => {
    const { stdout } = await agentCli(['install-service', '--target', 'win32', '--out', dir]);
    expect(stdout).toContain('install-service.cmd');
    const install = await readFile(join(dir, 'install-service.cmd'), 'utf8');
    const uninstall = await readFile(join(dir, 'uninstall-service.cmd'), 'utf8');
    expect(install).toBe(windowsInstallScript());
    expect(uninstall).toBe(windowsUninstallScript());
    for (const text of [install, uninstall])
      expect(text.split('\r\n').some((l) => l.includes('\n'))).toBe(false);
    expect(install).toContain(
      `sc.exe create ${WINDOWS_SERVICE_NAME} binPath= "\\"%HOST%\\"" start= auto obj= LocalSystem`,
    );
    expect(install).toContain('set "HOST=%~dp0custodian-service.exe"');
    // Stopped first (the outbox free), the uninstall reported (issue 17), then removed.
    expect(uninstall).toMatch(
      /sc\.exe stop CustodianAgent\r\n"%~dp0custodian-agent\.exe" report-uninstall --method uninstall-service\.cmd --user "%USERNAME%" --wait-seconds 10 <NUL\r\nsc\.exe delete CustodianAgent/,
    );
    // No WinSW any more: nothing to download.
    expect(install).not.toMatch(/winsw/i);
  });

  it('refuses a --data-dir for the Windows service (the host always runs the default one)', async () => {
    const err = await agentCli([
      'install-service',
      '--target',
      'win32',
      '--out',
      dir,
      '--data-dir',
      'D:\\x',
    ]).then(
      () => undefined,
      (e: Error & { stderr?: string; code?: number }) => e,
    );
    expect(err?.code).not.toBe(0);
    expect(err?.stderr).toContain('CUST_ERR_INVALID_INPUT');
    expect(err?.stderr).toContain('cannot be given to it');
  });
});

describe('single executable (packaging/)', () => {
  const sea: ServiceSpec = {
    ...spec,
    nodePath: '/opt/custodian-agent/custodian-agent',
    nodeArgs: [],
    scriptPath: '',
    args: ['run', '--data-dir', '/var/lib/custodian-agent'],
  };

  it('the unit runs the executable itself, with no script word and its README as documentation', () => {
    const unit = systemdUnit(sea);
    expect(unit).toMatch(
      /^ExecStart="\/opt\/custodian-agent\/custodian-agent" "run" "--data-dir" "\/var\/lib\/custodian-agent"$/m,
    );
    expect(unit).toMatch(/^Documentation=file:\/\/\/opt\/custodian-agent\/README.md$/m);
  });

  it('the plist carries no empty script argument', () => {
    expect(launchdPlist(sea)).not.toContain('<string></string>');
  });
});
