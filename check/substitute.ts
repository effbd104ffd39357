// The placeholders of a checked daemon's command line.

/** `{fd}` → `/dev/fd/<fdNumber>` (the relayed session, already mounted); `{src}` → `src`. */
export function substitute(argv: readonly string[], fdNumber: number, src: string): string[] {
  return argv.map((a) => a.replaceAll('{fd}', `/dev/fd/${fdNumber}`).replaceAll('{src}', src));
}
