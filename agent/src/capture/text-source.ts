// Text units: every piece of text the agent matches against the keyword library, with where it
// came from. Window titles and URLs come from the window monitor; page text, typed text and the
// tab's URL from the browser extension (src/native-host/); on-screen text (OCR) and the OS
// keyboard source (issue 14) publish here too. One matcher, in one place: the capture component.
import type { AgentLogger } from '../core/contracts.ts';

/** Where a text unit came from; travels as FlaggedActivity.source. */
export type TextOrigin = 'typed' | 'screen' | 'title' | 'url' | 'page';

export interface TextUnit {
  origin: TextOrigin;
  /** The text to match (attacker-controlled: never logged, never interpolated). */
  text: string;
  /** The window it was seen in; for the browser: the tab's title and URL, app = the browser. */
  window: { title: string; url: string; app: string };
  /** When it was seen (ms since the epoch, agent clock). */
  time: number;
}

/** The subscribing side (capture). */
export interface TextUnitFeed {
  onUnit(listener: (unit: TextUnit) => void): () => void;
}

/** In-process hub between text sources and capture. Listener errors are logged, never thrown. */
export class TextUnitHub implements TextUnitFeed {
  private readonly listeners = new Set<(unit: TextUnit) => void>();
  private readonly log: AgentLogger;

  constructor(log: AgentLogger) {
    this.log = log;
  }

  publish(unit: TextUnit): void {
    for (const l of this.listeners) {
      try {
        l(unit);
      } catch (err) {
        this.log.error('text unit listener failed', { origin: unit.origin, err });
      }
    }
  }

  onUnit(listener: (unit: TextUnit) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
