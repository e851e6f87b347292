// One CommonJS file per program for the single executable: Node 24's SEA runs a CommonJS main
// script whose `require` knows only built-in modules, so everything is bundled except the native
// addon, which loads from beside the executable. Built from the programs' own entry points (the
// agent's cli(), the collector's cli.ts), never from a copy of them.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type Program = 'agent' | 'collector';

/** File name of the classic-level addon beside every executable. */
export const ADDON_FILE = 'classic-level.node';

const ENTRIES: Record<Program, string> = {
  agent: join(root, 'packaging', 'src', 'entry', 'agent.ts'),
  collector: join(root, 'collector', 'bin', 'custodian-collector.js'),
};

// Modules read data files relative to their own file (the keyword library's ../data, the
// console's ./static): in the executable import.meta.url names <install dir>/lib/<program>.cjs, so
// those folders are shipped as <install dir>/data and <install dir>/lib/static.
const BANNER = `var __seaImportMetaUrl = require("node:url").pathToFileURL(require("node:path").join(require("node:path").dirname(process.execPath), "lib", "program.cjs")).href;
var __seaImportMetaDirname = require("node:path").join(require("node:path").dirname(process.execPath), "lib");
var __seaImportMetaFilename = require("node:path").join(__seaImportMetaDirname, "program.cjs");`;

/** classic-level finds its addon with node-gyp-build relative to its own file; here: beside the executable. */
const addonBesideExecutable: Plugin = {
  name: 'custodian-addon-beside-executable',
  load(id) {
    if (!/classic-level[\\/]binding\.js$/.test(id)) return null;
    return `const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
module.exports = createRequire(process.execPath)(join(dirname(process.execPath), ${JSON.stringify(ADDON_FILE)}));`;
  },
};

/**
 * get-windows (Windows/macOS active window) ships helper binaries next to its own files, which an
 * executable cannot carry: the executable reports that capability unavailable with this reason
 * instead (the Linux agent reads windows with xprop). screenshot-desktop is bundled: on Linux
 * (xrandr + ImageMagick's import) and macOS (screencapture) it only runs system commands; its
 * Windows helper (a .bat beside its files) is not carried, and screenshot.win32.ts says so.
 */
const NOT_SHIPPED = ['get-windows'];
const notShipped: Plugin = {
  name: 'custodian-not-shipped',
  resolveId(source) {
    return NOT_SHIPPED.includes(source) ? `\0not-shipped:${source}` : null;
  },
  load(id) {
    if (!id.startsWith('\0not-shipped:')) return null;
    const name = id.slice('\0not-shipped:'.length);
    const message = `${name} is not part of the single-executable build`;
    return `const fail = () => { throw new Error(${JSON.stringify(message)}); };
export const activeWindow = fail;
export default fail;`;
  },
};

export async function bundleProgram(program: Program, outFile: string): Promise<string[]> {
  const modules = new Set<string>();
  const collect: Plugin = {
    name: 'custodian-module-list',
    load(id) {
      modules.add(id);
      return null;
    },
  };
  await build({
    input: ENTRIES[program],
    platform: 'node',
    external: [/^node:/],
    plugins: [addonBesideExecutable, notShipped, collect],
    transform: {
      define: {
        'import.meta.url': '__seaImportMetaUrl',
        'import.meta.dirname': '__seaImportMetaDirname',
        'import.meta.filename': '__seaImportMetaFilename',
      },
    },
    output: { file: outFile, format: 'cjs', banner: BANNER, codeSplitting: false },
    logLevel: 'warn',
  });
  return [...modules];
}
