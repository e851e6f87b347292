// The DSL's decisions on an alert: grade, false positive, note, escalate. Each one updates the
// alert under the store lock, appends to the alert's own history and writes its audit record in
// the same atomic batch as the alert.

import { ErrorCode } from '@custodian/protocol';
import { type StaticDecode, Type } from '@sinclair/typebox';
import { AUDIT, audit, auditInput } from '../auth/audit.ts';
import { HttpError, notFound, type Principal } from '../http/router.ts';
import { Body, Id } from '../http/schema.ts';
import type { Alert, Store } from '../store/types.ts';
import { recordInScope, schoolOfRecord } from '../tenancy/scope.ts';
import { type Incident, IncidentFields, type IncidentService } from './incidents.ts';

export const MAX_NOTE = 10_000;

const Note = (description: string) =>
  Type.String({
    maxLength: MAX_NOTE,
    pattern: '\\S',
    description: `${description}, up to ${MAX_NOTE} characters`,
  });

// What each decision accepts (checked by the router before the handler).
export const GradeBody = Body({
  grade: Type.Integer({
    minimum: 1,
    maximum: 5,
    description: 'your severity for this alert, 1 (low) to 5 (urgent)',
  }),
  note: Type.Optional(Note('a note kept with the alert')),
});
export const FalsePositiveBody = Body({ reason: Type.Optional(Note('why it is a false positive')) });
export const NoteBody = Body({ text: Note('the note') });
export const EscalateBody = Body({
  incidentId: Type.Optional(Id('an existing incident to link this alert to')),
  incident: Type.Optional(
    Type.Partial(Type.Object(IncidentFields, { additionalProperties: false }), {
      description: "a new incident's fields (title defaults to the alert's category and term)",
    }),
  ),
});

function actor(p: Principal | undefined): string {
  return p?.username ?? 'unknown';
}

async function requireAlert(store: Store, id: string): Promise<Alert> {
  const a = await store.alerts.get(id);
  if (!a) throw new HttpError(404, ErrorCode.NOT_FOUND, 'alert not found');
  return a;
}

/**
 * The common tail of every decision: `change` edits the alert under the store lock (one
 * timestamp and actor for all its history and notes); alert and audit record in one batch.
 */
async function decide(
  store: Store,
  id: string,
  p: Principal | undefined,
  ip: string,
  action: string,
  change: (a: Alert, at: number, who: string) => void,
  details?: Record<string, unknown>,
): Promise<Alert> {
  const at = Date.now();
  // One atomic batch: the decision and its audit record are stored together or not at all.
  return store.alerts.update(
    id,
    (a) => {
      change(a, at, actor(p));
      return a;
    },
    auditInput(p, action, `alert:${id}`, ip, details),
  );
}

export async function gradeAlert(
  store: Store,
  id: string,
  body: StaticDecode<typeof GradeBody>,
  p: Principal | undefined,
  ip: string,
): Promise<Alert> {
  const { grade, note } = body;
  await requireAlert(store, id);
  return decide(
    store,
    id,
    p,
    ip,
    AUDIT.alertGraded,
    (a, at, who) => {
      a.history.push({ at, actor: who, action: 'graded', from: a.grade ?? null, to: grade });
      a.grade = grade;
      // An escalated alert stays escalated: grading it again only refines the severity.
      if (a.status !== 'escalated') {
        if (a.status !== 'graded')
          a.history.push({ at, actor: who, action: 'status', from: a.status, to: 'graded' });
        a.status = 'graded';
      }
      if (note) a.notes.push({ at, author: who, text: note });
    },
    { grade },
  );
}

export async function markFalsePositive(
  store: Store,
  id: string,
  body: StaticDecode<typeof FalsePositiveBody>,
  p: Principal | undefined,
  ip: string,
): Promise<Alert> {
  const { reason } = body;
  const current = await requireAlert(store, id);
  if (current.status === 'escalated')
    throw new HttpError(
      409,
      ErrorCode.CONFLICT,
      'alert is escalated to an incident: update the incident instead',
    );
  return decide(store, id, p, ip, AUDIT.alertFalsePositive, (a, at, who) => {
    if (a.status === 'escalated')
      throw new HttpError(409, ErrorCode.CONFLICT, 'alert is escalated to an incident');
    a.history.push({ at, actor: who, action: 'status', from: a.status, to: 'false-positive' });
    a.status = 'false-positive';
    if (reason) a.notes.push({ at, author: who, text: `False positive: ${reason}` });
  });
}

export async function addNote(
  store: Store,
  id: string,
  body: StaticDecode<typeof NoteBody>,
  p: Principal | undefined,
  ip: string,
): Promise<Alert> {
  const { text } = body;
  await requireAlert(store, id);
  return decide(store, id, p, ip, AUDIT.alertNoted, (a, at, who) => {
    a.notes.push({ at, author: who, text });
    a.history.push({ at, actor: who, action: 'noted' });
  });
}

/**
 * Escalates to an incident: `{ incidentId }` links to an existing one; otherwise a new incident
 * is opened from `{ incident: {...fields} }` (title defaults to the alert's category and term).
 */
export async function escalateAlert(
  store: Store,
  incidents: IncidentService,
  id: string,
  body: StaticDecode<typeof EscalateBody>,
  p: Principal | undefined,
  ip: string,
): Promise<{ alert: Alert; incident: Incident }> {
  const current = await requireAlert(store, id);
  if (current.status === 'escalated' && current.incidentId) {
    throw new HttpError(
      409,
      ErrorCode.CONFLICT,
      `alert is already escalated to incident ${current.incidentId}`,
      {
        incidentId: current.incidentId,
      },
    );
  }
  let incident: Incident;
  if (body.incidentId !== undefined) {
    // Tenancy: another school's incident is "not found" to a school-scoped DSL, and an incident
    // holds the alerts of one school only.
    const target = await incidents.get(body.incidentId);
    if (!target || !recordInScope(p, target)) throw notFound('incident');
    if (schoolOfRecord(target) !== schoolOfRecord(current))
      throw new HttpError(409, ErrorCode.CONFLICT, "the incident is another school's: open a new one");
    incident = await incidents.linkAlert(body.incidentId, id, actor(p));
  } else {
    const input = {
      ...body.incident,
      title: body.incident?.title ?? `${current.category}: ${current.term}`.slice(0, 300),
      occurredAt: body.incident?.occurredAt ?? current.occurredAt,
    };
    incident = await incidents.create(input, actor(p), [id], current.schoolId);
    await audit(store.audit, p, AUDIT.incidentCreated, `incident:${incident.id}`, ip, { fromAlert: id });
  }
  const alert = await decide(
    store,
    id,
    p,
    ip,
    AUDIT.alertEscalated,
    (a, at, who) => {
      a.history.push({ at, actor: who, action: 'escalated', from: a.status, to: incident.id });
      a.status = 'escalated';
      a.incidentId = incident.id;
    },
    { incidentId: incident.id },
  );
  return { alert, incident };
}

export const AcknowledgeBody = Body({ note: Type.Optional(Note('a note kept with the alert')) });

/**
 * "I have this": stops the notification rota (notify/rota.ts) for this alert. Once per alert: a
 * second acknowledgement answers the alert as it is and writes nothing.
 */
export async function acknowledgeAlert(
  store: Store,
  id: string,
  body: StaticDecode<typeof AcknowledgeBody>,
  p: Principal | undefined,
  ip: string,
): Promise<Alert> {
  const current = await requireAlert(store, id);
  if (current.history.some((e) => e.action === 'acknowledged')) return current;
  return decide(store, id, p, ip, AUDIT.alertAcknowledged, (a, at, who) => {
    if (a.history.some((e) => e.action === 'acknowledged')) return;
    a.history.push({ at, actor: who, action: 'acknowledged' });
    if (body.note) a.notes.push({ at, author: who, text: body.note });
  });
}

export const ViewedBody = Body({});

/**
 * The console opens an alert with this call (it answers what GET /alerts/:id answers). It is one
 * read of safeguarding content, audited once as `view.alert` (the action the governors' read
 * summary counts; `opened: true` tells it from a plain GET); the alert's history gets the first
 * opening by each person (`viewed`; `opened` is ingest creating it), which the notification rota
 * can stop on. A plain GET of the alert writes no history, so reading the API has no side effect.
 */
export async function recordViewed(
  store: Store,
  id: string,
  _body: StaticDecode<typeof ViewedBody>,
  p: Principal | undefined,
  ip: string,
): Promise<Alert> {
  const current = await requireAlert(store, id);
  const who = actor(p);
  const details = { deviceId: current.deviceId, opened: true };
  if (current.history.some((e) => e.action === 'viewed' && e.actor === who)) {
    await audit(store.audit, p, AUDIT.alertViewed, `alert:${id}`, ip, { ...details, again: true });
    return current;
  }
  return decide(
    store,
    id,
    p,
    ip,
    AUDIT.alertViewed,
    (a, at, by) => {
      if (!a.history.some((e) => e.action === 'viewed' && e.actor === by))
        a.history.push({ at, actor: by, action: 'viewed' });
    },
    details,
  );
}
