// A second account on this machine for tests that play the pupil (or the session's user): made
// with useradd when missing (the tests run as root), idempotent, safe when test files race.
// Plus a look at which processes run on a display, and as whom, from /proc (as an outsider sees).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function lookup(name: string): TestUser | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' };
  }
  return undefined;
}

export function ensureUser(name: string): TestUser {
  for (let attempt = 0; attempt < 20; attempt++) {
    const found = lookup(name);
    if (found) return found;
    // 9: exists (another test file won the race); 10: /etc/passwd locked by it: try again.
    spawnSync('useradd', ['--create-home', '--user-group', '--shell', '/bin/sh', name], { stdio: 'ignore' });
    spawnSync('sleep', ['0.1']);
  }
  throw new Error(`could not create the test user ${name}`);
}

export interface ProcessSeen {
  pid: number;
  uid: number;
  comm: string;
}

/** Processes named `comm` whose environment says DISPLAY=display (read from /proc). */
export function processesOnDisplay(display: string, comm: string): ProcessSeen[] {
  const out: ProcessSeen[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const c = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      if (c !== comm) continue;
      const env = readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
      if (!env.includes(`DISPLAY=${display}`)) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1]);
      out.push({ pid: Number(name), uid, comm: c });
    } catch {
      // gone while we looked
    }
  }
  return out;
}
