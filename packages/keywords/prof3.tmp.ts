import { readFileSync } from 'node:fs';
import { createMatcher } from './src/index.ts';
const C='packages/keywords/test/corpus/';
const all = ['should-flag.tsv','must-not-flag.tsv','educational.tsv'].flatMap(f=>readFileSync(C+f,'utf8').split('\n').slice(1).filter(Boolean).map(r=>r.split('\t')[0]!));
const ord = readFileSync(C+'must-not-flag.tsv','utf8').split('\n').slice(1).filter(Boolean);
const lines: string[] = []; for (let i=0;i<120000;i++) lines.push(i%10===0? all[i%all.length]! : ord[(i*7)%ord.length]!);
const mb = lines.reduce((a,l)=>a+l.length,0)/1048576;
const m = createMatcher({ ageBand: 'secondary' });
for (let r=0;r<4;r++){ const c=process.cpuUsage(); for (const l of lines) m.match(l); const u=process.cpuUsage(c); console.log("cpu MB/s", (mb/((u.user+u.system)/1e6)).toFixed(1)); }
