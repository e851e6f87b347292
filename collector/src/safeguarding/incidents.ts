// The e-safety incident log the school's policies require: what happened, who was involved,
// what was done, any referral (police, LADO, CEOP, children's social care), the outcome, the
// linked alerts, and a history of every change (who, when, old -> new).
import { randomBytes } from 'node:crypto';
import { badInput, notFound } from '../http/router.ts';
import type { KvNamespace } from '../store/types.ts';

export const INCIDENT_STATUSES = ['open', 'monitoring', 'closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export const REFERRAL_AGENCIES = [
  'none',
  'police',
  'lado',
  'ceop',
  'childrens-social-care',
  'other',
] as const;
export type ReferralAgency = (typeof REFERRAL_AGENCIES)[number];

export const OUTCOMES = [
  'pending',
  'no-further-action',
  'advice-and-support',
  'parents-informed',
  'school-sanction',
  'referred-externally',
  'other',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const PERSON_ROLES = ['pupil', 'staff', 'parent', 'other'] as const;

export interface PersonInvolved {
  name: string;
  role: (typeof PERSON_ROLES)[number];
  note: string;
}

export interface Referral {
  agency: ReferralAgency;
  /** The agency's reference number, if any. */
  reference: string;
  /** When the referral was made (ms). */
  at: number | null;
  note: string;
}

export interface IncidentHistoryEntry {
  at: number;
  actor: string;
  action: 'created' | 'updated' | 'alert-linked';
  changes: Record<string, { from: unknown; to: unknown }>;
}

export interface Incident {
  id: string;
  title: string;
  /** What happened. */
  description: string;
  occurredAt: number;
  peopleInvolved: PersonInvolved[];
  actionsTaken: string;
  referral: Referral;
  outcome: Outcome;
  outcomeNotes: string;
  status: IncidentStatus;
  linkedAlertIds: string[];
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  history: IncidentHistoryEntry[];
}

const EDITABLE = [
  'title',
  'description',
  'occurredAt',
  'peopleInvolved',
  'actionsTaken',
  'referral',
  'outcome',
  'outcomeNotes',
  'status',
] as const;
type Editable = (typeof EDITABLE)[number];

function str(v: unknown, field: string, max: number, required = false): string {
  if (v === undefined && !required) return '';
  if (typeof v !== 'string') throw badInput(`${field} must be a string`, { field });
  if (required && v.trim() === '') throw badInput(`${field} is required`, { field });
  if (v.length > max) throw badInput(`${field} must be at most ${max} characters`, { field });
  return v;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], field: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw badInput(`${field} must be one of ${allowed.join(', ')}`, { field });
  return v as T;
}

function time(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 1e15) return v;
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return Date.parse(v);
  throw badInput(`${field} must be epoch ms or an ISO date`, { field });
}

function people(v: unknown): PersonInvolved[] {
  if (!Array.isArray(v) || v.length > 50)
    throw badInput('peopleInvolved must be a list of at most 50', { field: 'peopleInvolved' });
  return v.map((p, i) => {
    if (typeof p !== 'object' || p === null)
      throw badInput('peopleInvolved entries must be objects', { field: 'peopleInvolved' });
    const o = p as Record<string, unknown>;
    return {
      name: str(o.name, `peopleInvolved[${i}].name`, 200, true),
      role: oneOf(o.role ?? 'pupil', PERSON_ROLES, `peopleInvolved[${i}].role`),
      note: str(o.note, `peopleInvolved[${i}].note`, 2000),
    };
  });
}

function referral(v: unknown): Referral {
  if (typeof v !== 'object' || v === null)
    throw badInput('referral must be an object', { field: 'referral' });
  const o = v as Record<string, unknown>;
  return {
    agency: oneOf(o.agency ?? 'none', REFERRAL_AGENCIES, 'referral.agency'),
    reference: str(o.reference, 'referral.reference', 200),
    at: o.at === undefined || o.at === null ? null : time(o.at, 'referral.at'),
    note: str(o.note, 'referral.note', 4000),
  };
}

/** Validates one editable field; the single place that knows each field's rule. */
export function validateField(field: Editable, v: unknown): Incident[Editable] {
  switch (field) {
    case 'title':
      return str(v, field, 300, true);
    case 'description':
      return str(v, field, 20_000);
    case 'actionsTaken':
      return str(v, field, 20_000);
    case 'outcomeNotes':
      return str(v, field, 20_000);
    case 'occurredAt':
      return time(v, field);
    case 'peopleInvolved':
      return people(v);
    case 'referral':
      return referral(v);
    case 'outcome':
      return oneOf(v, OUTCOMES, field);
    case 'status':
      return oneOf(v, INCIDENT_STATUSES, field);
  }
}

export class IncidentService {
  private readonly kv: KvNamespace<Incident>;
  private readonly now: () => number;

  constructor(kv: KvNamespace<Incident>, now: () => number = Date.now) {
    this.kv = kv;
    this.now = now;
  }

  get(id: string): Promise<Incident | undefined> {
    return this.kv.get(id);
  }

  async list(): Promise<Incident[]> {
    return (await this.kv.list()).map((e) => e.value).sort((a, b) => b.createdAt - a.createdAt);
  }

  async require(id: string): Promise<Incident> {
    const i = await this.get(id);
    if (!i) throw notFound('incident');
    return i;
  }

  async create(
    input: Record<string, unknown>,
    actor: string,
    linkedAlertIds: string[] = [],
  ): Promise<Incident> {
    const unknown = Object.keys(input).filter((k) => !(EDITABLE as readonly string[]).includes(k));
    if (unknown.length) throw badInput(`unknown fields: ${unknown.join(', ')}`);
    const now = this.now();
    const incident: Incident = {
      // Time-prefixed so the namespace lists in creation order.
      id: `in_${now.toString(36)}${randomBytes(6).toString('hex')}`,
      title: validateField('title', input.title) as string,
      description:
        input.description === undefined ? '' : (validateField('description', input.description) as string),
      occurredAt:
        input.occurredAt === undefined ? now : (validateField('occurredAt', input.occurredAt) as number),
      peopleInvolved:
        input.peopleInvolved === undefined
          ? []
          : (validateField('peopleInvolved', input.peopleInvolved) as PersonInvolved[]),
      actionsTaken:
        input.actionsTaken === undefined ? '' : (validateField('actionsTaken', input.actionsTaken) as string),
      referral:
        input.referral === undefined
          ? { agency: 'none', reference: '', at: null, note: '' }
          : (validateField('referral', input.referral) as Referral),
      outcome: input.outcome === undefined ? 'pending' : (validateField('outcome', input.outcome) as Outcome),
      outcomeNotes:
        input.outcomeNotes === undefined ? '' : (validateField('outcomeNotes', input.outcomeNotes) as string),
      status: input.status === undefined ? 'open' : (validateField('status', input.status) as IncidentStatus),
      linkedAlertIds: [...new Set(linkedAlertIds)],
      createdAt: now,
      createdBy: actor,
      updatedAt: now,
      history: [],
    };
    incident.history.push({ at: now, actor, action: 'created', changes: {} });
    await this.kv.put(incident.id, incident);
    return incident;
  }

  /** Applies a partial update; records every changed field's old and new value. */
  async update(id: string, patch: Record<string, unknown>, actor: string): Promise<Incident> {
    const unknown = Object.keys(patch).filter((k) => !(EDITABLE as readonly string[]).includes(k));
    if (unknown.length) throw badInput(`unknown fields: ${unknown.join(', ')}`);
    const validated: Partial<Record<Editable, unknown>> = {};
    for (const f of EDITABLE) if (patch[f] !== undefined) validated[f] = validateField(f, patch[f]);
    const next = await this.kv.update(id, (cur) => {
      if (!cur) return undefined;
      const changes: IncidentHistoryEntry['changes'] = {};
      for (const [f, v] of Object.entries(validated)) {
        const before = cur[f as Editable];
        if (JSON.stringify(before) === JSON.stringify(v)) continue;
        changes[f] = { from: before, to: v };
        (cur as unknown as Record<string, unknown>)[f] = v;
      }
      if (Object.keys(changes).length === 0) return cur;
      cur.updatedAt = this.now();
      cur.history.push({ at: cur.updatedAt, actor, action: 'updated', changes });
      return cur;
    });
    if (!next) throw notFound('incident');
    return next;
  }

  async linkAlert(id: string, alertId: string, actor: string): Promise<Incident> {
    const next = await this.kv.update(id, (cur) => {
      if (!cur || cur.linkedAlertIds.includes(alertId)) return cur;
      cur.linkedAlertIds.push(alertId);
      cur.updatedAt = this.now();
      cur.history.push({
        at: cur.updatedAt,
        actor,
        action: 'alert-linked',
        changes: { linkedAlertIds: { from: null, to: alertId } },
      });
      return cur;
    });
    if (!next) throw notFound('incident');
    return next;
  }
}
