// Who may read the channel token on Windows (channel.ts). The agent (LocalSystem) keeps it under
// %ProgramData%, whose inherited ACL lets every user read and even create folders. So at each start
// the agent deletes its own token folder `<runDir>\token`, creates it anew (a folder a user created
// in the meantime makes this fail: no token rather than one in a user's folder), and sets its ACL
// with icacls before the token exists: inheritance removed; SYSTEM and Administrators full control,
// INTERACTIVE (S-1-5-4: users signed in at the machine, whose browsers start the host) read. The
// token file is then born with that ACL: no moment where another account could open it. Services,
// network logons and scheduled tasks of other accounts cannot read it. What it does not separate:
// two users signed in at once (fast user switching) are both INTERACTIVE (agent README).
// Elsewhere unused (the file's mode and owner do it).
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { run } from '../platform/exec.ts';
import { PRIVATE_DIR_GRANTS } from '../platform/private-dir.win32.ts';

/** The data folder's grants (SYSTEM, Administrators) and read for INTERACTIVE, by SID; files inherit them. */
export const TOKEN_DIR_GRANTS = [...PRIVATE_DIR_GRANTS, '*S-1-5-4:(OI)(CI)RX'] as const;

export function tokenDirAclArgs(dir: string): string[] {
  return [dir, '/inheritance:r', '/grant:r', ...TOKEN_DIR_GRANTS];
}

/** A fresh token folder with the ACL above; throws when it cannot be made so (fail closed). */
export async function freshTokenDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dirname(dir), { recursive: true });
  await mkdir(dir); // EEXIST: someone made it between rm and here
  await run('icacls', tokenDirAclArgs(dir), { timeoutMs: 15_000 });
}
