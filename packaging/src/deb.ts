// A Debian package from a staged root: DEBIAN/control and maintainer scripts written here,
// `dpkg-deb --root-owner-group` (every file root:root without fakeroot). gzip by default: xz
// takes ~45 s for a 100 MB executable, gzip ~4 s (platform-notes); release builds may ask for xz.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DebSpec {
  /** Staging directory holding the package's files at their installed paths. */
  root: string;
  name: string;
  version: string;
  description: string;
  depends?: string[];
  recommends?: string[];
  /** Absolute paths of configuration files dpkg must keep on upgrade and remove on purge. */
  conffiles?: string[];
  scripts: Partial<Record<'postinst' | 'prerm' | 'postrm' | 'preinst', string>>;
  compression: 'gzip' | 'xz';
  outFile: string;
}

export function buildDeb(spec: DebSpec): void {
  const debian = join(spec.root, 'DEBIAN');
  mkdirSync(debian, { recursive: true, mode: 0o755 });
  const control = [
    `Package: ${spec.name}`,
    `Version: ${spec.version}`,
    'Architecture: amd64',
    'Maintainer: Custodian <it@custodian.invalid>',
    'Section: admin',
    'Priority: optional',
    ...(spec.depends?.length ? [`Depends: ${spec.depends.join(', ')}`] : []),
    ...(spec.recommends?.length ? [`Recommends: ${spec.recommends.join(', ')}`] : []),
    `Description: ${spec.description}`,
    '',
  ].join('\n');
  writeFileSync(join(debian, 'control'), control, { mode: 0o644 });
  if (spec.conffiles?.length) writeFileSync(join(debian, 'conffiles'), `${spec.conffiles.join('\n')}\n`);
  for (const [name, body] of Object.entries(spec.scripts)) {
    writeFileSync(join(debian, name), body, { mode: 0o755 });
    chmodSync(join(debian, name), 0o755);
  }
  execFileSync(
    'dpkg-deb',
    ['--root-owner-group', `-Z${spec.compression}`, '--build', spec.root, spec.outFile],
    { stdio: 'pipe' },
  );
}

/** Shell lines that run only where systemd is the running init (not in chroots, containers, CI). */
export function whereSystemdRuns(lines: string[]): string {
  return `if [ -d /run/systemd/system ]; then\n${lines.map((l) => `  ${l}`).join('\n')}\nfi`;
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

/** postinst lines inside its `configure` branch: reload, enable and (re)start the unit. */
export function startUnitLines(unit: string): string {
  return indent(
    whereSystemdRuns(['systemctl daemon-reload', `systemctl enable ${unit}`, `systemctl restart ${unit}`]),
  );
}

/**
 * The whole prerm of a package with one service: stop it, and disable it on remove; then, on
 * remove only (not an upgrade), `afterStopOnRemove` — lines that must never fail the removal.
 */
export function prermFor(unit: string, afterStopOnRemove: string[] = []): string {
  const after = afterStopOnRemove.length
    ? `if [ "$1" = remove ]; then\n${afterStopOnRemove.map((l) => `  ${l}`).join('\n')}\nfi\n`
    : '';
  return `#!/bin/sh
set -e
${whereSystemdRuns([
  `systemctl stop ${unit} || true`,
  `if [ "$1" = remove ]; then systemctl disable ${unit} || true; fi`,
])}
${after}exit 0
`;
}

/** postrm lines inside its remove/purge branch: systemd forgets the removed unit. */
export const RELOAD_AFTER_REMOVE_LINES = indent(whereSystemdRuns(['systemctl daemon-reload || true']));
