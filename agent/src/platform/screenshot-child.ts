// Child-process entry for one screenshot (run by screenshot-process.ts, never imported).
// screenshot-desktop 1.15.6 rejects a promise nobody catches when xrandr fails, which kills the
// process it runs in (platform-notes §0.2): here that process is this disposable child.
// stdout: the PNG, base64 (text, so the parent can use exec.ts run()). stderr: {"error": "..."}.
// Exit: 0 ok, 3 capture failed.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${JSON.stringify({ error: message.slice(0, 500) })}\n`);
  process.exit(3);
}

process.on('unhandledRejection', fail);
process.on('uncaughtException', fail);

const screenshot = require('screenshot-desktop') as (options: { format: string }) => Promise<Buffer>;
try {
  const png = await screenshot({ format: 'png' });
  process.stdout.write(Buffer.from(png).toString('base64'));
} catch (err) {
  fail(err);
}
