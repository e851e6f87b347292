// Linux: `notify-send` (libnotify-bin) run as the graphical session's user with the session's
// environment (its D-Bus session bus), through exec.ts with a timeout. Needs a notification
// daemon on that bus (every desktop has one; a bare X session does not): without one, or without
// notify-send, the capability `scope_notice` says so and `custodian-agent status` remains the
// way the user sees the state.

import { type DesktopNotice, noticeBody, noticeTitle } from './desktop-notice.ts';
import { run as defaultRun } from './exec.ts';
import type { ExecRunner } from './idle.ts';
import { helperSession, sessionEnv } from './session.ts';

/** notify-send reads the body as Pango markup: keep a rule name like "A&B <Annex>" literal. */
export function escapeMarkup(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function createLinuxDesktopNotice(
  options: { run?: ExecRunner; env?: () => NodeJS.ProcessEnv } = {},
): DesktopNotice {
  const run = options.run ?? defaultRun;
  const envOf = options.env ?? sessionEnv;
  const busOf = (env: NodeJS.ProcessEnv) => env['DBUS_SESSION_BUS_ADDRESS'] ?? '';
  return {
    async availability() {
      const env = envOf();
      if (!busOf(env) && !env['DISPLAY'])
        return { available: false, reason: 'no graphical session (nobody to notify)' };
      try {
        await run('sh', ['-c', 'command -v notify-send'], { timeoutMs: 2_000 });
      } catch {
        return { available: false, reason: 'notify-send is not installed (Debian: libnotify-bin)' };
      }
      if (!busOf(env)) return { available: false, reason: 'the graphical session has no D-Bus session bus' };
      return { available: true, reason: 'notify-send on the session bus' };
    },
    async show(monitoring, reason) {
      const { env, asUser } = helperSession(envOf());
      await run(
        'notify-send',
        [
          '--app-name=Custodian',
          '--urgency=normal',
          noticeTitle(monitoring),
          escapeMarkup(noticeBody(monitoring, reason)),
        ],
        { timeoutMs: 5_000, env, ...asUser },
      );
    },
  };
}
