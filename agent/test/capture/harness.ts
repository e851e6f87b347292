// Test context for the capture component: the enforcement harness (real in-memory EventSink and
// PolicySource) plus an in-memory BlobSink and a real WindowFeedHub.
import { randomUUID } from 'node:crypto';
import type { PolicyPatch } from '@custodian/policy';
import type { ActiveWindowInfo } from '../../src/core/contracts.ts';
import { WindowFeedHub } from '../../src/monitors/window-feed.ts';
import { createTestContext, type TestContext } from '../enforce/harness.ts';

export interface CaptureTestContext extends TestContext {
  blobStore: Map<string, { data: Uint8Array; contentType: string }>;
  hub: WindowFeedHub;
  /** Windows the hub has published, in order (recorded after the capture component's listener). */
  published: (ActiveWindowInfo | undefined)[];
  recordPublished(): void;
}

export function createCaptureContext(policy: PolicyPatch = {}): CaptureTestContext {
  const base = createTestContext({ policy });
  const ctx = base as CaptureTestContext;
  ctx.blobStore = new Map();
  ctx.blobs = {
    async putBlob(data, contentType) {
      const id = randomUUID();
      ctx.blobStore.set(id, { data: new Uint8Array(data), contentType });
      return id;
    },
  };
  ctx.hub = new WindowFeedHub(ctx.log);
  ctx.windows = ctx.hub;
  ctx.lockState = { isLocked: async () => false };
  ctx.published = [];
  ctx.recordPublished = () => {
    ctx.hub.onChange((w) => ctx.published.push(w));
  };
  return ctx;
}

export function flagged(ctx: TestContext) {
  return ctx.emitted.flatMap((e) => (e.flaggedActivity ? [e.flaggedActivity] : []));
}
