/*
 * A small libfuse low-level daemon of fusepass's own that serves the files of SRC (flat, read
 * mostly) with passthrough, and makes one known passthrough mistake on purpose, chosen by MODE.
 * fusepass check's tests run it to show that each mistake is found and named with the check id
 * the kernel's behaviour gives it (the real third-party daemon stays libfuse's passthrough_hp).
 *
 *   buggy_pt MODE SRC /dev/fd/N
 *   MODE: good            one backing id per inode, closed at the inode's last release
 *         keep-cache      FOPEN_PASSTHROUGH together with FOPEN_KEEP_CACHE         (OPEN-9)
 *         per-open-ids    a new backing id for every open of the same inode        (IOM-7)
 *         close-in-use    closes the id right after its first OPEN reply and keeps
 *                         answering later opens with it                            (OPEN-12)
 *         double-close    closes the id twice at the last release                  (BCLOSE-7)
 *         hang-open       never answers OPEN (a hung daemon: deadlines and cleanup)
 *         opath           registers an O_PATH fd of the file: 6.9's BACKING_OPEN refuses it
 *                         with EBADF, 6.12 on accept it                           (BOPEN-16)
 *         writeback       asks WRITEBACK_CACHE with PASSTHROUGH: 6.9 negotiates both, from
 *                         6.11 on passthrough is silently off                     (INIT-9)
 *
 * Built against the libfuse 3.18.2 that scripts/build-passthrough-hp.sh builds.
 */
#define _GNU_SOURCE /* O_PATH */
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 18)
#include <fuse_lowlevel.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

enum mode { GOOD, KEEP_CACHE, PER_OPEN_IDS, CLOSE_IN_USE, DOUBLE_CLOSE, HANG_OPEN, OPATH, WRITEBACK };
static enum mode mode;
static int src_fd;
static struct fuse_session *se;

#define MAXN 64
struct node {
	char name[256];
	int nopen;
	int backing_id; /* shared by the inode's opens (not in per-open-ids) */
	int closed_early;
};
static struct node nodes[MAXN];
static int nnodes;

struct open_file {
	int fd;
	int backing_id;
};

static struct node *node_of(fuse_ino_t ino)
{
	return ino >= 2 && ino - 2 < (fuse_ino_t)nnodes ? &nodes[ino - 2] : NULL;
}

static void ll_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (!fuse_set_feature_flag(conn, FUSE_CAP_PASSTHROUGH))
		fprintf(stderr, "buggy_pt: the kernel does not offer passthrough\n");
	if (mode == WRITEBACK)
		fuse_set_feature_flag(conn, FUSE_CAP_WRITEBACK_CACHE);
	conn->max_backing_stack_depth = 0; /* libfuse sends this + 1: max_stack_depth 1 */
}

static int stat_node(fuse_ino_t ino, struct stat *st)
{
	struct node *n = node_of(ino);
	int r = ino == FUSE_ROOT_ID ? fstat(src_fd, st) : n ? fstatat(src_fd, n->name, st, AT_SYMLINK_NOFOLLOW) : (errno = ENOENT, -1);
	if (r == 0)
		st->st_ino = ino;
	return r;
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int i;
	if (parent != FUSE_ROOT_ID || strlen(name) >= sizeof(nodes[0].name)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	for (i = 0; i < nnodes && strcmp(nodes[i].name, name) != 0; i++)
		;
	if (i == nnodes) {
		if (nnodes == MAXN) {
			fuse_reply_err(req, ENOSPC);
			return;
		}
		strcpy(nodes[nnodes++].name, name);
	}
	memset(&e, 0, sizeof(e));
	e.ino = (fuse_ino_t)i + 2;
	e.attr_timeout = e.entry_timeout = 1.0;
	if (stat_node(e.ino, &e.attr) != 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fuse_reply_entry(req, &e);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;
	if (stat_node(ino, &st) != 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_attr(req, &st, 1.0);
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = node_of(ino);
	struct open_file *of;
	int fd, id;
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (mode == HANG_OPEN)
		return; /* the request is never answered */
	fd = openat(src_fd, n->name, fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC));
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if (mode == PER_OPEN_IDS) {
		id = fuse_passthrough_open(req, fd);
	} else if (mode == OPATH) {
		int pfd = openat(src_fd, n->name, O_PATH);
		if (n->backing_id <= 0)
			n->backing_id = fuse_passthrough_open(req, pfd);
		close(pfd);
		id = n->backing_id;
	} else {
		if (n->backing_id <= 0)
			n->backing_id = fuse_passthrough_open(req, fd);
		id = n->backing_id;
	}
	of = calloc(1, sizeof(*of));
	of->fd = fd;
	of->backing_id = mode == PER_OPEN_IDS ? id : 0;
	fi->fh = (uint64_t)(uintptr_t)of;
	if (id > 0) {
		fi->backing_id = id;
		fi->keep_cache = mode == KEEP_CACHE;
	}
	n->nopen++;
	fuse_reply_open(req, fi);
	if (mode == CLOSE_IN_USE && id > 0 && !n->closed_early) {
		/* req is gone once replied to: close through the session fd, as libfuse does. */
		uint32_t bid = (uint32_t)id;
		ioctl(fuse_session_fd(se), _IOW(229, 2, uint32_t), &bid);
		n->closed_early = 1;
	}
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = node_of(ino);
	struct open_file *of = (struct open_file *)(uintptr_t)fi->fh;
	if (of->backing_id > 0)
		fuse_passthrough_close(req, of->backing_id);
	close(of->fd);
	free(of);
	if (n && --n->nopen == 0 && n->backing_id > 0) {
		if (mode != CLOSE_IN_USE)
			fuse_passthrough_close(req, n->backing_id);
		if (mode == DOUBLE_CLOSE)
			fuse_passthrough_close(req, n->backing_id);
		n->backing_id = 0;
	}
	fuse_reply_err(req, 0);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct open_file *of = (struct open_file *)(uintptr_t)fi->fh;
	char *buf = malloc(size ? size : 1);
	ssize_t r = pread(of->fd, buf, size, off);
	(void)ino;
	if (r < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, (size_t)r);
	free(buf);
}

static void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ops = {
	.init = ll_init,
	.lookup = ll_lookup,
	.getattr = ll_getattr,
	.open = ll_open,
	.release = ll_release,
	.read = ll_read,
	.flush = ll_flush,
};

int main(int argc, char *argv[])
{
	static const char *names[] = { "good", "keep-cache", "per-open-ids", "close-in-use", "double-close", "hang-open", "opath", "writeback" };
	const int nnames = (int)(sizeof(names) / sizeof(names[0]));
	char *fargv[] = { argv[0], NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, fargv);
	int i, r;
	if (argc != 4) {
		fprintf(stderr, "usage: %s good|keep-cache|per-open-ids|close-in-use|double-close|hang-open|opath|writeback SRC /dev/fd/N\n", argv[0]);
		return 2;
	}
	for (i = 0; i < nnames && strcmp(argv[1], names[i]) != 0; i++)
		;
	if (i == nnames) {
		fprintf(stderr, "buggy_pt: unknown mode %s\n", argv[1]);
		return 2;
	}
	mode = (enum mode)i;
	src_fd = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (src_fd < 0) {
		perror(argv[2]);
		return 1;
	}
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se || fuse_session_mount(se, argv[3]) != 0)
		return 1;
	r = fuse_session_loop(se);
	fuse_session_unmount(se);
	fuse_session_destroy(se);
	return r ? 1 : 0;
}
