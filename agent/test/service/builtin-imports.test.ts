import { describe, expect, it } from 'vitest';
import { rewriteBuiltinImports } from '../../bin/builtin-imports.ts';

describe('rewriteBuiltinImports (bundle: builtins without ESM namespaces)', () => {
  it('turns every form of node: import into getBuiltinModule constants and leaves other imports', () => {
    const code = [
      'import { request as httpRequest } from "node:http";',
      'import { existsSync, readFileSync } from "node:fs";',
      'import * as sp from "node:path";',
      'import os from "node:os";',
      'import events, { once } from "node:events";',
      'import { r as __toESM } from "./rolldown-runtime.js";',
      'import { ClassicLevel } from "level";',
      'const s = "import { x } from \\"node:fs\\" in a string";',
    ].join('\n');
    expect(rewriteBuiltinImports(code).split('\n')).toEqual([
      'const { request: httpRequest } = process.getBuiltinModule("node:http");',
      'const { existsSync, readFileSync } = process.getBuiltinModule("node:fs");',
      'const sp = process.getBuiltinModule("node:path");',
      'const os = process.getBuiltinModule("node:os");',
      'const events = process.getBuiltinModule("node:events");',
      'const { once } = events;',
      'import { r as __toESM } from "./rolldown-runtime.js";',
      'import { ClassicLevel } from "level";',
      'const s = "import { x } from \\"node:fs\\" in a string";',
    ]);
  });

  it('the rewritten constants are the modules require gives', async () => {
    const code = rewriteBuiltinImports(
      'import { request as r } from "node:http";\nimport * as p from "node:path";',
    );
    const fn = new Function(`${code}\nreturn [r, p];`) as () => [unknown, unknown];
    const [r, p] = fn();
    expect(r).toBe((await import('node:http')).request);
    expect(p).toBe(process.getBuiltinModule('node:path'));
  });

  it('fails the build on a node: import it cannot rewrite exactly', () => {
    expect(() => rewriteBuiltinImports('import "node:fs";')).toThrow(/left as it was/);
    expect(() => rewriteBuiltinImports('const m = await import("node:http");')).toThrow(/left as it was/);
    expect(() => rewriteBuiltinImports('export { readFileSync } from "node:fs";')).toThrow(/left as it was/);
    expect(() => rewriteBuiltinImports('import { default as x, y } from "node:fs";')).toThrow(
      /cannot rewrite/,
    );
  });
});
