// The model's invariants, as plain checks any driver can run after a step or after teardown
// (sim/properties.test.ts states them as properties; the fuzzer checks them on generated
// cases). Each returns human-readable violations; an empty list means the invariant holds.
import type { Kernel, SimResult } from './kernel.ts';

/**
 * After any step:
 * - the model recorded no internal bug (double release, negative count, WARN_ON) (LIFE-*)
 * - every registered fuse_backing holds at least the idr's reference (LIFE-3, BCLOSE-8)
 * - no struct file has a negative f_count
 * - IOM-21: an inode bound to a backing file is in passthrough mode (iocachectr < 0)
 * - a step the harness could play never faults on the sim (a fault means the case is malformed)
 * - every errno is explained: by a check id, or by a VFS function plus advice (OBS-11)
 */
export function stepInvariantViolations(k: Kernel, r: SimResult): string[] {
  const out: string[] = [];
  // The state itself, not k.hidden(): this runs after every fuzzed step, and the snapshot's
  // copies were a visible share of the fuzzer's time.
  const s = k.state;
  for (const b of s.vfs.bugs) out.push(`model bug: ${b}`);
  for (const f of s.vfs.allFiles) if (f.count < 0) out.push(`struct file #${f.serial} has f_count ${f.count}`);
  connectionViolations(s, '', out);
  // Each further mount's connection and inodes too (MountStep.as); the VFS is the machine's.
  if (k.mounts.size > 0) for (const [mount, st] of k.mounts) connectionViolations(st, ` on mount ${mount}`, out);
  if (r.fault !== undefined) out.push(`fault ${r.fault.kind}: ${r.fault.message}`);
  if (r.errno !== null) {
    const e = r.explain;
    const explained = e.checks.length > 0 || ((e.functions ?? []).length > 0 && e.advice !== undefined);
    if (!explained) out.push(`${r.errno} without an explanation (no check id, no function with advice)`);
  }
  return out;
}

/** A connection's registrations hold their reference; its bound inodes are in passthrough mode. */
function connectionViolations(s: Kernel['state'], where: string, out: string[]): void {
  const fc = s.conn;
  if (fc !== null && !fc.freed) for (const b of fc.idr.values()) if (b.count < 1) out.push(`fuse_backing ${b.id}${where} registered with count ${b.count} (< 1)`);
  for (const [name, fi] of s.fuseInodes) {
    if (name !== '' && fi.fb !== null && fi.iocachectr >= 0) out.push(`IOM-21: inode ${name}${where} bound to backing ${fi.fb.id} with iocachectr ${fi.iocachectr} (expected < 0)`);
  }
}

/** After teardown (LIFE-23): every file the kernel took is released exactly once, no bug recorded. */
export function teardownInvariantViolations(k: Kernel): string[] {
  const out: string[] = [];
  // The bugs themselves, not k.hidden().bugs: hidden() builds the whole hidden state for them.
  for (const b of k.state.vfs.bugs) out.push(`model bug: ${b}`);
  for (const f of k.state.vfs.allFiles) {
    if (f.count !== 0) out.push(`LIFE-23: struct file #${f.serial} (${f.role}) still has f_count ${f.count} after teardown`);
    if (f.releases !== 1) out.push(`LIFE-23: struct file #${f.serial} (${f.role}) released ${f.releases} times after teardown (expected 1)`);
  }
  return out;
}

/**
 * BID-4: ids are unique per connection while the cursor has not wrapped. Feed it every
 * successful BACKING_OPEN value, in order; it returns a violation for a repeat.
 */
export class IdUniqueness {
  private readonly seen = new Set<number>();

  record(id: number): string | null {
    if (this.seen.has(id)) return `BID-4: id ${id} handed out twice on one connection`;
    this.seen.add(id);
    return null;
  }
}
