// The desktop notification a BYOD user gets when school monitoring starts or stops (issue 19).
// One interface, one file per OS, chosen here only. The text is ours: a fixed sentence plus the
// scope's reason (fixed phrases and the school's rule name, from policy).
import type { ExecRunner } from './idle.ts';

export interface DesktopNotice {
  availability(): Promise<{ available: boolean; reason: string }>;
  /** Shows the notice; rejects when it cannot (the caller reports the capability unavailable). */
  show(monitoring: boolean, reason: string): Promise<void>;
}

export function noticeTitle(monitoring: boolean): string {
  return monitoring ? 'School monitoring is ON' : 'School monitoring is OFF';
}

export function noticeBody(monitoring: boolean, reason: string): string {
  return monitoring
    ? `Custodian now records activity on this laptop for the school (${reason}).`
    : `Custodian records nothing on this laptop now (${reason}).`;
}

export async function createDesktopNotice(
  options: { run?: ExecRunner; env?: () => NodeJS.ProcessEnv } = {},
  platform: NodeJS.Platform = process.platform,
): Promise<DesktopNotice> {
  if (platform === 'linux')
    return (await import('./desktop-notice.linux.ts')).createLinuxDesktopNotice(options);
  const reason =
    platform === 'win32'
      ? 'desktop notifications are not wired on Windows yet (a service in session 0 needs a helper in the user session)'
      : platform === 'darwin'
        ? 'desktop notifications are not wired on macOS yet (a LaunchDaemon needs a helper in the user session)'
        : `desktop notifications are not supported on ${platform}`;
  return {
    availability: async () => ({ available: false, reason }),
    show: () => Promise.reject(new Error(reason)),
  };
}
