/* SPDX-License-Identifier: MIT */
/* Linux OS operations of platform/platform.h: paths with their environment overrides, whole-file
 * read, atomic replace (temp + fsync + rename + directory fsync), flock(2) locks with a timeout
 * (a blocking wait that SIGALRM of an interval timer ends),
 * HTTP GET through libcurl (loaded with dlopen on first use, so the calls that never fetch do not
 * pay for its ~35 dependent libraries), RFC 3339 timestamps and the append-only log file. */
#define _GNU_SOURCE
#include "core/mac.h"
#include "platform/env-ms.h"
#include "platform/fault.h"
#include "platform/platform.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <linux/magic.h>

#define OS_DEFAULT_RUNTIME_DIR "/var/run"
#define OS_DEFAULT_LOG_DIR "/var/log"
#define OS_DEFAULT_MAS_FILE "/etc/kubernetes/interfaces.json"
#define OS_DEFAULT_NMAGENT_URL "http://168.63.129.16/machine/plugins?comp=nmagent&type=getinterfaceinfov1"
#define OS_DEFAULT_LOCK_TIMEOUT_MS 30000u
#define OS_HTTP_CONNECT_MAX_MS 5000u
#define OS_HTTP_BODY_MAX (4u * 1024u * 1024u)
#define OS_FILE_MAX (64u * 1024u * 1024u)
#define OS_FILE_MODE 0600 /* state, lock and log files (README "Paths and environment") */

/* ---- paths ---- */

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return (v && *v) ? v : dflt;
}

int platform_lock_path(const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/azure-vnet/%s",
			 env_or("AZURE_CNI_RUNTIME_DIR", OS_DEFAULT_RUNTIME_DIR), name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

const char *platform_errno_text(int errnum)
{
	return strerror(errnum);
}

const char *platform_path(enum platform_path what)
{
	/* Packed one after another (each at most PATH_MAX, so the pool never runs out): the few
	 * short paths a call uses touch one page, not one page each. */
	static char pool[(PLATFORM_PATH_LOG_DIR + 1) * PATH_MAX];
	static size_t used;
	static const char *paths[PLATFORM_PATH_LOG_DIR + 1];
	char *buf = pool + used;
	const char *rt;

	if ((unsigned)what > PLATFORM_PATH_LOG_DIR)
		return "";
	if (paths[what])
		return paths[what];
	rt = env_or("AZURE_CNI_RUNTIME_DIR", OS_DEFAULT_RUNTIME_DIR);
	switch (what) {
	case PLATFORM_PATH_NET_STATE:
		snprintf(buf, PATH_MAX, "%s/azure-vnet.json", rt);
		break;
	case PLATFORM_PATH_NET_LOCK:
		snprintf(buf, PATH_MAX, "%s/azure-vnet/azure-vnet.lock", rt);
		break;
	case PLATFORM_PATH_IPAM_STATE:
		snprintf(buf, PATH_MAX, "%s/azure-vnet-ipam.json", rt);
		break;
	case PLATFORM_PATH_IPAM_LOCK:
		snprintf(buf, PATH_MAX, "%s/azure-vnet/azure-vnet-ipam.lock", rt);
		break;
	case PLATFORM_PATH_MAS_FILE:
		snprintf(buf, PATH_MAX, "%s", env_or("AZURE_CNI_MAS_FILE", OS_DEFAULT_MAS_FILE));
		break;
	case PLATFORM_PATH_NMAGENT_URL:
		snprintf(buf, PATH_MAX, "%s", env_or("AZURE_CNI_NMAGENT_URL", OS_DEFAULT_NMAGENT_URL));
		break;
	case PLATFORM_PATH_LOG_DIR:
		snprintf(buf, PATH_MAX, "%s", env_or("AZURE_CNI_LOG_DIR", OS_DEFAULT_LOG_DIR));
		break;
	}
	used += strlen(buf) + 1;
	paths[what] = buf;
	return buf;
}

unsigned platform_lock_timeout_ms(void)
{
	return platform_env_ms("AZURE_CNI_LOCK_TIMEOUT_MS", OS_DEFAULT_LOCK_TIMEOUT_MS, 0, UINT_MAX);
}

/* ---- files ---- */

/* mkdir -p of the directory part of @path (mode 0755). Returns 0 or negative errno. */
static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	struct stat st;
	char *last;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	/* The directory itself first: it exists on every call but a node's first, so one stat
	 * instead of one mkdir per path component; a stat, not a mkdir that fails with EEXIST,
	 * because mkdir takes the parent directory's lock for writing (filename_create) and
	 * parallel calls queued on it. */
	last = strrchr(buf, '/');
	if (!last || last == buf)
		return 0;
	*last = '\0';
	if ((stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) || mkdir(buf, 0755) == 0 ||
	    errno == EEXIST)
		return 0;
	*last = '/';
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	return 0;
}

/* Directory part of @path into @buf ("." when there is none). */
static void dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, size, ".");
	else if (slash == path)
		snprintf(buf, size, "/");
	else
		snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

/* Open @path with @flags plus O_CLOEXEC and O_NONBLOCK (a FIFO never blocks the open), and
 * O_NOFOLLOW unless @follow; then require a regular file on the descriptor itself (fstat), so
 * what is checked is what is used. @what names the file in messages ("", "lock "). Returns the
 * fd, -ENOENT when absent and @flags has no O_CREAT (no error recorded), or negative errno with
 * code 5 naming @path: -ELOOP for a symlink, -EINVAL for a FIFO, directory, device or socket. */
static int open_regular(const char *path, int flags, mode_t mode, bool follow, const char *what,
			struct stat *ret_st, struct cni_error *err)
{
	struct stat st;
	int fd, r;

	fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW), mode);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT && !(flags & O_CREAT))
			return r;
		if (r == -ELOOP && !follow)
			return cni_error_set(err, r, CNI_CODE_IO,
					     "cannot open %s%s: it is a symbolic link", what, path);
		/* O_NONBLOCK: a FIFO without a reader refuses a write-only open at once */
		if (r == -ENXIO)
			return cni_error_set(err, -EINVAL, CNI_CODE_IO,
					     "cannot open %s%s: not a regular file", what, path);
		return cni_error_set(err, r, CNI_CODE_IO, "cannot open %s%s: %s", what, path,
				     strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return cni_error_set(err, r, CNI_CODE_IO, "cannot stat %s%s: %s", what, path,
				     strerror(-r));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return cni_error_set(err, -EINVAL, CNI_CODE_IO, "cannot open %s%s: not a regular file "
				     "(%s)", what, path, S_ISDIR(st.st_mode) ? "a directory" :
				     S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" :
				     "a device");
	}
	if (ret_st)
		*ret_st = st;
	return fd;
}

/* @path's bytes into *ret_data (malloc'd: *ret_len bytes, then @pad + 1 zero bytes). */
static int file_read(const char *path, bool follow, size_t pad, char **ret_data,
		     size_t *ret_len, struct cni_error *err)
{
	char *data = NULL;
	size_t len = 0, cap = 0, hint = 4096;
	struct stat st;
	int fd, r;

	fd = open_regular(path, O_RDONLY, 0, follow, "", &st, err);
	if (fd < 0)
		return fd;
	/* The size is only a hint: the file may grow or shrink while we read. */
	/* (+2: room to read 0 at the end without growing the buffer) */
	if (st.st_size > 0 && (size_t)st.st_size < OS_FILE_MAX)
		hint = (size_t)st.st_size + 2;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			size_t ncap = cap == 0 ? hint : cap * 2;
			char *p;

			/* a file of exactly the limit still fits, with the room to read its end */
			if (ncap > OS_FILE_MAX + 2 && cap < OS_FILE_MAX + 2)
				ncap = OS_FILE_MAX + 2;
			if (ncap > OS_FILE_MAX + 2) {
				r = cni_error_set(err, -EFBIG, CNI_CODE_IO, "%s is larger than %u bytes",
						  path, OS_FILE_MAX);
				goto fail;
			}
			p = realloc(data, ncap + 1 + pad);
			if (!p) {
				r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory reading %s", path);
				goto fail;
			}
			data = p;
			cap = ncap;
		}
		n = read(fd, data + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			cni_error_set(err, r, CNI_CODE_IO, "cannot read %s: %s", path, strerror(-r));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!data) {
		data = malloc(1 + pad);
		if (!data)
			return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory reading %s", path);
	}
	memset(data + len, 0, pad + 1);
	*ret_data = data;
	*ret_len = len;
	return 0;

fail:
	free(data);
	close(fd);
	return r;
}

int platform_file_read(const char *path, char **ret_data, size_t *ret_len, struct cni_error *err)
{
	return file_read(path, false, 0, ret_data, ret_len, err);
}

int platform_file_read_follow(const char *path, char **ret_data, size_t *ret_len,
			      struct cni_error *err)
{
	return file_read(path, true, 0, ret_data, ret_len, err);
}

int platform_file_same(const char *path, const char *data, size_t len)
{
	char buf[32768]; /* a chunk at a time: comparing costs no copy of the whole file */
	size_t off = 0;
	struct stat st = { 0 };
	int fd, same = 0;

	fd = open_regular(path, O_RDONLY, 0, false, "", &st, NULL);
	if (fd < 0)
		return 0;
	if ((size_t)st.st_size != len)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (size_t)n > len - off || memcmp(buf, data + off, (size_t)n) != 0)
			goto out;
		if (n == 0)
			break;
		off += (size_t)n;
	}
	same = off == len;
out:
	close(fd);
	return same;
}

/* A mapped view's pages, where view_on_break can reach them. The handler and the view's owner
 * change a slot's state by compare-and-swap only (lock-free: safe in a signal handler, and in
 * libcurl's resolver thread, which a process-directed SIGIO may also reach). */
enum view_slot_state {
	VIEW_SLOT_FREE,
	VIEW_SLOT_SETUP,   /* being filled by platform_file_view */
	VIEW_SLOT_PINNED,  /* mapped from the file, the lease held */
	VIEW_SLOT_COPYING, /* view_on_break at work */
	VIEW_SLOT_COPIED,  /* a private copy at the same address; the lease given up */
	VIEW_SLOT_LAPSING, /* mapped, the lease breaking, no memory for a copy */
	VIEW_SLOT_CLOSING, /* being freed by platform_file_view_free */
};

struct view_slot {
	_Atomic int state; /* enum view_slot_state */
	char *data;        /* map_len bytes mapped; the file's len bytes, then zeros */
	size_t len;
	size_t map_len;
	int fd;            /* the descriptor that holds (or held) the lease */
};

/* A call holds a few views at once (its snapshot, one read to compare, an owner's look-up);
 * with every slot taken a view is a copy. */
#define VIEW_SLOTS 8
static struct view_slot view_slots[VIEW_SLOTS];
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a slot's state is changed in a signal handler");

/* A file's bytes: mapped and leased (@slot), or a malloc'd copy. */
struct platform_view {
	char *data;     /* the slot's mapping, or malloc'd (slot NULL) */
	size_t len;     /* the file's bytes (the pad's zeros follow) */
	struct view_slot *slot;
	dev_t dev;      /* what the slot's fd is, for platform_file_view_current */
	ino_t ino;
};

#define VIEW_PAD_MAX 64u
/* Below this a copy is cheaper: a lease, a mapping and its removal cost ~25 us here, a page
 * faulted in and copied ~3.7 us (a 300 KiB azure-vnet.json of 250 pods: 0.28 ms read, 0.03 ms
 * mapped). */
#define VIEW_MAP_MIN 32768

/* @s's pages replaced by a private copy of them at the same address (mremap over the mapping:
 * readers see the same bytes throughout). false when memory runs out (the mapping is kept). */
static bool view_slot_copy(struct view_slot *s)
{
	char *copy = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	if (copy == MAP_FAILED)
		return false;
	memcpy(copy, s->data, s->len); /* the rest stays zero: the pad */
	if (mprotect(copy, s->map_len, PROT_READ) < 0 ||
	    mremap(copy, s->map_len, s->map_len, MREMAP_MAYMOVE | MREMAP_FIXED, s->data) ==
		    MAP_FAILED) {
		munmap(copy, s->map_len);
		return false;
	}
	return true;
}

/* If @s's lease is being broken (someone opens the file to write or truncate it and waits in
 * the kernel until the lease goes, at most lease-break-time; after that a truncation would make
 * reading the mapping raise SIGBUS, an in-place write would change the bytes under the model),
 * its bytes become a private copy and the lease is given up: the writer goes on at once and the
 * view's bytes never change. Async-signal-safe. When memory for the copy runs out the lease is
 * left to run out as the kernel times it (VIEW_SLOT_LAPSING: platform_file_view_stable false). */
static void view_slot_break(struct view_slot *s)
{
	for (;;) {
		int want = VIEW_SLOT_PINNED;
		bool copied;

		if (!atomic_compare_exchange_strong(&s->state, &want, VIEW_SLOT_COPYING))
			return;
		if (fcntl(s->fd, F_GETLEASE) != F_RDLCK) {
			copied = view_slot_copy(s);
			if (copied)
				fcntl(s->fd, F_SETLEASE, F_UNLCK);
			atomic_store(&s->state, copied ? VIEW_SLOT_COPIED : VIEW_SLOT_LAPSING);
			return;
		}
		atomic_store(&s->state, VIEW_SLOT_PINNED);
		/* a break's signal that came while the slot was taken here found nothing to do */
		if (fcntl(s->fd, F_GETLEASE) == F_RDLCK)
			return;
	}
}

/* SIGIO: the kernel's signal to a lease holder that a break began (fcntl(2), "Leases"). Which
 * lease is not said (SIGIO without F_SETSIG carries no descriptor): every pinned view is
 * checked. */
static void view_on_break(int sig)
{
	int saved = errno;

	(void)sig;
	for (size_t i = 0; i < VIEW_SLOTS; i++)
		view_slot_break(&view_slots[i]);
	errno = saved;
}

/* A read lease on @fd (platform_file_view), view_on_break installed first (SA_RESTART: the
 * calls it interrupts go on) and SIGIO unblocked in this thread (a mask inherited from the
 * runtime that started us would leave every break unanswered). true when held. */
static bool view_lease(int fd)
{
	static bool sigio_caught;
	sigset_t io;

	if (!sigio_caught) {
		struct sigaction sa = { .sa_handler = view_on_break, .sa_flags = SA_RESTART };

		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGIO, &sa, NULL) < 0)
			return false;
		sigio_caught = true;
	}
	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	if (sigprocmask(SIG_UNBLOCK, &io, NULL) < 0)
		return false;
	return fcntl(fd, F_SETLEASE, F_RDLCK) == 0;
}

/* Does every write to a file on @fd's file system pass through this kernel's VFS, which breaks
 * the lease? Local disk and memory file systems. Not overlayfs (a write to a layer's file breaks
 * no lease on the overlay's), nor network or FUSE file systems (other hosts, a daemon): their
 * files are copied. */
static bool view_fs_leases_whole(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return false;
	switch ((unsigned long)sf.f_type) {
	case TMPFS_MAGIC:
	case RAMFS_MAGIC:
	case EXT4_SUPER_MAGIC: /* ext2, ext3 too */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
		return true;
	default:
		return false;
	}
}

/* @fd's first @len bytes mapped read-only with @pad zero bytes after them: the kernel zeroes the
 * rest of a file's last page; where the pad runs past it, anonymous zero pages follow. The
 * mapping's length into *ret_map_len; NULL when mmap fails. */
static char *view_map(int fd, size_t len, size_t pad, size_t *ret_map_len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t flen = (len + pg - 1) / pg * pg, total = (len + pad + pg - 1) / pg * pg;
	char *base;

	if (total == flen) {
		base = mmap(NULL, flen, PROT_READ, MAP_PRIVATE, fd, 0);
	} else {
		base = mmap(NULL, total, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (base != MAP_FAILED &&
		    mmap(base, flen, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
			munmap(base, total);
			base = MAP_FAILED;
		}
	}
	if (base == MAP_FAILED)
		return NULL;
	*ret_map_len = total;
	return base;
}

/* A free slot, now VIEW_SLOT_SETUP; NULL when all are taken. */
static struct view_slot *view_slot_claim(void)
{
	for (size_t i = 0; i < VIEW_SLOTS; i++) {
		int want = VIEW_SLOT_FREE;

		if (atomic_compare_exchange_strong(&view_slots[i].state, &want, VIEW_SLOT_SETUP))
			return &view_slots[i];
	}
	return NULL;
}

/* @v pinned: @fd (open for reading, from open_regular with *@st) leased and mapped. false (@fd
 * still open, any lease with it) when no lease can be had or the mapping fails. */
static bool view_pin(struct platform_view *v, int fd, struct stat *st, size_t pad)
{
	struct view_slot *s;

	if (st->st_size < VIEW_MAP_MIN || !view_fs_leases_whole(fd))
		return false;
	s = view_slot_claim();
	if (!s)
		return false;
	/* with the lease held nobody has the file open for writing: its size now is its size */
	if (!view_lease(fd) || fstat(fd, st) < 0 || st->st_size <= 0 ||
	    (unsigned long long)st->st_size > OS_FILE_MAX)
		goto fail;
	s->data = view_map(fd, (size_t)st->st_size, pad, &s->map_len);
	if (!s->data)
		goto fail;
	s->len = (size_t)st->st_size;
	s->fd = fd;
	atomic_store(&s->state, VIEW_SLOT_PINNED);
	/* a break that began before the slot was pinned found nothing to copy */
	view_slot_break(s);
	v->slot = s;
	v->data = s->data;
	v->len = s->len;
	v->dev = st->st_dev;
	v->ino = st->st_ino;
	return true;
fail:
	atomic_store(&s->state, VIEW_SLOT_FREE);
	return false;
}

int platform_file_view(const char *path, size_t pad, struct platform_view **ret_view,
		       const char **ret_data, size_t *ret_len, struct cni_error *err)
{
	struct platform_view *v;
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd, r;

	if (pad > VIEW_PAD_MAX)
		return cni_error_set(err, -EINVAL, CNI_CODE_INTERNAL, "a view's pad is at most %u "
				     "bytes, not %zu", VIEW_PAD_MAX, pad);
	v = calloc(1, sizeof(*v));
	if (!v)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory reading %s", path);
	fd = open_regular(path, O_RDONLY, 0, false, "", &st, err);
	if (fd < 0) {
		free(v);
		return fd;
	}
	if (view_pin(v, fd, &st, pad))
		goto done;
	close(fd); /* and with it any lease taken */
	r = file_read(path, false, pad, &data, &len, err);
	if (r < 0) {
		free(v);
		return r;
	}
	v->data = data;
	v->len = len;
done:
	*ret_view = v;
	*ret_data = v->data;
	*ret_len = v->len;
	return 0;
}

/* Is @v's slot's lease held? (Not while it is being broken.) */
static bool view_leased(const struct platform_view *v)
{
	return fcntl(v->slot->fd, F_GETLEASE) == F_RDLCK;
}

bool platform_file_view_stable(const struct platform_view *v)
{
	/* the lease asked first: a copy made after that is seen by the state */
	return v && (!v->slot || view_leased(v) ||
		     atomic_load(&v->slot->state) == VIEW_SLOT_COPIED);
}

int platform_file_view_current(const char *path, const struct platform_view *v)
{
	struct stat st;

	if (!v)
		return 0;
	if (!v->slot)
		return platform_file_same(path, v->data, v->len);
	/* the lease still held: nobody opened the inode to write since; the name still its */
	if (view_leased(v)) {
		if (lstat(path, &st) < 0)
			return 0;
		return S_ISREG(st.st_mode) && st.st_dev == v->dev && st.st_ino == v->ino &&
		       (unsigned long long)st.st_size == v->len;
	}
	/* copied at a break: a copy, checked by its bytes */
	if (atomic_load(&v->slot->state) == VIEW_SLOT_COPIED)
		return platform_file_same(path, v->data, v->len);
	return 0;
}

void platform_file_view_free(struct platform_view *v)
{
	struct view_slot *s;

	if (!v)
		return;
	s = v->slot;
	if (!s) {
		free(v->data);
		free(v);
		return;
	}
	for (;;) {
		int cur = atomic_load(&s->state);

		/* a handler in another thread copying it: it ends soon (in this one, it ended) */
		if (cur == VIEW_SLOT_COPYING) {
			sched_yield();
			continue;
		}
		if (atomic_compare_exchange_strong(&s->state, &cur, VIEW_SLOT_CLOSING))
			break;
	}
	munmap(s->data, s->map_len);
	close(s->fd);
	atomic_store(&s->state, VIEW_SLOT_FREE);
	free(v);
}

/* Write all of @parts (@n) to @fd, in order, retrying short writes. Returns 0 or negative
 * errno. */
static int write_all(int fd, const struct platform_part *parts, size_t n)
{
	struct iovec iov[512];
	size_t k = 0, skip = 0; /* parts[k] from byte skip on are yet to write */

	while (k < n) {
		size_t m = 0, i;
		ssize_t w;

		for (i = k; i < n && m < sizeof(iov) / sizeof(iov[0]); i++) {
			size_t from = i == k ? skip : 0;

			if (parts[i].len > from)
				iov[m++] = (struct iovec){ .iov_base = (void *)(parts[i].data + from),
							   .iov_len = parts[i].len - from };
		}
		if (m == 0)
			break;
		w = writev(fd, iov, (int)m);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* past what was written */
		while (k < n && (size_t)w >= parts[k].len - skip) {
			w -= (ssize_t)(parts[k].len - skip);
			k++;
			skip = 0;
		}
		if (k < n)
			skip += (size_t)w;
	}
	return 0;
}

/* Unlink "<base>.tmp.XXXXXX" files a writer killed between temp_open and rename left in @dir.
 * Safe because saves run under the file's lock: no other writer can own such a file now. The
 * entries are read with getdents64 into a stack buffer: opendir's 32 KiB heap buffer was a
 * fifth of an ADD's peak heap. */
static void remove_stale_temps(const char *dir, const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t blen = strlen(base);
	union {
		struct dirent64 align; /* getdents64 fills it with struct dirent64 records */
		char b[4096];
	} buf;
	ssize_t n;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((n = getdents64(fd, buf.b, sizeof(buf.b))) > 0) {
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *de = (const struct dirent64 *)(buf.b + off);
			const char *name = de->d_name;

			off += de->d_reclen;
			if (strncmp(name, base, blen) == 0 && strncmp(name + blen, ".tmp.", 5) == 0 &&
			    strlen(name + blen + 5) == 6)
				(void)unlinkat(fd, name, 0);
		}
	}
	close(fd);
}

static int file_replace(const char *path, const struct platform_part *parts, size_t n,
			bool sync, struct cni_error *err);

int platform_file_replace(const char *path, const char *data, size_t len, struct cni_error *err)
{
	const struct platform_part part = { data, len };

	return file_replace(path, &part, 1, true, err);
}

int platform_file_replace_parts(const char *path, const struct platform_part *parts, size_t n,
				struct cni_error *err)
{
	return file_replace(path, parts, n, true, err);
}

bool platform_file_read_unlocked_ok(void)
{
	return true; /* rename(2) replaces the name; a reader keeps the old inode */
}

int platform_file_publish(const char *path, const char *data, size_t len, struct cni_error *err)
{
	const struct platform_part part = { data, len };

	return file_replace(path, &part, 1, false, err);
}

/* Create and open "<path>.tmp.XXXXXX" (@tmp, @size bytes), the Xs six random letters or digits,
 * as mkostemp(3) names it, O_EXCL and mode 0600 so a name someone else put there (a symlink, a
 * FIFO) is never opened. Ours, not mkostemp: glibc's runs code (strspn, its retry clock) from a
 * corner of libc.so an ADD touches for nothing else, a 64 KiB window of its RSS. Returns the
 * descriptor (O_CLOEXEC) or negative errno. */
static int temp_open(const char *path, char *tmp, size_t size)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t len;
	int n = snprintf(tmp, size, "%s.tmp.XXXXXX", path);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	len = (size_t)n;
	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned char rnd[6];
		int fd;

		if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
			/* no entropy yet (early boot): the names need only differ, not be secret */
			struct timespec ts;
			unsigned long long x;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			x = ((unsigned long long)ts.tv_nsec << 20) ^ (unsigned long long)ts.tv_sec ^
			    ((unsigned long long)getpid() << 40) ^ (unsigned long long)attempt;
			for (size_t i = 0; i < sizeof(rnd); i++, x >>= 8)
				rnd[i] = (unsigned char)x;
		}
		for (size_t i = 0; i < sizeof(rnd); i++)
			tmp[len - 6 + i] = set[rnd[i] % (sizeof(set) - 1)];
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

static int file_replace(const char *path, const struct platform_part *parts, size_t n,
			bool sync, struct cni_error *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, dfd, r;

	r = mkdir_parents(path);
	if (r < 0)
		return cni_error_set(err, r, CNI_CODE_IO, "cannot create the directory of %s: %s",
				     path, strerror(-r));
	fd = temp_open(path, tmp, sizeof(tmp));
	if (fd == -ENAMETOOLONG)
		return cni_error_set(err, fd, CNI_CODE_IO, "path too long: %s", path);
	if (fd < 0)
		return cni_error_set(err, fd, CNI_CODE_IO, "cannot create a temp file for %s: %s",
				     path, strerror(-fd));
	r = write_all(fd, parts, n);
	/* 0600 whatever the umask: the Go plugin's os.CreateTemp mode, kept by its rename */
	if (r == 0 && fchmod(fd, OS_FILE_MODE) < 0)
		r = -errno;
	if (r == 0 && sync && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		cni_error_set(err, r, CNI_CODE_IO, "cannot write %s: %s", tmp, strerror(-r));
		goto remove_tmp;
	}
	platform_fault_point("file written");
	if (rename(tmp, path) < 0) {
		r = -errno;
		cni_error_set(err, r, CNI_CODE_IO, "cannot rename %s to %s: %s", tmp, path, strerror(-r));
		goto remove_tmp;
	}
	platform_fault_point("file renamed");
	/* The rename is durable only once the directory entry is on disk. */
	dir_of(path, dir, sizeof(dir));
	remove_stale_temps(dir, path);
	if (!sync)
		return 0;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) < 0 && errno != EINVAL)
			r = -errno;
		close(dfd);
		if (r < 0)
			return cni_error_set(err, r, CNI_CODE_IO, "cannot sync directory %s: %s",
					     dir, strerror(-r));
	}
	return 0;

remove_tmp:
	unlink(tmp);
	return r;
}

int platform_file_mtime(const char *path, long long *ret_s)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*ret_s = (long long)st.st_mtime;
	return 0;
}

int platform_file_set_aside(const char *path, const char *tag, char *ret_path, size_t size,
			    struct cni_error *err)
{
	char aside[PATH_MAX], stamp[80];
	struct tm tm;
	int n, r;

	logline_utc((long long)time(NULL), &tm);
	snprintf(stamp, sizeof(stamp), "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	for (n = 1; n < 100; n++) {
		if ((n == 1 ? snprintf(aside, sizeof(aside), "%s.%s-%s", path, tag, stamp) :
			      snprintf(aside, sizeof(aside), "%s.%s-%s-%d", path, tag, stamp, n)) >=
		    (int)sizeof(aside))
			return cni_error_set(err, -ENAMETOOLONG, CNI_CODE_IO, "path too long: %s",
					     path);
		/* link(2) never replaces what is at the new name */
		if (link(path, aside) == 0)
			break;
		r = -errno;
		if (r == -ENOENT)
			return r;
		if (r != -EEXIST)
			return cni_error_set(err, r, CNI_CODE_IO, "cannot set %s aside: %s", path,
					     strerror(-r));
	}
	if (n == 100)
		return cni_error_set(err, -EEXIST, CNI_CODE_IO, "cannot set %s aside: names taken",
				     path);
	if (ret_path)
		snprintf(ret_path, size, "%s", aside);
	return 0;
}

/* ---- locks ---- */

struct platform_lock {
	int fd;
	char path[PATH_MAX];   /* for platform_lock_release_unlink */
};

long long platform_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long now_ms(void)
{
	return platform_monotonic_ns() / 1000000;
}

static void lock_alarm(int sig)
{
	(void)sig; /* only to interrupt flock(2) */
}

/* Wait in flock(LOCK_EX) for @fd until the monotonic @deadline (ms): the kernel hands the lock
 * to a waiter as it is released (a poll with sleeps left it idle for up to the sleep while
 * hundreds of calls queued: issue 14). An interval timer's SIGALRM (handler without SA_RESTART)
 * interrupts the wait at the deadline, and every 10 ms after it in case the first one came just
 * before flock slept. Linux gives a process-directed signal to the main thread first, and the
 * only threads besides it are libcurl's resolver's. Returns 0, -ETIMEDOUT or -errno. */
static int flock_wait(int fd, long long deadline)
{
	struct sigaction sa, old_sa;
	struct itimerval it = { .it_interval = { .tv_usec = 10000 } }, off = { 0 };
	sigset_t alrm, old_mask;
	long long left = deadline - now_ms();
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lock_alarm;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	if (sigaction(SIGALRM, &sa, &old_sa) < 0)
		return -errno;
	sigprocmask(SIG_UNBLOCK, &alrm, &old_mask);
	it.it_value.tv_sec = left / 1000;
	it.it_value.tv_usec = (left % 1000) * 1000;
	if (setitimer(ITIMER_REAL, &it, NULL) < 0) {
		r = -errno;
		goto restore;
	}
	for (;;) {
		if (flock(fd, LOCK_EX) == 0) {
			r = 0;
			break;
		}
		r = -errno;
		if (r != -EINTR)
			break;
		if (now_ms() >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
	}
	setitimer(ITIMER_REAL, &off, NULL);
restore:
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGALRM, &old_sa, NULL);
	return r;
}

int platform_lock_acquire(const char *path, unsigned timeout_ms, struct platform_lock **ret,
			  struct cni_error *err)
{
	struct platform_lock *l;
	long long deadline;
	char pid[32];
	int fd, r, n;

	/* The path is kept for platform_lock_release_unlink: never lock (and later unlink) a
	 * truncated name. */
	if (strlen(path) >= sizeof(l->path))
		return cni_error_set(err, -ENAMETOOLONG, CNI_CODE_IO, "lock path %.64s... is too long",
				     path);
	r = mkdir_parents(path);
	if (r < 0)
		return cni_error_set(err, r, CNI_CODE_IO, "cannot create the directory of %s: %s",
				     path, strerror(-r));
	deadline = now_ms() + timeout_ms;
reopen:
	fd = open_regular(path, O_RDWR | O_CREAT, OS_FILE_MODE, false, "lock ", NULL, err);
	if (fd < 0)
		return fd;
	/* A non-blocking try, then a wait in the kernel's queue until the deadline. */
	for (;;) {
		struct stat fst, pst;

		r = flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : -errno;
		if (r == -EWOULDBLOCK)
			r = flock_wait(fd, deadline);
		if (r == 0) {
			/* platform_lock_release_unlink removes the path while holding the lock: a lock
			 * won on the inode it named is a lock on nothing. Go on only if @path still
			 * names our inode, else open the path again (same deadline). lstat: a
			 * symlink put there since never names our inode, and the reopen refuses it. */
			if (fstat(fd, &fst) == 0 && lstat(path, &pst) == 0 &&
			    fst.st_dev == pst.st_dev && fst.st_ino == pst.st_ino)
				break;
			close(fd);
			if (now_ms() >= deadline)
				return cni_error_set(err, -ETIMEDOUT, CNI_CODE_TRY_AGAIN,
						     "timed out locking %s after %u ms", path, timeout_ms);
			goto reopen;
		}
		if (r == -EINTR)
			continue;
		if (r == -ETIMEDOUT) {
			cni_error_set(err, r, CNI_CODE_TRY_AGAIN, "timed out locking %s after %u ms",
				      path, timeout_ms);
			goto close_fd;
		}
		cni_error_set(err, r, CNI_CODE_IO, "cannot lock %s: %s", path, strerror(-r));
		goto close_fd;
	}
	l = malloc(sizeof(*l));
	if (!l) {
		r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
		goto close_fd;
	}
	l->fd = fd;
	snprintf(l->path, sizeof(l->path), "%s", path);
	/* The PID is informational (as the Go plugin writes it); failure to write it is harmless. */
	n = snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0) {
		/* ignored */
	}
	*ret = l;
	return 0;

close_fd:
	close(fd);
	return r;
}

struct platform_lock *platform_lock_release(struct platform_lock *l)
{
	if (!l)
		return NULL;
	flock(l->fd, LOCK_UN);
	close(l->fd);
	free(l);
	return NULL;
}

struct platform_lock *platform_lock_release_unlink(struct platform_lock *l)
{
	if (!l)
		return NULL;
	/* Still locked: a waiter that wins the old inode next sees the path gone (or naming a new
	 * file) and opens it again (platform_lock_acquire). A failed unlink only leaves the file. */
	unlink(l->path);
	return platform_lock_release(l);
}

/* ---- HTTP ---- */

struct http_body {
	char *data;
	size_t len;
	bool too_big;
};

static size_t http_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_body *b = userdata;
	size_t n = size * nmemb;
	char *p;

	if (b->len + n > OS_HTTP_BODY_MAX) {
		b->too_big = true;
		return 0;
	}
	p = realloc(b->data, b->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, ptr, n);
	b->len += n;
	p[b->len] = '\0';
	b->data = p;
	return n;
}

/* The libcurl entry points we use, resolved from libcurl.so.4 at the first GET. Only the
 * azure environment's NMAgent fetch needs HTTP; every other call skips loading libcurl and its
 * TLS, Kerberos and LDAP dependencies (half of an ADD's instructions were dynamic linking). */
struct curl_api {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode rc);
	void (*easy_cleanup)(CURL *c);
};

#define OS_LIBCURL_SONAME "libcurl.so.4"

#ifdef AZCNI_CURL_LINKED
/* A fully static build (AZCNI_FULLY_STATIC) links an HTTP-only libcurl: nothing to load. */
static int curl_load(const char *url, const struct curl_api **ret, struct cni_error *err)
{
	static const struct curl_api api = {
		.global_init = curl_global_init,
		.global_cleanup = curl_global_cleanup,
		.easy_init = curl_easy_init,
		.easy_setopt = (curl_easy_setopt),
		.easy_perform = curl_easy_perform,
		.easy_getinfo = (curl_easy_getinfo),
		.easy_strerror = curl_easy_strerror,
		.easy_cleanup = curl_easy_cleanup,
	};

	(void)url;
	(void)err;
	*ret = &api;
	return 0;
}
#else

/* Load libcurl once per process into *ret (the handle stays open until exit).
 * Returns 0, or -ELIBACC with code 11 naming @url and the loader's message. */
static int curl_load(const char *url, const struct curl_api **ret, struct cni_error *err)
{
	static struct curl_api api;
	static bool loaded;
	void *h;

	if (loaded) {
		*ret = &api;
		return 0;
	}
	h = dlopen(OS_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return cni_error_set(err, -ELIBACC, CNI_CODE_TRY_AGAIN,
				     "GET %s: cannot load %s (install libcurl4): %s", url,
				     OS_LIBCURL_SONAME, dlerror());
#define CURL_SYM(field, name)                                                          \
	do {                                                                           \
		*(void **)&api.field = dlsym(h, name);                                 \
		if (!api.field) {                                                      \
			dlclose(h);                                                    \
			return cni_error_set(err, -ELIBACC, CNI_CODE_TRY_AGAIN,        \
					     "GET %s: %s has no %s", url, OS_LIBCURL_SONAME, \
					     name);                                    \
		}                                                                      \
	} while (0)
	CURL_SYM(global_init, "curl_global_init");
	CURL_SYM(global_cleanup, "curl_global_cleanup");
	CURL_SYM(easy_init, "curl_easy_init");
	CURL_SYM(easy_setopt, "curl_easy_setopt");
	CURL_SYM(easy_perform, "curl_easy_perform");
	CURL_SYM(easy_getinfo, "curl_easy_getinfo");
	CURL_SYM(easy_strerror, "curl_easy_strerror");
	CURL_SYM(easy_cleanup, "curl_easy_cleanup");
#undef CURL_SYM
	loaded = true;
	*ret = &api;
	return 0;
}
#endif

/* One request: GET when @data is NULL, else POST of @len bytes of JSON. Returns 0 with the
 * status in *ret_status and the body (malloc'd, NUL-terminated) in *ret_body, *ret_len, whatever
 * the status; -EAGAIN (code 11) when the server cannot be reached or does not answer in time. */
static int http_request(const char *method, const char *url, const char *data, size_t len,
			unsigned timeout_ms, long *ret_status, char **ret_body, size_t *ret_len,
			struct cni_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct http_body body = { 0 };
	struct curl_slist ctype = { .data = (char *)"Content-Type: application/json" };
	const struct curl_api *cu;
	CURLcode rc;
	CURL *c;
	int r;

	r = curl_load(url, &cu, err);
	if (r < 0)
		return r;
	if (cu->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "cannot initialise libcurl");
	c = cu->easy_init();
	if (!c) {
		r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "cannot initialise libcurl");
		goto cleanup_global;
	}
	cu->easy_setopt(c, CURLOPT_URL, url);
	cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			(long)(timeout_ms < OS_HTTP_CONNECT_MAX_MS ? timeout_ms : OS_HTTP_CONNECT_MAX_MS));
	cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	/* The wireserver and CNS are reached directly, never through an environment proxy. */
	cu->easy_setopt(c, CURLOPT_NOPROXY, "*");
	cu->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (data) {
		cu->easy_setopt(c, CURLOPT_POST, 1L);
		cu->easy_setopt(c, CURLOPT_POSTFIELDS, data);
		cu->easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
		cu->easy_setopt(c, CURLOPT_HTTPHEADER, &ctype);
	}
	cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write);
	cu->easy_setopt(c, CURLOPT_WRITEDATA, &body);
	cu->easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	rc = cu->easy_perform(c);
	if (body.too_big) {
		r = cni_error_set(err, -EFBIG, CNI_CODE_SOURCE, "%s %s: body larger than %u bytes",
				  method, url, OS_HTTP_BODY_MAX);
		goto cleanup;
	}
	if (rc != CURLE_OK) {
		r = cni_error_set(err, -EAGAIN, CNI_CODE_TRY_AGAIN, "%s %s failed: %s", method, url,
				  errbuf[0] ? errbuf : cu->easy_strerror(rc));
		goto cleanup;
	}
	*ret_status = 0;
	cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
	if (!body.data) {
		body.data = calloc(1, 1);
		if (!body.data) {
			r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
			goto cleanup;
		}
	}
	*ret_body = body.data;
	*ret_len = body.len;
	body.data = NULL;
	r = 0;
cleanup:
	free(body.data);
	cu->easy_cleanup(c);
cleanup_global:
	cu->global_cleanup();
	return r;
}

int platform_http_get(const char *url, unsigned timeout_ms, char **ret_body, size_t *ret_len,
		      struct cni_error *err)
{
	char *body = NULL;
	size_t len = 0;
	long status = 0;
	int r;

	r = http_request("GET", url, NULL, 0, timeout_ms, &status, &body, &len, err);
	if (r < 0)
		return r;
	if (status != 200) {
		free(body);
		return cni_error_set(err, -EAGAIN, CNI_CODE_TRY_AGAIN, "GET %s failed: HTTP status %ld",
				     url, status);
	}
	*ret_body = body;
	*ret_len = len;
	return 0;
}

int platform_http_post(const char *url, const char *data, size_t len, unsigned timeout_ms,
		       long *ret_status, char **ret_body, size_t *ret_len, struct cni_error *err)
{
	return http_request("POST", url, data, len, timeout_ms, ret_status, ret_body, ret_len, err);
}

/* ---- interfaces ---- */

int platform_ifname_by_mac(const char *mac, char *buf, size_t size)
{
	char best[IFNAMSIZ] = "";
	uint8_t want[MAC_LEN];
	int best_index = -1, s;
	struct dirent *de;
	DIR *d;

	if (!mac || strlen(mac) != 12 || size == 0 || mac_parse(mac, want) < 0)
		return -ENOENT;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -ENOENT;
	d = opendir("/sys/class/net");
	if (!d) {
		close(s);
		return -ENOENT;
	}
	/* One ioctl per interface: reading sysfs "address" cost an open, read and close each, which
	 * on a node with 250 pod veths was ~750 syscalls per ADD. */
	while ((de = readdir(d))) {
		char probe[PATH_MAX];
		struct ifreq ifr;
		struct stat st;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= IFNAMSIZ)
			continue;
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, de->d_name, strlen(de->d_name) + 1);
		if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0 || ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER ||
		    memcmp(ifr.ifr_hwaddr.sa_data, want, MAC_LEN) != 0)
			continue;
		snprintf(probe, sizeof(probe), "/sys/class/net/%s/bridge", de->d_name);
		if (stat(probe, &st) == 0)
			continue;
		if (ioctl(s, SIOCGIFINDEX, &ifr) < 0)
			continue;
		if (best_index < 0 || ifr.ifr_ifindex < best_index) {
			best_index = ifr.ifr_ifindex;
			memcpy(best, de->d_name, strlen(de->d_name) + 1);
		}
	}
	closedir(d);
	close(s);
	if (best_index < 0 || strlen(best) >= size)
		return -ENOENT;
	memcpy(buf, best, strlen(best) + 1);
	return 0;
}

/* ---- time ---- */

void platform_timestamp(char *buf, size_t size)
{
	struct timespec ts;
	char base[32];

	if (size == 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	logline_utc_text((long long)ts.tv_sec, base, sizeof(base));
	snprintf(buf, size, "%s.%09ldZ", base, (long)ts.tv_nsec);
}

/* ---- logging ---- */

static int log_fd = -1;
static char log_dir[PATH_MAX], log_program[64];
static enum logline_level log_min = LOGLINE_DEBUG;

static int log_open_path(void)
{
	char path[PATH_MAX + 80];

	if (snprintf(path, sizeof(path), "%s/%s.log", log_dir, log_program) >= (int)sizeof(path))
		return -1;
	(void)mkdir_parents(path);
	/* Not a regular file (a symlink, a FIFO): no log, and the call goes on. */
	return open_regular(path, O_WRONLY | O_APPEND | O_CREAT, OS_FILE_MODE, false, "log ", NULL,
			    NULL);
}

void platform_log_open(const char *program)
{
	if (log_fd >= 0)
		return;
	snprintf(log_dir, sizeof(log_dir), "%s", platform_path(PLATFORM_PATH_LOG_DIR));
	snprintf(log_program, sizeof(log_program), "%s", program);
	log_fd = log_open_path();
	if (log_fd < 0)
		log_fd = -1;
}

void platform_log_set_level(enum logline_level level)
{
	log_min = level;
}

/* Keep the newest LOGLINE_BACKUPS backups of the log. */
static void log_prune(void)
{
	char *names[LOGLINE_BACKUPS + 1], *gone, path[PATH_MAX + 300];
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(log_dir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (logline_is_backup(de->d_name, log_program) &&
		    (gone = logline_backups_add(names, &n, de->d_name))) {
			snprintf(path, sizeof(path), "%s/%s", log_dir, gone);
			(void)unlink(path);
			free(gone);
		}
	closedir(d);
	while (n)
		free(names[--n]);
}

/* The log grew past its limit: under its rotation lock, if the file is still the one this
 * process writes (no one rotated it since), rename it to its backup name, prune, and open the
 * path anew. */
static void log_rotate(void)
{
	char path[PATH_MAX + 80], backup[PATH_MAX + 120], lock[PATH_MAX + 90];
	struct platform_lock *l = NULL;
	struct stat now, mine;
	struct timespec ts;
	struct tm tm;

	snprintf(path, sizeof(path), "%s/%s.log", log_dir, log_program);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	if (platform_lock_acquire(lock, 0, &l, NULL) < 0)
		return;  /* another call rotates it */
	if (stat(path, &now) == 0 && fstat(log_fd, &mine) == 0 && now.st_ino == mine.st_ino &&
	    now.st_dev == mine.st_dev) {
		clock_gettime(CLOCK_REALTIME, &ts);
		logline_utc((long long)ts.tv_sec, &tm);
		logline_backup_name(log_dir, log_program, &tm, (int)(ts.tv_nsec / 1000000), backup,
				    sizeof(backup));
		if (rename(path, backup) == 0)
			log_prune();
	}
	platform_lock_release(l);
	close(log_fd);
	log_fd = log_open_path();
}

static long log_max_bytes(void)
{
	static long max;

	if (!max)
		max = (long)platform_env_ms("AZURE_CNI_LOG_MAX_BYTES", LOGLINE_MAX_BYTES, 1024,
					    1L << 30);
	return max;
}

void platform_log_at(enum logline_level level, const char *file, int line, const char *fmt, ...)
{
	char rec[4608], ts[40];
	struct timespec now;
	struct stat st;
	va_list ap;
	size_t n;

	if (log_fd < 0 || level < log_min)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	n = logline_utc_text((long long)now.tv_sec, ts, sizeof(ts));
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);
	va_start(ap, fmt);
	n = logline_vformat(rec, sizeof(rec), level, ts, file, line, (long)getpid(), fmt, ap);
	va_end(ap);
	/* One write(2) on an O_APPEND descriptor: lines of concurrent calls never interleave. */
	if (n && write(log_fd, rec, n) < 0) {
		/* logging never breaks a call */
	}
	if (fstat(log_fd, &st) == 0 && st.st_size > log_max_bytes())
		log_rotate();
}

void platform_log_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

/* ---- fault injection ---- */

void platform_fault_point(const char *step)
{
	if (platform_fault_step(step))
		kill(getpid(), SIGKILL);
}

int platform_lock_sweep(bool (*match)(const char *name))
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct platform_lock *l;
	struct dirent *e;
	int n = 0;
	DIR *d;

	if (platform_lock_path("", dir, sizeof(dir)) < 0 || !(d = opendir(dir)))
		return 0;
	while ((e = readdir(d))) {
		if (!match(e->d_name) || platform_lock_path(e->d_name, path, sizeof(path)) < 0)
			continue;
		l = NULL;
		if (platform_lock_acquire(path, 0, &l, NULL) == 0) {
			platform_lock_release_unlink(l);
			n++;
		}
	}
	closedir(d);
	return n;
}
