// Linux/X11 screenshots: screenshot-desktop (xrandr + ImageMagick `import`) in a child process.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { CapabilityStatus } from '../core/contracts.ts';
import { hasCommand, run } from './exec.ts';
import { parseXrandrOutputs, screenshotEnvironmentProblem } from './screenshot.xrandr.ts';
import { ChildProcessScreenshotSource } from './screenshot-process.ts';
import { runAsFor } from './session.ts';

export class X11ScreenshotSource extends ChildProcessScreenshotSource {
  async probe(): Promise<CapabilityStatus> {
    const unavailable = (reason: string): CapabilityStatus => ({
      name: 'screenshot',
      available: false,
      reason,
    });
    const problem = screenshotEnvironmentProblem(this.env);
    if (problem) return unavailable(problem);
    let stdout: string;
    const env = this.env;
    const runAs = runAsFor(env);
    try {
      ({ stdout } = await run('xrandr', ['--current'], {
        env,
        timeoutMs: 3_000,
        ...(runAs ? { runAs } : {}),
      }));
    } catch (err) {
      if (err instanceof CustodianError && err.code === ErrorCode.UNAVAILABLE)
        return unavailable('xrandr is not installed (Debian package x11-xserver-utils)');
      return unavailable(`X display ${env['DISPLAY']} not reachable`);
    }
    if (parseXrandrOutputs(stdout).length === 0) return unavailable('xrandr reports no connected screen');
    if (!(await hasCommand('import')))
      return unavailable('ImageMagick is not installed (Debian package imagemagick)');
    return { name: 'screenshot', available: true, reason: '' };
  }
}
