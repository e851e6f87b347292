// The browser extension's force-install policy where the OS keeps policy in a store of its own
// rather than in files: Windows' registry (browser-policy.win32.ts, reg.exe). Linux writes policy
// files with the host files (native-host/browser-files.ts); macOS takes a configuration profile
// from the school's MDM. One interface, one file per OS, chosen here only.
import type { ForcelistStep } from '../native-host/forcelist.ts';
import type { ExecRunner } from './idle.ts';

export interface ForcelistOutcome {
  browser: string;
  action: ForcelistStep['action'];
  reason?: string;
}

export interface BrowserPolicyStore {
  /** What IT set at install (the MSI's BROWSER_POLICY), trimmed; undefined when nothing was set. */
  requested(): Promise<string | undefined>;
  /**
   * Puts `entry` into each browser's force-install list under the agent's own value name, or with
   * undefined removes the agent's entry; a school's other entries are never touched. Rejects only
   * when the registry cannot be read at all.
   */
  apply(entry: string | undefined): Promise<ForcelistOutcome[]>;
}

export interface BrowserPolicyOptions {
  run?: ExecRunner;
}

export async function createBrowserPolicyStore(
  options: BrowserPolicyOptions = {},
  platform: NodeJS.Platform = process.platform,
): Promise<BrowserPolicyStore> {
  if (platform === 'win32')
    return (await import('./browser-policy.win32.ts')).createWin32BrowserPolicy(options);
  return noBrowserPolicyStore;
}

/** Elsewhere: nothing requested, nothing to change (Linux: policy files, see above). */
export const noBrowserPolicyStore: BrowserPolicyStore = {
  requested: async () => undefined,
  apply: async () => [],
};
