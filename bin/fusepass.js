#!/usr/bin/env node
// Entry point for `npx fusepass`. In a checkout it runs the TypeScript sources through tsx (no
// build step); in the installed package, which ships only the compiled dist/, plain node.
import { existsSync } from 'node:fs';

const sources = new URL('../cli/main.ts', import.meta.url);
let main;
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(sources.href));
} else {
  ({ main } = await import('../dist/cli/main.js'));
}
process.exitCode = await main(process.argv.slice(2));
