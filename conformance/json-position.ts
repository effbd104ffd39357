// Where a JSON text first goes wrong. Node 20's JSON.parse messages sometimes carry no position
// ("Unexpected token ']', ..."x" is not valid JSON"), so a small strict scanner finds it.

/** Offset of the first syntax error in `text`, or -1 when it is valid JSON. */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = () => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const number = () => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  const scalar = () => {
    const c = text[i];
    if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else number();
  };
  const key = () => {
    ws();
    string();
    ws();
    if (text[i] !== ':') fail();
    i++;
  };
  // Iterative, with the open containers on an explicit stack: a file of 100k "[" must give its
  // position, not overflow the call stack.
  const open: ('{' | '[')[] = [];
  const value = (): void => {
    let wantValue = true;
    for (;;) {
      if (wantValue) {
        ws();
        const c = text[i];
        if (c === '{' || c === '[') {
          i++;
          ws();
          if (text[i] === (c === '{' ? '}' : ']')) i++;
          else {
            open.push(c);
            if (c === '{') key();
            continue;
          }
        } else scalar();
        wantValue = false;
      }
      const top = open[open.length - 1];
      if (top === undefined) return;
      ws();
      if (text[i] === ',') {
        i++;
        if (top === '{') key();
        wantValue = true;
      } else if (text[i] === (top === '{' ? '}' : ']')) {
        i++;
        open.pop();
      } else fail();
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return -1;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

/** Where a text JSON.parse rejected goes wrong, to follow "malformed JSON": `at line L, column C: unexpected "..."`. */
export function jsonProblem(text: string): string {
  if (text.trim() === '') return 'in an empty file';
  const at = jsonErrorOffset(text);
  if (at < 0) return 'cannot parse';
  const { line, column } = lineColumn(text, at);
  const near = at >= text.length ? 'end of file' : JSON.stringify(text.slice(at, at + 12).split('\n')[0]);
  return `at line ${line}, column ${column}: unexpected ${near}`;
}
