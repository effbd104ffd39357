// fs/read_write.c do_sendfile and fs/splice.c do_splice_direct / splice_direct_to_actor: a
// file-to-file splice through an internal pipe. The FUSE ends are modelled by fuse_splice_read
// (rw.ts fuseReadData, IO-7, IO-8) and fuse_splice_write (rw.ts fuseWrite, IO-9, IO-10).
import { fsnotifyAccess, fsnotifyModify } from './fsnotify.ts';
import type { Errno } from '../spec/errno.ts';
import type { Trace } from './explain.ts';
import { err, ok, type Outcome } from './outcome.ts';
import { fuseReadData, fuseWrite, unseekable } from './rw.ts';
import type { KernelState } from './state.ts';
import type { FuseOpenFile } from './types.ts';
import type { WFile } from './world/vfs.ts';

/** One end of a sendfile: a FUSE file, or a file of another filesystem (read or written at 0). */
export type SendfileEnd = { fuse: FuseOpenFile } | { world: WFile };

/** The internal pipe's size: PIPE_DEF_BUFFERS pages, what one round of the loop moves at most. */
const DIRECT_SPLICE_CHUNK = 16 * 4096;

export function doSendfile(k: KernelState, from: SendfileEnd, to: SendfileEnd, count: number, offset: number | undefined, t: Trace): Outcome {
  t.fn('do_sendfile');
  if ('fuse' in from) {
    if (from.fuse.mode === 'w') return err(t.vfs('EBADF', 'do_sendfile', 'the source fd was opened write-only'));
    if (offset !== undefined && unseekable(from.fuse.ff)) return err(t.vfs('ESPIPE', 'do_sendfile', 'an offset needs a seekable source: the daemon opened it FOPEN_STREAM or FOPEN_NONSEEKABLE'));
  }
  if ('fuse' in to && to.fuse.mode === 'r') return err(t.vfs('EBADF', 'do_sendfile', 'the destination fd was opened read-only'));
  t.fn('do_splice_direct');
  if ('fuse' in to && to.fuse.flags.has('O_APPEND')) return err(t.vfs('EINVAL', 'do_splice_direct', 'sendfile cannot write to an O_APPEND file'));
  // stream_open and nonseekable_open clear FMODE_LSEEK, which the pipe's reader needs.
  if ('fuse' in from && unseekable(from.fuse.ff)) return err(t.vfs('EINVAL', 'splice_direct_to_actor', 'the daemon opened the source FOPEN_STREAM or FOPEN_NONSEEKABLE: it cannot be read at an offset'));
  const streamOut = 'fuse' in to && unseekable(to.fuse.ff);
  let pos = offset ?? ('fuse' in from ? from.fuse.pos : 0);
  let outPos = 'fuse' in to ? to.fuse.pos : 0;
  let total = 0;
  let failed: Errno | null = null;
  while (total < count) {
    const data = 'fuse' in from ? fuseReadData(k, from.fuse, Math.min(count - total, DIRECT_SPLICE_CHUNK), pos, t, true) : k.vfs.pread(from.world, pos, Math.min(count - total, DIRECT_SPLICE_CHUNK), true).slice();
    if (typeof data === 'string') {
      failed = data;
      break;
    }
    if (data.length === 0) break;
    let written = data.length;
    if ('fuse' in to) {
      // do_splice_from hands the pipe to ->splice_write at &out_pos, seekable or not.
      const w = fuseWrite(k, to.fuse, data, streamOut ? undefined : outPos, t, true);
      if (w.errno !== null) {
        failed = w.errno;
        break;
      }
      written = typeof w.value === 'number' ? w.value : 0;
    } else k.vfs.pwrite(to.world, outPos, data);
    pos += written;
    outPos += written;
    total += written;
    if (written < data.length) break;
  }
  if (total === 0 && failed !== null) return err(failed);
  if (total > 0) {
    if ('fuse' in from && offset === undefined) from.fuse.pos = pos;
    if ('fuse' in to && !streamOut) to.fuse.pos = outPos;
    // do_sendfile: fsnotify_access(in), fsnotify_modify(out), once for the whole copy.
    if ('world' in from) k.vfs.notifyAccess(from.world.inode);
    else fsnotifyAccess(k, from.fuse.ff.inode);
    if ('world' in to) k.vfs.notifyModify(to.world.inode);
    else fsnotifyModify(k, to.fuse.ff.inode);
  }
  return ok(total);
}
