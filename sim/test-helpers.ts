// Shared set-ups for the sim's unit tests: a standard world and the usual first steps.
import type { OpenReplySpec, World } from '../fixtures/world.ts';
import type { InitReplySpec, OpenFlagName, ProfileName } from '../spec/case.ts';
import type { FopenFlagName } from '../spec/uapi.ts';
import { createKernel, type Kernel } from './kernel.ts';

/** Backing files on every filesystem kind, and three FUSE nodes. */
export const WORLD: World = {
  files: {
    b: { on: 'disk' },
    b2: { on: 'disk' },
    small: { on: 'disk', content: 'BBBB' },
    t: { on: 'tmpfs' },
    ov: { on: 'overlay' },
    ovf: { on: 'overlayOverFuse' },
    inner: { on: 'fuse' },
    pt1: { on: 'fusePt1' },
    pt2: { on: 'fusePt2' },
    ro: { on: 'roBind' },
    self: { on: 'self' },
    dir: { on: 'disk', type: 'dir' },
    fifo: { on: 'disk', type: 'fifo' },
    sock: { on: 'disk', type: 'socket' },
    null: { on: 'disk', type: 'chardev' },
    link: { on: 'disk', type: 'symlink' },
  },
  nodes: { n: {}, m: {}, small: { content: 'DD', size: 2 }, sub: { type: 'dir' } },
};

export const PT_INIT: InitReplySpec = { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 };

/** /dev/fuse opened as `dev` and mounted with `init` (default: PT, msd 1). */
export function mounted(opts: { profile?: ProfileName; init?: InitReplySpec; world?: World; rlimitNofile?: number } = {}): Kernel {
  const k = createKernel({ profile: opts.profile ?? '6.18', world: opts.world ?? WORLD, ...(opts.rlimitNofile === undefined ? {} : { rlimitNofile: opts.rlimitNofile }) });
  k.daemon.devOpen('dev');
  k.daemon.mount('dev', opts.init ?? PT_INIT);
  return k;
}

/** Mounted, and world file `file` opened read-only as `bf` and registered as `b1`. */
export function registered(opts: Parameters<typeof mounted>[0] & { file?: string } = {}): Kernel {
  const k = mounted(opts);
  k.daemon.open(opts.file ?? 'b', 'rdonly', 'bf');
  k.daemon.backingOpen({ dev: 'dev', fd: 'bf', as: 'b1' });
  return k;
}

/** Make node `node` answer OPEN with PT (plus `extra`) and backing `backing`, and open it. */
export function ptOpen(k: Kernel, opts: { node?: string; flags?: OpenFlagName[]; as?: string; extra?: FopenFlagName[]; backing?: string | number } = {}): ReturnType<Kernel['client']['open']> {
  const reply: OpenReplySpec = { flags: ['PASSTHROUGH', ...(opts.extra ?? [])], backing: opts.backing ?? 'b1' };
  k.daemon.setOpenReply(opts.node ?? 'n', reply);
  return k.client.open(opts.node ?? 'n', opts.flags ?? ['O_RDONLY'], opts.as ?? 'f');
}
