// How fusepass starts its own modules in other processes and threads, whether it runs from its
// TypeScript sources (a checkout: node with tsx's loader) or compiled (the npm package: plain
// node, dist/**/*.js). One place decides, from this module's own file name.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Compiled to JavaScript (the installed package), or run from the .ts sources. */
export const COMPILED = import.meta.url.endsWith('.js');

/** Our module `rel` (written without extension) next to `base`: .js compiled, .ts from sources. */
export function ownModule(rel: string, base: string | URL): URL {
  return new URL(`${rel}${COMPILED ? '.js' : '.ts'}`, base);
}

let loader: string | null = null;

/**
 * What node needs before one of our modules as its entry: nothing compiled; from the sources,
 * tsx's loader (a development dependency, present in a checkout).
 */
export function nodeArgs(): string[] {
  if (COMPILED) return [];
  loader ??= pathToFileURL(path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/loader.mjs')).href;
  return ['--import', loader];
}
