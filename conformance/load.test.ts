import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Case, Step } from '../spec/case.ts';
import { formatLoadError, loadCaseFile, loadCases } from './load.ts';
import { jsonErrorOffset } from './json-position.ts';
import { checkNames, checkSimOnly } from './validate.ts';
import { WORLD_FILE_NAME_MAX } from '../spec/names.ts';

const fixtures = fileURLToPath(new URL('./test-fixtures/', import.meta.url));
const fixture = (name: string) => join(fixtures, `${name}.json`);

function errorLines(name: string): string[] {
  return loadCaseFile(fixture(name)).errors.map(formatLoadError);
}

/** Every message is one line, names the file, and is not a stack trace. */
function expectWellFormed(lines: string[], file: string) {
  expect(lines.length).toBeGreaterThan(0);
  for (const l of lines) {
    expect(l).not.toContain('\n');
    expect(l).not.toMatch(/\n\s+at |Error:/);
    expect(l).toContain(`${file}.json`);
  }
}

describe('case loader: bad input names file, JSON path and what was expected', () => {
  it('loads a sound case without errors', () => {
    const r = loadCaseFile(fixture('valid-case'));
    expect(r.errors).toEqual([]);
    expect(r.case?.id).toBe('valid-case');
  });

  it('malformed JSON: line and column of the trailing comma', () => {
    const lines = errorLines('malformed-json');
    expectWellFormed(lines, 'malformed-json');
    expect(lines).toHaveLength(1);
    // The stray "]" after the trailing comma is on line 8, column 3 of the fixture.
    expect(lines[0]).toMatch(/malformed JSON at line 8, column 3/);
    expect(lines[0]).toMatch(/expected one JSON object/);
  });

  it('unknown step op: path /steps/2/op, the bad op, the nearest op and the list of ops', () => {
    const lines = errorLines('unknown-op');
    expectWellFormed(lines, 'unknown-op');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(': /steps/2/op: unknown step op "backingOpn"');
    expect(lines[0]).toContain('did you mean "backingOpen"?');
    expect(lines[0]).toMatch(/expected one of: devOpen, .*backingClose/);
  });

  it('undefined name: the daemon fd "bf2" was never opened', () => {
    const lines = errorLines('undefined-name');
    expectWellFormed(lines, 'undefined-name');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(': /steps/3/fd: "bf2" is not defined');
    expect(lines[0]).toContain('expected a daemon fd');
    expect(lines[0]).toContain('defined so far: bf1');
  });

  it('wrong type: a read length given as a string', () => {
    const lines = errorLines('wrong-type');
    expectWellFormed(lines, 'wrong-type');
    expect(lines).toEqual([expect.stringContaining(': /steps/3/length: expected integer, got string "4096"')]);
  });

  it('a directory with broken files still loads the sound ones and reports each broken one', () => {
    const r = loadCases([fixtures]);
    expect(r.cases.map((c) => c.case.id)).toEqual(['valid-case']);
    const broken = new Set(r.errors.map((e) => e.file.replace(/^.*\//, '')));
    expect([...broken].sort()).toEqual(['malformed-json.json', 'undefined-name.json', 'unknown-op.json', 'wrong-type.json']);
  });

  it('an unknown id or path is an error naming it, not a crash', () => {
    const r = loadCases(['no-such-case-id'], fixtures);
    expect(r.cases).toEqual([]);
    expect(r.errors.map(formatLoadError)).toEqual([expect.stringMatching(/^no-such-case-id: no such case file, and no case with this id/)]);
  });

  it('finds a case by id in the given library directory', () => {
    const r = loadCases(['valid-case'], fixtures);
    expect(r.errors).toEqual([]);
    expect(r.cases.map((c) => c.case.id)).toEqual(['valid-case']);
  });

  describe('file-level checks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fusepass-load-'));
    const write = (name: string, data: unknown) => {
      const p = join(dir, name);
      writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data));
      return p;
    };
    const minimal = (id: string) => ({ id, title: 't', checks: ['DEV-3'], world: {}, steps: [{ op: 'devOpen', as: 'dev' }, { op: 'devRead', dev: 'dev' }] });

    it('id must equal the file name', () => {
      const lines = loadCaseFile(write('some-name.json', minimal('other-name'))).errors.map(formatLoadError);
      expect(lines).toEqual([expect.stringMatching(/some-name\.json: \/id: "other-name" differs from the file name \(expected "some-name"\)/)]);
    });

    it('a duplicate id across two files is reported on the second file', () => {
      const a = join(dir, 'a');
      const b = join(dir, 'b');
      mkdirSync(a);
      mkdirSync(b);
      writeFileSync(join(a, 'dup-case.json'), JSON.stringify(minimal('dup-case')));
      writeFileSync(join(b, 'dup-case.json'), JSON.stringify(minimal('dup-case')));
      const r = loadCases([a, b]);
      expect(r.cases).toHaveLength(1);
      expect(r.errors.map(formatLoadError)).toEqual([expect.stringMatching(/b\/dup-case\.json: \/id: duplicate case id "dup-case" \(also in .*a\/dup-case\.json/)]);
    });

    it('an unknown check id is named with the expected source of ids', () => {
      const lines = loadCaseFile(write('bad-check.json', { ...minimal('bad-check'), checks: ['BOPEN-99'] })).errors.map(formatLoadError);
      expect(lines).toEqual([expect.stringMatching(/\/checks\/0: unknown check id "BOPEN-99".*expected an id of spec\/check-ids\.ts/)]);
    });

    it('an extra property is named with the allowed ones', () => {
      const lines = loadCaseFile(write('extra-prop.json', { ...minimal('extra-prop'), steps: [{ op: 'devOpen', as: 'dev', bogus: 1 }] })).errors.map(formatLoadError);
      expect(lines).toEqual([expect.stringMatching(/\/steps\/0\/bogus: unexpected property "bogus" \(expected only: op, as, /)]);
    });

    it('a missing required property of a step is named with the step kind', () => {
      const lines = loadCaseFile(write('missing-prop.json', { ...minimal('missing-prop'), steps: [{ op: 'devOpen' }] })).errors.map(formatLoadError);
      expect(lines).toEqual([expect.stringMatching(/\/steps\/0: missing required property "as" of a "devOpen" step/)]);
    });

    it('a truncated file of 100k "[" is one malformed-JSON line naming its end, not a stack overflow', () => {
      const lines = loadCaseFile(write('brackets.json', '['.repeat(100_000))).errors.map(formatLoadError);
      expect(lines).toEqual([expect.stringMatching(/brackets\.json: malformed JSON at line 1, column 100001: unexpected end of file/)]);
    });

    it('simInterleave nested 2000 deep is one line about the nesting, and the other files still load', () => {
      let action: Record<string, unknown> = { op: 'devOpen', as: 'dev' };
      for (let k = 0; k < 2000; k++) action = { op: 'simInterleave', at: 'cachedIoWait', actions: [action] };
      const deep = write('deep.json', { ...minimal('deep'), simOnly: 'x', steps: [action] });
      const lines = loadCaseFile(deep).errors.map(formatLoadError);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/deep\.json: \/steps\/0(\/actions(\/0)?)+: nested deeper than 64 levels/);
      const ok = write('fine-case.json', minimal('fine-case'));
      const r = loadCases([deep, ok]);
      expect(r.cases.map((c) => c.case.id)).toEqual(['fine-case']);
    });

    describe('numbers are bounded by the schema, with the range and the reason', () => {
      const open = [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'open', node: 'a', as: 'f' }];
      const bad: [string, Record<string, unknown>, string, RegExp][] = [
        ['read length -1', { op: 'read', fd: 'f', length: -1 }, '/steps/3/length', /expected an integer from 0 to 16777216, got -1 \(A byte count/],
        ['read length 2^32', { op: 'read', fd: 'f', length: 2 ** 32 }, '/steps/3/length', /got 4294967296/],
        ['read offset 2^53', { op: 'read', fd: 'f', length: 1, offset: 2 ** 53 }, '/steps/3/offset', /expected an integer from 0 to 16777216/],
        ['a fractional length', { op: 'read', fd: 'f', length: 1.5 }, '/steps/3/length', /expected integer, got number/],
        ['mmap length 1e15', { op: 'mmap', fd: 'f', shared: true, length: 1e15, as: 'm' }, '/steps/3/length', /got 1000000000000000/],
        ['lseek to 1e300', { op: 'lseek', fd: 'f', whence: 'SET', offset: 1e300 }, '/steps/3/offset', /from -1099511627776 to 1099511627776, got 1e\+300/],
      ];
      for (const [what, step, at, why] of bad) {
        it(what, () => {
          const lines = loadCaseFile(write('num.json', { ...minimal('num'), world: { nodes: { a: {} } }, steps: [...open, step] })).errors.map(formatLoadError);
          expect(lines).toEqual([expect.stringContaining(`num.json: ${at}: `)]);
          expect(lines[0]).toMatch(why);
        });
      }
      it('a world file of 1e12 or -100 bytes', () => {
        for (const size of [1e12, -100]) {
          const lines = loadCaseFile(write('big.json', { ...minimal('big'), world: { files: { d: { on: 'disk', size } } } })).errors.map(formatLoadError);
          expect(lines).toEqual([expect.stringMatching(/\/world\/files\/d\/size: expected an integer from 0 to 16777216/)]);
        }
      });
      it('a node whose live size comes from a FUSE world file (the daemon would stat its own mount) or from no world file', () => {
        const world = (sizeFrom: string) => ({ files: { inner: { on: 'fuse' } }, nodes: { n: { sizeFrom } } });
        expect(loadCaseFile(write('live-fuse.json', { ...minimal('live-fuse'), world: world('inner') })).errors.map(formatLoadError)).toEqual([
          expect.stringMatching(/live-fuse\.json: \/world\/nodes\/n\/sizeFrom: "inner" is on fuse \(expected a world file on disk, tmpfs, overlay, roBind, memfd\)/),
        ]);
        expect(loadCaseFile(write('live-none.json', { ...minimal('live-none'), world: world('innr') })).errors.map(formatLoadError)).toEqual([
          expect.stringMatching(/\/world\/nodes\/n\/sizeFrom: "innr" is not a file of the world .*did you mean "inner"/),
        ]);
      });
      it('daemonWrite through an fd of /dev/fuse or of a FUSE world file (a write the scripted daemon would answer to itself)', () => {
        const steps = (file: string) => [{ op: 'devOpen', as: 'dev' }, { op: 'daemonOpen', file, mode: 'rdwr', as: 'bf' }, { op: 'daemonWrite', fd: 'bf', data: 'x' }];
        const world = { files: { inner: { on: 'fuse' }, d: { on: 'disk' } } };
        const errs = (file: string) => loadCaseFile(write('dw.json', { ...minimal('dw'), world, steps: steps(file) })).errors.map(formatLoadError);
        expect(errs('inner')).toEqual([expect.stringMatching(/dw\.json: \/steps\/2\/fd: "bf" is an fd of "inner" on fuse \(expected an fd of a world file on disk, tmpfs, overlay, roBind, memfd\)/)]);
        expect(errs('devfuse:dev')).toEqual([expect.stringMatching(/\/steps\/2\/fd: "bf" is an fd of \/dev\/fuse/)]);
        expect(errs('d')).toEqual([]);
        const ioctl = [{ op: 'devOpen', as: 'dev' }, { op: 'daemonOpen', file: 'inner', mode: 'rdwr', as: 'bf' }, { op: 'daemonIoctl', fd: 'bf', cmd: 'BACKING_OPEN' }];
        expect(loadCaseFile(write('di.json', { ...minimal('di'), world, steps: ioctl })).errors.map(formatLoadError)).toEqual([expect.stringMatching(/di\.json: \/steps\/2\/fd: "bf" is an fd of "inner" on fuse/)]);
      });
      it('lock: exactly one of a client fd and a daemon fd, and a daemon fd never on FUSE', () => {
        const world = { files: { d: { on: 'disk' }, inner: { on: 'fuse' } }, nodes: { a: {} } };
        const open = [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'open', node: 'a', as: 'f' }, { op: 'daemonOpen', file: 'd', mode: 'rdwr', as: 'df' }, { op: 'daemonOpen', file: 'inner', mode: 'rdwr', as: 'inf' }];
        const errs = (step: object) => loadCaseFile(write('lk.json', { ...minimal('lk'), world, steps: [...open, { op: 'lock', kind: 'flock', type: 'exclusive', ...step }] })).errors.map(formatLoadError);
        expect(errs({ fd: 'f' })).toEqual([]);
        expect(errs({ daemonFd: 'df' })).toEqual([]);
        expect(errs({ fd: 'f', daemonFd: 'df' })).toEqual([expect.stringMatching(/lk\.json: \/steps\/5: a lock step needs exactly one of "fd" \(a client fd\) or "daemonFd"/)]);
        expect(errs({ daemonFd: 'inf' })).toEqual([expect.stringMatching(/\/steps\/5\/daemonFd: "inf" is an fd of "inner" on fuse \(expected an fd of a world file on disk/)]);
        expect(errs({ daemonFd: 'f' })).toEqual([expect.stringMatching(/\/steps\/5\/daemonFd: "f" is a client fd .*expected a daemon fd/)]);
      });
      it('"profiles": [] (a case that can run nowhere) and duplicate check ids', () => {
        expect(loadCaseFile(write('nowhere.json', { ...minimal('nowhere'), profiles: [] })).errors.map(formatLoadError)).toEqual([expect.stringMatching(/\/profiles: expected at least 1 item\(s\), got 0/)]);
        expect(loadCaseFile(write('dups.json', { ...minimal('dups'), checks: ['DEV-3', 'DEV-3'] })).errors.map(formatLoadError)).toEqual([expect.stringMatching(/\/checks: "DEV-3" appears more than once/)]);
      });
    });

    describe('names in a case are names, never paths (world files and nodes become directory entries)', () => {
      const bad: [string, string, RegExp][] = [
        ['a parent-directory escape', '../../../../tmp/x', /contains "\/"/],
        ['a two-component path', 'a/b', /contains "\/"/],
        ['"..", the parent itself', '..', /names a directory, not an entry/],
        ['".", the directory itself', '.', /names a directory, not an entry/],
        ['an empty name', '', /the name is empty/],
        ['a NUL byte', 'a\0b', /contains a NUL byte/],
        ['a lone surrogate', 'a\ud800', /lone UTF-16 surrogate/],
        ['300 bytes', 'é'.repeat(150), /300 bytes long in UTF-8/],
      ];
      for (const [what, name, why] of bad) {
        it(`world file: ${what}`, () => {
          const world = { files: { [name]: { on: 'disk' } } };
          const lines = loadCaseFile(write('bad-file-name.json', { ...minimal('bad-file-name'), world })).errors.map(formatLoadError);
          expect(lines).toHaveLength(1);
          expect(lines[0]).toContain('bad-file-name.json: /world/files/');
          expect(lines[0]).toMatch(why);
          expect(lines[0]).toContain('expected a file name');
        });
        it(`node created by open O_CREAT: ${what}`, () => {
          const steps = [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'open', node: name, flags: ['O_CREAT', 'O_RDWR'], as: 'f' }];
          const lines = loadCaseFile(write('bad-node-name.json', { ...minimal('bad-node-name'), steps })).errors.map(formatLoadError);
          expect(lines).toHaveLength(1);
          expect(lines[0]).toMatch(/bad-node-name\.json: \/steps\/2\/node: /);
          expect(lines[0]).toMatch(why);
        });
      }

      it('a "/" inside a key is escaped in the JSON pointer (RFC 6901)', () => {
        const lines = loadCaseFile(write('slash-key.json', { ...minimal('slash-key'), world: { nodes: { 'a/b': {} } } })).errors.map(formatLoadError);
        expect(lines).toEqual([expect.stringContaining(': /world/nodes/a~1b: "a/b": the name contains "/"')]);
      });

      it('a world file name leaves room for the entries the kernel target derives from it', () => {
        const longest = 'f'.repeat(WORLD_FILE_NAME_MAX);
        expect(loadCaseFile(write('long-ok.json', { ...minimal('long-ok'), world: { files: { [longest]: { on: 'disk' } } } })).errors).toEqual([]);
        const lines = loadCaseFile(write('long-bad.json', { ...minimal('long-bad'), world: { files: { [`${longest}f`]: { on: 'disk' } } } })).errors.map(formatLoadError);
        expect(lines).toEqual([expect.stringContaining(`at most ${WORLD_FILE_NAME_MAX}`)]);
      });

      it('unicode and dots inside a name are fine', () => {
        expect(loadCaseFile(write('odd-ok.json', { ...minimal('odd-ok'), world: { nodes: { 'ünï côdé.v1..x': {} } } })).errors).toEqual([]);
      });
    });

    it('errors inside the actions a simInterleave step nests name the nested path', () => {
      const steps = [
        { op: 'devOpen', as: 'dev' },
        { op: 'simInterleave', at: 'cachedIoWait', actions: [{ op: 'opn', node: 'a', as: 'f2' }, { op: 'read', fd: 'f2', length: 'x' }] },
      ];
      const lines = loadCaseFile(write('nested.json', { ...minimal('nested'), simOnly: 'interleaving', steps })).errors.map(formatLoadError);
      expect(lines).toEqual([
        expect.stringMatching(/\/steps\/1\/actions\/0\/op: unknown step op "opn"; did you mean "open"\?/),
        expect.stringMatching(/\/steps\/1\/actions\/1\/length: expected integer, got string "x"/),
      ]);
    });

    it('an empty file and a non-object are reported, not thrown', () => {
      expect(loadCaseFile(write('empty.json', '')).errors.map(formatLoadError)).toEqual([expect.stringMatching(/empty\.json: malformed JSON in an empty file \(expected one JSON object/)]);
      expect(loadCaseFile(write('array.json', '[]')).errors.map(formatLoadError)).toEqual([expect.stringMatching(/array\.json: expected a JSON object \(a case\), got an array/)]);
    });
  });
});

describe('semantic name checks', () => {
  const kase = (steps: Step[], world: Case['world'] = {}): Case => ({ id: 'x', title: 'x', checks: [], world, steps });

  it('a name used before the step that defines it', () => {
    const issues = checkNames(kase([{ op: 'read', fd: 'f1', length: 1 }, { op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'open', node: 'a', as: 'f1' }], { nodes: { a: {} } }));
    expect(issues).toEqual([{ path: '/steps/0/fd', message: expect.stringContaining('"f1" is used before step 3 defines it') }]);
  });

  it('a name of the wrong kind (a /dev/fuse fd used as a client fd)', () => {
    const issues = checkNames(kase([{ op: 'devOpen', as: 'dev' }, { op: 'close', fd: 'dev' }]));
    expect(issues).toEqual([{ path: '/steps/1/fd', message: expect.stringMatching(/"dev" is a \/dev\/fuse fd \(step 0\), expected a client fd/) }]);
  });

  it('a world open reply naming a registration no step makes', () => {
    const issues = checkNames(kase([{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'open', node: 'a', as: 'f1' }], { nodes: { a: { open: { flags: ['PASSTHROUGH'], backing: 'b1' } } } }));
    expect(issues).toEqual([{ path: '/world/nodes/a/open/backing', message: expect.stringContaining('"b1" is not a backing registration when step 2 opens "a"') }]);
  });

  it('raw numbers are not names (a raw fd or id number is allowed where the case is about it)', () => {
    const issues = checkNames(kase([{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'backingOpen', dev: 'dev', fd: -1 }, { op: 'backingClose', dev: 'dev', id: 0 }]));
    expect(issues).toEqual([]);
  });

  it('unknown node and world file, and observe without its subject', () => {
    const issues = checkNames(kase([{ op: 'stat', node: 'nope' }, { op: 'inspectBacking', file: 'nofile' }, { op: 'observe', what: 'mapsPath' }], { nodes: { a: {} }, files: { data: { on: 'disk' } } }));
    expect(issues.map((i) => i.path)).toEqual(['/steps/0/node', '/steps/1/file', '/steps/2/map']);
    expect(issues[0]!.message).toContain('expected one of world.nodes: a');
    expect(issues[1]!.message).toContain('expected one of world.files: data');
  });

  it('sim-only knobs require the case to say simOnly', () => {
    const steps: Step[] = [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'simFailAlloc', what: 'idr' }, { op: 'backingOpen', dev: 'dev', fd: -1, compat32: true }];
    const world: Case['world'] = { files: { data: { on: 'disk', simTraits: ['noMmap'] } } };
    expect(checkSimOnly(kase(steps, world)).map((i) => i.path)).toEqual(['/steps/2/op', '/steps/3/compat32', '/world/files/data/simTraits']);
    expect(checkSimOnly({ ...kase(steps, world), simOnly: 'allocation failures cannot be forced on a stock kernel' })).toEqual([]);
  });

  it('names inside a simInterleave step are checked at their nested path, and their definitions count later', () => {
    const steps: Step[] = [
      { op: 'devOpen', as: 'dev' },
      { op: 'mount', dev: 'dev' },
      { op: 'simInterleave', at: 'cachedIoWait', actions: [{ op: 'open', node: 'a', as: 'f2' }, { op: 'read', fd: 'f9', length: 1 }] },
      { op: 'close', fd: 'f2' },
    ];
    const issues = checkNames(kase(steps, { nodes: { a: {} } }));
    expect(issues).toEqual([{ path: '/steps/2/actions/1/fd', message: expect.stringContaining('"f9" is not defined') }]);
  });

  it('open with O_CREAT defines a new node for later steps', () => {
    const issues = checkNames(kase([{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'open', node: 'new', flags: ['O_CREAT', 'O_RDWR'], as: 'f1' }, { op: 'stat', node: 'new' }]));
    expect(issues).toEqual([]);
  });
});

describe('jsonErrorOffset', () => {
  // Invariant: the scanner accepts exactly what JSON.parse accepts, on serialized values...
  it('accepts every serialized JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => jsonErrorOffset(JSON.stringify(v, null, 1)) === -1));
  });
  // ...and reports a position inside (or at the end of) every text JSON.parse rejects.
  it('finds an offset within the text for every text JSON.parse rejects', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        let valid = true;
        try {
          JSON.parse(s);
        } catch {
          valid = false;
        }
        const at = jsonErrorOffset(s);
        return valid ? at === -1 : at >= 0 && at <= s.length;
      }),
    );
  });
});
