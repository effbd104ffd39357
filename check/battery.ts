// The battery: client scenarios `fusepass check` plays on the daemon's mount, written as
// case-format client steps (spec/case.ts) over files fusepass puts in the daemon's source
// directory ({src}). Each looks at one thing daemon authors get wrong with passthrough.
import type { ClientStep } from '../spec/case.ts';
import type { Scenario } from './protocol.ts';

const PAGE = 4096;
/** 16 pages, each of one letter: a misplaced page shows in the summary ("c*4096" where "b" was due). */
const DATA = Array.from({ length: 16 }, (_, i) => String.fromCharCode(97 + i).repeat(PAGE)).join('');

export const SOURCE_FILES: Readonly<Record<string, string>> = {
  data: DATA,
  other: 'z'.repeat(PAGE),
};

export const WRITTEN_TEXT = 'written through fusepass check';

export const SCENARIOS: readonly Scenario[] = [
  {
    // First: with the first file held in passthrough mode, the second file's BACKING_OPEN is
    // the daemon's second (what `--inject backing-open#2=...` fails), and the reopen of the first
    // shows how the daemon handles that failure (IOM-2 when it falls back for the whole mount).
    id: 'second-file',
    title: 'a second file while the first is held, then the first again',
    steps: [
      { op: 'open', node: 'data', flags: ['O_RDONLY'], as: 'a' },
      { op: 'read', fd: 'a', length: PAGE },
      { op: 'open', node: 'other', flags: ['O_RDONLY'], as: 'b' },
      { op: 'read', fd: 'b', length: PAGE },
      { op: 'open', node: 'data', flags: ['O_RDONLY'], as: 'c' },
      { op: 'read', fd: 'c', length: PAGE, offset: 3 * PAGE },
      { op: 'close', fd: 'c' },
      { op: 'close', fd: 'b' },
      { op: 'close', fd: 'a' },
    ],
  },
  {
    id: 'read',
    title: 'open, read the whole file, compare with the source',
    steps: [
      { op: 'open', node: 'data', flags: ['O_RDONLY'], as: 'a' },
      { op: 'read', fd: 'a', length: DATA.length },
      { op: 'close', fd: 'a' },
    ],
  },
  {
    id: 'reopen-while-open',
    title: 'open the same file again while it is open',
    steps: [
      { op: 'open', node: 'data', flags: ['O_RDONLY'], as: 'a' },
      { op: 'read', fd: 'a', length: PAGE },
      { op: 'open', node: 'data', flags: ['O_RDONLY'], as: 'b' },
      { op: 'read', fd: 'b', length: PAGE, offset: PAGE },
      { op: 'close', fd: 'b' },
      { op: 'close', fd: 'a' },
    ],
  },
  {
    id: 'rdwr-while-open',
    title: 'open read-write while a read-only open is held',
    steps: [
      { op: 'open', node: 'data', flags: ['O_RDONLY'], as: 'a' },
      { op: 'open', node: 'data', flags: ['O_RDWR'], as: 'b' },
      { op: 'read', fd: 'b', length: PAGE, offset: 2 * PAGE },
      { op: 'close', fd: 'b' },
      { op: 'close', fd: 'a' },
    ],
  },
  {
    id: 'direct-read',
    title: 'O_DIRECT read',
    steps: [
      { op: 'open', node: 'data', flags: ['O_RDONLY', 'O_DIRECT'], as: 'a' },
      { op: 'read', fd: 'a', length: PAGE, offset: 4 * PAGE },
      { op: 'close', fd: 'a' },
    ],
  },
  {
    id: 'mmap-read',
    title: 'shared mmap, read through the mapping',
    steps: [
      { op: 'open', node: 'data', flags: ['O_RDONLY'], as: 'a' },
      { op: 'mmap', fd: 'a', shared: true, length: 2 * PAGE, as: 'm' },
      { op: 'mapRead', map: 'm', length: 2 * PAGE },
      { op: 'munmap', map: 'm' },
      { op: 'close', fd: 'a' },
    ],
  },
  {
    id: 'concurrent-opens',
    title: 'four opens of one file at once',
    steps: [
      ...['a', 'b', 'c', 'd'].map((as) => ({ op: 'open' as const, node: 'data', flags: ['O_RDONLY' as const], as })),
      ...['a', 'b', 'c', 'd'].map((fd, i) => ({ op: 'read' as const, fd, length: PAGE, offset: (5 + i) * PAGE })),
      ...['a', 'b', 'c', 'd'].map((fd) => ({ op: 'close' as const, fd })),
    ],
  },
  {
    id: 'create-write',
    title: 'create a file, write, read it back',
    steps: [
      { op: 'open', node: 'created', flags: ['O_CREAT', 'O_RDWR'], as: 'a' },
      { op: 'write', fd: 'a', data: WRITTEN_TEXT, offset: 0 },
      { op: 'read', fd: 'a', length: WRITTEN_TEXT.length, offset: 0 },
      { op: 'close', fd: 'a' },
    ],
  },
];

/** The ids, in battery order, for --scenarios and its error message. */
export const SCENARIO_IDS = SCENARIOS.map((s) => s.id);

/**
 * A daemon not told to serve {src} (an encrypting or remote one) gets the battery's files
 * written through its own mount: open O_CREAT|O_TRUNC, write, close, under the fd name `seed`.
 */
export function seedSteps(name: string, bytes: Uint8Array): ClientStep[] {
  return [
    { op: 'open', node: name, flags: ['O_CREAT', 'O_WRONLY', 'O_TRUNC'], as: 'seed' },
    { op: 'write', fd: 'seed', data: new TextDecoder().decode(bytes), offset: 0 },
    { op: 'close', fd: 'seed' },
  ];
}

export function seededNote(names: Iterable<string>): string {
  return `the battery's files (${[...names].join(', ')}) were written through the mount: the command line has no {src}`;
}
