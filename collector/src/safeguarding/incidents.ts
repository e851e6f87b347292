// The e-safety incident log the school's policies require: what happened, who was involved,
// what was done, any referral (police, LADO, CEOP, children's social care), the outcome, the
// linked alerts, and a history of every change (who, when, old -> new).

import { randomBytes } from 'node:crypto';
import { type StaticDecode, Type } from '@sinclair/typebox';
import { notFound } from '../http/router.ts';
import { Literals } from '../http/schema.ts';
import type { KvNamespace } from '../store/types.ts';
import { DEFAULT_SCHOOL_ID } from '../tenancy/model.ts';

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
  /** The school it belongs to (tenancy; its alerts' school); absent: made before tenancy, the default school. */
  schoolId?: string;
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

/** A time in a body: epoch milliseconds or an ISO date; stored as ms. */
const Time = (description: string) =>
  Type.Transform(
    Type.Union(
      [
        Type.Integer({ minimum: 0, maximum: 1e15 }),
        Type.String({
          maxLength: 40,
          pattern: '^\\d{4}-\\d{2}-\\d{2}([T ][0-9:.]+(Z|[+-]\\d{2}:?\\d{2})?)?$',
        }),
      ],
      { description: `${description}: epoch milliseconds or an ISO date such as 2026-11-28T09:00:00Z` },
    ),
  )
    .Decode((v) => {
      const t = typeof v === 'number' ? v : Date.parse(v);
      if (Number.isNaN(t)) throw new Error('is not a real date');
      return t;
    })
    .Encode((t) => t);

const Str = (max: number, description: string, required = false) =>
  Type.String({
    maxLength: max,
    ...(required ? { pattern: '\\S' } : {}),
    description: `${description}, ${required ? '1' : 'up to'}${required ? ` to ${max}` : ` ${max}`} characters`,
  });

/** Each editable field's rule, in one place: the bodies of POST/PATCH /incidents and escalate use it. */
export const IncidentFields = {
  title: Str(300, 'a short title', true),
  description: Str(20_000, 'what happened'),
  occurredAt: Time('when it happened'),
  peopleInvolved: Type.Array(
    Type.Object({
      name: Str(200, 'their name', true),
      role: Type.Optional(Literals(PERSON_ROLES, 'their role (default pupil)')),
      note: Type.Optional(Str(2000, 'a note')),
    }),
    { maxItems: 50, description: 'who was involved, at most 50' },
  ),
  actionsTaken: Str(20_000, 'what was done'),
  referral: Type.Object(
    {
      agency: Type.Optional(Literals(REFERRAL_AGENCIES, 'who it was referred to (default none)')),
      reference: Type.Optional(Str(200, "the agency's reference")),
      at: Type.Optional(Type.Union([Time('when it was referred'), Type.Null()])),
      note: Type.Optional(Str(4000, 'a note')),
    },
    { description: 'a referral, if any' },
  ),
  outcome: Literals(OUTCOMES, 'the outcome'),
  outcomeNotes: Str(20_000, 'notes on the outcome'),
  status: Literals(INCIDENT_STATUSES, 'the state of the record'),
};
const Fields = Type.Object(IncidentFields);
export type IncidentInput = Partial<StaticDecode<typeof Fields>>;

/** POST /incidents: a title, any other field. PATCH /incidents/:id: any fields. Unknown fields are refused. */
export const IncidentCreateBody = Type.Composite(
  [Type.Partial(Type.Omit(Fields, ['title'])), Type.Object({ title: IncidentFields.title })],
  { additionalProperties: false },
);
export const IncidentPatchBody = Type.Partial(Fields, { additionalProperties: false });

type Checked = Required<IncidentInput>;
const people = (v: Checked['peopleInvolved']): PersonInvolved[] =>
  v.map((p) => ({ name: p.name, role: p.role ?? 'pupil', note: p.note ?? '' }));
const referral = (v: Checked['referral']): Referral => ({
  agency: v.agency ?? 'none',
  reference: v.reference ?? '',
  at: v.at ?? null,
  note: v.note ?? '',
});

/** A checked field as stored (defaults filled in). */
function stored(field: Editable, v: unknown): unknown {
  if (field === 'peopleInvolved') return people(v as Checked['peopleInvolved']);
  if (field === 'referral') return referral(v as Checked['referral']);
  return v;
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

  /** `input` is checked already (IncidentCreateBody / EscalateBody): defaults are filled in here. */
  async create(
    input: IncidentInput & { title: string },
    actor: string,
    linkedAlertIds: string[] = [],
    schoolId?: string,
  ): Promise<Incident> {
    const now = this.now();
    const incident: Incident = {
      // Time-prefixed so the namespace lists in creation order.
      id: `in_${now.toString(36)}${randomBytes(6).toString('hex')}`,
      title: input.title,
      description: input.description ?? '',
      occurredAt: input.occurredAt ?? now,
      peopleInvolved: input.peopleInvolved ? people(input.peopleInvolved) : [],
      actionsTaken: input.actionsTaken ?? '',
      referral: referral(input.referral ?? {}),
      outcome: input.outcome ?? 'pending',
      outcomeNotes: input.outcomeNotes ?? '',
      status: input.status ?? 'open',
      linkedAlertIds: [...new Set(linkedAlertIds)],
      createdAt: now,
      createdBy: actor,
      updatedAt: now,
      history: [],
      ...(schoolId !== undefined && schoolId !== DEFAULT_SCHOOL_ID ? { schoolId } : {}),
    };
    incident.history.push({ at: now, actor, action: 'created', changes: {} });
    await this.kv.put(incident.id, incident);
    return incident;
  }

  /** Applies a partial update; records every changed field's old and new value. */
  async update(id: string, patch: IncidentInput, actor: string): Promise<Incident> {
    const validated: Partial<Record<Editable, unknown>> = {};
    for (const f of EDITABLE) {
      const v = patch[f];
      if (v !== undefined) validated[f] = stored(f, v);
    }
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
