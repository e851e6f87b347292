// Tells the DSL when safeguarding capture is switched off or lowered (issue 10 item 7): IT and
// admins edit policy, and a quiet `capture.enabled = false` on a pupil's laptop would otherwise
// go unseen by the one person it matters to. Listens for policy changes (post-commit), compares
// the capture settings before and after, and stores a notification for the DSL.
import { mergePolicy, type Policy, type PolicyPatch, RECEIVED_LIMITS } from '@custodian/policy';
import { NOTIFICATIONS_NS, Notifications, type StaffNotification } from '../auth/notifications.ts';
import type { LiveHub } from '../live/hub.ts';
import type { Logger } from '../log.ts';
import { policyAbove } from '../policy/chain.ts';
import type { PolicyChange, Store } from '../store/types.ts';

type Capture = Policy['capture'];

/** What got weaker from `before` to `after` (empty when capture stayed the same or got stronger). Pure. */
export function captureLowered(before: Capture, after: Capture): string[] {
  const out: string[] = [];
  if (before.enabled && !after.enabled) out.push('capture switched off');
  if (after.minSeverity > before.minSeverity)
    out.push(`minimum severity raised from ${before.minSeverity} to ${after.minSeverity}`);
  // An empty list means every category.
  if (after.categories.length > 0) {
    if (before.categories.length === 0)
      out.push(`categories narrowed from all to ${after.categories.join(', ')}`);
    else {
      const removed = before.categories.filter((c) => !after.categories.includes(c));
      if (removed.length > 0) out.push(`categories removed: ${removed.join(', ')}`);
    }
  }
  return out;
}

/** The capture settings a change left in force, before and after (device changes merge onto the default). */
async function captureOf(
  store: Store,
  change: PolicyChange,
): Promise<{ before: Capture; after: Capture } | undefined> {
  if (change.scope === 'default') {
    if (!change.old || !change.new) return undefined;
    return { before: (change.old as Policy).capture, after: (change.new as Policy).capture };
  }
  // A school or group layer, or a device override: merged onto what is above it on its chain.
  const base = await policyAbove(store, change.scope);
  if (!base) return undefined;
  const effective = (patch: PolicyChange['old']) =>
    (patch ? mergePolicy(base, patch as PolicyPatch, RECEIVED_LIMITS) : base).capture;
  return { before: effective(change.old), after: effective(change.new) };
}

export function watchCapture(deps: { store: Store; live: LiveHub; log?: Logger | undefined }): () => void {
  const notifications = new Notifications({
    kv: deps.store.kv<StaffNotification>(NOTIFICATIONS_NS),
    audit: deps.store.audit,
  });
  const onPolicy = ({ scope, version }: { scope: string; version: number }) => {
    void (async () => {
      const { records } = await deps.store.policy.changes({ scope, limit: 5 });
      const change = records.find((c) => c.version === version);
      if (!change) return;
      const capture = await captureOf(deps.store, change);
      if (!capture) return;
      const reasons = captureLowered(capture.before, capture.after);
      if (reasons.length === 0) return;
      const where =
        scope === 'default'
          ? 'the default policy'
          : scope.includes(':')
            ? `the ${scope.replace(':', ' ')} layer`
            : `device ${scope}`;
      await notifications.notify(
        'dsl',
        'capture.lowered',
        `${change.actor} lowered safeguarding capture on ${where}: ${reasons.join('; ')}`,
        { scope, version, actor: change.actor, reason: change.reason, changes: reasons },
      );
    })().catch((err: unknown) =>
      deps.log?.error({ err, scope }, 'could not notify the DSL of a capture change'),
    );
  };
  deps.live.on('policy', onPolicy);
  return () => deps.live.off('policy', onPolicy);
}
