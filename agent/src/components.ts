// The agent's components, in start order. Each entry is a factory the composition root calls
// with the shared AgentContext (and the core services only the core monitors need).
// Enforcement (issue 5) and capture (issue 6) plug in by adding one line each at the end.

import type { IScopeState } from '@custodian/protocol';
import { createCaptureComponent } from './capture/capture-component.ts';
import { createScreenTextComponent } from './capture/screen-text.ts';
import type { TextUnitHub } from './capture/text-source.ts';
import { createTypedTextComponent } from './capture/typed-text.ts';
import type { AgentComponent, AgentContext } from './core/contracts.ts';
import { createIdleLockEnforcer } from './enforce/idle-lock.ts';
import { createUsbControl } from './enforce/usb-control.ts';
import { HeartbeatMonitor } from './monitors/heartbeat-monitor.ts';
import type { InventoryMonitor } from './monitors/inventory-monitor.ts';
import type { WindowFeedHub } from './monitors/window-feed.ts';
import { WindowMonitor } from './monitors/window-monitor.ts';
import { type BrowserReceiver, createBrowserReceiver } from './native-host/receiver.ts';
import type { WindowSource } from './platform/window.ts';

export interface CoreServices {
  /** Publishing side of AgentContext.windows. */
  windowHub: WindowFeedHub;
  windowSource: WindowSource;
  /** Text units (browser extension, later OCR and keyboard) for capture to match. */
  textUnits: TextUnitHub;
  inventory: InventoryMonitor;
  outboxDepth: () => number;
  /** The BYOD monitoring scope now, for heartbeats (issue 19). */
  scope: () => IScopeState;
}

export type ComponentFactory = (
  ctx: AgentContext,
  core: CoreServices,
) => AgentComponent | Promise<AgentComponent>;

/** The browser receiver of this agent, once built (the keyboard source asks it which browsers report keys themselves). */
let receiver: BrowserReceiver | undefined;

export const componentFactories: readonly ComponentFactory[] = [
  (_ctx, core) => core.inventory,
  (ctx, core) => new WindowMonitor(ctx, core.windowSource, core.windowHub),
  (ctx, core) =>
    new HeartbeatMonitor(ctx, {
      outboxDepth: core.outboxDepth,
      inventory: () => core.inventory.current(),
      scope: core.scope,
    }),
  (ctx) => createIdleLockEnforcer(ctx),
  (ctx) => createUsbControl(ctx),
  (ctx, core) => createCaptureComponent(ctx, { textUnits: core.textUnits }),
  (ctx, core) => {
    receiver = createBrowserReceiver(ctx, core.textUnits);
    return receiver;
  },
  (ctx, core) =>
    createTypedTextComponent(ctx, core.textUnits, {
      extensionBrowsers: () => receiver?.connectedBrowsers() ?? [],
    }),
  (ctx, core) => createScreenTextComponent(ctx, core.textUnits),
];
