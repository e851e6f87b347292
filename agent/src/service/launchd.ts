// macOS: a LaunchDaemon plist (RunAtLoad + KeepAlive = restart always). Pure generator.
// Window titles need a per-user LaunchAgent in the GUI session as well (platform-notes §2).
// [Generator tested here; not run on macOS yet.]
import { programArgs, type ServiceSpec } from './service-spec.ts';

export const LAUNCHD_LABEL = 'uk.custodian.agent';

export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function launchdPlist(spec: ServiceSpec): string {
  const args = [spec.nodePath, ...programArgs(spec)]
    .map((a) => `    <string>${xmlEscape(a)}</string>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <true/>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>StandardErrorPath</key>
  <string>${xmlEscape(`${spec.logDir}/custodian-agent.log`)}</string>
</dict>
</plist>
`;
}

/** Where the plist goes and how to load it (printed by install-service on macOS). */
export function launchdInstructions(): string[] {
  return [
    `sudo cp ${LAUNCHD_LABEL}.plist /Library/LaunchDaemons/`,
    `sudo chown root:wheel /Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`,
    `sudo launchctl bootstrap system /Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`,
  ];
}
