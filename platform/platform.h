/* SPDX-License-Identifier: MIT */
/* The contract between the portable code (core/, cni/) and each OS: files, locks, HTTP, time,
 * logging and paths. platform/linux and platform/windows implement it; the network backend
 * (netlink or HCN) has its own header per OS (platform/linux/netdev.h, platform/windows/hcn.h). */
#ifndef AZCNI_PLATFORM_H
#define AZCNI_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/logline.h"

/* ---- paths ----
 * Defaults are the Go plugin's. Environment overrides (documented in README "Paths"):
 *   AZURE_CNI_RUNTIME_DIR  state files and locks    (Linux /var/run, Windows the working dir)
 *   AZURE_CNI_LOG_DIR      log files                (Linux /var/log, Windows the working dir)
 *   AZURE_CNI_MAS_FILE     the "mas" interfaces.json (Linux /etc/kubernetes/interfaces.json,
 *                          Windows c:\k\interfaces.json)
 *   AZURE_CNI_NMAGENT_URL  the NMAgent interface-info URL (default the wireserver's)
 *   AZURE_CNI_LOCK_TIMEOUT_MS  lock wait (Linux 30000, Windows 60000)
 */
enum platform_path {
	PLATFORM_PATH_NET_STATE,   /* <runtime>/azure-vnet.json */
	PLATFORM_PATH_NET_LOCK,    /* <runtime>/azure-vnet/azure-vnet.lock (Windows <runtime>\azure-vnet.lock) */
	PLATFORM_PATH_IPAM_STATE,  /* <runtime>/azure-vnet-ipam.json */
	PLATFORM_PATH_IPAM_LOCK,   /* <runtime>/azure-vnet/azure-vnet-ipam.lock (Windows <runtime>\...) */
	PLATFORM_PATH_MAS_FILE,
	PLATFORM_PATH_NMAGENT_URL,
	PLATFORM_PATH_LOG_DIR,
};

/* platform_path - the path (or URL) for @what, honouring the overrides. Returns a pointer to
 * static storage valid for the process lifetime. */
const char *platform_path(enum platform_path what);

/* platform_lock_path - the path of lock file @name (e.g. "<sha1 hex>.lock", no separator) in
 * the lock directory, <runtime>/azure-vnet/<name> (Windows <runtime>\\azure-vnet\\<name>), into
 * @buf (@size bytes). Returns 0, or -ENAMETOOLONG when it does not fit (nothing recorded). */
int platform_lock_path(const char *name, char *buf, size_t size);

/* platform_lock_sweep - remove the idle lock files of the lock directory whose names @match
 * accepts: each is taken without waiting and removed while held (platform_lock_release_unlink),
 * so a file whose lock a running call holds stays. For per-owner locks whose owner went away
 * without removing its file (a killed DEL or GC). Windows keeps lock files (see
 * platform_lock_release_unlink): 0 there. Returns the number removed (>= 0). */
int platform_lock_sweep(bool (*match)(const char *name));

/* platform_lock_timeout_ms - the lock wait in milliseconds. */
unsigned platform_lock_timeout_ms(void);

/* ---- files ----
 * State, lock, temp and log files are opened without following a symbolic link (Linux
 * O_NOFOLLOW; Windows FILE_FLAG_OPEN_REPARSE_POINT), close-on-exec, non-blocking (a FIFO never
 * hangs the open), and must be regular files, checked on the open descriptor or handle (fstat;
 * GetFileType and GetFileInformationByHandle); a symlink, FIFO, directory, device or socket there
 * is code 5 naming the path, and no lock is kept. Files we create are 0600 on Linux (the Go
 * plugin's state and log mode; README "Paths and environment"). */

/* platform_file_read - read a whole regular file (up to 64 MiB) that is not a symbolic link.
 * Returns 0 with *ret_data (malloc'd, NUL-terminated, caller frees) and *ret_len, -ENOENT when
 * absent (no error recorded), or another negative errno with err set (code 5 naming the path:
 * -ELOOP a symlink, -EINVAL not a regular file, -EFBIG too large). */
int platform_file_read(const char *path, char **ret_data, size_t *ret_len, struct cni_error *err);

/* platform_file_read_follow - platform_file_read for an input an operator may link elsewhere
 * (the "mas" interfaces.json, read as the Go plugin reads it): a symbolic link is followed; the
 * file it names must still be a regular file. Same returns and ownership. */
int platform_file_read_follow(const char *path, char **ret_data, size_t *ret_len,
			      struct cni_error *err);

/* platform_file_replace - atomically replace @path with @len bytes: write a temp file in the same
 * directory (created new, never an existing name: O_EXCL / CREATE_NEW; 0600), fsync it, rename
 * over @path (MoveFileEx REPLACE_EXISTING|WRITE_THROUGH on Windows), fsync the directory. The
 * rename replaces a symlink at @path, never what it points to. Creates missing parent
 * directories (0755). A reader sees the old or the
 * new file, never a torn one. The caller holds the file's lock: temp files of @path that a killed
 * writer left behind are removed after the rename. Returns 0 or negative errno (code 5 naming
 * the path). */
int platform_file_replace(const char *path, const char *data, size_t len, struct cni_error *err);

/* A byte range of a file's content (platform_file_replace_parts). */
struct platform_part {
	const char *data;
	size_t len;
};

/* platform_file_replace_parts - platform_file_replace of the bytes of @parts (@n, in order),
 * written without joining them (writev on Linux). Same returns. */
int platform_file_replace_parts(const char *path, const struct platform_part *parts, size_t n,
				struct cni_error *err);

/* platform_file_same - whether the file at @path, opened as platform_file_read opens it, holds
 * exactly the @len bytes at @data: read a chunk at a time into a buffer on the stack, so a caller
 * that holds the text it last read learns "unchanged" without a heap copy of the file. 1 when
 * equal; 0 otherwise (different, absent, not a regular file, unreadable: platform_file_read
 * then tells why). */
int platform_file_same(const char *path, const char *data, size_t len);

/* A whole file's bytes held for reading (platform_file_view); opaque. */
struct platform_view;

/* platform_file_view - the bytes of the regular file at @path (opened as platform_file_read
 * opens it; up to 64 MiB) for reading, without a copy where the platform allows: *ret_data is
 * *ret_len bytes then @pad (at most 64) zero bytes, read-only, valid and unchanged until
 * platform_file_view_free(*ret_view). Linux: the file's pages are mapped (MAP_PRIVATE, PROT_READ)
 * and pinned by a read lease (fcntl F_SETLEASE F_RDLCK, fcntl(2)). A process that opens the file
 * in place to write or truncate it breaks the lease: the kernel holds its open and sends this
 * process SIGIO, whose handler (installed with the first lease, SA_RESTART) copies the view's
 * bytes into private memory at the same address and gives the lease up, so the writer goes on
 * at once and the view's bytes stay as they were (out of memory for the copy: the writer waits
 * up to /proc/sys/fs/lease-break-time, and platform_file_view_stable says false). A writer that
 * replaces the file by rename (ours, the Go plugin's store since v1.2.2) does not touch the
 * viewed inode. A file under 32 KiB (a copy costs less), one that no lease can be had on (open
 * for writing somewhere, no CAP_LEASE), one on a file system whose writes may bypass the lease
 * (anything but tmpfs, ramfs, ext2/3/4, xfs, btrfs: overlayfs, NFS, FUSE), more than 8 views at
 * once in this process, and on Windows: the bytes are read into memory (a copy). Returns 0 (free
 * with platform_file_view_free), -ENOENT when absent (no error recorded), or negative errno as
 * platform_file_read (code 5 naming the path; -EFBIG too large; -ENOMEM code 100). */
int platform_file_view(const char *path, size_t pad, struct platform_view **ret_view,
		       const char **ret_data, size_t *ret_len, struct cni_error *err);

/* platform_file_view_current - whether @path names, now, the file @v was made from with the
 * same bytes: for a pinned view (still leased, same device and inode: nobody wrote it) without
 * reading it; for a copy (also a view copied at a lease break), platform_file_same. 1 yes, 0 no
 * or cannot tell (the caller reads the file again). */
int platform_file_view_current(const char *path, const struct platform_view *v);

/* platform_file_view_stable - whether @v's bytes are still safe to read: true for a copy, for
 * a mapped view while its lease holds, and for one copied at a lease break; false only for a
 * mapped view whose break found no memory for the copy (once the lease runs out, a truncation of
 * the file would make reading it fault). */
bool platform_file_view_stable(const struct platform_view *v);

/* platform_file_view_free - unmap or free the bytes and release the lease; safe on NULL. */
void platform_file_view_free(struct platform_view *v);

/* platform_file_read_unlocked_ok - whether a file that only platform_file_replace (or another
 * writer's temp file and rename) writes may be read without its lock: true when a reader
 * holding it open can never make a replace fail (Linux: rename(2)); false on Windows, where
 * MoveFileEx over a file another process has open is not relied on. */
bool platform_file_read_unlocked_ok(void);

/* platform_file_publish - platform_file_replace without the fsyncs, for a file whose loss in a
 * crash costs nothing (the metrics textfile): a reader still sees the old or the new file, never
 * a torn one. Same returns. */
int platform_file_publish(const char *path, const char *data, size_t len, struct cni_error *err);

/* platform_file_set_aside - keep the file at @path (found corrupt) also as "<path>.<@tag>-<UTC
 * time as YYYYMMDDTHHMMSSZ>" (with "-<n>" when that name is taken: an existing file is never
 * replaced) for an operator to read; nothing of ours ever deletes it. @path stays as it is,
 * for the caller to replace atomically (platform_file_replace), so a kill in between never
 * leaves the file missing. Linux: a hard link; Windows: a copy. The new name into @ret_path
 * (@size bytes; may be NULL). The caller holds the file's lock. Returns 0, -ENOENT when @path
 * is absent (no error recorded), or another negative errno (code 5 naming @path). */
int platform_file_set_aside(const char *path, const char *tag, char *ret_path, size_t size,
			    struct cni_error *err);

/* platform_file_mtime - the last modification time of @path (a symbolic link followed: a
 * runtime's netns path is a bind mount whose time is the namespace's creation) in Unix seconds
 * into *ret_s. Returns 0, -ENOENT when absent, or another negative errno (nothing recorded). */
int platform_file_mtime(const char *path, long long *ret_s);

/* ---- locks ---- */
struct platform_lock;

/* platform_lock_acquire - take an exclusive kernel lock (flock / LockFileEx) on @path, creating
 * it (0600; its directory 0755) if needed, waiting at most @timeout_ms. A @path that is not a
 * regular file (a symlink, a FIFO, a directory) is code 5 naming it, at once. The lock dies with the process,
 * so a killed holder never wedges the next call. Writes our PID into the file as the Go plugin
 * does. On Linux the lock is taken only on the file @path names once it is held (a holder may
 * remove the path, platform_lock_release_unlink; a waiter then opens the path again within the
 * same wait). Timeout: -ETIMEDOUT with code 11 "timed out locking <path>". Returns 0 with *ret
 * (release with platform_lock_release or platform_lock_release_unlink) or negative errno. */
int platform_lock_acquire(const char *path, unsigned timeout_ms, struct platform_lock **ret,
			  struct cni_error *err);

/* platform_lock_release - unlock and free; NULL is allowed. Returns NULL. */
struct platform_lock *platform_lock_release(struct platform_lock *l);

/* platform_lock_release_unlink - remove the lock file while still holding the lock, then
 * unlock and free (for per-owner locks whose owner is gone, so they do not pile up). Only for
 * lock files every user takes with platform_lock_acquire (not the ones the Go plugin shares).
 * Windows keeps the file (a plain release). NULL is allowed. Returns NULL. */
struct platform_lock *platform_lock_release_unlink(struct platform_lock *l);

/* ---- HTTP ---- */
/* platform_http_get - GET @url, bounded by @timeout_ms for the whole transfer and by
 * min(@timeout_ms, 5000) for the connect phase. No proxy, no redirects.
 * Returns 0 with *ret_body (malloc'd, NUL-terminated, caller frees), *ret_len, when the status is
 * 200. Unreachable, timed out or a non-200 status: -EAGAIN with code 11 naming @url and the cause
 * (status code or transport error). Body limit 4 MiB (-EFBIG, code 105). */
int platform_http_get(const char *url, unsigned timeout_ms, char **ret_body, size_t *ret_len,
		      struct cni_error *err);

/* platform_http_post - POST @len bytes of @data (Content-Type: application/json) to @url, with
 * platform_http_get's bounds (whole request @timeout_ms, connect min(@timeout_ms, 5000)), no proxy,
 * no redirects. Returns 0 with the HTTP status in *ret_status and the body (malloc'd,
 * NUL-terminated, caller frees; "" when none) in *ret_body, *ret_len, whatever the status: the
 * caller decides what a status means (CNS answers 404 on an API it lacks). Unreachable or timed
 * out: -EAGAIN with code 11 naming @url and the cause. Body limit 4 MiB (-EFBIG, code 105). */
int platform_http_post(const char *url, const char *data, size_t len, unsigned timeout_ms,
		       long *ret_status, char **ret_body, size_t *ret_len, struct cni_error *err);

/* ---- interfaces ---- */
/* platform_ifname_by_mac - the name of the host interface whose MAC is @mac (12 hex digits, any
 * case, no separators; the NMAgent form) into @buf (@size bytes). Bridges are skipped (in bridge
 * mode the bridge carries its master's MAC); among several matches the lowest ifindex wins.
 * Returns 0, or -ENOENT when no interface has that MAC (no error recorded: the caller falls back
 * to the MAC). Used to name IPAM pools by interface ("eth0") as the Go plugin does. */
int platform_ifname_by_mac(const char *mac, char *buf, size_t size);

/* ---- errors ---- */
/* platform_errno_text - a short English text for the (positive) errno @errnum, for messages:
 * the C library's on Linux, our own table on Windows (msvcrt's numbering and texts differ).
 * Returns static storage (the text of an unknown number may be overwritten by the next call). */
const char *platform_errno_text(int errnum);

/* ---- fault injection (crash tests) ---- */
/* platform_fault_point - a numbered step of a call at which a crash test may kill the process:
 * after a state or lock change, a kernel or HNS change, an IPAM step. With
 * AZURE_CNI_FAULT_KILL_AT=N (N >= 1) the Nth call in this process kills it at once, as an OOM
 * kill or a runtime's timeout would (SIGKILL on Linux; TerminateProcess on Windows, exit code
 * 137); with AZURE_CNI_FAULT_LOG=<file> each call appends "<n> <@step>" and a newline to that
 * file, so a test learns how many steps a command has. Both unset (production): one getenv per
 * variable and process, nothing else. @step: a short static name ("ADD ipam"). */
void platform_fault_point(const char *step);

/* ---- time ---- */
/* platform_monotonic_ns - a monotonic clock in nanoseconds (Linux CLOCK_MONOTONIC, Windows
 * QueryPerformanceCounter), for durations only. */
long long platform_monotonic_ns(void);

/* platform_timestamp - current UTC time as RFC 3339 ("2026-11-29T08:49:31.123456789Z") into @buf. */
void platform_timestamp(char *buf, size_t size);

/* ---- logging ---- */
/* platform_log_open - name the log (e.g. "azure-vnet-ipam": <log dir>/azure-vnet-ipam.log,
 * created 0600). Failure to open the log, or a log path that is not a regular file (a symlink, a
 * FIFO), is silent: no log is written, but logging never breaks a CNI call, never writes
 * stdout. */
void platform_log_open(const char *program);

/* platform_log_at - append one record, a JSON line in the Go plugin's layout (core/logline.h:
 * level, ts, caller "<dir>/<file>:<line>", msg, pid), in one write: lines of concurrent calls
 * never interleave. Records below the level platform_log_set_level chose are dropped. A log
 * past LOGLINE_MAX_BYTES (AZURE_CNI_LOG_MAX_BYTES overrides it, for tests) is rotated as the Go
 * plugin's lumberjack does: renamed "<program>-<UTC time>.log", the newest LOGLINE_BACKUPS
 * kept; the process that renames it holds a lock so concurrent calls rotate once. */
void platform_log_at(enum logline_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(gnu_printf, 4, 5)));
#define platform_log(...) platform_log_at(LOGLINE_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define platform_log_error(...) platform_log_at(LOGLINE_ERROR, __FILE__, __LINE__, __VA_ARGS__)

/* platform_log_set_level - drop records below @level (the config's "logLevel"; default debug:
 * everything, as the Go plugin logs). */
void platform_log_set_level(enum logline_level level);

/* platform_log_close - flush and close; safe to call twice. */
void platform_log_close(void);

#endif
