// Capability report (issue 4 §5): on start and whenever a component says its capabilities
// changed, one CapabilityReport event with every capability and, for those unavailable, why.
import type {
  AgentComponent,
  AgentLogger,
  CapabilityName,
  CapabilityStatus,
  EventSink,
} from '../core/contracts.ts';

export const ALL_CAPABILITIES: readonly CapabilityName[] = [
  'active_window',
  'idle',
  'lock',
  'screenshot',
  'usb_control',
  'secure_transport',
  'browser_extension',
  'typed_text',
  'screen_text',
];
const DEBOUNCE_MS = 200;

/** Pure: one status per capability; a capability no component provides is unavailable, with that reason. */
export function mergeCapabilities(reported: CapabilityStatus[]): CapabilityStatus[] {
  return ALL_CAPABILITIES.map((name) => {
    const mine = reported.filter((c) => c.name === name);
    return (
      mine.find((c) => c.available) ??
      mine[0] ?? { name, available: false, reason: 'not provided by this agent build' }
    );
  });
}

export class CapabilityReporter {
  private readonly components: () => readonly AgentComponent[];
  private readonly events: EventSink;
  private readonly log: AgentLogger;
  private lastKey: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(components: () => readonly AgentComponent[], events: EventSink, log: AgentLogger) {
    this.components = components;
    this.events = events;
    this.log = log;
  }

  all(): CapabilityStatus[] {
    const reported: CapabilityStatus[] = [];
    for (const c of this.components()) {
      try {
        reported.push(...c.capabilities());
      } catch (err) {
        this.log.error('component failed to report capabilities', { component: c.name, err });
      }
    }
    return mergeCapabilities(reported);
  }

  changed(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reportNow(), DEBOUNCE_MS);
  }

  async reportNow(): Promise<void> {
    clearTimeout(this.timer);
    const caps = this.all();
    const key = JSON.stringify(caps);
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.log.info('capabilities', {
      capabilities: caps.map((c) => (c.available ? c.name : `${c.name}: unavailable (${c.reason})`)),
    });
    try {
      await this.events.emit({ capabilities: { capabilities: caps } });
    } catch (err) {
      this.lastKey = undefined;
      this.log.error('capability report not recorded', { err });
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
