// `npm run bench`: runs each bench module in turn. Add a module by adding its entry here.
import { benchConformance } from './conformance.ts';
import { benchSim } from './sim.ts';
import { benchKernel } from './kernel.ts';
import { benchFuzz } from './fuzz.ts';

const BENCHES: { name: string; run: () => Promise<unknown> }[] = [
  { name: 'sim', run: async () => benchSim() },
  { name: 'conformance', run: () => benchConformance() },
  { name: 'kernel', run: () => benchKernel() },
  { name: 'fuzz', run: () => benchFuzz() },
];

const only = process.argv.slice(2);
for (const b of BENCHES) {
  if (only.length > 0 && !only.includes(b.name)) continue;
  await b.run();
}
