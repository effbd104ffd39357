// Observables for a harness (kernel-spec §13).
import { describe, expect, it } from 'vitest';
import { createKernel } from './kernel.ts';
import { mounted, ptOpen, registered, WORLD } from './test-helpers.ts';

describe('observables', () => {
  it('OBS-1: an attached /dev/fuse fd shows fuse_connection in fdinfo (6.16+)', () => {
    const k = mounted();
    expect(k.observe('devFdinfoKeys', { dev: 'dev' }).value).toBe('flags,fuse_connection,ino,mnt_id,pos');
    const old = mounted({ profile: '6.12' });
    expect(old.observe('devFdinfoKeys', { dev: 'dev' }).value).toBe('flags,ino,mnt_id,pos');
  });

  it('OBS-2: /dev/fuse fdinfo lists no backing ids or files', () => {
    const r = registered().observe('devFdinfoKeys', { dev: 'dev' });
    expect(String(r.value)).not.toMatch(/backing/);
    expect(r.explain.checks).toContain('OBS-2');
  });

  it('OBS-3: a PT file fdinfo has nothing PT-specific', () => {
    const k = registered();
    ptOpen(k);
    expect(k.observe('fileFdinfoKeys', { fd: 'f' }).value).toBe('flags,ino,mnt_id,pos');
  });

  it('OBS-4: /proc/PID/maps names a PT mapping by its FUSE path', () => {
    const k = registered();
    ptOpen(k);
    k.client.mmap('f', { shared: true }, 'm');
    expect(k.observe('mapsPath', { map: 'm' }).value).toBe('fuse');
  });

  it('OBS-5: the fusectl directory has no backing information', () => {
    expect(registered().observe('fusectlEntries').value).toBe('abort,congestion_threshold,max_background,waiting');
  });

  it('OBS-6: fusectl waiting does not count PT I/O', () => {
    const k = registered();
    ptOpen(k);
    k.client.read('f', 10, 0);
    expect(k.observe('fusectlWaiting').value).toBe(0);
  });

  it('OBS-7: close events on the backing file come after the releasing syscall (deferred fput)', () => {
    const k = registered();
    k.daemon.close('bf');
    ptOpen(k);
    k.daemon.backingClose({ dev: 'dev', id: 'b1' });
    const r = k.client.close('f');
    // The per-open and registered fputs both run at syscall exit, after FLUSH and RELEASE.
    expect(r.requests).toEqual(['FLUSH', 'RELEASE']);
    expect(r.events).toEqual(['b:close_nowrite']);
  });

  it('OBS-8: identical consecutive close events merge', () => {
    const k = registered();
    k.daemon.close('bf');
    ptOpen(k);
    k.daemon.backingClose({ dev: 'dev', id: 'b1' });
    expect(k.client.close('f').explain.checks).toContain('OBS-8');
  });

  it('OBS-9: a registered file is invisible in the daemon fd table once its fd is closed', () => {
    const k = registered();
    expect(k.observe('fdTableHasFile', { file: 'b' }).value).toBe('yes');
    k.daemon.close('bf');
    const r = k.observe('fdTableHasFile', { file: 'b' });
    expect(r.value).toBe('no');
    expect(r.explain.checks).toContain('OBS-9');
    expect(k.hidden().pinnedInvisible).toBe(1);
  });

  it('OBS-10: tracefs has only fuse_request_send and fuse_request_end (6.13+)', () => {
    expect(mounted().observe('fuseTracepoints').value).toBe('fuse_request_end,fuse_request_send');
    expect(mounted({ profile: '6.12' }).observe('fuseTracepoints').value).toBe('');
  });

  it('OBS-11: an EIO at open carries the hidden internal errno; hidden state is inspectable', () => {
    const k = registered();
    const r = ptOpen(k, { backing: 999 });
    expect(r.errno).toBe('EIO');
    expect(r.explain.cause).toBe('ENOENT');
    expect(r.explain.checks).toContain('OBS-11');
    expect(k.hidden().idCursor).toBe(2);
  });

  it('OBS-12: statx AT_STATX_DONT_SYNC returns the cached i_size without GETATTR', () => {
    const k = registered();
    ptOpen(k, { flags: ['O_RDWR'] });
    k.client.write('f', 'x', 4999);
    const r = k.client.stat({ fd: 'f', dontSync: true });
    expect(r).toMatchObject({ value: 5000, requests: [] });
    expect(r.explain.checks).toContain('OBS-12');
  });

  it('OBS-7: no event is reported for a world file nobody touched', () => {
    const k = createKernel({ world: WORLD });
    expect(k.daemon.devOpen('dev').events).toEqual([]);
  });
});
