import { createMatcher, normalise, libraryStats } from './src/index.ts';
const m = createMatcher({ ageBand: 'secondary' });
console.log(libraryStats());
for (const t of process.argv.slice(2)) console.log(JSON.stringify(t), JSON.stringify(normalise(t).text), JSON.stringify(m.match(t)));
