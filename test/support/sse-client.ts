// A console's live feed read the way a browser's EventSource would: one long GET, events parsed
// as they arrive; `waitFor(type, predicate)` polls what has arrived so far.
export interface SseEvent {
  type: string;
  data: unknown;
}

export interface SseClient {
  readonly events: SseEvent[];
  /** The first event of `type` matching, from index `since` (events.length before the action). */
  waitFor<T = unknown>(
    type: string,
    match: (data: T) => boolean,
    since?: number,
    timeoutMs?: number,
  ): Promise<T>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`SSE ${url}: HTTP ${res.status}: ${await res.text()}`);
  const events: SseEvent[] = [];
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        let end = buf.indexOf('\n\n');
        while (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (type && data !== undefined) events.push({ type, data: JSON.parse(data) });
          end = buf.indexOf('\n\n');
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    events,
    async waitFor<T>(type: string, match: (data: T) => boolean, since = 0, timeoutMs = 30_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      let from = since;
      for (;;) {
        for (; from < events.length; from++) {
          const e = events[from] as SseEvent;
          if (e.type === type && match(e.data as T)) return e.data as T;
        }
        if (Date.now() > deadline) throw new Error(`no ${type} event matching within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => abort.abort(),
  };
}
