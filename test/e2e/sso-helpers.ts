// Signing in through "Sign in with <provider>" in the browser: the console's login page, then the
// test provider's own login and consent pages (whichever it shows), until the browser is back on
// the collector. Shared by the SSO browser tests.
import type { Page } from 'playwright-core';

export async function ssoSignIn(
  page: Page,
  o: { collectorUrl: string; issuer: string; label: string; accountId: string },
): Promise<void> {
  const onIdp = (u: URL | string) => String(u).startsWith(o.issuer);
  await page.context().clearCookies();
  await page.goto(`${o.collectorUrl}/#/login`);
  await page.getByRole('link', { name: o.label }).click();
  for (let i = 0; i < 4; i++) {
    await page.waitForURL((u) => onIdp(u) || u.href.startsWith(`${o.collectorUrl}/#/`));
    if (!onIdp(page.url())) return;
    const login = page.locator('input[name="login"]');
    if (await login.count()) {
      await login.fill(o.accountId);
      await page.locator('input[name="password"]').fill('anything');
    }
    const here = page.url();
    await page.locator('button[type="submit"]').first().click();
    await page.waitForURL((u) => u.href !== here);
  }
  throw new Error('still at the provider after four pages');
}
