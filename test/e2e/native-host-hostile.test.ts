// The native-messaging host and the agent's channel under hostile input (issue 15): the host fed
// oversized, malformed, badly shaped and wrong-origin messages stays up, drops each with a logged
// reason, and still forwards the next good message; a local process without the agent's token
// cannot feed text through the agent's socket. Real agent process, real collector.
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allInstalled } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import {
  type ExtensionFiles,
  frame,
  makeExtensionFiles,
  readLog,
  spawnHost,
} from './browser-extension-helpers.ts';
import { type CaptureRig, startCaptureRig } from './capture-helpers.ts';

const tools = allInstalled(['Xvfb', 'openbox', 'xprop', 'xrandr', 'import']);

let rig: CaptureRig | undefined;
let files: ExtensionFiles | undefined;
const hosts: ChildProcess[] = [];
afterAll(async () => {
  for (const h of hosts) h.kill('SIGKILL');
  await rig?.stop();
  await files?.cleanup();
});

const pageMessage = (text: string) =>
  JSON.stringify({ kind: 'page', url: 'https://example.test/forum', title: 'Forum', text });

describe.skipIf(!tools)('native host under hostile input', () => {
  it('drops bad messages with a reason, stays up, forwards the next good one; no token, no entry', async () => {
    files = await makeExtensionFiles();
    rig = await startCaptureRig({ agentEnv: { CUSTODIAN_AGENT_RUN_DIR: files.runDir } });
    const r = rig;
    const f = files;
    const goodLog = join(f.root, 'good-host.log');
    const good = spawnHost(f, `chrome-extension://${f.extensionId}/`, goodLog);
    hosts.push(good);
    await waitFor(
      async () => /extension connected to the agent/.test(await readLog(goodLog)),
      'host connected',
      20_000,
    );

    good.stdin!.write(frame(Buffer.alloc(70 * 1024, 0x78))); // 70 KiB > the 64 KiB limit
    good.stdin!.write(frame('{"kind": "page", "url": '));
    good.stdin!.write(frame(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))); // not UTF-8
    good.stdin!.write(frame(JSON.stringify({ kind: 'exec', cmd: 'rm -rf /' })));
    good.stdin!.write(
      frame(JSON.stringify({ kind: 'page', url: 'javascript:alert(1)', title: 't', text: 'x' })),
    );
    good.stdin!.write(
      frame(JSON.stringify({ kind: 'page', url: 'https://a.test/', title: 't', text: 'x', app: 'y' })),
    );
    good.stdin!.write(
      frame(JSON.stringify({ kind: 'typed', url: 'https://a.test/', title: 't', text: 'x'.repeat(5000) })),
    );
    good.stdin!.write(frame(pageMessage('why would anyone unalive yourself like that')));
    const first = await waitFor(
      async () => (await r.alerts()).find((a) => a.term === 'unalive yourself'),
      'alert after the bad messages',
      30_000,
      200,
    );
    expect(first).toMatchObject({
      source: 'page',
      windowUrl: 'https://example.test/forum',
      windowTitle: 'Forum',
    });
    expect(good.exitCode).toBeNull();
    const reasons = (await readLog(goodLog))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; reason?: string; bytes?: number })
      .filter((l) => l.msg === 'message dropped')
      .map((l) => l.reason);
    expect(reasons).toEqual([
      'oversized',
      'malformed-json',
      'malformed-json',
      'unknown-kind',
      'not-a-web-page',
      'unexpected-field',
      'bad-field',
    ]);

    // A host started for another extension's origin: stays up, forwards nothing.
    const otherLog = join(f.root, 'other-host.log');
    const other = spawnHost(f, `chrome-extension://${'a'.repeat(32)}/`, otherLog);
    hosts.push(other);
    other.stdin!.write(frame(pageMessage('i hope you die')));
    await waitFor(
      async () => /wrong-origin/.test(await readLog(otherLog)),
      'wrong-origin drop logged',
      20_000,
    );
    expect(other.exitCode).toBeNull();

    // A local process on the agent's socket: a wrong token, then no hello at all.
    for (const hello of [
      JSON.stringify({ t: 'hello', token: '0'.repeat(64), browser: 'evil', extensionId: f.extensionId }),
      pageMessage('go drink bleach'),
    ]) {
      const s = connect(join(f.runDir, 'native-host.sock'));
      s.on('error', () => undefined);
      s.write(
        `${hello}\n${JSON.stringify({ kind: 'page', url: 'https://a.test/', title: 't', text: 'neck urself' })}\n`,
      );
      await new Promise<void>((res) => s.once('close', () => res()));
    }
    expect(r.agent.logs().match(/connection without the agent token refused/g)).toHaveLength(2);

    // A marker through the good host: once it is there, anything the others let through would be too.
    good.stdin!.write(frame(pageMessage('you should kill yourself')));
    await waitFor(
      async () => (await r.alerts()).find((a) => a.term === 'you should kill yourself'),
      'marker alert',
      30_000,
      200,
    );
    expect((await r.alerts()).map((a) => a.term).sort()).toEqual([
      'unalive yourself',
      'you should kill yourself',
    ]);
    expect(good.exitCode).toBeNull();
    expect(other.exitCode).toBeNull();
  });
});
