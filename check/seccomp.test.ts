// The seccomp filter, run through a classic-BPF interpreter: which syscalls reach fusepass.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FUSE_DEV_IOC } from '../spec/uapi.ts';
import { AUDIT_ARCH_X86_64, filterProgram, NR, runFilter, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_USER_NOTIF, SESSION_READS } from './seccomp.ts';

const SESSION = 4;
const prog = filterProgram(SESSION);
const run = (nr: number, ...args: number[]) => runFilter(prog, { nr, arch: AUDIT_ARCH_X86_64, args });
const ENOSYS = 38;

describe('seccomp filter (check/seccomp.ts)', () => {
  it('hands every /dev/fuse ioctl on any fd to fusepass (the relay decides whose session it is)', () => {
    for (const cmd of Object.values(FUSE_DEV_IOC)) expect(run(NR.ioctl, 9, cmd)).toBe(SECCOMP_RET_USER_NOTIF);
  });

  it('hands mount(2) to fusepass; fsopen and io_uring_setup fail with ENOSYS', () => {
    expect(run(NR.mount)).toBe(SECCOMP_RET_USER_NOTIF);
    expect(run(NR.fsopen)).toBe((SECCOMP_RET_ERRNO | ENOSYS) >>> 0);
    expect(run(NR.io_uring_setup)).toBe((SECCOMP_RET_ERRNO | ENOSYS) >>> 0);
  });

  it('traps reads of the session fd only, for every read-like syscall', () => {
    for (const nr of SESSION_READS) {
      expect(run(nr, SESSION)).toBe(SECCOMP_RET_USER_NOTIF);
      expect(run(nr, SESSION + 1)).toBe(SECCOMP_RET_ALLOW);
    }
  });

  // Invariant: any other syscall, and any ioctl whose command is not a /dev/fuse one, runs
  // untouched, whatever its arguments; and a non-x86-64 ABI is never trapped.
  it('lets everything else run', () => {
    const trapped = new Set<number>([NR.ioctl, NR.mount, NR.fsopen, NR.io_uring_setup, ...SESSION_READS]);
    const fuseCmds = new Set(Object.values(FUSE_DEV_IOC).map((c) => c >>> 0));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 460 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 6, maxLength: 6 }), (nr, args) => {
        if (nr === NR.ioctl) return fuseCmds.has(args[1]! >>> 0) || run(nr, ...args) === SECCOMP_RET_ALLOW;
        if (trapped.has(nr)) return true;
        return run(nr, ...args) === SECCOMP_RET_ALLOW;
      }),
    );
    expect(runFilter(prog, { nr: NR.mount, arch: 0x40000003 /* i386 */, args: [] })).toBe(SECCOMP_RET_ALLOW);
  });
});
