// README.md must tell the truth: its worked example is examples/why-eio.ts verbatim, and the
// JSON it shows is what that example really returns.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { result } from '../examples/why-eio.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../examples/why-eio.ts', import.meta.url), 'utf8');

describe('README.md worked example (OPEN-9, OPEN-6, OBS-11)', () => {
  it('shows examples/why-eio.ts verbatim', () => {
    expect(readme).toContain('```ts\n' + example + '```');
  });

  it('shows the observation the example really returns', () => {
    const after = readme.slice(readme.indexOf(example) + example.length);
    const json = /```json\n([\s\S]*?)```/.exec(after);
    expect(json, 'a ```json block after the example').not.toBeNull();
    expect(JSON.parse(json![1]!)).toEqual(JSON.parse(JSON.stringify(result)));
  });
});
