// Relay worker entry in plain JS, as real-kernel/daemon/worker-boot.mjs: relay-worker.js beside
// this file when compiled, else tsx's loader registered in this thread and the TypeScript source.
import { existsSync } from 'node:fs';

const compiled = new URL('./relay-worker.js', import.meta.url);
if (existsSync(compiled)) await import(compiled.href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./relay-worker.ts');
}
