// The agent's data folder on Windows (config/files.ts ensurePrivateDir). It lives under
// %ProgramData%, whose inherited ACL lets every local user read what is inside: the device's key in
// credentials.json, the outbox, the policy. At each start and before the credentials are written,
// the agent (LocalSystem) removes the inherited entries and leaves SYSTEM and Administrators only:
// the Windows counterpart of the 0700 mode on Linux and macOS. The browser channel's token folder
// below it sets its own grant for signed-in users (native-host/token-acl.ts); reaching a file by its
// full path needs no right on the folders above it (the "bypass traverse checking" privilege every
// account holds by default).
import { run } from './exec.ts';

/** SIDs, so the grant works whatever the Windows display language; (OI)(CI): what is inside inherits it. */
export const PRIVATE_DIR_GRANTS = ['*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'] as const;

export function privateDirAclArgs(dir: string): string[] {
  return [dir, '/inheritance:r', '/grant:r', ...PRIVATE_DIR_GRANTS];
}

/** Leaves the folder to SYSTEM and Administrators; throws when it cannot (the caller writes nothing then). */
export async function restrictToSystem(dir: string, exec: typeof run = run): Promise<void> {
  await exec('icacls', privateDirAclArgs(dir), { timeoutMs: 15_000 });
}
