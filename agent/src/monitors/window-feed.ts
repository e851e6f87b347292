// The in-process feed of active-window changes (AgentContext.windows). The window monitor
// publishes; capture (keyword matching) subscribes. A failing listener never stops the others.
import type { ActiveWindowFeed, ActiveWindowInfo, AgentLogger } from '../core/contracts.ts';

export class WindowFeedHub implements ActiveWindowFeed {
  private latest: ActiveWindowInfo | undefined;
  private readonly listeners = new Set<(w: ActiveWindowInfo | undefined) => void>();
  private readonly log: AgentLogger;

  constructor(log: AgentLogger) {
    this.log = log;
  }

  current(): ActiveWindowInfo | undefined {
    return this.latest;
  }

  onChange(listener: (w: ActiveWindowInfo | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(window: ActiveWindowInfo | undefined): void {
    this.latest = window;
    for (const l of this.listeners) {
      try {
        l(window);
      } catch (err) {
        this.log.error('active window listener failed', { err });
      }
    }
  }
}
