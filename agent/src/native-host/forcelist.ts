// The force-install policy as Windows keeps it (issue 15): Chrome and Edge read
// ExtensionInstallForcelist from HKLM\SOFTWARE\Policies\…\ExtensionInstallForcelist, one REG_SZ
// "<extension id>;<update URL>" per entry, each under a numbered value name. The agent adds its
// entry there only where IT asked at install (the MSI's BROWSER_POLICY=force-install); a school's
// own entries under the same key must survive it. Pure: the value text and what to do with the
// value found under our name (platform/browser-policy.win32.ts runs reg.exe).
//
// Which name: one fixed high number, FORCELIST_VALUE_NAME, never "the first free one". Chromium
// reads every numerically named value of a list key, gaps allowed (components/policy/core/common/
// registry_dict.cc, "non-numerical keys are ignored"; Chromium before 2017 stopped at the first
// gap, and Edge has been Chromium since 79), so 9158 is read beside a school's 1, 2, 3. A school
// numbering its own entries from 1 never reaches it; a first free index would be taken by the
// school's next entry (a .reg adding "4" overwrites ours) and would have to be remembered to be
// removed. Not a round number: another product using the same trick is likelier to pick 100 or 999.
// A value there that is not a Custodian entry is left alone (conflict, logged), never overwritten.
import { CustodianError, ErrorCode } from '@custodian/protocol';

export const FORCELIST_VALUE_NAME = '9158';

/** An entry this agent (any Custodian collector) writes: a Chrome id and a collector's update URL. */
const CUSTODIAN_ENTRY = /^[a-p]{32};https?:\/\/[^;\s]+\/ext\/updates\.xml$/;

/** The forcelist entry: "<id>;<update URL>" (Chrome's format, the same in JSON policy files). */
export function forcelistEntry(id: string, updateUrl: string): string {
  const entry = `${id};${updateUrl}`;
  if (!CUSTODIAN_ENTRY.test(entry))
    throw new CustodianError(
      ErrorCode.INVALID_INPUT,
      `not a force-install entry: ${JSON.stringify(entry.slice(0, 200))}`,
    );
  return entry;
}

export function isCustodianEntry(data: string): boolean {
  return CUSTODIAN_ENTRY.test(data);
}

/** A value found under FORCELIST_VALUE_NAME: its registry type and data. */
export interface RegistryValue {
  type: string;
  data: string;
}

export type ForcelistStep =
  | { action: 'keep' }
  | { action: 'set'; data: string }
  | { action: 'delete' }
  | { action: 'none' }
  | { action: 'conflict'; reason: string };

/**
 * What to do with our value name, given what is there now and our entry (undefined: IT did not ask
 * for the policy, or the MSI is removing the agent). Ours to replace or delete only when it is a
 * Custodian entry (an older id or collector URL: re-enrolled elsewhere, new packing key).
 */
export function decideForcelist(
  current: RegistryValue | undefined,
  wanted: string | undefined,
): ForcelistStep {
  const ours = current !== undefined && current.type === 'REG_SZ' && isCustodianEntry(current.data);
  if (wanted === undefined) return ours ? { action: 'delete' } : { action: 'none' };
  if (current === undefined) return { action: 'set', data: wanted };
  if (ours) return current.data === wanted ? { action: 'keep' } : { action: 'set', data: wanted };
  return {
    action: 'conflict',
    reason: `value ${FORCELIST_VALUE_NAME} holds another entry (${current.type}); left as it is`,
  };
}
