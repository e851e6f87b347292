// The agent executable's entry: the same cli() as agent/bin/custodian-agent.js, without top-level
// await (the executable's main script is CommonJS). In an executable argv[1] is the executable
// itself, so the arguments start at argv[2] as they do under node.
import { cli } from '../../../agent/src/cli.ts';

void cli(process.argv.slice(2));
