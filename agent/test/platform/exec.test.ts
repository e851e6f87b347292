import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ErrorCode, isCustodianError } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { ensureUser } from '../../../test/support/test-user.ts';
import { run, setprivArgs } from '../../src/platform/exec.ts';

const execTs = join(dirname(fileURLToPath(import.meta.url)), '../../src/platform/exec.ts');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !alive(pid);
}

describe('run', () => {
  it('kills a command that passes its timeout and says so with a stable code', async () => {
    const err = await run('sleep', ['5'], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(isCustodianError(err, ErrorCode.COMMAND_TIMEOUT)).toBe(true);
  });
  it('names a missing command as unavailable', async () => {
    const err = await run('custodian-no-such-command', []).catch((e: unknown) => e);
    expect(isCustodianError(err, ErrorCode.UNAVAILABLE)).toBe(true);
  });
  it('hands bytes to stdin unchanged (an image for OCR)', async () => {
    const bytes = new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    const { stdout } = await run('sha256sum', ['-'], { input: bytes });
    expect(stdout.split(' ')[0]).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
  it('wraps a failing command with its exit code and stderr', async () => {
    const err = await run('sh', ['-c', 'echo nope >&2; exit 3']).catch((e: unknown) => e);
    expect(isCustodianError(err, ErrorCode.COMMAND_FAILED)).toBe(true);
    expect((err as Error).message).toContain('exit 3: nope');
  });
});

describe('spawnTied', () => {
  it.runIf(process.platform === 'linux')(
    'kills the helper when the agent process is killed with SIGKILL',
    async () => {
      // A real parent process starts a long-running helper through spawnTied, prints its pid, and is
      // then killed -9: the helper must not live on as an orphan.
      const script = `import { spawnTied } from ${JSON.stringify(execTs)};
      const c = spawnTied('sleep', ['300'], { stdio: 'ignore' });
      c.on('spawn', () => console.log(c.pid));
      setInterval(() => {}, 1000);`;
      const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const helperPid = await new Promise<number>((resolve, reject) => {
        createInterface({ input: parent.stdout! }).once('line', (l) => resolve(Number(l)));
        parent.once('exit', () => reject(new Error('parent exited early')));
      });
      try {
        expect(alive(helperPid)).toBe(true);
        parent.kill('SIGKILL');
        expect(await gone(helperPid, 5_000)).toBe(true);
      } finally {
        if (alive(helperPid)) process.kill(helperPid, 'SIGKILL');
      }
    },
  );
});

describe.runIf(process.platform === 'linux' && process.getuid?.() === 0)(
  'runAs (helpers as the session user)',
  () => {
    const pupil = ensureUser('custodian-pupil');
    const runAs = { uid: pupil.uid, gid: pupil.gid, user: pupil.name, home: pupil.home };

    it('run() executes as the user with exactly the given environment plus HOME/USER', async () => {
      const { stdout } = await run('sh', ['-c', 'id -u; id -g; echo "$HOME|$USER|$FOO|$SECRET"'], {
        env: { PATH: '/usr/bin:/bin', FOO: 'bar' },
        runAs,
      });
      expect(stdout.split('\n').slice(0, 3)).toEqual([
        String(pupil.uid),
        String(pupil.gid),
        `${pupil.home}|${pupil.name}|bar|`,
      ]);
    });

    it('a missing command run as the user is still named unavailable', async () => {
      const err = await run('custodian-no-such-command', [], { runAs }).catch((e: unknown) => e);
      expect(isCustodianError(err, ErrorCode.UNAVAILABLE)).toBe(true);
    });

    it('without a passwd entry the supplementary groups are cleared instead', () => {
      expect(setprivArgs({ uid: 4242, gid: 4242, home: '/' })).toEqual([
        '--reuid=4242',
        '--regid=4242',
        '--clear-groups',
      ]);
      expect(() => setprivArgs({ uid: -1, gid: 0, home: '/' })).toThrow(/bad identity/);
    });

    it('spawnTied as the user: the helper is the user’s and still dies with the agent', async () => {
      const script = `import { spawnTied } from ${JSON.stringify(execTs)};
      const c = spawnTied('sleep', ['300'], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' }, runAs: ${JSON.stringify(runAs)} });
      c.on('spawn', () => console.log(c.pid));
      setInterval(() => {}, 1000);`;
      const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const helperPid = await new Promise<number>((resolve, reject) => {
        createInterface({ input: parent.stdout! }).once('line', (l) => resolve(Number(l)));
        parent.once('exit', () => reject(new Error('parent exited early')));
      });
      try {
        // setpriv execs sleep in place: same pid, the user's once it has switched.
        const deadline = Date.now() + 5_000;
        let uid = -1;
        while (Date.now() < deadline) {
          const status = readFileSync(`/proc/${helperPid}/status`, 'utf8');
          uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
          if (/^Name:\s+sleep$/m.test(status)) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        expect(uid).toBe(pupil.uid);
        parent.kill('SIGKILL');
        expect(await gone(helperPid, 5_000)).toBe(true);
      } finally {
        if (alive(helperPid)) process.kill(helperPid, 'SIGKILL');
      }
    });
  },
);
