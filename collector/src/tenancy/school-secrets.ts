// Enrol secrets per school (tenancy). The organisation secret (EnrolStore.getSecretHash, the one
// printed at first start) enrols into DEFAULT_SCHOOL_ID, exactly as before tenancy; each other
// school may have its own secret, stored here as its SHA-256 only. A device enrolled with a
// school's secret belongs to that school.
import { hashMatches } from '../enrol/secrets.ts';
import type { KvNamespace, Store } from '../store/types.ts';
import { DEFAULT_SCHOOL_ID } from './model.ts';

interface SchoolSecret {
  hash: string;
  rotatedAt: number;
  rotatedBy: string;
}

export class SchoolSecrets {
  private readonly kv: KvNamespace<SchoolSecret>;
  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
    this.kv = store.kv<SchoolSecret>('school-enrol-secrets');
  }

  /** The school whose secret this is, or undefined. Every stored hash is compared (constant time each). */
  async schoolOf(secret: string): Promise<string | undefined> {
    let found: string | undefined;
    if (hashMatches(secret, await this.store.enrol.getSecretHash())) found = DEFAULT_SCHOOL_ID;
    for (const { key, value } of await this.kv.list())
      if (hashMatches(secret, value.hash) && found === undefined) found = key;
    return found;
  }

  async set(schoolId: string, hash: string, rotatedAt: number, rotatedBy: string): Promise<void> {
    if (schoolId === DEFAULT_SCHOOL_ID) await this.store.enrol.setSecretHash(hash);
    else await this.kv.put(schoolId, { hash, rotatedAt, rotatedBy });
  }
}
