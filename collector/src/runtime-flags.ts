// V8 flags the collector runs with: baked into its single executable (packaging/src/build.ts,
// SEA execArgv) and passed by every launcher of the sources (test/support/collector-process.ts,
// scripts/start.ts). Node accepts this one in NODE_OPTIONS too, for a collector started otherwise.
//
// --max-semi-space-size: V8 grows the young generation up to its default maximum (here 64 MiB per
// semi-space, 128 MiB in all) whenever objects keep surviving scavenges, which ingest under load
// does (decoded frames wait for their group commit), and gives it back only when idle. Measured
// in the fuzz campaign (BENCHMARKS.md): the live heap stayed at 30-100 MiB while the young
// generation alone held 128 MiB of RSS. 16 MiB per semi-space keeps it at 32 MiB for a few more
// scavenges per second.
export const COLLECTOR_V8_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
