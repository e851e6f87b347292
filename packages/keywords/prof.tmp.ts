import { readFileSync } from 'node:fs';
import { createMatcher, normalise } from './src/index.ts';
const rows = readFileSync('packages/keywords/test/corpus/must-not-flag.tsv','utf8').split('\n').slice(1).filter(Boolean);
const lines: string[] = []; for (let i=0;i<60000;i++) lines.push(rows[i%rows.length]!);
const bytes = lines.reduce((a,l)=>a+l.length,0)/1048576;
const m = createMatcher({ ageBand: 'secondary' });
for (let r=0;r<3;r++){
let t=performance.now(); for (const l of lines) normalise(l); const tn=performance.now()-t;
t=performance.now(); for (const l of lines) m.match(l); const tm=performance.now()-t;
console.log('normalise MB/s', (bytes/(tn/1000)).toFixed(1), 'match MB/s', (bytes/(tm/1000)).toFixed(1));
}
const long = lines.join('\n'); let t=performance.now(); normalise(long); console.log('long normalise ms', performance.now()-t, long.length);
t=performance.now(); const r = m.match(long); console.log('long match ms', performance.now()-t, r.length);
