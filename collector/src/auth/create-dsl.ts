// `custodian-collector create-dsl`: makes a DSL account on the server itself, for when no DSL is
// left to approve one over the network (dsl-approval.ts). Whoever runs it has the server's shell
// (and so the data dir and the screenshot key already); the account still gets a one-time
// password that must be changed at first sign-in, the act is audited and the DSLs are told.
// The collector must be stopped: the store is opened by one process at a time.
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { App } from '../app.ts';
import { validate } from '../http/schema.ts';
import { DslApproval, type DslRequest } from './dsl-approval.ts';
import { NOTIFICATIONS_NS, Notifications, type StaffNotification } from './notifications.ts';
import { type SessionRecord, SessionService } from './sessions.ts';
import { AccountName, type UserRecord, UserService } from './users.ts';

const ACCOUNT_NAME = TypeCompiler.Compile(AccountName);

export async function createDslOnServer(
  app: Pick<App, 'store'>,
  input: { username: string; displayName?: string },
): Promise<{ username: string; oneTimePassword: string }> {
  // The command line is an input like a request body: checked by the same declaration.
  validate(ACCOUNT_NAME, input, 'body');
  const store = app.store;
  const users = new UserService({ kv: store.kv<UserRecord>('users'), withLock: (fn) => store.withLock(fn) });
  const notifications = new Notifications({
    kv: store.kv<StaffNotification>(NOTIFICATIONS_NS),
    audit: store.audit,
  });
  const dsl = new DslApproval({
    users,
    sessions: new SessionService({ kv: store.kv<SessionRecord>('sessions') }),
    requests: store.kv<DslRequest>('dsl-requests'),
    state: store.kv<{ at: number; by: string }>('auth-state'),
    notifications,
    audit: store.audit,
  });
  const { user, oneTimePassword } = await users.create(
    { username: input.username, displayName: input.displayName, role: 'dsl' },
    'server-cli',
  );
  await dsl.closeBootstrap('server-cli');
  await store.audit.append({
    actor: 'server-cli',
    action: 'user.dsl-created-on-server',
    target: `user:${user.id}`,
    details: { username: user.username },
  });
  await dsl.tell(
    'dsl-account.created-on-server',
    `DSL account ${user.username} was created on the server (custodian-collector create-dsl)`,
    { username: user.username },
  );
  return { username: user.username, oneTimePassword: oneTimePassword as string };
}
