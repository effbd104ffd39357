// The kernel observables of kernel-spec §13 (spec/case.ts ObserveStep) as the model sees them:
// fdinfo, maps, fusectl, fd tables and lsof, tracepoints, the INIT offer (split from kernel.ts).
import type { ObserveStep } from '../spec/case.ts';
import type { Trace } from './explain.ts';
import { err, ok, setupFault, type Outcome } from './outcome.ts';
import type { KernelState } from './state.ts';
import type { WInode } from './world/vfs.ts';

/** The objects an observable is about, by their names in the case. */
export interface ObserveRef {
  dev?: string;
  fd?: string;
  map?: string;
  file?: string;
}

/** `states`: every mount's (lsof sees all of the client's mappings); `s` the one observed. */
export function observeKernel(s: KernelState, what: ObserveStep['what'], ref: ObserveRef, t: Trace, states: readonly KernelState[] = [s]): Outcome {
  switch (what) {
    case 'devFdinfoKeys': {
      const d = s.devFiles.get(ref.dev ?? '');
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${ref.dev}"`);
      t.pass('OBS-1');
      t.pass('OBS-2');
      return ok(d.conn !== null && s.profile.fdinfoConnection ? 'flags,fuse_connection,ino,mnt_id,pos' : 'flags,ino,mnt_id,pos');
    }
    case 'devFdinfoValues': {
      const d = s.devFiles.get(ref.dev ?? '');
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${ref.dev}"`);
      t.pass('OBS-1');
      // fuse_dev_show_fdinfo prints fc->dev, the number the mount's st_dev minor and its
      // fusectl directory carry, for as long as the fd keeps its fuse_dev (after umount and
      // abort too). The flags: O_RDWR | O_LARGEFILE (forced on 64-bit) | O_CLOEXEC, as devOpen opens.
      const conn = d.conn !== null && s.profile.fdinfoConnection ? `,fuse_connection:${d.conn === s.conn ? 'mount' : 'other'}` : '';
      return ok(`pos:0,flags:02100002${conn}`);
    }
    case 'fileFdinfoKeys': {
      t.pass('OBS-3');
      // show_fd_locks adds a `lock:` line per lock this file holds (local flock and OFD
      // locks; a lock the daemon took through SETLK has no local record).
      const f = s.clientFiles.get(ref.fd ?? '');
      const locks = f === undefined ? 0 : (['flock', 'ofd'] as const).filter((kind) => f.ff.inode.locks?.[kind].has(f) === true).length;
      return ok(['flags', 'ino', ...Array<string>(locks).fill('lock'), 'mnt_id', 'pos'].join(','));
    }
    case 'mapsPath':
      t.pass('OBS-4');
      return s.maps.has(ref.map ?? '') ? ok('fuse') : setupFault(`no mapping named "${ref.map}"`);
    case 'fusectlEntries':
      t.pass('OBS-5');
      return s.conn?.sbAlive === true ? ok('abort,congestion_threshold,max_background,waiting') : err('ENOENT');
    case 'fusectlWaiting':
      t.pass('OBS-6');
      return s.conn?.sbAlive === true ? ok(0) : err('ENOENT');
    case 'fusectlValues':
      t.pass('OBS-5');
      return s.conn?.sbAlive === true ? ok(`max_background:${s.conn.maxBackground},congestion_threshold:${s.conn.congestionThreshold}`) : err('ENOENT');
    case 'fdTableHasFile': {
      t.pass('OBS-9');
      const f = s.backing.files.get(ref.file ?? '');
      if (f === undefined) return setupFault(`no world file named "${ref.file}"`);
      const inode = f.inode.target ?? f.inode;
      noteFilesInNoFdTable(s, inode, t);
      // After a lazy umount of its filesystem (or the nested FUSE mount's detach) an fd's link
      // shows the path inside the detached mount ("/ov"), no longer the world file's (fuzz
      // --target both seed 260499048).
      if ((s.backing.unmounted as ReadonlySet<string>).has(f.spec.on)) return ok('no');
      for (const tf of s.daemonTask.fds.values()) {
        // lsof shows the path the fd resolves to: a followed symlink shows its target, not
        // the link's name (as /proc/PID/fd readlink does in the kernel target).
        if (tf.kind === 'world' && tf.file.inode === f.inode) return ok('yes');
      }
      return ok('no');
    }
    case 'lsofHasFile': {
      // As lsof finds a file, by identity: the daemon's fds (the client has none on world
      // files), and mappings, which /proc/PID/maps shows by file_user_inode(vm_file). A PT
      // mapping's VMA holds the per-open backing file, whose user inode is the FUSE file's;
      // overlayfs's and an inner PT file's ->mmap put their real file there instead, whose
      // user path is the backing file itself (6.18: lsof finds the overlay file, not a disk one).
      t.pass('OBS-9');
      const f = s.backing.files.get(ref.file ?? '');
      if (f === undefined) return setupFault(`no world file named "${ref.file}"`);
      // Found by statx of its name: a name gone is ENOENT (fuzz --target both seed 1572133670).
      if (f.unlinked === true) return err(t.vfs('ENOENT', 'vfs_statx', `the world file "${ref.file}" has no name any more`));
      const inode = f.inode.target ?? f.inode;
      noteFilesInNoFdTable(s, inode, t);
      const byFd = [...s.daemonTask.fds.values()].some((tf) => tf.kind === 'world' && tf.file.inode === inode);
      // Every mount's mappings: lsof reads every process's maps, whatever the mount.
      const byMap = states.some((st) => [...st.maps.values()].some((m) => m.holdsBacking === false && m.backing?.inode === inode));
      return ok(byFd || byMap ? 'yes' : 'no');
    }
    case 'fuseTracepoints':
      t.pass('OBS-10');
      return ok(s.profile.requestTracepoints ? 'fuse_request_end,fuse_request_send' : '');
    case 'initOffer':
      t.pass('INIT-1');
      t.pass('INIT-2');
      return ok(s.lastInitOffer ?? '');
  }
}

/** Why a file may be open with no fd on it: a registration holds it (LIFE-1), a PT open's per-open file does (PTF-1). */
function noteFilesInNoFdTable(s: KernelState, inode: WInode, t: Trace): void {
  if ([...(s.conn?.idr.values() ?? [])].some((fb) => (fb.file.inode.target ?? fb.file.inode) === inode)) t.pass('LIFE-1');
  if (s.vfs.allFiles.some((w) => w.role === 'perOpen' && w.count > 0 && w.inode === inode)) t.pass('PTF-1');
}
