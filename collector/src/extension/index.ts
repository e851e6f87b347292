// Serves this deployment's browser extension for force-install by policy
// (ExtensionInstallForcelist = "<id>;<collector>/ext/updates.xml"): the update manifest, the
// packed .crx, and the id for the agents' host manifests. Public: browsers fetch them without
// credentials, and nothing here is secret (the key stays in packer.ts's dir).
import { updateManifest } from '@custodian/browser-extension';
import { ErrorCode } from '@custodian/protocol';
import type { App, AppModule } from '../app.ts';
import { HttpError, type RequestContext, type Route } from '../http/router.ts';
import { defaultExtensionDir, ExtensionPacker } from './packer.ts';

export const CRX_PATH = '/ext/custodian.crx';

export const extensionModule: AppModule = {
  name: 'extension',
  install(app: App) {
    const env = process.env;
    const packer = new ExtensionPacker({
      dir: env['CUSTODIAN_EXTENSION_DIR'] ?? defaultExtensionDir(app.config.dataDir),
      chromium: env['CUSTODIAN_CHROMIUM'] ?? '/usr/bin/chromium',
      log: app.log,
    });
    const packed = async () => {
      try {
        return await packer.get();
      } catch (err) {
        app.log.warn({ err }, 'browser extension not available');
        throw new HttpError(
          503,
          ErrorCode.UNAVAILABLE,
          'the browser extension could not be packed on this collector',
        );
      }
    };
    const base = (ctx: RequestContext) =>
      app.config.publicUrl !== ''
        ? app.config.publicUrl.replace(/\/+$/, '')
        : `http://${ctx.req.headers.host}`;
    const routes: Route[] = [
      {
        method: 'GET',
        path: '/ext/updates.xml',
        access: 'public',
        raw: true,
        handler: async (ctx) => {
          const p = await packed();
          ctx.res.writeHead(200, {
            'content-type': 'application/xml; charset=utf-8',
            'cache-control': 'no-cache',
          });
          ctx.res.end(updateManifest(p.id, `${base(ctx)}${CRX_PATH}`, p.version));
        },
      },
      {
        method: 'GET',
        path: CRX_PATH,
        access: 'public',
        raw: true,
        handler: async (ctx) => {
          const p = await packed();
          ctx.res.writeHead(200, {
            'content-type': 'application/x-chrome-extension',
            'content-length': p.crx.length,
          });
          ctx.res.end(p.crx);
        },
      },
      {
        method: 'GET',
        path: '/ext/extension-id',
        access: 'public',
        handler: async () => {
          const p = await packed();
          return { extensionId: p.id, version: p.version, updateUrl: '/ext/updates.xml' };
        },
      },
    ];
    for (const r of routes) app.router.add(r);
  },
};
