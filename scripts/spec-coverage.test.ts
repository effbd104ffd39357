import { describe, expect, it } from 'vitest';
import { idsInTestTitles } from './spec-coverage.ts';

// The sources below are assembled at run time so that this file's own text does not contain
// test titles naming ids (the coverage script reads every *.test.ts, this one included).
const call = (fn: string, quote: string, title: string) => `${fn}(${quote}${title}${quote}, () => {});`;
const id = (prefix: string, n: number) => `${prefix}-${n}`;

describe('spec coverage: ids named by tests', () => {
  it('counts ids in it/test/describe titles, including modifiers like it.skipIf(...)', () => {
    const src = [
      call('it', "'", `${id('BOPEN', 5)}: no CAP_SYS_ADMIN gives EPERM`),
      call('test.each([1])', '"', `${id('IO', 3)} and ${id('IO', 4)}: no READ`),
      call('describe', '`', `${id('LIFE', 23)} teardown`),
      call('it.skipIf(x)', "'", `${id('DEV', 5)}: sleeps`),
    ].join('\n');
    expect([...idsInTestTitles(src)].sort()).toEqual([id('BOPEN', 5), id('DEV', 5), id('IO', 3), id('IO', 4), id('LIFE', 23)]);
  });

  it('ignores ids outside titles and ids the spec does not have', () => {
    const src = `${call('it', "'", 'reads')}\nexpect(x).toEqual(['${id('BOPEN', 7)}']);\n${call('it', "'", `${id('NOPE', 3)} is not an id`)}`;
    expect([...idsInTestTitles(src)]).toEqual([]);
  });

  it('does not read the id OPEN-n inside BOPEN-n', () => {
    expect([...idsInTestTitles(call('it', "'", `${id('BOPEN', 1)}: no fuse_dev`))]).toEqual([id('BOPEN', 1)]);
  });
});
