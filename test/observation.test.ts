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
