// The collector's .deb: the single executable under /opt/custodian-collector, its own system user
// `custodian`, data in /var/lib/custodian and the screenshot key in /var/lib/custodian-keys (outside
// the data dir, so a copy of the data alone cannot read screenshots), configuration in
// /etc/custodian/collector.json, and a hardened systemd unit. Started only where systemd runs;
// data, key, configuration and user go only on purge.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDeb, prermFor, RELOAD_AFTER_REMOVE_LINES, startUnitLines } from './deb.ts';

export const COLLECTOR_PREFIX = '/opt/custodian-collector';
export const COLLECTOR_BINARY = `${COLLECTOR_PREFIX}/custodian-collector`;
export const COLLECTOR_CONFIG = '/etc/custodian/collector.json';
export const COLLECTOR_DATA_DIR = '/var/lib/custodian';
export const COLLECTOR_KEY_FILE = '/var/lib/custodian-keys/screenshot.key';
export const COLLECTOR_UNIT = '/lib/systemd/system/custodian-collector.service';
export const COLLECTOR_USER = 'custodian';

export const COLLECTOR_DEFAULT_CONFIG = {
  dataDir: COLLECTOR_DATA_DIR,
  screenshotKeyFile: COLLECTOR_KEY_FILE,
  host: '127.0.0.1',
  port: 8443,
};

/**
 * Hardened: the service sees a read-only system, no home, no devices, no kernel knobs, only IP and
 * Unix sockets, the @system-service syscalls, no capabilities at all. MemoryDenyWriteExecute stays
 * off: V8's JIT writes code pages (Node would need --jitless).
 */
export function collectorUnit(): string {
  return `[Unit]
Description=Custodian collector
Documentation=file://${COLLECTOR_PREFIX}/README.md
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=${COLLECTOR_USER}
Group=${COLLECTOR_USER}
ExecStart=${COLLECTOR_BINARY} serve --config ${COLLECTOR_CONFIG}
Restart=on-failure
RestartSec=5
KillMode=mixed
TimeoutStopSec=30
StateDirectory=custodian custodian-keys
StateDirectoryMode=0700
UMask=0077
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
PrivateMounts=yes
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
PrivateIPC=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RemoveIPC=yes
LockPersonality=yes
DevicePolicy=closed
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`;
}

const POSTINST = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if ! getent passwd ${COLLECTOR_USER} >/dev/null; then
    useradd --system --user-group --home-dir ${COLLECTOR_DATA_DIR} --no-create-home --shell /usr/sbin/nologin ${COLLECTOR_USER}
  fi
  chown root:${COLLECTOR_USER} ${COLLECTOR_CONFIG}
  chmod 0640 ${COLLECTOR_CONFIG}
${startUnitLines('custodian-collector.service')}
fi
exit 0
`;

const PRERM = prermFor('custodian-collector.service');

const POSTRM = `#!/bin/sh
set -e
if [ "$1" = purge ]; then
  rm -rf ${COLLECTOR_DATA_DIR} /var/lib/custodian-keys /etc/custodian
  if getent passwd ${COLLECTOR_USER} >/dev/null; then userdel ${COLLECTOR_USER} || true; fi
  if getent group ${COLLECTOR_USER} >/dev/null; then groupdel ${COLLECTOR_USER} || true; fi
fi
if [ "$1" = remove ] || [ "$1" = purge ]; then
${RELOAD_AFTER_REMOVE_LINES}
fi
exit 0
`;

export interface CollectorDebInput {
  stage: string;
  executable: string;
  addon: string;
  keywordData: string;
  consoleStatic: string;
  readme: string;
  version: string;
  compression: 'gzip' | 'xz';
  outFile: string;
}

export function buildCollectorDeb(i: CollectorDebInput): void {
  const root = join(i.stage, 'collector-deb');
  const prefix = join(root, COLLECTOR_PREFIX);
  mkdirSync(join(prefix, 'lib'), { recursive: true });
  cpSync(i.executable, join(prefix, 'custodian-collector'));
  cpSync(i.addon, join(prefix, 'classic-level.node'));
  cpSync(i.keywordData, join(prefix, 'data'), { recursive: true });
  cpSync(i.consoleStatic, join(prefix, 'lib', 'static'), { recursive: true });
  cpSync(i.readme, join(prefix, 'README.md'));
  mkdirSync(join(root, '/lib/systemd/system'), { recursive: true });
  writeFileSync(join(root, COLLECTOR_UNIT), collectorUnit(), { mode: 0o644 });
  mkdirSync(join(root, '/etc/custodian'), { recursive: true });
  writeFileSync(join(root, COLLECTOR_CONFIG), `${JSON.stringify(COLLECTOR_DEFAULT_CONFIG, null, 2)}\n`, {
    mode: 0o640,
  });
  buildDeb({
    root,
    name: 'custodian-collector',
    version: i.version,
    description:
      "Custodian collector (school server)\n Receives the agents' events and serves the console and API.",
    depends: ['passwd'],
    conffiles: [COLLECTOR_CONFIG],
    scripts: { postinst: POSTINST, prerm: PRERM, postrm: POSTRM },
    compression: i.compression,
    outFile: i.outFile,
  });
}
