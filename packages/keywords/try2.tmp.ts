import { createMatcher } from './src/index.ts';
import { scoreCorpus } from './test/corpus.ts';
const s = scoreCorpus(createMatcher({ ageBand: 'secondary' }));
console.log(s.recall, s.falsePositiveRate, s.educationalRecall);
console.log('MISSED', s.missed.map(m=>m.text+' ['+m.category+']'));
console.log('FP', s.falsePositives.map(f=>f.item.text+' => '+f.terms.join(',')));
console.log('EDU', s.educationalMissed.map(m=>m.text));
