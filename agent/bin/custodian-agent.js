#!/usr/bin/env node
// Needs Node 24 (runs the TypeScript sources directly).
import { cli } from '../src/cli.ts';

await cli(process.argv.slice(2));
