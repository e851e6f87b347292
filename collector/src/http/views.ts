// JSON views of stored records for the API and the live feed. Role rules live here: the
// content of a safeguarding flag (term, context, window) is for the safeguarding roles only
// (safeguarding/roles.ts: the DSL; not admin, not the admin token), never for IT or governors:
// they see that an alert exists, not what it says.
import { eventToJson, v1 } from '@custodian/protocol';
import type { LiveEvent } from '../live/hub.ts';
import { SAFEGUARDING } from '../safeguarding/roles.ts';
import type { Device, DeviceLiveStatus, TimelineRecord } from '../store/types.ts';
import type { Principal } from './router.ts';

export function seesSafeguardingContent(p: Principal | undefined): boolean {
  return p !== undefined && p.kind === 'staff' && SAFEGUARDING.includes(p.role);
}

export function deviceView(d: Device, status: DeviceLiveStatus | undefined): Record<string, unknown> {
  const { keyHash: _secretHash, ...rest } = d;
  return {
    ...rest,
    revoked: d.revokedAt !== undefined,
    status: status ?? { deviceId: d.id, connected: false, usbVolumes: [] },
  };
}

function redact(
  kind: string,
  event: Record<string, unknown>,
  p: Principal | undefined,
): Record<string, unknown> {
  if (kind !== 'flaggedActivity' || seesSafeguardingContent(p)) return event;
  return { ...event, flaggedActivity: { redacted: true } };
}

export function timelineItem(r: TimelineRecord, p: Principal | undefined): Record<string, unknown> {
  return {
    streamId: r.streamId,
    seq: r.seq,
    time: r.time,
    agentTimeMs: r.agentTimeMs,
    receivedAt: r.receivedAt,
    kind: r.kind,
    event: redact(r.kind, eventToJson(v1.Event.decode(r.event)), p),
    ...(r.alertId ? { alertId: r.alertId } : {}),
    ...(r.truncated ? { truncated: r.truncated } : {}),
    ...(r.invalidText ? { invalidText: r.invalidText } : {}),
  };
}

export function liveEventView(e: LiveEvent, p: Principal | undefined): LiveEvent {
  return { ...e, event: redact(e.kind, e.event, p) };
}
