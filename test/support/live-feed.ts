// A console's live feed (Server-Sent Events, GET /api/v1/live) read as the browser would, for
// harnesses that measure how soon an event reaches the console: calls onEvent for every `event`
// item, `ready` resolves at the snapshot (the feed is subscribed from then on).

export interface LiveEventItem {
  deviceId: string;
  seq: number;
}

export interface LiveFeed {
  /** Resolves once the snapshot arrived; rejects if the feed was refused. */
  ready: Promise<void>;
  close(): void;
  /** Has the stream ended (either side)? */
  ended(): boolean;
}

/** `headers` authenticate the feed: `{ cookie }` of a staff session or an admin bearer token. */
export function openLiveFeed(
  baseUrl: string,
  headers: Record<string, string>,
  onEvent: (e: LiveEventItem) => void,
): LiveFeed {
  const abort = new AbortController();
  let ended = false;
  const ready = (async () => {
    const res = await fetch(`${baseUrl}/api/v1/live`, { headers, signal: abort.signal });
    if (!res.ok || !res.body) throw new Error(`live: HTTP ${res.status}: ${await res.text()}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let snapshot: () => void = () => undefined;
    const gotSnapshot = new Promise<void>((r) => {
      snapshot = r;
    });
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          for (let at = buf.indexOf('\n\n'); at >= 0; at = buf.indexOf('\n\n')) {
            const block = buf.slice(0, at);
            buf = buf.slice(at + 2);
            const kind = /^event: (.*)$/m.exec(block)?.[1];
            if (kind === 'snapshot') snapshot();
            if (kind !== 'event') continue;
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (data) onEvent(JSON.parse(data) as LiveEventItem);
          }
        }
      } catch {
        // aborted
      } finally {
        ended = true;
      }
    })();
    await gotSnapshot;
  })();
  ready.catch(() => undefined);
  return { ready, close: () => abort.abort(), ended: () => ended };
}
