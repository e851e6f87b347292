// The DSL's decisions on an alert: grade, false positive, note, escalate. Each one updates the
// alert under the store lock, appends to the alert's own history and writes an audit record.
import { ErrorCode } from '@custodian/protocol';
import { AUDIT, audit } from '../auth/audit.ts';
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
  const at = Date.now();
  const next = await store.alerts.update(id, (a) => {
    a.history.push({ at, actor: actor(p), action: 'graded', from: a.grade ?? null, to: grade });
    a.grade = grade;
    // An escalated alert stays escalated: grading it again only refines the severity.
    if (a.status !== 'escalated') {
      if (a.status !== 'graded')
        a.history.push({ at, actor: actor(p), action: 'status', from: a.status, to: 'graded' });
      a.status = 'graded';
    }
    if (note) a.notes.push({ at, author: actor(p), text: note });
    return a;
  });
  await audit(store.audit, p, AUDIT.alertGraded, `alert:${id}`, ip, { grade });
  return next;
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
  const at = Date.now();
  const next = await store.alerts.update(id, (a) => {
    if (a.status === 'escalated')
      throw new HttpError(409, ErrorCode.CONFLICT, 'alert is escalated to an incident');
    a.history.push({ at, actor: actor(p), action: 'status', from: a.status, to: 'false-positive' });
    a.status = 'false-positive';
    if (reason) a.notes.push({ at, author: actor(p), text: `False positive: ${reason}` });
    return a;
  });
  await audit(store.audit, p, AUDIT.alertFalsePositive, `alert:${id}`, ip);
  return next;
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
  const at = Date.now();
  const next = await store.alerts.update(id, (a) => {
    a.notes.push({ at, author: actor(p), text });
    a.history.push({ at, actor: actor(p), action: 'noted' });
    return a;
  });
  await audit(store.audit, p, AUDIT.alertNoted, `alert:${id}`, ip);
  return next;
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
  const at = Date.now();
  const alert = await store.alerts.update(id, (a) => {
    a.history.push({ at, actor: actor(p), action: 'escalated', from: a.status, to: incident.id });
    a.status = 'escalated';
    a.incidentId = incident.id;
    return a;
  });
  await audit(store.audit, p, AUDIT.alertEscalated, `alert:${id}`, ip, { incidentId: incident.id });
  return { alert, incident };
}
