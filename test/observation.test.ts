import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEvents, canonicalRequests, summarizeBytes } from '../spec/observation.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('canonical observations', () => {
  it('summarises bytes as runs, escaping the run syntax and unprintable bytes', () => {
    expect(summarizeBytes(bytes(''))).toBe('');
    expect(summarizeBytes(bytes('BBBB'))).toBe('B*4');
    expect(summarizeBytes(bytes('XXDBB'))).toBe('X*2+D*1+B*2');
    expect(summarizeBytes(new Uint8Array([0, 0, 0x2a, 0x2b]))).toBe('\\x00*2+\\x2a*1+\\x2b*1');
  });

  it('property: the word-at-a-time run scan says what a byte-by-byte scan says, for any bytes at any alignment', () => {
    const slow = (b: Uint8Array) => {
      const runs: string[] = [];
      for (let i = 0; i < b.length; ) {
        let j = i;
        while (j < b.length && b[j] === b[i]) j++;
        const x = b[i]!;
        runs.push(`${x >= 0x21 && x <= 0x7e && x !== 0x2a && x !== 0x2b ? String.fromCharCode(x) : `\\x${x.toString(16).padStart(2, '0')}`}*${j - i}`);
        i = j;
      }
      return runs.join('+');
    };
    // Long runs of few values, so the 4- and 8-byte comparisons meet run ends at every offset;
    // 0x7f and 0xff make NaN doubles, 0x80 next to zeros the bits of -0.
    const runs = fc.array(fc.tuple(fc.constantFrom(0, 0x41, 0x42, 0xff, 0x7f, 0x80), fc.integer({ min: 1, max: 40 })), { maxLength: 40 });
    fc.assert(
      fc.property(runs, fc.integer({ min: 0, max: 7 }), (rs, skew) => {
        const flat = rs.flatMap(([v, n]) => Array<number>(n).fill(v));
        const buf = new Uint8Array(flat.length + skew);
        buf.set(flat, skew);
        const view = buf.subarray(skew);
        expect(summarizeBytes(view)).toBe(slow(view));
      }),
    );
  });

  it('drops dcache noise from requests and collapses repeats, keeping order', () => {
    expect(canonicalRequests(['LOOKUP', 'OPEN', 'READ', 'READ', 'FORGET', 'READ', 'FLUSH', 'RELEASE'])).toEqual([
      'OPEN',
      'READ',
      'FLUSH',
      'RELEASE',
    ]);
  });

  it('collapses identical consecutive events only (OBS-8)', () => {
    expect(canonicalEvents(['b:close_write', 'b:close_write', 'b:open', 'b:close_write'])).toEqual([
      'b:close_write',
      'b:open',
      'b:close_write',
    ]);
  });
});
