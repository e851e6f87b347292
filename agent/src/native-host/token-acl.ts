// Who may read the channel token on Windows (channel.ts). The agent (LocalSystem) writes it under
// %ProgramData%, whose inherited ACL lets every user read: icacls drops the inheritance and grants
// SYSTEM and Administrators full control and INTERACTIVE (S-1-5-4: users signed in at the
// machine, whose browsers start the host) read. Services, network logons and scheduled tasks of
// other accounts cannot read it. What it does not separate: two users signed in at once (fast user
// switching) are both INTERACTIVE (README, "Windows"). Elsewhere a no-op (the file's mode does it).
import { run } from '../platform/exec.ts';

/** SIDs, so the grant works whatever the Windows display language. */
export const TOKEN_ACL_GRANTS = ['*S-1-5-18:F', '*S-1-5-32-544:F', '*S-1-5-4:R'] as const;

export function tokenAclArgs(path: string): string[] {
  return [path, '/inheritance:r', '/grant:r', ...TOKEN_ACL_GRANTS];
}

export async function restrictTokenFile(
  path: string,
  platform: NodeJS.Platform = process.platform,
): Promise<void> {
  if (platform !== 'win32') return;
  await run('icacls', tokenAclArgs(path), { timeoutMs: 15_000 });
}
