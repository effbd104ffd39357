// The generator and materializer: every program becomes a case the library's loader accepts,
// deterministically, and the weighting reaches the interesting states often.
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaseSchema } from '../schema-errors.ts';
import { checkNames, checkSimOnly } from '../validate.ts';
import { loadCaseFile } from '../load.ts';
import { programArb, type FuzzProgram } from './generate.ts';
import { materialize } from './materialize.ts';
import { expandMacro, minimizeProgram } from './minimize.ts';

const SEED = 20261124;
const schema = new CaseSchema();

describe('fuzz generator (conformance/fuzz/generate.ts, materialize.ts)', () => {
  it('every generated program, and so every shrunk one, materializes to a schema-valid case whose names are defined before use', () => {
    console.log(`generator property seed ${SEED}`);
    fc.assert(
      fc.property(programArb({ simOnly: true }), (p) => {
        const { kase } = materialize(p);
        const data: unknown = JSON.parse(JSON.stringify(kase));
        expect(schema.validate(data)).toEqual([]);
        expect(checkNames(kase)).toEqual([]);
        expect(checkSimOnly(kase)).toEqual([]);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('a case without sim-only knobs is playable on the kernel: no sim-only step, no simOnly mark', () => {
    fc.assert(
      fc.property(programArb(), (p) => {
        const { kase } = materialize(p);
        expect(kase.simOnly).toBeUndefined();
        expect(kase.steps.filter((s) => s.op.startsWith('sim'))).toEqual([]);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('materializing is deterministic: the same program gives the same case and the same observations', () => {
    fc.assert(
      fc.property(programArb(), (p) => {
        const a = materialize(p);
        const b = materialize(p);
        expect(b.kase).toEqual(a.kase);
        expect(b.results.map((r) => [r.errno, r.value, r.requests, r.events])).toEqual(a.results.map((r) => [r.errno, r.value, r.requests, r.events]));
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('the case starts by opening /dev/fuse and mounting with it (INIT choice from the program)', () => {
    const m = materialize({ files: [], init: { flags: ['INIT_EXT'], maxStackDepth: 1 }, intents: [] });
    expect(m.kase.steps).toEqual([
      { op: 'devOpen', as: 'dev' },
      { op: 'mount', dev: 'dev', init: { flags: ['INIT_EXT'], maxStackDepth: 1 } },
    ]);
  });

  it('intents with nothing to act on vanish (close with no client fd open, munmap with no mapping)', () => {
    const m = materialize({ files: [], init: undefined, intents: [{ k: 'close', pick: 0 }, { k: 'munmap', pick: 2 }, { k: 'daemonClose', pick: 1 }] });
    expect(m.kase.steps.map((s) => s.op)).toEqual(['devOpen', 'mount']);
  });

  it('a failed open defines no live fd: later fd intents do not use it (INIT without PASSTHROUGH, PT open fails with EIO, OPEN-6)', () => {
    const m = materialize({
      files: [],
      init: undefined,
      intents: [
        { k: 'setOpenReply', node: 0, flags: ['PASSTHROUGH'], extraBits: 0, backing: { raw: 999 }, error: null },
        { k: 'open', node: 0, create: false, access: 'O_RDONLY', extra: [] },
        { k: 'read', pick: 0, length: 100, offset: null },
      ],
    });
    expect(m.kase.steps.map((s) => s.op)).toEqual(['devOpen', 'mount', 'setOpenReply', 'open']);
    expect(m.results[3]?.errno).toBe('EIO');
  });

  it('PTF-1, BCLOSE-9: the weighting reaches passthrough opens in most cases and ids closed while in use in some', () => {
    const progs = fc.sample(programArb(), { seed: SEED, numRuns: 400 });
    let ptOpen = 0;
    let closedInUse = 0;
    for (const p of progs) {
      const m = materialize(p);
      if (m.reached.has('PTF-1')) ptOpen++;
      if (m.reached.has('BCLOSE-9')) closedInUse++;
    }
    console.log(`of ${progs.length} generated cases: ${ptOpen} reach a passthrough open (PTF-1), ${closedInUse} close an id in use (BCLOSE-9)`);
    expect(ptOpen / progs.length).toBeGreaterThan(0.3);
    expect(closedInUse / progs.length).toBeGreaterThan(0.03);
  });

  it('a ptSetup macro plays the same steps as its four expanded intents', () => {
    const macro = { k: 'ptSetup' as const, file: 0, mode: 'rdonly' as const, node: 1, access: 'O_RDWR' as const, extra: ['NOFLUSH' as const] };
    const a = materialize({ files: [], init: undefined, intents: [macro] });
    const b = materialize({ files: [], init: undefined, intents: expandMacro(macro) });
    expect(b.kase.steps).toEqual(a.kase.steps);
    expect(a.kase.steps.map((s) => s.op)).toEqual(['devOpen', 'mount', 'daemonOpen', 'backingOpen', 'setOpenReply', 'open']);
  });

  it('minimizeProgram keeps only what the failure needs (here: any backingClose of an unknown id)', async () => {
    const start: FuzzProgram = {
      files: [1, 2],
      init: { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 2 },
      intents: [
        { k: 'ptSetup', file: 0, mode: 'rdonly', node: 0, access: 'O_RDONLY', extra: [] },
        { k: 'read', pick: 0, length: 100, offset: null },
        { k: 'backingClose', dev: 0, id: { reg: 0 }, cred: 'root' },
        { k: 'backingClose', dev: 0, id: { reg: 0 }, cred: 'root' },
      ],
    };
    const fails = async (p: FuzzProgram) => materialize(p).results.some((r) => r.errno === 'ENOENT' && r.explain.checks.includes('BCLOSE-7'));
    expect(await fails(start)).toBe(true);
    const min = await minimizeProgram(start, fails);
    expect(min.program.files).toEqual([]);
    expect(min.program.init).toBeUndefined();
    expect(min.program.intents).toEqual([{ k: 'backingClose', dev: 0, id: { raw: 999 }, cred: 'root' }]);
  });

  it('a materialized case written to disk loads with the library loader', () => {
    const [p] = fc.sample(programArb(), { seed: SEED, numRuns: 1 });
    const { kase } = materialize(p!, { id: 'fuzz-load-check' });
    const dir = mkdtempSync(join(tmpdir(), 'fusepass-fuzz-'));
    const file = join(dir, 'fuzz-load-check.json');
    writeFileSync(file, JSON.stringify(kase));
    expect(loadCaseFile(file).errors).toEqual([]);
  });
});
