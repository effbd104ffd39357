// The kernel smoke set: at least one case per spec group, as Case objects whose expectations
// come from ../shared/kernel-spec.md (the ids in each step's `checks`). Played on the kernel in
// CI (kernel-smoke.test.ts) and compared with the sim where one exists.
import type { Case, Step } from '../spec/case.ts';
import type { World } from '../fixtures/world.ts';

const BOPEN_WRONG_SIZE = 0x4018e501; // _IOW(229,1,<24 bytes>): DEV-1

/** devOpen, mount (default INIT: passthrough, msd 1), open b1 read-only, register it as b1. */
function registered(init?: Step & { op: 'mount' }): Step[] {
  return [
    { op: 'devOpen', as: 'dev' },
    init ?? { op: 'mount', dev: 'dev' },
    { op: 'daemonOpen', file: 'b1', mode: 'rdonly', as: 'bf1', expect: { errno: null, events: ['b1:open'] } },
    { op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b1', checks: ['BOPEN-13', 'BID-2'], expect: { errno: null, value: 1 } },
  ];
}

const PT_WORLD: World = {
  files: { b1: { on: 'disk' } },
  nodes: { f1: { open: { flags: ['PASSTHROUGH'], backing: 'b1' } } },
};

function bopenOnly(id: string, title: string, files: World['files'], msd: number, expect: Step['expect'], checks: Step['checks']): Case {
  return {
    id,
    title,
    checks: checks ?? [],
    world: { files },
    steps: [
      { op: 'devOpen', as: 'dev' },
      { op: 'mount', dev: 'dev', init: { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: msd } },
      { op: 'daemonOpen', file: 'b1', mode: 'rdonly', as: 'bf1' },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b1', checks, expect },
    ],
  };
}

export const SMOKE_CASES: Case[] = [
  {
    id: 'smoke-init-offer-and-flags2-without-init-ext',
    title: 'INIT offers INIT_EXT and PASSTHROUGH at 7.45; flags2 without INIT_EXT leaves passthrough off',
    checks: ['INIT-1', 'INIT-2', 'INIT-6', 'INIT-10', 'BOPEN-4'],
    world: { files: { b1: { on: 'disk' } } },
    steps: [
      { op: 'devOpen', as: 'dev' },
      { op: 'mount', dev: 'dev', init: { flags: ['PASSTHROUGH'], maxStackDepth: 1 }, checks: ['INIT-1', 'INIT-2', 'INIT-10'], expect: { errno: null, value: '7.45 offers:INIT_EXT,PASSTHROUGH', requests: ['INIT'] } },
      { op: 'daemonOpen', file: 'b1', mode: 'rdonly', as: 'bf1' },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', checks: ['INIT-6', 'BOPEN-4'], expect: { errno: 'EPERM' } },
    ],
  },
  {
    id: 'smoke-init-writeback-disables-pt',
    title: 'WRITEBACK_CACHE with PASSTHROUGH: passthrough off',
    checks: ['INIT-9'],
    world: { files: { b1: { on: 'disk' } } },
    steps: [
      { op: 'devOpen', as: 'dev' },
      { op: 'mount', dev: 'dev', init: { flags: ['INIT_EXT', 'PASSTHROUGH', 'WRITEBACK_CACHE'], maxStackDepth: 1 } },
      { op: 'daemonOpen', file: 'b1', mode: 'rdonly', as: 'bf1' },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', checks: ['INIT-9'], expect: { errno: 'EPERM' } },
    ],
  },
  {
    id: 'smoke-dev-fd-states',
    title: '/dev/fuse fd states: fresh fd, wrong ioctl size, SYNC_INIT, clone',
    checks: ['DEV-1', 'DEV-3', 'DEV-4', 'DEV-9', 'DEV-10', 'DEV-11', 'BCLOSE-10'],
    world: { files: { b1: { on: 'disk' } } },
    steps: [
      { op: 'devOpen', as: 'dev' },
      { op: 'devRead', dev: 'dev', checks: ['DEV-3'], expect: { errno: 'EPERM' } },
      { op: 'backingOpen', dev: 'dev', fd: -1, nullArg: true, checks: ['DEV-4'], expect: { errno: 'EPERM' } },
      { op: 'devIoctl', dev: 'dev', cmd: BOPEN_WRONG_SIZE, checks: ['DEV-1'], expect: { errno: 'ENOTTY' } },
      { op: 'syncInit', dev: 'dev', checks: ['DEV-10'], expect: { errno: null } },
      { op: 'syncInit', dev: 'dev', checks: ['DEV-10'], expect: { errno: null } },
      { op: 'mount', dev: 'dev', checks: ['INIT-14'], expect: { errno: null, requests: ['INIT'] } },
      { op: 'syncInit', dev: 'dev', checks: ['DEV-11'], expect: { errno: 'EINVAL' } },
      { op: 'devClone', dev: 'dev', as: 'dev2', checks: ['DEV-9'], expect: { errno: null } },
      { op: 'daemonOpen', file: 'b1', mode: 'rdonly', as: 'bf1' },
      { op: 'backingOpen', dev: 'dev2', fd: 'bf1', as: 'b1', checks: ['DEV-9', 'BID-1'], expect: { errno: null, value: 1 } },
      { op: 'backingClose', dev: 'dev', id: 'b1', checks: ['BCLOSE-10'], expect: { errno: null } },
    ],
  },
  {
    id: 'smoke-bopen-checks',
    title: 'BACKING_OPEN checks in order: cap, flags, fd, file type',
    checks: ['BOPEN-5', 'BOPEN-6', 'BOPEN-7', 'BOPEN-8', 'BOPEN-9', 'BOPEN-14', 'BOPEN-15', 'BOPEN-16'],
    world: { files: { b1: { on: 'disk' }, d1: { on: 'disk', type: 'dir' }, p1: { on: 'tmpfs', type: 'fifo' } } },
    steps: [
      { op: 'devOpen', as: 'dev' },
      { op: 'mount', dev: 'dev' },
      { op: 'daemonOpen', file: 'b1', mode: 'rdonly', as: 'bf1' },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', cred: 'noCapSysAdmin', checks: ['BOPEN-5'], expect: { errno: 'EPERM' } },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', cred: 'noCapSysAdmin', flags: 1, checks: ['BOPEN-14'], expect: { errno: 'EPERM' } },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', flags: 1, checks: ['BOPEN-6'], expect: { errno: 'EINVAL' } },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', padding: 1, checks: ['BOPEN-6'], expect: { errno: 'EINVAL' } },
      { op: 'backingOpen', dev: 'dev', fd: -1, flags: 1, checks: ['BOPEN-15'], expect: { errno: 'EINVAL' } },
      { op: 'backingOpen', dev: 'dev', fd: -1, checks: ['BOPEN-7'], expect: { errno: 'EBADF' } },
      { op: 'daemonOpen', file: 'd1', mode: 'rdonly', as: 'dfd' },
      { op: 'backingOpen', dev: 'dev', fd: 'dfd', checks: ['BOPEN-8'], expect: { errno: 'EISDIR' } },
      { op: 'daemonOpen', file: 'p1', mode: 'path', as: 'pfd' },
      { op: 'backingOpen', dev: 'dev', fd: 'pfd', checks: ['BOPEN-9'], expect: { errno: 'EINVAL' } },
      { op: 'daemonOpen', file: 'devfuse:dev', mode: 'rdwr', as: 'self' },
      { op: 'backingOpen', dev: 'dev', fd: 'self', checks: ['BOPEN-9'], expect: { errno: 'EINVAL' } },
      { op: 'daemonOpen', file: 'b1', mode: 'path', as: 'opath' },
      { op: 'backingOpen', dev: 'dev', fd: 'opath', checks: ['BOPEN-16', 'BID-7'], expect: { errno: null, value: 1 } },
    ],
  },
  {
    id: 'smoke-bopen-userns',
    title: 'root of a new user namespace has no CAP_SYS_ADMIN in the initial one',
    checks: ['BOPEN-5'],
    world: { files: { b1: { on: 'disk' } } },
    steps: [
      { op: 'devOpen', as: 'dev' },
      { op: 'mount', dev: 'dev' },
      { op: 'daemonOpen', file: 'b1', mode: 'rdonly', as: 'bf1' },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', cred: 'userns', checks: ['BOPEN-5'], expect: { errno: 'EPERM' } },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', cred: 'root', as: 'b1', expect: { errno: null, value: 1 } },
      { op: 'backingClose', dev: 'dev', id: 'b1', cred: 'userns', checks: ['BCLOSE-5'], expect: { errno: 'EPERM' } },
    ],
  },
  {
    id: 'smoke-daemon-in-userns',
    title: 'a daemon that mounted in a user namespace cannot register; an initial-namespace helper on its fd can',
    checks: ['BOPEN-5', 'BOPEN-13', 'OPEN-14', 'IO-1', 'LIFE-24'],
    world: { daemonInUserns: true, ...PT_WORLD },
    steps: [
      { op: 'devOpen', as: 'dev' },
      { op: 'mount', dev: 'dev', expect: { errno: null, value: '7.45 offers:INIT_EXT,PASSTHROUGH' } },
      { op: 'daemonOpen', file: 'b1', mode: 'rdonly', as: 'bf1' },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', checks: ['BOPEN-5'], expect: { errno: 'EPERM' } },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', cred: 'root', as: 'b1', checks: ['BOPEN-13'], expect: { errno: null, value: 1 } },
      { op: 'daemonClose', fd: 'bf1', checks: ['LIFE-9'], expect: { events: [] } },
      { op: 'open', node: 'f1', as: 'f', checks: ['OPEN-14'], expect: { errno: null, requests: ['OPEN'], events: ['b1:open'] } },
      { op: 'read', fd: 'f', length: 100, checks: ['IO-1'], expect: { errno: null, value: 'B*100', requests: [] } },
      { op: 'close', fd: 'f', expect: { errno: null, requests: ['FLUSH', 'RELEASE'], events: ['b1:close_nowrite'] } },
      { op: 'umount', checks: ['LIFE-24'], expect: { errno: null, events: [] } },
      { op: 'devClose', dev: 'dev', checks: ['LIFE-24'], expect: { errno: null, events: ['b1:close_nowrite'] } },
    ],
  },
  {
    id: 'smoke-bid-cyclic',
    title: 'ids count up from 1 and are not reused before wrap; same file twice gets two ids',
    checks: ['BID-2', 'BID-3', 'BID-4', 'BID-8'],
    world: { files: { b1: { on: 'disk' } } },
    steps: [
      ...registered(),
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b2', checks: ['BID-8'], expect: { errno: null, value: 2 } },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b3', expect: { errno: null, value: 3 } },
      { op: 'backingClose', dev: 'dev', id: 'b2', expect: { errno: null } },
      { op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b4', checks: ['BID-4'], expect: { errno: null, value: 4 } },
    ],
  },
  {
    id: 'smoke-bclose-checks',
    title: 'BACKING_CLOSE: id <= 0 EINVAL, unknown ENOENT, live 0, double close ENOENT',
    checks: ['BCLOSE-6', 'BCLOSE-7', 'BCLOSE-8', 'LIFE-11'],
    world: { files: { b1: { on: 'disk' } } },
    steps: [
      ...registered(),
      { op: 'daemonClose', fd: 'bf1', checks: ['LIFE-9'], expect: { events: [] } },
      { op: 'backingClose', dev: 'dev', id: 0, checks: ['BCLOSE-6'], expect: { errno: 'EINVAL' } },
      { op: 'backingClose', dev: 'dev', id: -1, checks: ['BCLOSE-6'], expect: { errno: 'EINVAL' } },
      { op: 'backingClose', dev: 'dev', id: 999, checks: ['BCLOSE-7'], expect: { errno: 'ENOENT' } },
      { op: 'backingClose', dev: 'dev', id: 'b1', checks: ['BCLOSE-8', 'LIFE-11'], expect: { errno: null, events: ['b1:close_nowrite'] } },
      { op: 'backingClose', dev: 'dev', id: 'b1', checks: ['BCLOSE-7'], expect: { errno: 'ENOENT' } },
    ],
  },
  {
    id: 'smoke-open-reply-validation',
    title: 'bad PT open replies give EIO after OPEN then a synchronous RELEASE',
    checks: ['OPEN-3', 'OPEN-6', 'OPEN-9', 'OPEN-11', 'OPEN-12', 'OPEN-10'],
    world: {
      files: { b1: { on: 'disk' } },
      nodes: {
        keep: { open: { flags: ['PASSTHROUGH', 'KEEP_CACHE'], backing: 'b1' } },
        zero: { open: { flags: ['PASSTHROUGH'], backing: 0 } },
        unknown: { open: { flags: ['PASSTHROUGH'], backing: 999 } },
        denied: { open: { error: 'EPERM' } },
        bit8: { open: { extraBits: 0x100 } },
      },
    },
    steps: [
      ...registered(),
      { op: 'open', node: 'keep', as: 'a', checks: ['OPEN-9', 'OPEN-6'], expect: { errno: 'EIO', requests: ['OPEN', 'RELEASE'] } },
      { op: 'open', node: 'zero', as: 'b', checks: ['OPEN-11'], expect: { errno: 'EIO', requests: ['OPEN', 'RELEASE'] } },
      { op: 'open', node: 'unknown', as: 'c', checks: ['OPEN-12'], expect: { errno: 'EIO', requests: ['OPEN', 'RELEASE'] } },
      { op: 'open', node: 'denied', as: 'd', checks: ['OPEN-3'], expect: { errno: 'EPERM', requests: ['OPEN'] } },
      { op: 'open', node: 'bit8', as: 'e', checks: ['OPEN-10'], expect: { errno: null, requests: ['OPEN'] } },
      { op: 'read', fd: 'e', length: 4096, checks: ['OPEN-10'], expect: { errno: null, value: 'D*4096', requests: ['READ'] } },
    ],
  },
  {
    id: 'smoke-iomode-conflicts',
    title: 'a cached open blocks a PT open (EIO); a PT-bound inode refuses a cached open (EIO)',
    checks: ['IOM-8', 'IOM-2', 'IOM-23', 'PTF-10'],
    world: { files: { b1: { on: 'disk' } }, nodes: { f1: {} } },
    steps: [
      ...registered(),
      { op: 'open', node: 'f1', as: 'cached', expect: { errno: null } },
      { op: 'setOpenReply', node: 'f1', reply: { flags: ['PASSTHROUGH'], backing: 'b1' } },
      { op: 'open', node: 'f1', as: 'pt', checks: ['IOM-8', 'PTF-10'], expect: { errno: 'EIO', requests: ['OPEN', 'RELEASE'], events: ['b1:open', 'b1:close_nowrite'] } },
      { op: 'close', fd: 'cached', expect: { errno: null, requests: ['FLUSH', 'RELEASE'] } },
      { op: 'open', node: 'f1', as: 'pt2', checks: ['IOM-23', 'IOM-9'], expect: { errno: null, events: ['b1:open'] } },
      { op: 'setOpenReply', node: 'f1', reply: {} },
      { op: 'open', node: 'f1', as: 'cached2', checks: ['IOM-2'], expect: { errno: 'EIO', requests: ['OPEN', 'RELEASE'] } },
    ],
  },
  {
    id: 'smoke-ptf-readonly-bind',
    title: 'a write PT open of a file on a read-only mount fails; read-only succeeds',
    checks: ['PTF-5', 'PTF-9'],
    world: { files: { b1: { on: 'roBind' } }, nodes: { f1: { open: { flags: ['PASSTHROUGH'], backing: 'b1' } } } },
    steps: [
      ...registered(),
      { op: 'open', node: 'f1', flags: ['O_RDWR'], as: 'w', checks: ['PTF-5'], expect: { errno: 'EIO', requests: ['OPEN', 'RELEASE'] } },
      { op: 'open', node: 'f1', as: 'r', checks: ['PTF-9'], expect: { errno: null, requests: ['OPEN'], events: ['b1:open'] } },
      { op: 'read', fd: 'r', length: 100, expect: { errno: null, value: 'B*100', requests: [] } },
    ],
  },
  {
    id: 'smoke-io-data-path',
    title: 'PT read and write go to the backing file; DIRECT_IO goes to the daemon; fsync, SEEK_END, NOFLUSH',
    checks: ['IO-1', 'IO-3', 'IO-4', 'IO-13', 'IO-14', 'IO-18', 'IO-26'],
    world: {
      files: { b1: { on: 'disk' } },
      nodes: {
        f1: { open: { flags: ['PASSTHROUGH'], backing: 'b1' } },
        dio: { open: { flags: ['PASSTHROUGH', 'DIRECT_IO'], backing: 'b1' } },
        nf: { open: { flags: ['PASSTHROUGH', 'NOFLUSH'], backing: 'b1' } },
      },
    },
    steps: [
      ...registered(),
      { op: 'open', node: 'f1', flags: ['O_RDWR'], as: 'f', expect: { errno: null, requests: ['OPEN'], events: ['b1:open'] } },
      { op: 'read', fd: 'f', length: 8192, checks: ['IO-1'], expect: { errno: null, value: 'B*4096', requests: [] } },
      { op: 'stat', fd: 'f', checks: ['IO-26', 'IO-16'], expect: { errno: null, value: 4096, requests: ['GETATTR'] } },
      { op: 'write', fd: 'f', data: 'XY', offset: 0, checks: ['IO-4'], expect: { errno: null, value: 2 } },
      { op: 'inspectBacking', file: 'b1', length: 4, expect: { value: 'X*1+Y*1+B*2' } },
      { op: 'fsync', fd: 'f', checks: ['IO-13'], expect: { errno: null, requests: ['FSYNC'] } },
      { op: 'lseek', fd: 'f', whence: 'END', offset: 0, checks: ['IO-18'], expect: { errno: null, value: 4096 } },
      { op: 'close', fd: 'f', checks: ['IO-14', 'LIFE-10'], expect: { errno: null, requests: ['FLUSH', 'RELEASE'], events: ['b1:close_write'] } },
      { op: 'open', node: 'dio', as: 'd', expect: { errno: null } },
      { op: 'read', fd: 'd', length: 4096, checks: ['IO-3'], expect: { errno: null, value: 'D*4096', requests: ['READ'] } },
      { op: 'close', fd: 'd', expect: { errno: null, requests: ['FLUSH', 'RELEASE'] } },
      { op: 'open', node: 'nf', as: 'n', expect: { errno: null } },
      { op: 'close', fd: 'n', checks: ['IO-14'], expect: { errno: null, requests: ['RELEASE'] } },
    ],
  },
  {
    id: 'smoke-life-close-after-backing-close',
    title: 'BACKING_CLOSE while a PT file is open releases nothing until the last close',
    checks: ['LIFE-12', 'LIFE-13', 'BCLOSE-9', 'BCLOSE-11'],
    world: PT_WORLD,
    steps: [
      ...registered(),
      { op: 'daemonClose', fd: 'bf1', checks: ['LIFE-9'], expect: { events: [] } },
      { op: 'open', node: 'f1', as: 'f', expect: { errno: null, events: ['b1:open'] } },
      { op: 'backingClose', dev: 'dev', id: 'b1', checks: ['BCLOSE-9', 'LIFE-12'], expect: { errno: null, events: [] } },
      { op: 'read', fd: 'f', length: 10, checks: ['BCLOSE-11'], expect: { errno: null, value: 'B*10' } },
      { op: 'close', fd: 'f', checks: ['LIFE-13', 'OBS-8'], expect: { errno: null, events: ['b1:close_nowrite'] } },
    ],
  },
  {
    id: 'smoke-life-abort',
    title: 'after an abort open PT files keep working; fstat and new opens get ENOTCONN',
    checks: ['LIFE-19', 'LIFE-20'],
    world: PT_WORLD,
    steps: [
      ...registered(),
      { op: 'open', node: 'f1', as: 'f', expect: { errno: null } },
      { op: 'abort', expect: { errno: null } },
      { op: 'read', fd: 'f', length: 10, offset: 0, checks: ['LIFE-19'], expect: { errno: null, value: 'B*10' } },
      { op: 'stat', fd: 'f', checks: ['LIFE-20'], expect: { errno: 'ENOTCONN' } },
      { op: 'open', node: 'f1', as: 'g', checks: ['LIFE-20'], expect: { errno: 'ENOTCONN' } },
    ],
  },
  {
    id: 'smoke-life-lazy-umount-pt-reads-continue',
    title: 'a lazy umount with the daemon alive: PT reads continue; the last close kills the superblock',
    checks: ['LIFE-22'],
    world: PT_WORLD,
    steps: [
      ...registered(),
      { op: 'open', node: 'f1', as: 'f', expect: { errno: null, events: ['b1:open'] } },
      { op: 'umount', lazy: true, checks: ['LIFE-22'], expect: { errno: null, events: [] } },
      { op: 'read', fd: 'f', length: 10, offset: 0, checks: ['LIFE-22'], expect: { errno: null, value: 'B*10', requests: [] } },
      // The asynchronous RELEASE races with the connection abort of the dying superblock; the
      // kernel target makes the abort win (the usual outcome), so the daemon sees FLUSH only.
      { op: 'close', fd: 'f', expect: { errno: null, requests: ['FLUSH'], events: ['b1:close_nowrite'] } },
    ],
  },
  {
    id: 'smoke-life-umount-then-devclose',
    title: 'umount with the /dev/fuse fd open releases nothing; closing the fd releases the registered file',
    checks: ['LIFE-24', 'LIFE-23'],
    world: { files: { b1: { on: 'disk' } } },
    steps: [
      ...registered(),
      { op: 'daemonClose', fd: 'bf1' },
      { op: 'umount', checks: ['LIFE-24'], expect: { errno: null, events: [] } },
      { op: 'devClose', dev: 'dev', checks: ['LIFE-24', 'LIFE-23'], expect: { errno: null, events: ['b1:close_nowrite'] } },
    ],
  },
  bopenOnly('smoke-stack-tmpfs-msd1', 'tmpfs backing file with msd 1 is accepted', { b1: { on: 'tmpfs' } }, 1, { errno: null, value: 1 }, ['STACK-3']),
  bopenOnly('smoke-stack-overlay-msd1', 'overlayfs backing file with msd 1: ELOOP', { b1: { on: 'overlay' } }, 1, { errno: 'ELOOP' }, ['STACK-4', 'BOPEN-10']),
  bopenOnly('smoke-stack-overlay-msd2', 'overlayfs backing file with msd 2 is accepted', { b1: { on: 'overlay' } }, 2, { errno: null, value: 1 }, ['STACK-5']),
  bopenOnly('smoke-stack-self', 'a file on the same FUSE mount: ELOOP', { b1: { on: 'self' } }, 2, { errno: 'ELOOP' }, ['STACK-6']),
  bopenOnly('smoke-stack-inner-fuse', 'a file on an inner FUSE without passthrough is accepted', { b1: { on: 'fuse' } }, 1, { errno: null, value: 1 }, ['STACK-8']),
  bopenOnly('smoke-stack-inner-pt1-msd1', 'inner PT msd 1 under outer msd 1: ELOOP', { b1: { on: 'fusePt1' } }, 1, { errno: 'ELOOP' }, ['STACK-9']),
  bopenOnly('smoke-stack-inner-pt1-msd2', 'inner PT msd 1 under outer msd 2 is accepted', { b1: { on: 'fusePt1' } }, 2, { errno: null, value: 1 }, ['STACK-10']),
  bopenOnly('smoke-stack-inner-pt2', 'inner PT msd 2: ELOOP', { b1: { on: 'fusePt2' } }, 2, { errno: 'ELOOP' }, ['STACK-11']),
  bopenOnly('smoke-stack-overlay-over-fuse', 'overlayfs over a non-PT FUSE mounts (depth 1) and is accepted with msd 2', { b1: { on: 'overlayOverFuse' } }, 2, { errno: null, value: 1 }, ['STACK-7']),
];
