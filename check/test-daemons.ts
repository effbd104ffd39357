// Test helpers: the real third-party daemon (libfuse 3.18.2's passthrough_hp, built unmodified by
// scripts/build-passthrough-hp.sh into a cache) and our bug-pattern fixture buggy_pt.c compiled
// against that libfuse. Both land in directories any user may read, so the sim target's tests
// can run them as an unprivileged user.
import { chmodSync, mkdtempSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const BUILD = fileURLToPath(new URL('../scripts/build-passthrough-hp.sh', import.meta.url));
const BUGGY = fileURLToPath(new URL('./test-fixtures/buggy_pt.c', import.meta.url));

export function passthroughHp(): string {
  return execFileSync('sh', [BUILD], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 }).trim().split('\n').pop()!;
}

/** test-fixtures/buggy_pt.c, compiled against the libfuse passthroughHp() was built with. */
export function buildBuggy(): string {
  const libfuse = passthroughHp().replace(/\/build\/example\/passthrough_hp$/, '');
  const dir = mkdtempSync(`${tmpdir()}/fusepass-buggy-`);
  chmodSync(dir, 0o755);
  const bin = `${dir}/buggy_pt`;
  execFileSync('gcc', ['-O1', '-Wall', `-I${libfuse}/include`, `-I${libfuse}/build`, '-o', bin, BUGGY, `-L${libfuse}/build/lib`, '-lfuse3', `-Wl,-rpath,${libfuse}/build/lib`], { stdio: 'inherit' });
  return bin;
}
