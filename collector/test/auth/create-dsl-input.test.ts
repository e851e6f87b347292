// `create-dsl` checks its command line with the same declaration as POST /users (users.ts
// AccountName): the user service no longer parses, so the CLI is an input boundary like a route.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore } from '../../../test/support/test-store.ts';
import { createDslOnServer } from '../../src/auth/create-dsl.ts';
import type { UserRecord } from '../../src/auth/users.ts';
import type { Store } from '../../src/store/types.ts';

let dir: string;
let store: Store;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'custodian-create-dsl-input-'));
  store = await openTestStore(join(dir, 'data'), randomBytes(32));
});
afterAll(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('create-dsl input', () => {
  it('refuses a username or display name POST /users would refuse, naming it, and creates nothing', async () => {
    for (const [input, field] of [
      [{ username: '../root' }, 'body.username'],
      [{ username: 'A' }, 'body.username'],
      [{ username: 'night-dsl', displayName: 'x\u0000y' }, 'body.displayName'],
    ] as const) {
      await expect(createDslOnServer({ store }, input), field).rejects.toMatchObject({
        code: 'CUST_ERR_INVALID_INPUT',
        details: { field },
      });
    }
    expect(await store.kv<UserRecord>('users').list()).toEqual([]);
    const made = await createDslOnServer({ store }, { username: 'night-dsl', displayName: 'Deputy DSL' });
    expect(made.username).toBe('night-dsl');
  });
});
