// Serves the web console: a handful of static files (plain browser ES modules and one CSS file,
// no build step) read once at start. Every path is listed explicitly — there is no file-system
// lookup driven by the URL, so no path traversal. The HTML shell is the same for every page;
// the client routes by location hash, and `/enrol` is the public BYOD enrolment page.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import type { Route, Router } from '../http/router.ts';
import { optionsModule } from './options.ts';

const STATIC_DIR = join(import.meta.dirname, 'static');

/** Served on every console response. Nothing inline, nothing from elsewhere, no framing. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; " +
  "form-action 'self'; frame-ancestors 'none'; img-src 'self' blob: data:; connect-src 'self'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(full));
    else out.push(full);
  }
  return out;
}

function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const file of listFiles(STATIC_DIR)) {
    const type = TYPES[extname(file)];
    if (!type) continue;
    const body = readFileSync(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(`/${relative(STATIC_DIR, file).split(sep).join('/')}`, { body, type, etag });
  }
  return assets;
}

function securityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
}

function send(res: ServerResponse, asset: Asset, ifNoneMatch: string | undefined): void {
  securityHeaders(res);
  res.setHeader('Content-Type', asset.type);
  res.setHeader('ETag', asset.etag);
  // Revalidate every time: a console upgrade must never run stale modules against a new API.
  res.setHeader('Cache-Control', 'no-cache');
  if (ifNoneMatch === asset.etag) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Length', asset.body.byteLength);
  res.end(asset.body);
}

/** The console's routes: the HTML shell at `/`, `/console` and `/enrol`, and each asset under `/console/`. */
export function consoleRoutes(): Route[] {
  const assets = loadAssets();
  // Generated from the server's constants, not read from disk (options.ts).
  const options = Buffer.from(optionsModule());
  assets.set('/js/options.js', {
    body: options,
    type: TYPES['.js'] as string,
    etag: `"${createHash('sha256').update(options).digest('base64url').slice(0, 22)}"`,
  });
  const shell = assets.get('/index.html');
  if (!shell) throw new Error(`console: ${STATIC_DIR}/index.html is missing`);
  const routes: Route[] = [];
  for (const path of ['/', '/console', '/enrol']) {
    routes.push({
      method: 'GET',
      path,
      access: 'public',
      raw: true,
      handler: ({ req, res }) => send(res, shell, req.headers['if-none-match']),
    });
  }
  for (const [path, asset] of assets) {
    if (path === '/index.html') continue;
    routes.push({
      method: 'GET',
      path: `/console${path}`,
      access: 'public',
      raw: true,
      handler: ({ req, res }) => send(res, asset, req.headers['if-none-match']),
    });
  }
  return routes;
}

/** Adds the console's routes to the collector's router. */
export function registerConsole(router: Router): void {
  for (const route of consoleRoutes()) router.add(route);
}
