// Worker entry in plain JS. Compiled (the npm package), the worker is worker.js beside this
// file; from the sources, Node 20 does not carry tsx's loader into worker threads, so register
// it here, then load the TypeScript worker.
import { existsSync } from 'node:fs';

const compiled = new URL('./worker.js', import.meta.url);
if (existsSync(compiled)) await import(compiled.href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./worker.ts');
}
