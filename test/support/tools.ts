// Every command-line tool a test suite drives, with the Debian package that provides it
// (scripts/system-deps.sh installs them). Suites ask allInstalled(), missingTools() or
// hasCommand() here, never `command -v` themselves: the names are typed against this list, so a
// tool a suite probes is always one the CI guard (test/e2e/environment.test.ts) checks, and the
// guard fails if a suite probes around this file.
import { spawnSync } from 'node:child_process';

export const TOOL_PACKAGES = {
  // wire interop
  protoc: 'protobuf-compiler',
  // X11: display, window manager, windows, idle, lock, notice, screenshots
  Xvfb: 'xvfb',
  xauth: 'xauth',
  openbox: 'openbox',
  xterm: 'xterm',
  xprop: 'x11-utils',
  xwininfo: 'x11-utils',
  xmessage: 'x11-utils',
  xdpyinfo: 'x11-utils',
  xset: 'x11-xserver-utils',
  setxkbmap: 'x11-xkb-utils',
  xkbcomp: 'x11-xkb-utils',
  xrandr: 'x11-xserver-utils',
  xdotool: 'xdotool',
  xprintidle: 'xprintidle',
  i3lock: 'i3lock',
  import: 'imagemagick',
  // on-screen text (OCR)
  tesseract: 'tesseract-ocr',
  // USB on loop devices
  losetup: 'mount',
  mount: 'mount',
  umount: 'mount',
  blockdev: 'util-linux',
  blkid: 'util-linux',
  lsblk: 'util-linux',
  findmnt: 'util-linux',
  setpriv: 'util-linux',
  'mkfs.ext4': 'e2fsprogs',
  // the readonly soak campaign checks the data filesystem after it turned read-only
  e2fsck: 'e2fsprogs',
  mkntfs: 'ntfs-3g',
  'ntfs-3g': 'ntfs-3g',
  cryptsetup: 'cryptsetup-bin',
  udevadm: 'udev',
  fuser: 'psmisc',
  pgrep: 'procps',
  // browser extension tests (console browser tests use /usr/bin/chromium directly)
  chromium: 'chromium',
  // certificates, service unit checks
  openssl: 'openssl',
  python3: 'python3',
  // packaging (packaging/, test/e2e/package-*): strip the Linux executable, build and install
  // .debs, check units, Windows exe/MSI signing and tables, the service host, the MSI under Wine
  strip: 'binutils',
  'dpkg-deb': 'dpkg',
  dpkg: 'dpkg',
  'systemd-analyze': 'systemd',
  useradd: 'passwd',
  osslsigncode: 'osslsigncode',
  wixl: 'wixl',
  msiinfo: 'msitools',
  msiextract: 'msitools',
  msibuild: 'msitools',
  'x86_64-w64-mingw32-gcc': 'gcc-mingw-w64-x86-64-win32',
  wine: 'wine',
  // PostgreSQL store tests (the server binaries initdb/pg_ctl are off PATH, in
  // /usr/lib/postgresql/<version>/bin: test/support/postgres.ts finds them there)
  psql: 'postgresql',
  pg_dump: 'postgresql',
  pg_restore: 'postgresql',
  // several collectors (test/e2e/multi-process*): the bus and the load balancer
  // subject access archives are opened by a tool other than the one that wrote them
  unzip: 'unzip',
  // several collectors: the NATS JetStream bus and the load balancer in front (test/sim/cluster.ts)
  'nats-server': 'nats-server',
  haproxy: 'haproxy',
} as const;

export type ToolName = keyof typeof TOOL_PACKAGES;

export function hasCommand(cmd: ToolName): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
}

export function missingTools(tools: readonly ToolName[]): ToolName[] {
  return tools.filter((t) => !hasCommand(t));
}

/**
 * True when every tool is installed. When one is missing it says which on stderr: the suite that
 * skips on this answer then has its reason printed (and in CI the skip fails the run anyway).
 */
export function allInstalled(tools: readonly ToolName[]): boolean {
  const missing = missingTools(tools);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((t) => TOOL_PACKAGES[t]))].join(' ');
    console.warn(
      `skipping: ${missing.join(', ')} not installed (Debian: ${packages}; scripts/system-deps.sh)`,
    );
  }
  return missing.length === 0;
}
