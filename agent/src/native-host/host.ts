// The native-messaging host (`custodian-agent native-host`): started by the browser, as the
// desktop user, for the Custodian extension's port. It reads framed messages on stdin, checks
// each (size, shape, and that the caller's origin is the deployment's extension), and forwards
// the good ones to the agent over the local channel (channel.ts). Bad input is dropped with a
// logged reason (never its text); the host stays up until the browser closes the port. When the
// agent cannot be reached the host exits: the browser closes the port, and the extension's
// service worker keeps a bounded queue and reconnects.

import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { basename } from 'node:path';
import { createLogger } from '../config/logger.ts';
import type { AgentLogger } from '../core/contracts.ts';
import { type AgentAnswer, channelPath, type HostChallenge, type HostHello, tokenPaths } from './channel.ts';
import { channelKeys, isNonce, proofEquals, sealLine } from './channel-crypto.ts';
import { FrameDecoder } from './framing.ts';
import { checkBrowserMessage, extensionIdFromOrigin } from './messages.ts';

/** Bytes the host holds for a slow agent before it drops messages. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** The agent answers a challenge at once; a squatter that stays silent is left after this. */
const ANSWER_TIMEOUT_MS = 5_000;

export interface NativeHostOptions {
  /** The deployment's extension id (32 letters a-p): the only origin served. */
  extensionId: string;
  runDir: string;
  /** The host's arguments after the options: the browser passes the caller's origin first. */
  callerArgs: string[];
  /** JSON-lines log file (default: stderr, which the browser swallows or prints). */
  logFile?: string;
  stdin?: NodeJS.ReadableStream;
  env?: NodeJS.ProcessEnv;
  /** How long the agent has to answer the challenge (default 5 s). */
  answerTimeoutMs?: number;
}

export function hostLogger(logFile: string | undefined): AgentLogger {
  return createLogger({
    base: { component: 'native-host', pid: process.pid },
    ...(logFile ? { write: (line: string) => appendFileSync(logFile, line, { mode: 0o600 }) } : {}),
  });
}

/** Resolves with the exit code when stdin ends (or the agent goes away). */
export async function runNativeHost(o: NativeHostOptions): Promise<number> {
  const log = hostLogger(o.logFile);
  const env = o.env ?? process.env;
  const stdin = o.stdin ?? process.stdin;
  // Chrome passes the origin first; on Windows a --parent-window=N follows.
  const origin = o.callerArgs.find((a) => a.startsWith('chrome-extension://')) ?? o.callerArgs[0];
  const callerId = extensionIdFromOrigin(origin);
  const trusted = callerId !== undefined && callerId === o.extensionId;
  if (!trusted) log.warn('caller is not the Custodian extension; every message will be dropped', { origin });

  let agent: Socket | undefined;
  let key: Buffer = Buffer.alloc(0);
  let counter = 0;
  if (trusted) {
    try {
      ({ socket: agent, key } = await connectAgent(
        o.runDir,
        env,
        o.extensionId,
        o.answerTimeoutMs ?? ANSWER_TIMEOUT_MS,
      ));
    } catch (err) {
      log.warn('agent not reachable; closing so the extension retries later', { err });
      return 1;
    }
    log.info('extension connected to the agent', { extensionId: o.extensionId });
  }

  const decoder = new FrameDecoder();
  let forwarded = 0;
  return await new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      agent?.end();
      log.info('native host stopping', { forwarded, code });
      resolve(code);
    };
    agent?.on('close', () => {
      log.warn('agent closed the channel');
      finish(1);
    });
    agent?.on('error', (err) => log.warn('agent channel error', { err }));
    stdin.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (!f.ok) {
          log.warn('message dropped', { reason: f.reason, bytes: f.bytes });
          continue;
        }
        if (!trusted) {
          log.warn('message dropped', { reason: 'wrong-origin' });
          continue;
        }
        const c = checkBrowserMessage(f.value);
        if (!c.ok) {
          log.warn('message dropped', { reason: c.reason });
          continue;
        }
        // An agent that stops reading must not make the host buffer without limit.
        if (agent && agent.writableLength > MAX_BUFFERED_BYTES) {
          log.warn('message dropped', { reason: 'agent-busy' });
          continue;
        }
        forwarded++;
        agent?.write(`${sealLine(key, ++counter, JSON.stringify(c.message))}\n`);
      }
    });
    stdin.on('end', () => finish(0));
    stdin.on('error', () => finish(1));
  });
}

/** The agent's channel, after the handshake (channel-crypto.ts): the socket and the sealing key. */
async function connectAgent(
  runDir: string,
  env: NodeJS.ProcessEnv,
  extensionId: string,
  answerTimeoutMs: number,
): Promise<{ socket: Socket; key: Buffer }> {
  let token: string | undefined;
  for (const p of tokenPaths(runDir, env['XDG_RUNTIME_DIR'])) {
    token = await readFile(p, 'utf8').then(
      (t) => t.trim(),
      () => undefined,
    );
    if (token) break;
  }
  if (!token) throw new Error('no agent token readable (is the agent running?)');
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(channelPath(runDir));
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  // The server proves it holds this start's token before the host says anything else; the token
  // itself never goes on the channel, and every later line is sealed.
  const nonce = randomBytes(32).toString('hex');
  const challenge: HostChallenge = { t: 'challenge', nonce };
  socket.write(`${JSON.stringify(challenge)}\n`);
  const answer = await firstLine(socket, answerTimeoutMs).catch((err: Error) => {
    socket.destroy();
    throw err;
  });
  const a = parseAnswer(answer);
  const keys = a ? channelKeys(token, nonce, a.nonce) : undefined;
  if (!a || !keys || !proofEquals(a.proof, keys.agentProof)) {
    socket.destroy();
    throw new Error('the channel did not prove it is the agent (wrong or no answer): nothing sent');
  }
  const hello: HostHello = { t: 'hello', proof: keys.hostProof, browser: await parentBrowser(), extensionId };
  socket.write(`${JSON.stringify(hello)}\n`);
  return { socket, key: keys.key };
}

function parseAnswer(line: string): AgentAnswer | undefined {
  try {
    const a = JSON.parse(line) as Partial<AgentAnswer>;
    return a.t === 'agent' && isNonce(a.nonce) && typeof a.proof === 'string'
      ? { t: 'agent', nonce: a.nonce, proof: a.proof }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The server's first line (bounded in size and time); nothing after it is read here. */
function firstLine(s: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (err: Error | undefined, line?: string) => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
      if (err) reject(err);
      else resolve(line!);
    };
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl !== -1) done(undefined, buf.slice(0, nl));
      else if (buf.length > 1024) done(new Error('the channel answered with too much'));
    };
    const onClose = () => done(new Error('the channel closed before answering'));
    const timer = setTimeout(() => done(new Error('the channel did not answer')), timeoutMs);
    s.on('data', onData);
    s.on('close', onClose);
  });
}

/** The executable that started us (the browser), by name; "unknown" where /proc is missing. */
async function parentBrowser(): Promise<string> {
  try {
    return basename(await readlink(`/proc/${process.ppid}/exe`)).slice(0, 40);
  } catch {
    return 'unknown';
  }
}
