const { run } = await import('./agent.bench.ts');
const r = await run();
for (const row of r.rows) console.log(`${row.metric}: ${row.value.toFixed(3)} ${row.unit} baseline ${row.baseline?.toFixed(3)} ratio ${row.ratio?.toFixed(3) ?? ''}`);
for (const n of r.notes ?? []) console.log('NOTE', n);
