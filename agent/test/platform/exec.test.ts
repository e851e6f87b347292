import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ErrorCode, isCustodianError } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/platform/exec.ts';

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
