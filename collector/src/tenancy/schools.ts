// The trust's schools (issue 20): a small registry in the `schools` kv namespace. With none
// configured there is exactly the implicit DEFAULT_SCHOOL_ID school, so a one-school deployment
// sees no difference. Created and renamed by trust-wide admins only (schools-routes.ts); every
// change is written with its audit record in one batch.
import { ErrorCode } from '@custodian/protocol';
import { HttpError, notFound } from '../http/router.ts';
import type { AuditInput, KvNamespace, Store } from '../store/types.ts';
import { DEFAULT_SCHOOL_ID, type School, TENANT_ID_PATTERN } from './model.ts';

export const DEFAULT_SCHOOL_NAME = 'Default school';
const ID = new RegExp(TENANT_ID_PATTERN);

export const AUDIT_SCHOOLS = {
  created: 'school.created',
  renamed: 'school.renamed',
  deviceMoved: 'device.school-changed',
  userSchoolsChanged: 'user.schools-changed',
} as const;

export class Schools {
  private readonly kv: KvNamespace<School>;
  private readonly now: () => number;

  constructor(store: Store, now: () => number = Date.now) {
    this.kv = store.kv<School>('schools');
    this.now = now;
  }

  /** Every school: the default one first (stored if renamed, else implicit), then the others by name. */
  async list(): Promise<School[]> {
    const stored = (await this.kv.list()).map((e) => e.value);
    const def = stored.find((s) => s.id === DEFAULT_SCHOOL_ID) ?? implicitDefault();
    const others = stored
      .filter((s) => s.id !== DEFAULT_SCHOOL_ID)
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    return [def, ...others];
  }

  async get(id: string): Promise<School | undefined> {
    if (!ID.test(id)) return undefined;
    const s = await this.kv.get(id);
    if (s) return s;
    return id === DEFAULT_SCHOOL_ID ? implicitDefault() : undefined;
  }

  /** Whether a school of this id exists (the default school always does). For other modules (groups). */
  async exists(id: string): Promise<boolean> {
    return (await this.get(id)) !== undefined;
  }

  /** Throws 400 naming `field` when a school id does not exist. */
  async requireAll(ids: readonly string[], field: string): Promise<void> {
    for (const id of ids)
      if (!(await this.exists(id)))
        throw new HttpError(400, ErrorCode.INVALID_INPUT, `school ${id} does not exist`, { field });
  }

  async create(
    input: { id: string; name: string },
    audit: Omit<AuditInput, 'action' | 'target'>,
  ): Promise<School> {
    const school: School = { id: input.id, name: input.name.trim(), createdAt: this.now() };
    if (input.id === DEFAULT_SCHOOL_ID)
      throw new HttpError(409, ErrorCode.CONFLICT, `school ${input.id} already exists (rename it instead)`);
    await this.kv.update(
      school.id,
      (current) => {
        if (current) throw new HttpError(409, ErrorCode.CONFLICT, `school ${input.id} already exists`);
        return school;
      },
      {
        ...audit,
        action: AUDIT_SCHOOLS.created,
        target: `school:${school.id}`,
        details: { ...audit.details, name: school.name },
      },
    );
    return school;
  }

  async rename(id: string, name: string, audit: Omit<AuditInput, 'action' | 'target'>): Promise<School> {
    const existing = await this.get(id);
    if (!existing) throw notFound(`school ${id}`);
    const next = await this.kv.update(id, (current) => ({ ...(current ?? existing), name: name.trim() }), {
      ...audit,
      action: AUDIT_SCHOOLS.renamed,
      target: `school:${id}`,
      details: { ...audit.details, from: existing.name, to: name.trim() },
    });
    return next as School;
  }
}

function implicitDefault(): School {
  return { id: DEFAULT_SCHOOL_ID, name: DEFAULT_SCHOOL_NAME, createdAt: 0 };
}
