import { describe, expect, it } from 'vitest';
import { profileOf } from './kernel-target.ts';

describe('kernel target profile (kernel-spec §14)', () => {
  it('maps a release to the newest profile not newer than it', () => {
    expect(profileOf('6.18.44-fc-v669')).toBe('6.18');
    expect(profileOf('6.19.0')).toBe('6.18');
    expect(profileOf('6.12.117')).toBe('6.12');
    expect(profileOf('6.15.2')).toBe('6.12');
    expect(profileOf('6.9.0')).toBe('6.9');
    expect(profileOf('6.8.12')).toBe('6.1');
    expect(profileOf('5.15.0')).toBe('6.1');
  });
});
