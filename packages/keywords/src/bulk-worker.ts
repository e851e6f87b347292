// The worker side of createBulkMatcher: one matcher per thread, texts in, matches out.
import { parentPort, workerData } from 'node:worker_threads';
import { createMatcher, type MatcherOptions } from './matcher.ts';

const matcher = createMatcher(workerData as MatcherOptions);
parentPort!.postMessage({ ready: true, termCount: matcher.termCount, ruleCount: matcher.ruleCount });
parentPort!.on('message', (msg: { id: number; text: string }) => {
  try {
    parentPort!.postMessage({ id: msg.id, matches: matcher.match(msg.text) });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
