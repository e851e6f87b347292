// Linux: a systemd unit, Restart=always, started at boot. Pure generator + installer.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { writeFileAtomic } from '../config/files.ts';
import { run } from '../platform/exec.ts';
import { programArgs, type ServiceSpec } from './service-spec.ts';

/** systemd's quoting for one ExecStart word: double quotes, with \, " escaped and % / $ doubled. */
export function systemdQuote(word: string): string {
  if (/[\n\r]/.test(word)) throw new CustodianError(ErrorCode.INVALID_INPUT, 'newline in a service argument');
  const escaped = word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return `"${escaped}"`;
}

export function systemdUnit(spec: ServiceSpec): string {
  const exec = [spec.nodePath, ...programArgs(spec)].map(systemdQuote).join(' ');
  // The repository's README beside bin/, or the one shipped beside the single executable.
  const docs = spec.scriptPath
    ? spec.scriptPath.replace(/\/bin\/[^/]+$/, '/README.md')
    : spec.nodePath.replace(/\/[^/]+$/, '/README.md');
  return `[Unit]
Description=${spec.description}
Documentation=file://${docs}
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=${exec}
Restart=always
RestartSec=5
# Give the agent time to write its goodbye event and close the outbox.
KillMode=mixed
TimeoutStopSec=15
Environment=NODE_ENV=production

[Install]
WantedBy=multi-user.target
`;
}

export interface SystemdInstallOptions {
  unitDir: string;
  enable: boolean;
}

export async function installSystemd(spec: ServiceSpec, options: SystemdInstallOptions): Promise<string[]> {
  const path = `${options.unitDir}/${spec.name}.service`;
  await writeFileAtomic(path, systemdUnit(spec));
  const done = [`wrote ${path}`];
  if (options.enable) {
    await run('systemctl', ['daemon-reload'], { timeoutMs: 30_000 });
    await run('systemctl', ['enable', '--now', `${spec.name}.service`], { timeoutMs: 30_000 });
    done.push(`enabled and started ${spec.name}.service`);
  }
  return done;
}
