// A real OpenID Connect provider (`oidc-provider`, panva) on 127.0.0.1 for the SSO tests: one
// confidential client, its development login and consent pages (any password; the login name is
// the account id), and accounts the test changes while it runs (groups, removed).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface TestAccount {
  email: string;
  name: string;
  groups: string[];
}

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Account id (= login name on the provider's login page) → claims. Delete one to remove the user. */
  accounts: Map<string, TestAccount>;
  close(): Promise<void>;
}

export async function startTestIdp(redirectUris: string[]): Promise<TestIdp> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts = new Map<string, TestAccount>();
  const clientId = 'custodian-test';
  const clientSecret = 'custodian-test-secret-0123456789abcdef0123456789';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    claims: { openid: ['sub'], email: ['email'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    pkce: { required: () => true },
    cookies: { keys: ['custodian-test-idp-cookie-key-0123456789'] },
    async findAccount(_ctx, id) {
      const a = accounts.get(id);
      if (!a) return undefined;
      return {
        accountId: id,
        async claims() {
          // Read at token time: a change made by the test shows at the next sign-in.
          const now = accounts.get(id) ?? a;
          return { sub: id, email: now.email, name: now.name, groups: now.groups };
        },
      };
    },
  });
  // The test provider speaks plain http on loopback.
  provider.proxy = false;
  server.on('request', provider.callback());
  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
