// Child-process entry for one screenshot when the agent runs from its sources or from the
// agent/dist bundle (run by path by screenshot-process.ts, never imported); see screenshot-take.ts.
import { takeScreenshotToStdout } from './screenshot-take.ts';

process.exitCode = await takeScreenshotToStdout();
