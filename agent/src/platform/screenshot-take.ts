// The body of the screenshot child process, shared by its two entries: screenshot-child.ts (the
// sources and the agent/dist bundle, run by path) and `custodian-agent screenshot-child` (the single
// executable, which has no script files to run). Never imported by the long-running agent.
// screenshot-desktop 1.15.6 rejects a promise nobody catches when xrandr fails, which kills the
// process it runs in (platform-notes §0.2): here that process is the disposable child.
// stdout: the PNG, base64 (text, so the parent can use exec.ts run()). stderr: {"error": "..."}.
// Exit: 0 ok, 3 capture failed.
// @ts-expect-error screenshot-desktop ships no type declarations; its one export is typed below.
import screenshotDesktop from 'screenshot-desktop';

const screenshot = screenshotDesktop as (options: { format: string }) => Promise<Buffer>;

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${JSON.stringify({ error: message.slice(0, 500) })}\n`);
  process.exit(3);
}

export async function takeScreenshotToStdout(): Promise<number> {
  process.on('unhandledRejection', fail);
  process.on('uncaughtException', fail);
  try {
    const png = await screenshot({ format: 'png' });
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(Buffer.from(png).toString('base64'), (err) => (err ? reject(err) : resolve())),
    );
    return 0;
  } catch (err) {
    fail(err);
  }
}
