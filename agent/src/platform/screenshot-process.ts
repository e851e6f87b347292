// Parent side of a screenshot: runs the screenshot child (screenshot-take.ts) through exec.ts run()
// (timeout, SIGKILL, wrapped errors) and checks that a PNG came back. Shared by the per-platform
// sources; no window text ever reaches the child.
import { existsSync } from 'node:fs';
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import { CustodianError, ErrorCode, isCustodianError } from '@custodian/protocol';
import type { CapabilityStatus } from '../core/contracts.ts';
import { type RunAs, run } from './exec.ts';
import type { ScreenshotSource } from './screenshot.ts';
import { runAsFor } from './session.ts';

/**
 * How to start the child: the single executable runs itself (`custodian-agent screenshot-child`);
 * otherwise the current Node runs the TypeScript source or, in the bundle (agent/bin/bundle.ts),
 * its .mjs beside it. Undefined: this build carries no screenshot child.
 */
export function screenshotChildArgs(): string[] | undefined {
  if (isSea()) return ['screenshot-child'];
  const script = [
    fileURLToPath(new URL('./screenshot-child.ts', import.meta.url)),
    fileURLToPath(new URL('./screenshot-child.mjs', import.meta.url)),
  ].find((p) => existsSync(p));
  return script ? [script] : undefined;
}
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** A 4K screen as PNG stays far below this; base64 adds a third. */
const MAX_OUTPUT = 256 * 1024 * 1024;

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length > PNG_SIGNATURE.length && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** The child's {"error": "..."} line, if it wrote one (pure). */
export function childError(stderr: string): string | undefined {
  for (const line of stderr.split('\n').reverse()) {
    try {
      const parsed = JSON.parse(line) as { error?: unknown };
      if (typeof parsed.error === 'string') return parsed.error;
    } catch {
      // not our JSON line (e.g. a Node warning): keep looking
    }
  }
  return undefined;
}

/** runAs: the session's user (the capture is an X client like any other helper). */
export async function captureInChild(
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  runAs: RunAs | undefined = runAsFor(env),
): Promise<Uint8Array> {
  const args = screenshotChildArgs();
  if (!args)
    throw new CustodianError(ErrorCode.UNAVAILABLE, 'the screenshot helper is missing from this agent build');
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, args, {
      env,
      timeoutMs,
      maxBuffer: MAX_OUTPUT,
      ...(runAs ? { runAs } : {}),
    }));
  } catch (err) {
    if (isCustodianError(err, ErrorCode.COMMAND_FAILED)) {
      const stderr = typeof err.details?.['stderr'] === 'string' ? err.details['stderr'] : '';
      throw new CustodianError(
        ErrorCode.COMMAND_FAILED,
        `screenshot failed: ${childError(stderr) ?? err.message}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  const bytes = new Uint8Array(Buffer.from(stdout, 'base64'));
  if (!isPng(bytes))
    throw new CustodianError(ErrorCode.COMMAND_FAILED, 'screenshot failed: the capture was not a PNG');
  return bytes;
}

/**
 * What the per-platform sources share: the user's session environment, the capture limit and
 * the capture itself (in the child). Each platform file adds only its own probe().
 */
export abstract class ChildProcessScreenshotSource implements ScreenshotSource {
  private readonly envOf: () => NodeJS.ProcessEnv;
  protected readonly timeoutMs: number;

  /** env: fixed, or a provider read at every probe/capture (the session may change). */
  constructor(env: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv), timeoutMs: number) {
    this.envOf = typeof env === 'function' ? env : () => env;
    this.timeoutMs = timeoutMs;
  }

  protected get env(): NodeJS.ProcessEnv {
    return this.envOf();
  }

  abstract probe(): Promise<CapabilityStatus>;

  capture(): Promise<Uint8Array> {
    return captureInChild(this.env, this.timeoutMs);
  }
}
