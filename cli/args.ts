// What a command prints when node:util parseArgs rejects its arguments: one short line.
// parseArgs' own message for an unknown option goes on about positionals starting with '-'
// ("To specify a positional argument ..."), which is noise for a mistyped option.

/** The one-line reason parseArgs threw, e.g. `unknown option --frob`. */
export function argsErrorText(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /^Unknown option '([^']+)'/.exec(message)?.[1];
    if (option !== undefined) return `unknown option ${option}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /^Option '([^' ]+)[^']*' argument is ambiguous/.exec(message)?.[1];
    if (option !== undefined) return `${option} needs a value; for one starting with "-" write ${option}=-N (e.g. ${option}=-1)`;
  }
  // The callers add their own '. See ... --help.'
  return (message.split('\n')[0] ?? 'bad arguments').replace(/\.$/, '');
}
