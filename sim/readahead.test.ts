// Readahead on a cached FUSE file (sim/readahead.ts): which read sends a READ. Every expected
// index below is what the running 6.18 kernel did for the same steps on the kernel target (the
// probes of this module's session), not what the sim computed.
import { describe, expect, it } from 'vitest';
import { mounted } from './test-helpers.ts';

const PAGE = 4096;

/** A kernel whose daemon serves node `f` with `pages` pages, and `g` empty; `f` open as `f1`. */
function withFile(pages: number) {
  const k = mounted({ world: { nodes: { f: { content: 'x'.repeat(pages * PAGE) }, g: {} } } });
  expect(k.client.open('f', ['O_RDWR'], 'f1').errno).toBeNull();
  return k;
}

/** The 1-based numbers of the calls whose observation counted a READ. */
function readsAt(results: { allRequests?: readonly string[] }[]): number[] {
  return results.flatMap((r, i) => ((r.allRequests ?? []).includes('READ') ? [i + 1] : []));
}

describe('readahead windows and PG_readahead marks, as 6.18 reads a cached file', () => {
  it('4 KiB sequential reads of 64 pages: READs at the 1st, 2nd, 5th, 13th and 29th read (windows of 4, 8, 16, 32 pages)', () => {
    const k = withFile(64);
    const results = Array.from({ length: 40 }, () => k.client.read('f1', PAGE));
    expect(readsAt(results)).toEqual([1, 2, 5, 13, 29]);
  });

  it('64 KiB sequential reads of 1 MiB: a READ at the first three reads, then at every other one', () => {
    const k = withFile(256);
    const results = Array.from({ length: 16 }, () => k.client.read('f1', 16 * PAGE));
    expect(readsAt(results)).toEqual([1, 2, 3, 5, 7, 9, 11, 13]);
  });

  it('64 KiB steps through a shared mapping of 1 MiB: 8 READs (read-around, then the mark a quarter before its end)', () => {
    const k = withFile(256);
    expect(k.client.mmap('f1', { shared: true, length: 256 * PAGE }, 'm').errno).toBeNull();
    const results = Array.from({ length: 16 }, (_, i) => k.client.mapRead('m', 16 * PAGE, i * 16 * PAGE));
    expect(readsAt(results)).toEqual([1, 2, 3, 5, 7, 9, 11, 13]);
  });

  it('a read of nothing leaves f_ra.prev_pos: the next read of a far page is random and reads it alone', () => {
    const k = withFile(40);
    k.client.read('f1', 1, 0);
    k.client.read('f1', 0, 20 * PAGE);
    // page 21, then page 22: each its own READ (had the empty read moved prev_pos to page 20,
    // page 21 would have opened a window covering page 22).
    expect(readsAt([k.client.read('f1', PAGE, 21 * PAGE), k.client.read('f1', PAGE, 22 * PAGE)])).toEqual([1, 2]);
  });

  it('a splice into a pipe takes 16 folios: 65534 bytes at offset 2, and the mark falls on page 17, not 16', () => {
    const k = withFile(40);
    const s = k.client.spliceRead('f1', 16 * PAGE, 2);
    expect(s).toMatchObject({ errno: null, value: 'x*65534' });
    expect(readsAt([k.client.read('f1', PAGE, 16 * PAGE), k.client.read('f1', PAGE, 17 * PAGE), k.client.read('f1', PAGE, 18 * PAGE)])).toEqual([2]);
  });

  it("copy_file_range's splice fallback goes in pipe-sized rounds: 100000 bytes copied, a READ in the first round and one in the second", () => {
    const k = withFile(40);
    expect(k.client.open('g', ['O_RDWR'], 'g1').errno).toBeNull();
    const r = k.client.copyRange({ from: 'f1', to: 'g1', length: 100000 });
    expect(r.value).toBe(100000);
    expect((r.allRequests ?? []).filter((o) => o === 'READ')).toHaveLength(2);
    expect((r.allRequests ?? []).filter((o) => o === 'GETXATTR')).toHaveLength(3);
  });
});
