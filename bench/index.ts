// `npm run bench [name ...]`: runs each bench module (or the named ones) in turn. Add a module by adding its entry here.
import { benchConformance } from './conformance.ts';
import { benchSim } from './sim.ts';
import { benchKernel } from './kernel.ts';
import { benchFuzz } from './fuzz.ts';
import { benchCheck } from './check.ts';
import { benchReports } from './reports.ts';

const BENCHES: { name: string; run: () => Promise<unknown> }[] = [
  { name: 'sim', run: async () => benchSim() },
  { name: 'conformance', run: () => benchConformance() },
  { name: 'kernel', run: () => benchKernel() },
  { name: 'fuzz', run: () => benchFuzz() },
  { name: 'check', run: () => benchCheck() },
  { name: 'reports', run: () => benchReports() },
];

// `versus [<rev>]` (bench/versus.ts) compares with an older commit; it runs only when named.
const args = process.argv.slice(2);
if (args[0] === 'versus') {
  const { benchVersus } = await import('./versus.ts');
  try {
    await benchVersus(args[1]);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
  process.exit(0);
}
const only = args;
const unknown = only.filter((name) => !BENCHES.some((b) => b.name === name));
if (unknown.length > 0) {
  // A typo would otherwise run nothing and exit 0.
  console.error(`bench: unknown bench ${unknown.join(', ')}; expected names from: ${BENCHES.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
for (const b of BENCHES) {
  if (only.length > 0 && !only.includes(b.name)) continue;
  await b.run();
}
