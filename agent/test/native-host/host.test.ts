// The native host's side of the channel (channel.ts): it speaks first with a nonce and sends the
// token and page text only to a server that answers with HMAC(token, nonce). Replayed attack: a
// local process squats the channel (on Windows anyone may create an instance of the pipe's name;
// under Wine even a second listener is allowed) and answers the way it can without the token.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { defaultPolicy } from '@custodian/policy';
import { afterEach, describe, expect, it } from 'vitest';
import { type TextUnit, TextUnitHub } from '../../src/capture/text-source.ts';
import { silentLogger } from '../../src/config/logger.ts';
import type { AgentContext } from '../../src/core/contracts.ts';
import { channelPath, TOKEN_NAME, tokenPaths } from '../../src/native-host/channel.ts';
import { channelKeys, openLine, sealLine } from '../../src/native-host/channel-crypto.ts';
import { runNativeHost } from '../../src/native-host/host.ts';
import { BrowserReceiver } from '../../src/native-host/receiver.ts';
import { tokenDirAclArgs } from '../../src/native-host/token-acl.ts';
import { setSessionEnvProvider } from '../../src/platform/session.ts';

const ID = 'abcdefghijklmnopabcdefghijklmnop';
const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  setSessionEnvProvider(undefined);
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function frame(body: string): Buffer {
  const b = Buffer.from(body, 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32LE(b.length, 0);
  return Buffer.concat([head, b]);
}

const page = JSON.stringify({ kind: 'page', url: 'https://a.test/', title: 'T', text: 'secret page text' });

async function runDir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'custodian-host-'));
  dirs.push(root);
  const dir = join(root, 'run');
  await mkdir(dir);
  return dir;
}

/** Runs the host with one page message on stdin; its log lines come back. */
async function host(dir: string): Promise<{ code: number; log: string }> {
  const stdin = new PassThrough();
  const logFile = join(dir, 'host.log');
  const done = runNativeHost({
    extensionId: ID,
    runDir: dir,
    callerArgs: [`chrome-extension://${ID}/`],
    logFile,
    stdin,
    env: {},
    answerTimeoutMs: 1_000,
  });
  stdin.end(frame(page));
  const code = await done;
  return { code, log: await readFile(logFile, 'utf8').catch(() => '') };
}

describe('native host: the agent proves itself first', () => {
  for (const [name, answer] of [
    ['says nothing', undefined],
    ['answers with garbage', '{"t":"agent","proof":"00"}'],
    [
      'answers with a well-formed wrong proof',
      JSON.stringify({ t: 'agent', nonce: 'd'.repeat(64), proof: 'ab'.repeat(32) }),
    ],
  ] as const)
    it(`a squatter on the channel that ${name} gets neither the token nor the page text`, async () => {
      const dir = await runDir();
      const token = 'c'.repeat(64);
      await writeFile(join(dir, TOKEN_NAME), token, { mode: 0o600 });
      let received = '';
      const squatter = createServer((s) => {
        s.on('data', (d) => {
          received += d.toString('utf8');
          if (answer && received.includes('\n')) s.write(`${answer}\n`);
        });
        s.on('error', () => undefined);
      });
      servers.push(squatter);
      await new Promise<void>((r) => squatter.listen(channelPath(dir), () => r()));
      const r = await host(dir);
      expect(r.code).toBe(1);
      expect(r.log).toContain('agent not reachable');
      expect(received).not.toContain(token);
      expect(received).not.toContain('secret page text');
      expect(
        received
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).t),
      ).toEqual(['challenge']);
    }, 20_000);

  it('the real agent answers, and the page text arrives as a text unit', async () => {
    const dir = await runDir();
    const agent = await realAgent(dir);
    try {
      const r = await host(dir);
      expect(r.log).toContain('extension connected to the agent');
      expect(r.code).toBe(0);
      await expect.poll(() => agent.units.map((u) => u.text)).toEqual(['secret page text']);
    } finally {
      await agent.receiver.stop();
    }
  }, 20_000);

  it('a squatter that relays the handshake to the real agent reads neither the token nor the text', async () => {
    const agentDir = await runDir();
    const agent = await realAgent(agentDir);
    // The host's channel name is the squatter's; the token file is the agent's (the host may read it).
    const hostDir = await runDir();
    await writeFile(join(hostDir, TOKEN_NAME), await readFile(join(agentDir, TOKEN_NAME)));
    const token = (await readFile(join(agentDir, TOKEN_NAME), 'utf8')).trim();
    let seen = '';
    const relay = createServer((victim) => {
      const upstream = connect(channelPath(agentDir));
      victim.on('data', (d) => {
        seen += d.toString('utf8');
        upstream.write(d);
      });
      upstream.on('data', (d) => victim.write(d));
      victim.on('end', () => upstream.end());
      victim.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    servers.push(relay);
    await new Promise<void>((r) => relay.listen(channelPath(hostDir), () => r()));
    try {
      const r = await host(hostDir);
      expect(r.code).toBe(0);
      // The text went through (the relay is only a pipe) …
      await expect.poll(() => agent.units.map((u) => u.text)).toEqual(['secret page text']);
      // … but the relay saw the handshake and ciphertext only.
      expect(seen).toContain('"t":"challenge"');
      expect(seen).not.toContain(token);
      expect(seen).not.toContain('secret page text');
      expect(seen).not.toContain('https://a.test/');
    } finally {
      await agent.receiver.stop();
    }
  }, 20_000);

  it('a relay that replays a sealed line in the session: the agent takes it once and closes the connection', async () => {
    const agentDir = await runDir();
    const agent = await realAgent(agentDir);
    const hostDir = await runDir();
    await writeFile(join(hostDir, TOKEN_NAME), await readFile(join(agentDir, TOKEN_NAME)));
    let lines = 0;
    const relay = createServer((victim) => {
      const upstream = connect(channelPath(agentDir));
      let buf = '';
      victim.on('data', (d) => {
        buf += d.toString('utf8');
        for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl + 1);
          buf = buf.slice(nl + 1);
          // After challenge and hello, every line goes twice.
          upstream.write(++lines > 2 ? line + line : line);
        }
      });
      upstream.on('data', (d) => victim.write(d));
      victim.on('end', () => upstream.end());
      victim.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    servers.push(relay);
    await new Promise<void>((r) => relay.listen(channelPath(hostDir), () => r()));
    try {
      await host(hostDir);
      await expect
        .poll(() => agent.warnings)
        .toContain('browser channel: forged or replayed line; connection closed');
      expect(agent.units.map((u) => u.text)).toEqual(['secret page text']);
    } finally {
      await agent.receiver.stop();
    }
  }, 20_000);
});

async function realAgent(dir: string) {
  setSessionEnvProvider(() => ({}));
  const warnings: string[] = [];
  const ctx = {
    log: { ...silentLogger, warn: (m: string) => void warnings.push(m) },
    dataDir: join(dir, '..', 'data'),
    policy: { current: () => defaultPolicy(), onChange: () => () => {} },
    capabilitiesChanged: () => undefined,
  } as unknown as AgentContext;
  const hub = new TextUnitHub(silentLogger);
  const units: TextUnit[] = [];
  hub.onUnit((u) => units.push(u));
  const receiver = new BrowserReceiver(ctx, hub, { runDir: dir });
  await receiver.start();
  return { receiver, units, warnings };
}

describe('channel on Windows (pure)', () => {
  it('a named pipe per run dir (case-insensitive like Windows paths); a socket elsewhere', () => {
    const a = channelPath('C:\\ProgramData\\Custodian\\agent\\run', 'win32');
    expect(a).toMatch(/^\\\\\.\\pipe\\custodian-agent-[0-9a-f]{16}$/);
    expect(channelPath('c:\\programdata\\custodian\\agent\\run', 'win32')).toBe(a);
    expect(channelPath('C:\\other\\run', 'win32')).not.toBe(a);
    expect(channelPath('/run/custodian-agent', 'linux')).toBe('/run/custodian-agent/native-host.sock');
  });

  it('proofs and key depend on token and both nonces; sealed lines refuse replay, reorder and tampering', () => {
    const t = 'a'.repeat(64);
    const k = channelKeys(t, '1'.repeat(64), '2'.repeat(64));
    expect(k.agentProof).toMatch(/^[0-9a-f]{64}$/);
    expect(k.hostProof).not.toBe(k.agentProof);
    expect(channelKeys(t, '1'.repeat(64), '3'.repeat(64)).agentProof).not.toBe(k.agentProof);
    expect(channelKeys('b'.repeat(64), '1'.repeat(64), '2'.repeat(64)).agentProof).not.toBe(k.agentProof);
    const l1 = sealLine(k.key, 1, 'one');
    const l2 = sealLine(k.key, 2, 'two');
    expect(l1).not.toContain('one');
    expect(openLine(k.key, 0, l1)).toEqual({ counter: 1, text: 'one' });
    expect(openLine(k.key, 1, l2)).toEqual({ counter: 2, text: 'two' });
    expect(openLine(k.key, 2, l1)).toBeUndefined(); // replayed / reordered
    const raw = Buffer.from(l2, 'base64');
    raw[8] = (raw[8] ?? 0) ^ 1;
    expect(openLine(k.key, 1, raw.toString('base64'))).toBeUndefined(); // tampered
    expect(openLine(channelKeys(t, '1'.repeat(64), '3'.repeat(64)).key, 0, l1)).toBeUndefined(); // other session
  });

  it('the token folder ACL: no inheritance; SYSTEM and Administrators full, INTERACTIVE read, by SID, inherited by files', () => {
    expect(tokenDirAclArgs('C:\\r\\token')).toEqual([
      'C:\\r\\token',
      '/inheritance:r',
      '/grant:r',
      '*S-1-5-18:(OI)(CI)F',
      '*S-1-5-32-544:(OI)(CI)F',
      '*S-1-5-4:(OI)(CI)RX',
    ]);
    expect(tokenPaths('C:\\r', undefined, 'win32')).toEqual([join('C:\\r', 'token', 'native-host.token')]);
  });
});
