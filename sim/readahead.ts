// mm/readahead.c and the readahead of mm/filemap.c for the page cache of non-PT FUSE files: the
// per-file window (struct file_ra_state), its PG_readahead mark, and the asynchronous windows a
// read or a page fault starts when it reaches the mark. Folios are single pages: 6.18 read a
// file in 4 KiB steps with READs at the 1st, 2nd, 5th, 13th and 29th page (windows of 4, 8, 16
// and 32 pages), which large folios would have fetched sooner.
import type { Errno } from '../spec/errno.ts';
import type { Trace } from './explain.ts';
import { PAGE_SIZE, pageCacheRead, pagePresent } from './pagecache.ts';
import type { KernelState } from './state.ts';
import type { FileRaState, FuseInode, FuseOpenFile } from './types.ts';

/**
 * The FUSE bdi's readahead window: fuse_init sets ra_pages from max_readahead, which the scripted
 * daemon answers with the kernel's offer (128 KiB): 32 pages. ractl_max_pages never exceeds it:
 * the bdi's io_pages is no larger.
 */
export const RA_PAGES = 32;

/** filemap.c: a file whose mmap faults miss this much more than they hit gets no read-around. */
const MMAP_LOTSAMISS = 100;

function raOf(file: FuseOpenFile): FileRaState {
  return (file.ra ??= { start: 0, size: 0, asyncSize: 0, mmapMiss: 0 });
}


/** PG_readahead: set on the page readahead allocated it on, for as long as that page stays. */
function marked(fi: FuseInode, p: number): boolean {
  const page = fi.pages.get(p);
  return page !== undefined && fi.raMarks?.get(p) === page;
}

/** get_init_ra_size: the first window for a request of `size` pages. */
function getInitRaSize(size: number, max: number): number {
  let n = 1;
  while (n < size) n *= 2; // roundup_pow_of_two
  if (n <= max / 32) n *= 4;
  else if (n <= max / 4) n *= 2;
  else n = max;
  return n;
}

/** get_next_ra_size: the window after one of `cur` pages, ramped up. */
function getNextRaSize(cur: number, max: number): number {
  if (cur < max / 16) return 4 * cur;
  if (cur <= max / 2) return 2 * cur;
  return max;
}

/**
 * page_cache_prev_miss: scanning back from `index` over at most `maxScan` pages, the first one
 * not cached; the last one scanned when all are; null (ULONG_MAX) when the scan ran past page 0.
 */
function pageCachePrevMiss(fi: FuseInode, index: number, maxScan: number): number | null {
  for (let i = index, n = 0; n < maxScan; i--, n++) {
    if (i < 0) return null;
    if (!pagePresent(fi, i) || n === maxScan - 1) return i;
  }
  return index;
}

/** page_cache_next_miss: scanning on from `index` over at most `maxScan` pages, the first one not cached. */
function pageCacheNextMiss(fi: FuseInode, index: number, maxScan: number): number {
  for (let n = 0; n < maxScan; n++) if (!pagePresent(fi, index + n)) return index + n;
  return index + maxScan;
}

/**
 * do_page_cache_ra -> page_cache_ra_unbounded: read `nrToRead` pages from `index`, no further
 * than the page of the last byte, each run not cached as READs (fuse_readahead); the page
 * `lookahead` pages before the window's end gets PG_readahead, if this window added it. A
 * failed READ is ignored: the pages stay out of the cache, and a read that needs one reads it
 * alone (6.18: after an abort, a read of cached pages that reached the mark returned them).
 */
function doPageCacheRa(k: KernelState, fi: FuseInode, index: number, nrToRead: number, lookahead: number, t: Trace): void {
  if (fi.iSize === 0) return;
  const endIndex = Math.floor((fi.iSize - 1) / PAGE_SIZE);
  if (index > endIndex) return;
  const nr = Math.min(nrToRead, endIndex - index + 1);
  const mark = lookahead <= nr ? index + nr - lookahead : -1;
  const addsMark = mark >= index && mark < index + nr && !pagePresent(fi, mark);
  pageCacheRead(k, fi, index * PAGE_SIZE, nr * PAGE_SIZE, t, true);
  const page = fi.pages.get(mark);
  if (addsMark && page !== undefined) (fi.raMarks ??= new Map()).set(mark, page);
}

/**
 * page_cache_sync_ra, for a read that finds page `index` missing with `reqCount` pages asked
 * from it: a read at the start of the file, a big one or one right after the previous read
 * (f_ra.prev_pos) opens a window of get_init_ra_size; a read after cached pages continues their
 * stream; a small random one reads only what was asked, leaving the window as it was.
 */
function pageCacheSyncRa(k: KernelState, fi: FuseInode, file: FuseOpenFile, index: number, reqCount: number, t: Trace): void {
  t.fn('page_cache_sync_ra');
  const ra = raOf(file);
  const prevPos = file.raPrevPos ?? -1;
  const prevIndex = prevPos < 0 ? null : Math.floor(prevPos / PAGE_SIZE);
  if (index === 0 || reqCount > RA_PAGES || (prevIndex !== null && index >= prevIndex && index - prevIndex <= 1)) {
    ra.start = index;
    ra.size = getInitRaSize(reqCount, RA_PAGES);
    ra.asyncSize = ra.size > reqCount ? ra.size - reqCount : ra.size >> 1;
  } else {
    // The cached history a sequential stream leaves behind: contig_count = index - miss - 1
    // (max_pages - 1 when the whole scan is cached).
    const miss = pageCachePrevMiss(fi, index - 1, RA_PAGES);
    let contig = miss === null ? index : index - miss - 1;
    // A standalone, small random read is read as is (6.18: with pages 5 and 6 cached, a read
    // of page 6 through a fresh fd asked page 6 alone, and page 7 then a window of 3).
    if (contig <= reqCount) {
      doPageCacheRa(k, fi, index, reqCount, 0, t);
      return;
    }
    // Cached from the beginning of the file: a strong sign of a long stream.
    if (miss === null) contig *= 2;
    ra.start = index;
    ra.size = Math.min(contig + reqCount, RA_PAGES);
    ra.asyncSize = 1;
  }
  // page_cache_ra_order falls back to do_page_cache_ra for single-page folios.
  doPageCacheRa(k, fi, ra.start, ra.size, ra.asyncSize, t);
}

/**
 * page_cache_async_ra, for a read or fault that reached the marked page `index` with `reqCount`
 * pages asked from it: the mark goes; at the expected page the window moves on and ramps up,
 * elsewhere (interleaved streams) the cached run after the page sizes a new one.
 */
function pageCacheAsyncRa(k: KernelState, fi: FuseInode, file: FuseOpenFile, index: number, reqCount: number, t: Trace): void {
  t.fn('page_cache_async_ra');
  fi.raMarks?.delete(index);
  const ra = raOf(file);
  if (index === ra.start + ra.size - ra.asyncSize) {
    ra.start += ra.size;
    ra.size = Math.max(ra.size, getNextRaSize(ra.size, RA_PAGES));
    ra.asyncSize = ra.size;
  } else {
    const start = pageCacheNextMiss(fi, index + 1, RA_PAGES);
    if (start === 0 || start - index > RA_PAGES) return;
    ra.start = start;
    ra.size = getNextRaSize(start - index + reqCount, RA_PAGES);
    ra.asyncSize = ra.size;
  }
  doPageCacheRa(k, fi, ra.start, ra.size, ra.asyncSize, t);
}

/**
 * filemap_read's and filemap_splice_read's loop over filemap_get_pages, for [pos, pos + len):
 * fills the page cache as they do and returns where the bytes it holds for this read end (at
 * least one page's worth past pos), or the errno when it could read nothing; the copy is the
 * caller's. Each pass starts at the next page: a missing one starts a synchronous window
 * (page_cache_sync_readahead) and is read alone if that did not bring it (filemap_create_folio);
 * then the batch of cached pages runs to the first page that is marked or not uptodate, the last
 * one in it; a marked last page starts the next window (filemap_readahead), one not uptodate is
 * read alone (filemap_update_page). A page that cannot be read ends the read short (6.18: after
 * the daemon's /dev/fuse closed, a read across a cached page and an uncached one returned the
 * cached bytes).
 */
export function filemapRead(k: KernelState, fi: FuseInode, file: FuseOpenFile, pos: number, len: number, t: Trace): number | Errno {
  const end = pos + len;
  const lastIndex = Math.ceil(end / PAGE_SIZE);
  let at = pos;
  const short = (e: Errno): number | Errno => (at > pos ? at : e);
  while (at < end && at < fi.iSize) {
    const index = Math.floor(at / PAGE_SIZE);
    if (!pagePresent(fi, index)) {
      pageCacheSyncRa(k, fi, file, index, lastIndex - index, t);
      if (!pagePresent(fi, index)) {
        const one = pageCacheRead(k, fi, index * PAGE_SIZE, PAGE_SIZE, t);
        if (typeof one === 'string') return short(one);
      }
    }
    let last = index;
    while (last + 1 < lastIndex && fi.pages.has(last) && !marked(fi, last) && pagePresent(fi, last + 1)) last++;
    if (marked(fi, last)) pageCacheAsyncRa(k, fi, file, last, lastIndex - last, t);
    if (!fi.pages.has(last)) {
      const one = pageCacheRead(k, fi, last * PAGE_SIZE, PAGE_SIZE, t);
      // The batch before the page is still copied.
      if (typeof one === 'string') {
        at = Math.max(at, last * PAGE_SIZE);
        return short(one);
      }
    }
    at = (last + 1) * PAGE_SIZE;
  }
  return Math.min(at, end);
}

/**
 * filemap_fault for page `p` of a shared or private mapping of `file`: a cached page is mapped,
 * and starts the next window if marked (do_async_mmap_readahead, asking ra_pages); a missing one
 * reads around itself (do_sync_mmap_readahead: ra_pages from ra_pages / 2 before it, marked
 * ra_pages / 4 before the end) unless the file's faults miss far more than they hit, and is read
 * alone if that did not bring it. Fault-around maps cached, unmarked pages without a fault; the
 * model counts no fault for them either (only mmap_miss would tell, and it stays far from
 * MMAP_LOTSAMISS in a case).
 */
export function filemapFault(k: KernelState, fi: FuseInode, file: FuseOpenFile, p: number, t: Trace): Errno | null {
  const ra = raOf(file);
  if (pagePresent(fi, p)) {
    if (marked(fi, p)) {
      if (ra.mmapMiss > 0) ra.mmapMiss--;
      pageCacheAsyncRa(k, fi, file, p, RA_PAGES, t);
    }
  } else {
    t.fn('do_sync_mmap_readahead');
    if (ra.mmapMiss < MMAP_LOTSAMISS * 10) ra.mmapMiss++;
    if (ra.mmapMiss <= MMAP_LOTSAMISS) {
      ra.start = Math.max(0, p - RA_PAGES / 2);
      ra.size = RA_PAGES;
      ra.asyncSize = RA_PAGES / 4;
      doPageCacheRa(k, fi, ra.start, ra.size, ra.asyncSize, t);
    }
  }
  // A page the window left (present, not uptodate) or did not reach is read alone
  // (filemap_read_folio).
  if (!fi.pages.has(p)) {
    const one = pageCacheRead(k, fi, p * PAGE_SIZE, PAGE_SIZE, t);
    if (typeof one === 'string') return one;
  }
  return null;
}
