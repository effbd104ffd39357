// --profile: the relay shows the daemon another kernel where that kernel differs in what it
// offers and answers: the INIT offer (fuse_send_init: the profile's minor and flags, INIT-1/2),
// the backing ioctls of a kernel without CONFIG_FUSE_PASSTHROUGH (EOPNOTSUPP, BOPEN-2/BCLOSE-2),
// 6.9's fget that refuses O_PATH fds (EBADF, BOPEN-16) and FUSE_DEV_IOC_SYNC_INIT before 6.18
// (ENOTTY, DEV-12). What the running kernel does after that (io modes, writeback with
// passthrough on 6.9, non-regular backing files before 6.17) stays the running kernel's: the
// report says so.
import { fuseInitOffer, getProfile, type Profile } from '../sim/index.ts';
import type { ProfileName } from '../spec/case.ts';
import { INIT_FLAG_BITS } from '../spec/uapi.ts';

/** What the relay changes in the kernel's INIT request: the minor and the offered flags. */
export interface InitOfferRewrite {
  minor: number;
  /** Flags (64-bit word) the emulated kernel offers; others are removed from the real offer. */
  mask: bigint;
}

export function initOfferRewrite(profile: Profile): InitOfferRewrite {
  let mask = 0n;
  for (const f of fuseInitOffer(profile)) mask |= 1n << BigInt(INIT_FLAG_BITS[f]);
  return { minor: profile.protoMinor, mask };
}

/** One line for the report: what is emulated, and what is still the running kernel's. */
export function emulationNote(name: ProfileName, release: string): string {
  const p = getProfile(name);
  const answers = [
    `INIT offer 7.${p.protoMinor}`,
    ...(p.passthroughConfigured ? [] : p.backingIoctls ? ['backing ioctls EOPNOTSUPP (BOPEN-2, BCLOSE-2)'] : ['backing ioctls ENOTTY (DEV-1: no such ioctl before 6.9)']),
    ...(p.fgetRaw ? [] : ['EBADF for an O_PATH backing fd (BOPEN-16)']),
    ...(p.syncInit ? [] : ['SYNC_INIT ENOTTY (DEV-12)']),
  ];
  return `${name}: the relay answers as that kernel: ${answers.join(', ')}; everything else is the running kernel's (${release})`;
}
