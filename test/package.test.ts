// The npm package as a user gets it: `npm pack`, installed into a fresh consumer project from
// the tarball (dependencies from the registry, no tsx, no sources), then used from a plain .mjs
// file, from a `tsc` NodeNext build without skipLibCheck, and as the installed `fusepass` command.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticUnavailableReason } from '../real-kernel/host/availability.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const dir = mkdtempSync(join(tmpdir(), 'fusepass-consumer-'));
const npm = (args: string[], cwd: string) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('the npm package (npm pack, installed in a consumer project)', () => {
  let tarball = '';
  beforeAll(() => {
    npm(['pack', '--pack-destination', dir], root);
    tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
    npm(['install', tarball], dir);
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ships compiled JavaScript with declarations, and no tests, sources, CI or images', () => {
    const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('package/dist/sim/index.js');
    expect(listing).toContain('package/dist/sim/index.d.ts');
    expect(listing).toContain('package/dist/check/launcher.mjs');
    expect(listing.filter((f) => /\.test\.|\/\.ci\/|\.png$|^package\/(sim|cli|check)\/.*\.ts$/.test(f))).toEqual([]);
  });

  it('installs without the build tools: no tsx, typescript or typescript-json-schema in the consumer', () => {
    for (const dev of ['tsx', 'typescript', 'typescript-json-schema']) expect(existsSync(join(dir, 'node_modules', dev))).toBe(false);
  });

  it('fusepass/sim works from a plain .mjs file (the README example: KEEP_CACHE with PASSTHROUGH is EIO, OPEN-9)', () => {
    writeFileSync(
      join(dir, 'why.mjs'),
      `import { createKernel } from 'fusepass/sim';
const k = createKernel({ profile: '6.18', world: { files: { data: { on: 'disk' } }, nodes: { file: {} } } });
k.daemon.devOpen('dev');
k.daemon.mount('dev', { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 });
k.daemon.open('data', 'rdonly', 'fd');
k.daemon.backingOpen({ dev: 'dev', fd: 'fd', as: 'b1' });
k.daemon.setOpenReply('file', { flags: ['PASSTHROUGH', 'KEEP_CACHE'], backing: 'b1' });
const r = k.client.open('file', ['O_RDONLY'], 'f');
console.log(JSON.stringify({ errno: r.errno, checks: r.explain.checks }));
`,
    );
    const out = JSON.parse(execFileSync(process.execPath, ['why.mjs'], { cwd: dir, encoding: 'utf8' })) as { errno: string; checks: string[] };
    expect(out.errno).toBe('EIO');
    expect(out.checks).toContain('OPEN-9');
  });

  it('a tsc NodeNext consumer type-checks against the shipped declarations (no skipLibCheck)', () => {
    writeFileSync(join(dir, 'use.ts'), `import { createKernel } from 'fusepass/sim';\nconst k = createKernel({ profile: '6.12' });\nexport const name: string = typeof k.client.open;\n`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: [] }, files: ['use.ts'] }),
    );
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the installed fusepass command runs with plain node: --version, and run --target sim passes', () => {
    const bin = join(dir, 'node_modules/.bin/fusepass');
    expect(execFileSync(bin, ['--version'], { cwd: dir, encoding: 'utf8' }).trim()).toMatch(/^fusepass \d+\.\d+\.\d+$/);
    const run = spawnSync(bin, ['run', '--target', 'sim', '--json', join(dir, 'run.json')], { cwd: dir, encoding: 'utf8' });
    expect(run.stderr).not.toMatch(/ERR_|Error:/);
    expect(run.status).toBe(0);
    expect(existsSync(join(dir, 'run.md'))).toBe(true);
  }, 120_000);

  // The compiled kernel target starts its namespace child and daemon workers without tsx.
  it.skipIf(staticUnavailableReason() !== null && process.env.FUSEPASS_REQUIRE_KERNEL !== '1')('the installed fusepass plays a case on the kernel too (compiled namespace child and workers)', () => {
    const bin = join(dir, 'node_modules/.bin/fusepass');
    const run = spawnSync(bin, ['run', '--target', 'both', 'bopen-success-returns-positive-id', '--json', join(dir, 'both.json')], { cwd: dir, encoding: 'utf8' });
    expect(run.stderr).not.toMatch(/ERR_|Error:|unavailable|skipp/i);
    expect(run.status).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'both.json'), 'utf8')) as { summary: { targets: string[]; passed: number } };
    expect(report.summary.targets).toEqual(['sim', 'kernel']);
    expect(report.summary.passed).toBe(1);
  }, 120_000);
});
