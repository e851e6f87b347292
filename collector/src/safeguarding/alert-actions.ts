// The DSL's decisions on an alert: grade, false positive, note, escalate. Each one updates the
// alert under the store lock, appends to the alert's own history and writes its audit record in
// the same atomic batch as the alert.
import { ErrorCode } from '@custodian/protocol';
import { AUDIT, audit, auditInput } from '../auth/audit.ts';
import { badInput, HttpError, type Principal } from '../http/router.ts';
import type { Alert, Store } from '../store/types.ts';
import type { Incident, IncidentService } from './incidents.ts';

export const MAX_NOTE = 10_000;

function actor(p: Principal | undefined): string {
  return p?.username ?? 'unknown';
}

async function requireAlert(store: Store, id: string): Promise<Alert> {
  const a = await store.alerts.get(id);
  if (!a) throw new HttpError(404, ErrorCode.NOT_FOUND, 'alert not found');
  return a;
}

function noteText(v: unknown, field = 'text', required = true): string | undefined {
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw badInput(`${field} is required`, { field });
  if (v.length > MAX_NOTE) throw badInput(`${field} must be at most ${MAX_NOTE} characters`, { field });
  return v;
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
  body: Record<string, unknown>,
  p: Principal | undefined,
  ip: string,
): Promise<Alert> {
  const grade = body.grade;
  if (typeof grade !== 'number' || !Number.isInteger(grade) || grade < 1 || grade > 5)
    throw badInput('grade must be an integer 1-5', { field: 'grade' });
  const note = noteText(body.note, 'note', false);
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
  body: Record<string, unknown>,
  p: Principal | undefined,
  ip: string,
): Promise<Alert> {
  const reason = noteText(body.reason, 'reason', false);
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
  body: Record<string, unknown>,
  p: Principal | undefined,
  ip: string,
): Promise<Alert> {
  const text = noteText(body.text) as string;
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
  body: Record<string, unknown>,
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
    if (typeof body.incidentId !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(body.incidentId))
      throw badInput('incidentId is not a valid id', { field: 'incidentId' });
    incident = await incidents.linkAlert(body.incidentId, id, actor(p));
  } else {
    const fields = body.incident === undefined ? {} : body.incident;
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields))
      throw badInput('incident must be an object', { field: 'incident' });
    const input = { ...(fields as Record<string, unknown>) };
    if (input.title === undefined) input.title = `${current.category}: ${current.term}`.slice(0, 300);
    if (input.occurredAt === undefined) input.occurredAt = current.occurredAt;
    incident = await incidents.create(input, actor(p), [id]);
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
