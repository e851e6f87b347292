// Windows: the force-install entry in Chrome's and Edge's HKLM policy keys, and the MSI's
// BROWSER_POLICY, both through reg.exe (exec.ts, a timeout each). The agent is x64, so the
// reg.exe it finds is the 64-bit one; HKLM\SOFTWARE\Policies is shared by both registry views
// anyway, and the MSI writes its key in the 64-bit view. Run as SYSTEM (the service, the MSI's
// uninstall custom action): HKLM\SOFTWARE\Policies is writable by administrators only.
// [Run under Wine 8 in test/e2e/package-msi-wine.test.ts; not run on Windows.]
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { decideForcelist, FORCELIST_VALUE_NAME, type RegistryValue } from '../native-host/forcelist.ts';
import {
  WINDOWS_AGENT_KEY,
  WINDOWS_BROWSER_POLICY_VALUE,
  WINDOWS_FORCELIST_KEYS,
} from '../native-host/windows-layout.ts';
import type { BrowserPolicyOptions, BrowserPolicyStore, ForcelistOutcome } from './browser-policy.ts';
import { run as realRun } from './exec.ts';
import type { ExecRunner } from './idle.ts';

const REG = 'reg.exe';
const TIMEOUT_MS = 10_000;
/** reg.exe's exit code when the key or the value does not exist. */
const REG_NOT_FOUND = 1;

/**
 * One value from `reg query KEY /v NAME`: a header line with the key, then
 * `    NAME    REG_SZ    DATA` (four spaces between fields; DATA may be empty). Undefined when
 * the output names no such value. Pure.
 */
export function parseRegQueryValue(stdout: string, name: string): RegistryValue | undefined {
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^\s+(.*?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/.exec(line);
    if (m && m[1]?.toLowerCase() === name.toLowerCase())
      return { type: m[2] ?? '', data: (m[3] ?? '').replace(/\s+$/, '') };
  }
  return undefined;
}

const hklm = (key: string) => `HKLM\\${key}`;

export function createWin32BrowserPolicy(options: BrowserPolicyOptions = {}): BrowserPolicyStore {
  const run: ExecRunner = options.run ?? realRun;

  async function query(key: string, name: string): Promise<RegistryValue | undefined> {
    const r = await run(REG, ['query', hklm(key), '/v', name], {
      timeoutMs: TIMEOUT_MS,
      okExitCodes: [REG_NOT_FOUND],
    });
    if (r.exitCode === REG_NOT_FOUND) return undefined;
    const value = parseRegQueryValue(r.stdout, name);
    if (!value)
      throw new CustodianError(
        ErrorCode.COMMAND_FAILED,
        `reg query ${hklm(key)} /v ${name}: no value in its output`,
      );
    return value;
  }

  async function applyOne(
    browser: string,
    key: string,
    entry: string | undefined,
  ): Promise<ForcelistOutcome> {
    const step = decideForcelist(await query(key, FORCELIST_VALUE_NAME), entry);
    if (step.action === 'set')
      await run(REG, ['add', hklm(key), '/v', FORCELIST_VALUE_NAME, '/t', 'REG_SZ', '/d', step.data, '/f'], {
        timeoutMs: TIMEOUT_MS,
      });
    else if (step.action === 'delete')
      await run(REG, ['delete', hklm(key), '/v', FORCELIST_VALUE_NAME, '/f'], { timeoutMs: TIMEOUT_MS });
    return { browser, action: step.action, ...(step.action === 'conflict' ? { reason: step.reason } : {}) };
  }

  return {
    async requested() {
      const v = await query(WINDOWS_AGENT_KEY, WINDOWS_BROWSER_POLICY_VALUE);
      const text = v?.type === 'REG_SZ' ? v.data.trim() : '';
      return text === '' ? undefined : text;
    },
    async apply(entry) {
      const out: ForcelistOutcome[] = [];
      for (const [browser, key] of Object.entries(WINDOWS_FORCELIST_KEYS))
        out.push(await applyOne(browser, key, entry));
      return out;
    },
  };
}
