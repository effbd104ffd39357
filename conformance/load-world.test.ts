// The loader's checks of what world files and the steps that mount or watch say: one-line
// errors naming the file, the JSON path and what was expected (split from load.test.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatLoadError, loadCaseFile } from './load.ts';

describe('case loader: world files on kernel, anonymous and nested filesystems, and mount and watch steps', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fusepass-load-world-'));
  const write = (name: string, data: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(data));
    return p;
  };
  const minimal = (id: string) => ({ id, title: 't', checks: ['DEV-3'], world: {}, steps: [{ op: 'devOpen', as: 'dev' }, { op: 'devRead', dev: 'dev' }] });

  it('procfs and sysfs files are the kernel\'s own (no content, size, mode or type); a memfd has no name to unlink and is always in the world\'s fd table', () => {
    const errs = (name: string, world: object, steps: object[] = []) => loadCaseFile(write(`${name}.json`, { ...minimal(name), world, steps })).errors.map(formatLoadError);
    expect(errs('proc-content', { files: { p: { on: 'procfs', content: 'x', mode: 420 } } })).toEqual([
      expect.stringMatching(/proc-content\.json: \/world\/files\/p\/content: a world file on procfs takes no "content" \(expected none: it is the kernel's own \/proc\/sys\/kernel\/ostype\)/),
      expect.stringMatching(/proc-content\.json: \/world\/files\/p\/mode: a world file on procfs takes no "mode"/),
    ]);
    expect(errs('sys-type', { files: { s: { on: 'sysfs', type: 'dir' } } })).toEqual([expect.stringMatching(/\/world\/files\/s\/type: a world file on sysfs takes no "type" \(expected none: it is the kernel's own \/sys\/kernel\/fscaps\)/)]);
    expect(errs('mem-type', { files: { m: { on: 'memfd', type: 'fifo' } } })).toEqual([expect.stringMatching(/\/world\/files\/m\/type: a world file on memfd takes no "type" \(expected a regular file with "content" or "size" only\)/)]);
    const mem = { files: { m: { on: 'memfd', content: 'abc' } } };
    expect(errs('mem-ok', mem, [{ op: 'devOpen', as: 'dev' }, { op: 'daemonOpen', file: 'm', mode: 'rdwr', as: 'mf' }, { op: 'daemonWrite', fd: 'mf', data: 'x' }])).toEqual([]);
    expect(errs('mem-unlink', mem, [{ op: 'unlinkWorldFile', file: 'm' }])).toEqual([expect.stringMatching(/mem-unlink\.json: \/steps\/0\/file: "m" is a memfd, which has no name to unlink \(expected a world file on disk, tmpfs, overlay, roBind\)/)]);
    expect(errs('mem-fdtable', mem, [{ op: 'observe', what: 'fdTableHasFile', file: 'm' }])).toEqual([expect.stringMatching(/\/steps\/0\/file: "m" is on memfd, which the world itself keeps open/)]);
  });
  it('copyRange: each side exactly one of a client fd and a world file, a world file regular and on a host filesystem, and FUSE on at least one side', () => {
    const world = { files: { d: { on: 'disk' }, inner: { on: 'fuse' }, q: { on: 'disk', type: 'fifo' } }, nodes: { a: {} } };
    const open = [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'open', node: 'a', as: 'f' }];
    const errs = (step: object) => loadCaseFile(write('cr.json', { ...minimal('cr'), world, steps: [...open, { op: 'copyRange', length: 1, ...step }] })).errors.map(formatLoadError);
    expect(errs({ from: 'f', toFile: 'd', fromOffset: 3 })).toEqual([]);
    expect(errs({ from: 'f', fromFile: 'd', to: 'f' })).toEqual([expect.stringMatching(/cr\.json: \/steps\/3: a copyRange step needs exactly one of "from" \(a client fd\) or "fromFile" \(a world file\)/)]);
    expect(errs({ from: 'f' })).toEqual([expect.stringMatching(/\/steps\/3: a copyRange step needs exactly one of "to" \(a client fd\) or "toFile"/)]);
    expect(errs({ from: 'f', toFile: 'inner' })).toEqual([expect.stringMatching(/\/steps\/3\/toFile: "inner" is on fuse \(expected a regular world file on disk, tmpfs, overlay, roBind, memfd\)/)]);
    expect(errs({ fromFile: 'q', to: 'f' })).toEqual([expect.stringMatching(/\/steps\/3\/fromFile: "q" is a fifo \(expected a regular world file/)]);
    expect(errs({ fromFile: 'd', toFile: 'd' })).toEqual([expect.stringMatching(/\/steps\/3\/toFile: both sides are world files, so FUSE is not involved/)]);
    expect(errs({ from: 'f', toFile: 'dd' })).toEqual([expect.stringMatching(/\/steps\/3\/toFile: "dd" is not a file of the world .*did you mean "d"/)]);
  });
  it('pipefs and sockfs files take no fields, are always in the world\'s fd table, and have no bytes to inspect', () => {
    const errs = (name: string, world: object, steps: object[] = []) => loadCaseFile(write(`${name}.json`, { ...minimal(name), world, steps })).errors.map(formatLoadError);
    expect(errs('pipe-content', { files: { p: { on: 'pipefs', content: 'x' } } })).toEqual([expect.stringMatching(/pipe-content\.json: \/world\/files\/p\/content: a world file on pipefs takes no "content" \(expected none: it is an anonymous pipe\)/)]);
    expect(errs('sock-type', { files: { s: { on: 'sockfs', type: 'socket' } } })).toEqual([expect.stringMatching(/\/world\/files\/s\/type: a world file on sockfs takes no "type" \(expected none: it is one end of a socketpair\)/)]);
    const anon = { files: { p: { on: 'pipefs' }, s: { on: 'sockfs' }, q: { on: 'disk', type: 'fifo' } } };
    expect(errs('anon-fdtable', anon, [{ op: 'observe', what: 'fdTableHasFile', file: 's' }])).toEqual([expect.stringMatching(/\/steps\/0\/file: "s" is on sockfs, which the world itself keeps open/)]);
    expect(errs('anon-inspect', anon, [{ op: 'inspectBacking', file: 'p' }, { op: 'inspectBacking', file: 'q' }, { op: 'inspectBacking', file: 's' }])).toEqual([
      expect.stringMatching(/\/steps\/0\/file: "p" is a pipe, which has no bytes to read back/),
      expect.stringMatching(/\/steps\/1\/file: "q" is a pipe, which has no bytes to read back/),
      expect.stringMatching(/\/steps\/2\/file: "s" is a socket, which has no bytes to read back/),
    ]);
    expect(errs('anon-ok', anon, [{ op: 'devOpen', as: 'dev' }, { op: 'daemonOpen', file: 's', mode: 'rdwr', as: 'sf' }])).toEqual([]);
  });
  it('watchFuseFile: a client fd of a file, and a name no world file and no earlier watch has', () => {
    const world = { files: { b: { on: 'disk' } }, nodes: { a: {} } };
    const open = [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'open', node: 'a', as: 'f' }, { op: 'opendir', as: 'd' }];
    const errs = (extra: object[]) => loadCaseFile(write('w.json', { ...minimal('w'), world, steps: [...open, ...extra] })).errors.map(formatLoadError);
    expect(errs([{ op: 'watchFuseFile', fd: 'f', as: 'w1' }])).toEqual([]);
    expect(errs([{ op: 'watchFuseFile', fd: 'f', as: 'b' }])).toEqual([expect.stringMatching(/w\.json: \/steps\/4\/as: "b" is a world file's name, which its events already use/)]);
    expect(errs([{ op: 'watchFuseFile', fd: 'f', as: 'w1' }, { op: 'watchFuseFile', fd: 'f', as: 'w1' }])).toEqual([expect.stringMatching(/\/steps\/5\/as: "w1" names an earlier watch/)]);
    expect(errs([{ op: 'watchFuseFile', fd: 'd', as: 'w1' }])).toEqual([expect.stringMatching(/\/steps\/4\/fd: "d" is a directory fd \(expected a client fd of a file, from an open step\)/)]);
    expect(errs([{ op: 'watchFuseFile', fd: 'g', as: 'w1' }])).toEqual([expect.stringMatching(/\/steps\/4\/fd: "g" is not defined/)]);
  });
  it('nestedFuse: files need world.nestedFuseAt, a directory node; the mount step needs it too, once; no inspectBacking through the FUSE mount', () => {
    const errs = (name: string, world: object, steps: object[] = []) => loadCaseFile(write(`${name}.json`, { ...minimal(name), world, steps })).errors.map(formatLoadError);
    expect(errs('nest-noat', { files: { i: { on: 'nestedFuse' } } })).toEqual([expect.stringMatching(/nest-noat\.json: \/world\/files\/i\/on: a nestedFuse file needs a directory to be mounted on \(expected world\.nestedFuseAt, a directory node\)/)]);
    expect(errs('nest-file', { nestedFuseAt: 'f', nodes: { f: {} } })).toEqual([expect.stringMatching(/\/world\/nestedFuseAt: "f" is not a directory node of the world \(expected a node with "type": "dir"\)/)]);
    const ok = { nestedFuseAt: 'd', nodes: { d: { type: 'dir' } }, files: { i: { on: 'nestedFuse' } } };
    expect(errs('nest-ok', ok, [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'mountNestedFuse' }])).toEqual([]);
    expect(errs('nest-twice', ok, [{ op: 'mountNestedFuse' }, { op: 'mountNestedFuse' }])).toEqual([expect.stringMatching(/\/steps\/1\/op: a second nested FUSE mount/)]);
    expect(errs('nest-step', {}, [{ op: 'mountNestedFuse' }])).toEqual([expect.stringMatching(/\/steps\/0\/op: the world names no directory to mount on/)]);
    expect(errs('nest-inspect', ok, [{ op: 'inspectBacking', file: 'i' }])).toEqual([expect.stringMatching(/\/steps\/0\/file: "i" is on nestedFuse, reached only through the FUSE mount under test/)]);
  });
  it('mountOverlayOnFuse: at most one per case', () => {
    const steps = [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'mountOverlayOnFuse' }];
    const errs = (extra: object[]) => loadCaseFile(write('top.json', { ...minimal('top'), world: { nodes: { a: {} } }, steps: [...steps, ...extra] })).errors.map(formatLoadError);
    expect(errs([])).toEqual([]);
    expect(errs([{ op: 'umount' }, { op: 'mountOverlayOnFuse' }])).toEqual([expect.stringMatching(/top\.json: \/steps\/4\/op: a second overlayfs over the FUSE mount \(expected at most one mountOverlayOnFuse step per case\)/)]);
  });
  it('named mounts: a name of their own, answered at once, from the initial namespace; `mount` names an earlier one; no copy between two mounts', () => {
    const base = [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev' }, { op: 'devOpen', as: 'dev2' }];
    const errs = (steps: object[], world: object = { nodes: { a: {} } }) => loadCaseFile(write('named.json', { ...minimal('named'), world, steps: [...base, ...steps] })).errors.map(formatLoadError);
    const two = { op: 'mount', dev: 'dev2', as: 'two' };
    expect(errs([two, { op: 'open', node: 'a', as: 'f', mount: 'two' }, { op: 'umount', mount: 'two' }])).toEqual([]);
    expect(errs([{ op: 'open', node: 'a', as: 'f', mount: 'two' }, two])).toEqual([expect.stringMatching(/named\.json: \/steps\/3\/mount: "two" names no earlier mount step's "as" \(expected one of: \(none\)\)/)]);
    expect(errs([two, { op: 'abort', mount: 'three' }])).toEqual([expect.stringMatching(/\/steps\/4\/mount: "three" names no earlier mount step's "as" \(expected one of: two\)/)]);
    expect(errs([two, { op: 'devOpen', as: 'dev3' }, { ...two, dev: 'dev3' }])).toEqual([expect.stringMatching(/\/steps\/5\/as: "two" names an earlier mount \(expected a name of its own for each further mount\)/)]);
    expect(errs([{ ...two, dev: 'dev' }])).toEqual([expect.stringMatching(/\/steps\/3\/dev: "dev" was given to an earlier mount step or cloned \(expected a fresh \/dev\/fuse fd for a further mount\)/)]);
    expect(errs([two, { op: 'open', node: 'a', as: 'f' }, { op: 'stat', fd: 'f', mount: 'two' }])).toEqual([expect.stringMatching(/\/steps\/5\/mount: an fd is on the mount it was opened on \(expected "mount" only with "node"\)/)]);
    expect(errs([two, { op: 'open', node: 'a', as: 'f' }, { op: 'open', node: 'a', as: 'f', mount: 'two' }])).toEqual([expect.stringMatching(/\/steps\/5\/as: "f" is open on another mount/)]);
    expect(errs([two, { op: 'open', node: 'a', as: 'f' }, { op: 'close', fd: 'f' }, { op: 'open', node: 'a', as: 'f', mount: 'two' }])).toEqual([]);
    expect(errs([two, { op: 'open', node: 'a', as: 'f', mount: 'two' }, { op: 'observe', what: 'fusectlValues', fd: 'f' }])).toEqual([expect.stringMatching(/\/steps\/5\/fd: observe "fusectlValues" reads no "fd" \(expected none of dev, fd, map, file\)/)]);
    expect(errs([{ ...two, deferInit: true }])).toEqual([expect.stringMatching(/\/steps\/3\/deferInit: a further mount answers its INIT at once/)]);
    expect(errs([two], { nodes: { a: {} }, daemonInUserns: true })).toEqual([expect.stringMatching(/\/steps\/3\/as: a further mount is mounted from the initial namespace/)]);
    const opened = [two, { op: 'open', node: 'a', as: 'f' }, { op: 'open', node: 'a', as: 'g', mount: 'two' }];
    expect(errs([...opened, { op: 'copyRange', from: 'f', to: 'g', length: 1 }])).toEqual([expect.stringMatching(/\/steps\/6\/to: "f" and "g" are files of different FUSE mounts/)]);
    expect(errs([...opened, { op: 'copyRange', from: 'g', to: 'g', length: 1 }])).toEqual([]);
    const self = { nodes: { a: {} }, files: { s: { on: 'self' }, d: { on: 'disk' } } };
    const reg = (file: string, dev: string) => [two, { op: 'daemonOpen', file, mode: 'rdonly', as: 'x' }, { op: 'backingOpen', dev, fd: 'x' }];
    expect(errs(reg('s', 'dev2'), self)).toEqual([expect.stringMatching(/\/steps\/5\/fd: "x" is a file of the mount under test, which the model does not stack under a further mount/)]);
    expect(errs(reg('s', 'dev'), self)).toEqual([]);
    expect(errs(reg('d', 'dev2'), self)).toEqual([]);
  });
  it('observeInnerDaemon: a world file on that inner mount, and for fuse no overlayOverFuse file (overlayfs reads its lower layer through the same daemon)', () => {
    const errs = (world: object) => loadCaseFile(write('obs-inner.json', { ...minimal('obs-inner'), world })).errors.map(formatLoadError);
    expect(errs({ observeInnerDaemon: 'fuse', files: { i: { on: 'fuse' } } })).toEqual([]);
    expect(errs({ observeInnerDaemon: 'fuse', files: { d: { on: 'disk' } } })).toEqual([expect.stringMatching(/obs-inner\.json: \/world\/observeInnerDaemon: no world file is on fuse \(expected at least one file with "on": "fuse"\)/)]);
    expect(errs({ observeInnerDaemon: 'fuse', files: { i: { on: 'fuse' }, o: { on: 'overlayOverFuse' } } })).toEqual([expect.stringMatching(/\/world\/observeInnerDaemon: the fuse daemon also serves the overlayOverFuse files' lower layer/)]);
    expect(errs({ observeInnerDaemon: 'overlay', files: { i: { on: 'fuse' } } })).toEqual([expect.stringMatching(/\/world\/observeInnerDaemon: /)]);
  });
});
