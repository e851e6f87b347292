// Bundle-time rewrite of `import … from "node:…"` into `process.getBuiltinModule("node:…")` (used by
// bundle.ts on every output chunk). An ESM import of a builtin builds its module namespace, which
// reads EVERY export, getters included: `node:http` then loads undici (its WebSocket, fetch…),
// `node:process` the report and cluster modules, `node:fs`/`node:util` their lazy parts. Measured on
// Node 24 with --lite-mode: +8.4 MiB RSS for node:http, +4 MiB node:process, +3 MiB each node:fs and
// node:util, over the same module taken with require. getBuiltinModule returns the module object
// itself, as require does, and reads only what the code uses.
// The one difference: a named import becomes a constant read once at start, not a live binding;
// the agent imports only functions, classes and fixed values (arch, constants) from builtins.
// Pure; any `node:` import of another form fails the build instead of being left as it was.

const IMPORT = /^import\s+([^;'"]*?)\s+from\s+"(node:[a-z_/]+)";[ \t]*$/gm;
const IDENT = /^[A-Za-z_$][\w$]*$/;

function namedBindings(list: string, spec: string): string {
  const parts = list
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const m = /^([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$/.exec(p);
      // `default` is the module object in ESM but no property of it: not rewritten.
      if (!m || m[1] === 'default')
        throw new Error(`builtin-imports: cannot rewrite "${p}" imported from ${spec}`);
      return m[2] && m[2] !== m[1] ? `${m[1]}: ${m[2]}` : (m[1] as string);
    });
  return `{ ${parts.join(', ')} }`;
}

/** One import clause (`{ a, b as c }`, `* as ns`, `def`, `def, { a }`) → const declarations. */
function declarations(clause: string, spec: string): string {
  const mod = `process.getBuiltinModule(${JSON.stringify(spec)})`;
  const ns = /^\*\s+as\s+([A-Za-z_$][\w$]*)$/.exec(clause);
  if (ns) return `const ${ns[1]} = ${mod};`;
  const named = /^(?:([A-Za-z_$][\w$]*)\s*,\s*)?\{([^}]*)\}$/.exec(clause);
  if (named) {
    const bindings = namedBindings(named[2] as string, spec);
    if (!named[1]) return `const ${bindings} = ${mod};`;
    return `const ${named[1]} = ${mod};\nconst ${bindings} = ${named[1]};`;
  }
  // Default import of a builtin: its module object, as with require.
  if (IDENT.test(clause)) return `const ${clause} = ${mod};`;
  throw new Error(`builtin-imports: cannot rewrite "import ${clause} from ${spec}"`);
}

/** Rewrites a chunk's `node:` imports; throws on any it cannot rewrite exactly. */
export function rewriteBuiltinImports(code: string): string {
  const out = code.replace(IMPORT, (_, clause: string, spec: string) => declarations(clause.trim(), spec));
  const left = /^(?:import|export)\b[^\n]*["']node:/m.exec(out) ?? /\bimport\s*\(\s*["']node:/.exec(out);
  if (left) throw new Error(`builtin-imports: a node: import was left as it was: ${left[0].slice(0, 120)}`);
  return out;
}
