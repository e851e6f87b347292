// Does something answer a TCP connect at IP:port? The "collector on the school LAN" criterion of
// a BYOD network rule (issue 19). A connect only: nothing is sent, the socket is closed at once.
import { connect } from 'node:net';
import { parseHostPort } from '@custodian/policy';

export function tcpAnswers(hostPort: string, timeoutMs = 1_500): Promise<boolean> {
  const target = parseHostPort(hostPort);
  if (!target) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The collectorLan values (deduplicated) that answer now. */
export async function reachableOf(
  targets: readonly string[],
  probe: (hostPort: string) => Promise<boolean> = tcpAnswers,
): Promise<Set<string>> {
  const unique = [...new Set(targets.filter((t) => t !== ''))];
  const answers = await Promise.all(unique.map(async (t) => [t, await probe(t)] as const));
  return new Set(answers.filter(([, ok]) => ok).map(([t]) => t));
}
