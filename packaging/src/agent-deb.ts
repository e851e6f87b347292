// The agent's .deb: the single executable and its addon under /opt/custodian-agent, the systemd
// unit the agent itself generates (its systemdUnit(), for the installed path), and
// /etc/custodian-agent/enrol.conf, which the service reads at its first start and deletes
// (`run --enrol-config`). IT gives the server and secret either as that file before installing or
// as CUSTODIAN_SERVER / CUSTODIAN_ENROL_SECRET in the installing environment (postinst writes the
// file, 0600). The service is enabled, started and stopped only where systemd runs; data goes
// only on purge.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LINUX_LAUNCHER, LINUX_POLICY_FILE } from '../../agent/src/native-host/browser-files.ts';
import { HOST_MANIFEST_LOCATIONS, POLICY_DIRS_LINUX } from '../../agent/src/native-host/deploy.ts';
import { FORCE_INSTALL_MARKER } from '../../agent/src/native-host/on-start.ts';
import type { ServiceSpec } from '../../agent/src/service/service-spec.ts';
import { systemdUnit } from '../../agent/src/service/systemd.ts';
import { HOST_NAME } from '../../packages/browser-extension/src/index.ts';
import { UNINSTALL_METHOD } from '../../protocol/src/uninstall.ts';
import { buildDeb, prermFor, RELOAD_AFTER_REMOVE_LINES, startUnitLines } from './deb.ts';

export const AGENT_PREFIX = '/opt/custodian-agent';
export const AGENT_BINARY = `${AGENT_PREFIX}/custodian-agent`;
export const AGENT_DATA_DIR = '/var/lib/custodian-agent';
export const AGENT_ENROL_CONFIG = '/etc/custodian-agent/enrol.conf';
export const AGENT_UNIT = '/lib/systemd/system/custodian-agent.service';

export function agentServiceSpec(): ServiceSpec {
  return {
    name: 'custodian-agent',
    description: 'Custodian endpoint agent',
    nodePath: AGENT_BINARY,
    nodeArgs: [],
    scriptPath: '',
    args: ['run', '--data-dir', AGENT_DATA_DIR, '--enrol-config', AGENT_ENROL_CONFIG, '--browser-files', '/'],
    logDir: '/var/log',
  };
}

const POSTINST = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
  install -d -m 0700 -o root -g root /etc/custodian-agent
  if [ -n "\${CUSTODIAN_SERVER:-}" ] && [ -n "\${CUSTODIAN_ENROL_SECRET:-}" ]; then
    (umask 077; printf 'SERVER=%s\\nENROL_SECRET=%s\\n' "$CUSTODIAN_SERVER" "$CUSTODIAN_ENROL_SECRET" > ${AGENT_ENROL_CONFIG})
  fi
  if [ "\${CUSTODIAN_BROWSER_POLICY:-}" = force-install ]; then
    : > ${FORCE_INSTALL_MARKER}
  fi
  if [ -f ${AGENT_ENROL_CONFIG} ]; then
    chown root:root ${AGENT_ENROL_CONFIG}
    chmod 0600 ${AGENT_ENROL_CONFIG}
  fi
${startUnitLines('custodian-agent.service')}
fi
exit 0
`;

/** The longest the removal waits for the collector to ack the uninstall (issue 17). */
export const UNINSTALL_WAIT_SECONDS = 10;

// Once the service has stopped (its outbox is free), tell the collector the agent is going:
// bounded (the command's own wait, and `timeout` around it), never failing the removal. Who ran it:
// the sudo user when there is one. Not on upgrade ($1 = upgrade): that is not an uninstall.
const PRERM = prermFor('custodian-agent.service', [
  `if [ -x ${AGENT_BINARY} ]; then`,
  `  timeout ${UNINSTALL_WAIT_SECONDS + 20} ${AGENT_BINARY} report-uninstall --data-dir ${AGENT_DATA_DIR} --method "${UNINSTALL_METHOD.deb}" --user "\${SUDO_USER:-}" --wait-seconds ${UNINSTALL_WAIT_SECONDS} </dev/null || true`,
  'fi',
]);

/** What the running agent wrote for the browser extension (`run --browser-files /`): not dpkg's files. */
export const AGENT_BROWSER_FILES: readonly string[] = [
  LINUX_LAUNCHER,
  ...Object.values(HOST_MANIFEST_LOCATIONS.linux).map((d) => `${d}/${HOST_NAME}.json`),
  ...Object.values(POLICY_DIRS_LINUX).map((d) => `${d}/${LINUX_POLICY_FILE}`),
];

const POSTRM = `#!/bin/sh
set -e
if [ "$1" = remove ] || [ "$1" = purge ]; then
  rm -f ${AGENT_BROWSER_FILES.join(' ')}
  rmdir --ignore-fail-on-non-empty ${LINUX_LAUNCHER.replace(/\/[^/]+$/, '')} 2>/dev/null || true
fi
if [ "$1" = purge ]; then
  rm -rf ${AGENT_DATA_DIR} /etc/custodian-agent
fi
if [ "$1" = remove ] || [ "$1" = purge ]; then
${RELOAD_AFTER_REMOVE_LINES}
fi
exit 0
`;

export interface AgentDebInput {
  stage: string;
  executable: string;
  addon: string;
  keywordData: string;
  readme: string;
  version: string;
  compression: 'gzip' | 'xz';
  outFile: string;
}

export function buildAgentDeb(i: AgentDebInput): void {
  const root = join(i.stage, 'agent-deb');
  const prefix = join(root, AGENT_PREFIX);
  mkdirSync(prefix, { recursive: true });
  cpSync(i.executable, join(prefix, 'custodian-agent'));
  cpSync(i.addon, join(prefix, 'classic-level.node'));
  cpSync(i.keywordData, join(prefix, 'data'), { recursive: true });
  cpSync(i.readme, join(prefix, 'README.md'));
  mkdirSync(join(root, '/lib/systemd/system'), { recursive: true });
  writeFileSync(join(root, AGENT_UNIT), systemdUnit(agentServiceSpec()), { mode: 0o644 });
  buildDeb({
    root,
    name: 'custodian-agent',
    version: i.version,
    description:
      'Custodian endpoint agent (school laptops)\n Watches the device, enforces the school policy and reports to the Custodian collector.',
    // What the agent's Linux components drive (xprop, xprintidle, i3lock, import, udevadm, findmnt).
    recommends: ['x11-utils', 'xprintidle', 'i3lock', 'imagemagick', 'udev', 'util-linux'],
    scripts: { postinst: POSTINST, prerm: PRERM, postrm: POSTRM },
    compression: i.compression,
    outFile: i.outFile,
  });
}
