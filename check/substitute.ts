// The placeholders of a checked daemon's command line.

/**
 * `{fd}` → `/dev/fd/<fdNumber>` (the relayed session, already mounted); `{src}` → `src`;
 * `{mnt}` → `mnt` (an empty directory for a daemon that mounts by itself).
 */
export function substitute(argv: readonly string[], fdNumber: number, src: string, mnt: string): string[] {
  return argv.map((a) => a.replaceAll('{fd}', `/dev/fd/${fdNumber}`).replaceAll('{src}', src).replaceAll('{mnt}', mnt));
}

/** Does the daemon get a mounted session ({fd}), or mount by itself (mount mode)? */
export function mountsByItself(argv: readonly string[]): boolean {
  return !argv.some((a) => a.includes('{fd}'));
}
