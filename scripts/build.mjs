#!/usr/bin/env node
// `npm run build`: the package's dist/: the TypeScript compiled to JavaScript with declarations
// (tsconfig.build.json; relative `.ts` specifiers rewritten to `.js`, in the .d.ts files too,
// which tsc leaves alone), plus the files the code opens or starts at run time beside their
// modules (worker entries, shell helpers, JSON schemas, the case library). Run by `prepare`
// and `prepack`, so `npm install` from git and `npm pack` both get it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const DIRS = ['spec', 'fixtures', 'sim', 'wire', 'conformance', 'real-kernel', 'check', 'reports', 'cli'];
const ASSET = /\.(mjs|sh|json)$/;
const SKIP_DIR = new Set(['test-fixtures', 'out', 'browser', 'node_modules']);

function walk(dir, visit) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIR.has(e.name)) walk(p, visit);
    } else visit(p);
  }
}

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

let declarations = 0;
walk(dist, (p) => {
  if (!p.endsWith('.d.ts')) return;
  const text = readFileSync(p, 'utf8');
  const fixed = text.replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g, '$1$2$3.js$2');
  if (fixed !== text) {
    writeFileSync(p, fixed);
    declarations++;
  }
});

let assets = 0;
for (const d of DIRS) {
  walk(join(root, d), (p) => {
    if (!ASSET.test(p) || statSync(p).size === 0) return;
    const to = join(dist, relative(root, p));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(p, to);
    assets++;
  });
}
console.log(`build: dist/ written (${declarations} declaration files with rewritten specifiers, ${assets} assets copied)`);
