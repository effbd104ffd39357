// The observe intent of a fuzz program (generate.ts) resolved against the Builder's live names:
// each observable gets the fd, mapping, /dev/fuse fd or world file it reads (split from play.ts).
import type { Step } from '../../spec/case.ts';
import { LSOF_WORLD_FS, WORLD_HELD_FS } from '../validate-world.ts';
import type { ObserveWhat } from './generate.ts';
import { nth, recent, type Builder } from './builder.ts';

/** An observe step naming a live object of the kind it needs, or null when there is none. */
export function observeStep(b: Builder, what: ObserveWhat, pick: number): Step | null {
  switch (what) {
    case 'devFdinfoKeys':
    case 'devFdinfoValues': {
      const dev = recent(b.liveDevs(), pick);
      return dev === undefined ? null : { op: 'observe', what, dev };
    }
    case 'fileFdinfoKeys': {
      const fd = recent(b.liveClientFds(), pick);
      return fd === undefined ? null : { op: 'observe', what, fd };
    }
    case 'mapsPath': {
      const map = recent(b.liveMaps(), pick);
      return map === undefined ? null : { op: 'observe', what, map };
    }
    case 'fdTableHasFile': {
      // Not a memfd, pipe or socket: the kernel target's world keeps it open (conformance/validate.ts).
      const file = nth(b.fileNames.filter((n) => !WORLD_HELD_FS.has(b.k.state.world.files?.[n]?.on ?? '')), pick);
      return file === undefined ? null : { op: 'observe', what, file };
    }
    case 'lsofHasFile': {
      const file = nth(b.fileNames.filter((n) => LSOF_WORLD_FS.has(b.k.state.world.files?.[n]?.on ?? '')), pick);
      return file === undefined ? null : { op: 'observe', what, file };
    }
    case 'fusectlEntries':
    case 'fusectlWaiting':
    case 'fusectlValues':
      // Also after umount: both targets answer ENOENT once the superblock is gone (OBS-5).
      return { op: 'observe', what };
    case 'fuseTracepoints':
    case 'initOffer':
      return { op: 'observe', what };
  }
}
