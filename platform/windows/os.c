/* SPDX-License-Identifier: MIT */
/* platform.h for Windows: state, lock and log files in the working directory by default, where
 * the Go plugin keeps them (C:\k on AKS nodes); files through CreateFileW with an atomic
 * MoveFileExW replace, LockFileEx locks with a timeout, WinHTTP GET, RFC 3339 time, and the
 * append-only log. Strings are UTF-8 at this boundary and
 * UTF-16 only inside this file. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>
#include <winhttp.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mac.h"
#include "platform/env-ms.h"
#include "platform/fault.h"
#include "platform/platform.h"
#include "platform/windows/winutil.h"

#define OS_DEFAULT_MAS_FILE "C:\\k\\interfaces.json"
#define OS_DEFAULT_NMAGENT_URL "http://168.63.129.16/machine/plugins?comp=nmagent&type=getinterfaceinfov1"
#define OS_DEFAULT_LOCK_TIMEOUT_MS 60000u
#define OS_HTTP_CONNECT_MAX_MS 5000u
#define OS_HTTP_BODY_MAX (4u * 1024u * 1024u)
#define OS_FILE_MAX (64u * 1024u * 1024u)
#define OS_PATH_MAX 1024

/* CNI output is one JSON object with \n line ends, as on Linux: msvcrt's text mode would write
 * \r\n (and end stdin at a ^Z byte). Runs before main in every program linking this file. */
__attribute__((constructor)) static void os_binary_stdio(void)
{
	_setmode(_fileno(stdin), _O_BINARY);
	_setmode(_fileno(stdout), _O_BINARY);
	_setmode(_fileno(stderr), _O_BINARY);
}

/* ---- UTF-8 / UTF-16, Win32 errors ---- */

wchar_t *win_wide(const char *s)
{
	int n;
	wchar_t *w;

	if (!s)
		return NULL;
	n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
	if (n <= 0)
		return NULL;
	w = malloc((size_t)n * sizeof(*w));
	if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
		free(w);
		w = NULL;
	}
	return w;
}

char *win_utf8(const wchar_t *w)
{
	int n;
	char *s;

	if (!w)
		return NULL;
	n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	if (n <= 0)
		return NULL;
	s = malloc((size_t)n);
	if (s && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
		free(s);
		s = NULL;
	}
	return s;
}

char *win_error_text(unsigned long code, char *buf, size_t size)
{
	wchar_t *w = NULL;
	char *u = NULL;
	DWORD n;

	if (size == 0)
		return buf;
	n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
			   FORMAT_MESSAGE_IGNORE_INSERTS, NULL, (DWORD)code, 0, (LPWSTR)&w, 0, NULL);
	if (n > 0)
		u = win_utf8(w);
	if (u) {
		size_t len;

		snprintf(buf, size, "%s", u);
		len = strlen(buf);
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
				   buf[len - 1] == '.'))
			buf[--len] = '\0';
	} else {
		snprintf(buf, size, "error 0x%08lx", code);
	}
	free(u);
	if (w)
		LocalFree(w);
	return buf;
}

int win_errno(unsigned long code)
{
	switch (code) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
	case ERROR_INVALID_DRIVE:
		return -ENOENT;
	case ERROR_ACCESS_DENIED:
		return -EACCES;
	case ERROR_ALREADY_EXISTS:
	case ERROR_FILE_EXISTS:
		return -EEXIST;
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
		return -EBUSY;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return -ENOMEM;
	case ERROR_TIMEOUT:
	case WAIT_TIMEOUT:
		return -ETIMEDOUT;
	default:
		return -EIO;
	}
}

/* ---- paths ---- */

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return (v && *v) ? v : dflt;
}

/* The default runtime and log directory: the process's working directory, where the Go plugin
 * keeps azure-vnet.json, azure-vnet.lock and azure-vnet.log (ACN platform/os_windows.go
 * CNIRuntimePath and CNILockPath "", cni/log/logger_windows.go LogPath ""), resolved once so
 * messages name full paths; "." when it cannot be read. */
static const char *work_dir(void)
{
	static char dir[OS_PATH_MAX];
	wchar_t w[OS_PATH_MAX];
	size_t len;
	DWORD n;
	char *u;

	if (dir[0])
		return dir;
	n = GetCurrentDirectoryW(OS_PATH_MAX, w);
	u = n > 0 && n < OS_PATH_MAX ? win_utf8(w) : NULL;
	len = u ? strlen(u) : 0;
	/* a trailing separator (only a drive's root has one) goes: the paths add their own */
	if (len > 0 && (u[len - 1] == '\\' || u[len - 1] == '/'))
		u[--len] = '\0';
	snprintf(dir, sizeof(dir), "%s", len > 0 && len < sizeof(dir) ? u : ".");
	free(u);
	return dir;
}

static const char *runtime_dir(void)
{
	return env_or("AZURE_CNI_RUNTIME_DIR", work_dir());
}

int platform_lock_path(const char *name, char *buf, size_t size)
{
	const char *rt = runtime_dir();
	/* the separator style of the runtime directory, as platform_path keeps it */
	char sep = strchr(rt, '/') && !strchr(rt, '\\') ? '/' : '\\';
	int n = snprintf(buf, size, "%s%cazure-vnet%c%s", rt, sep, sep, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

const char *platform_errno_text(int errnum)
{
	static char unknown[32];

	switch (errnum) {
	case ENOENT: return "No such file or directory";
	case EEXIST: return "File exists";
	case ENOMEM: return "Out of memory";
	case EINVAL: return "Invalid argument";
	case EIO: return "Input/output error";
	case EACCES: return "Permission denied";
	case EAGAIN: return "Resource temporarily unavailable";
	case EBUSY: return "Device or resource busy";
	case ENOSYS: return "Function not implemented";
	case ENAMETOOLONG: return "File name too long";
	case ELOOP: return "Too many levels of symbolic links";
	case EFBIG: return "File too large";
	case ENOSPC: return "No space left on device";
	case ETIMEDOUT: return "Connection timed out";
	case ENOTSUP: return "Operation not supported";
	default:
		snprintf(unknown, sizeof(unknown), "error %d", errnum);
		return unknown;
	}
}

const char *platform_path(enum platform_path what)
{
	static char paths[PLATFORM_PATH_LOG_DIR + 1][OS_PATH_MAX];
	static bool done[PLATFORM_PATH_LOG_DIR + 1];
	const char *rt;
	char sep;

	if ((unsigned)what > PLATFORM_PATH_LOG_DIR)
		return "";
	if (done[what])
		return paths[what];
	rt = runtime_dir();
	/* Windows takes both separators: keep the override's style ("/" only if it has no "\\") */
	sep = strchr(rt, '/') && !strchr(rt, '\\') ? '/' : '\\';
	switch (what) {
	case PLATFORM_PATH_NET_STATE:
		snprintf(paths[what], OS_PATH_MAX, "%s%cazure-vnet.json", rt, sep);
		break;
	case PLATFORM_PATH_NET_LOCK:
		snprintf(paths[what], OS_PATH_MAX, "%s%cazure-vnet.lock", rt, sep);
		break;
	case PLATFORM_PATH_IPAM_STATE:
		snprintf(paths[what], OS_PATH_MAX, "%s%cazure-vnet-ipam.json", rt, sep);
		break;
	case PLATFORM_PATH_IPAM_LOCK:
		snprintf(paths[what], OS_PATH_MAX, "%s%cazure-vnet-ipam.lock", rt, sep);
		break;
	case PLATFORM_PATH_MAS_FILE:
		snprintf(paths[what], OS_PATH_MAX, "%s", env_or("AZURE_CNI_MAS_FILE", OS_DEFAULT_MAS_FILE));
		break;
	case PLATFORM_PATH_NMAGENT_URL:
		snprintf(paths[what], OS_PATH_MAX, "%s", env_or("AZURE_CNI_NMAGENT_URL", OS_DEFAULT_NMAGENT_URL));
		break;
	case PLATFORM_PATH_LOG_DIR:
		snprintf(paths[what], OS_PATH_MAX, "%s", env_or("AZURE_CNI_LOG_DIR", work_dir()));
		break;
	}
	done[what] = true;
	return paths[what];
}

unsigned platform_lock_timeout_ms(void)
{
	return platform_env_ms("AZURE_CNI_LOCK_TIMEOUT_MS", OS_DEFAULT_LOCK_TIMEOUT_MS, 0, UINT_MAX);
}

/* ---- files ---- */

static bool is_sep(wchar_t c)
{
	return c == L'\\' || c == L'/';
}

/* Creates every missing directory above the file @wpath. Returns 0 or negative errno. */
static int mkdir_parents(const wchar_t *wpath)
{
	size_t len = wcslen(wpath), i = 0;
	wchar_t *buf = malloc((len + 1) * sizeof(*buf));
	int r = 0;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, wpath, (len + 1) * sizeof(*buf));
	/* skip "C:\", "\\server\share\" and a leading "\" */
	if (len >= 2 && buf[1] == L':')
		i = 2;
	else if (len >= 2 && is_sep(buf[0]) && is_sep(buf[1])) {
		int seps = 0;

		for (i = 2; i < len && seps < 2; i++)
			if (is_sep(buf[i]))
				seps++;
	}
	while (i < len && is_sep(buf[i]))
		i++;
	for (; i < len; i++) {
		wchar_t c = buf[i];

		if (!is_sep(c))
			continue;
		buf[i] = 0;
		if (!CreateDirectoryW(buf, NULL) && GetLastError() != ERROR_ALREADY_EXISTS) {
			r = win_errno(GetLastError());
			break;
		}
		buf[i] = c;
	}
	free(buf);
	return r;
}

/* CreateFileW of @path (UTF-8) with @access, @share and @disposition, then require a regular
 * disk file on the handle itself: GetFileType FILE_TYPE_DISK, and GetFileInformationByHandle
 * neither a directory nor (unless @follow) a reparse point. Unless @follow the open carries
 * FILE_FLAG_OPEN_REPARSE_POINT, so a symbolic link or junction is opened as itself and refused,
 * never followed. The handle is not inheritable (no security attributes): no child gets it.
 * @what names the file in messages ("", "lock "). Returns 0 with *ret (caller closes),
 * -ENOENT when absent with OPEN_EXISTING (no error recorded), or negative errno, code 5 naming
 * @path (-ELOOP a reparse point, -EINVAL not a regular disk file). */
static int open_regular(const char *path, DWORD access, DWORD share, DWORD disposition,
			bool follow, const char *what, HANDLE *ret, struct cni_error *err)
{
	BY_HANDLE_FILE_INFORMATION info;
	wchar_t *w = win_wide(path);
	char msg[256];
	DWORD e, type;
	HANDLE h;

	if (!w)
		return cni_error_set(err, -ENOMEM, CNI_CODE_IO, "cannot open %s%s: bad path", what,
				     path);
	/* FILE_READ_ATTRIBUTES: GetFileInformationByHandle needs it (the log opens for append
	 * only, the temp file for write only) */
	h = CreateFileW(w, access | FILE_READ_ATTRIBUTES, share, NULL, disposition,
			FILE_ATTRIBUTE_NORMAL | (follow ? 0 : FILE_FLAG_OPEN_REPARSE_POINT), NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		e = GetLastError();
		if (win_errno(e) == -ENOENT && disposition == OPEN_EXISTING)
			return -ENOENT;
		return cni_error_set(err, win_errno(e), CNI_CODE_IO, "cannot open %s%s: %s", what,
				     path, win_error_text(e, msg, sizeof(msg)));
	}
	type = GetFileType(h);
	if (type != FILE_TYPE_DISK || !GetFileInformationByHandle(h, &info) ||
	    (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
		CloseHandle(h);
		return cni_error_set(err, -EINVAL, CNI_CODE_IO, "cannot open %s%s: not a regular file",
				     what, path);
	}
	if (!follow && (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
		CloseHandle(h);
		return cni_error_set(err, -ELOOP, CNI_CODE_IO,
				     "cannot open %s%s: it is a symbolic link or reparse point", what,
				     path);
	}
	*ret = h;
	return 0;
}

/* @path's bytes into *ret_data (malloc'd: *ret_len bytes, then @pad + 1 zero bytes). */
static int file_read(const char *path, bool follow, size_t pad, char **ret_data,
		     size_t *ret_len, struct cni_error *err)
{
	char msg[256], *data;
	LARGE_INTEGER size;
	DWORD got, e;
	size_t len = 0;
	HANDLE h;
	int r;

	r = open_regular(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
			 OPEN_EXISTING, follow, "", &h, err);
	if (r < 0)
		return r;
	if (!GetFileSizeEx(h, &size) || size.QuadPart > OS_FILE_MAX) {
		CloseHandle(h);
		return cni_error_set(err, -EFBIG, CNI_CODE_IO, "cannot read %s: size unknown or over %u bytes",
				     path, OS_FILE_MAX);
	}
	data = malloc((size_t)size.QuadPart + 1 + pad);
	if (!data) {
		CloseHandle(h);
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory reading %s", path);
	}
	while (len < (size_t)size.QuadPart) {
		if (!ReadFile(h, data + len, (DWORD)((size_t)size.QuadPart - len), &got, NULL)) {
			e = GetLastError();
			free(data);
			CloseHandle(h);
			return cni_error_set(err, win_errno(e), CNI_CODE_IO, "cannot read %s: %s", path,
					     win_error_text(e, msg, sizeof(msg)));
		}
		if (got == 0)
			break; /* shrank under us: what we have is the file */
		len += got;
	}
	CloseHandle(h);
	memset(data + len, 0, pad + 1);
	*ret_data = data;
	*ret_len = len;
	return 0;
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
	LARGE_INTEGER size;
	size_t off = 0;
	DWORD got;
	HANDLE h;
	int same = 0;

	if (open_regular(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
			 OPEN_EXISTING, false, "", &h, NULL) < 0)
		return 0;
	if (!GetFileSizeEx(h, &size) || (unsigned long long)size.QuadPart != len)
		goto out;
	for (;;) {
		if (!ReadFile(h, buf, sizeof(buf), &got, NULL) || got > len - off ||
		    memcmp(buf, data + off, got) != 0)
			goto out;
		if (got == 0)
			break;
		off += got;
	}
	same = off == len;
out:
	CloseHandle(h);
	return same;
}

/* Windows keeps no view pinned: a view is a copy, checked by its bytes. */
struct platform_view {
	char *data; /* malloc'd: len bytes, then the pad's zeros */
	size_t len;
};

int platform_file_view(const char *path, size_t pad, struct platform_view **ret_view,
		       const char **ret_data, size_t *ret_len, struct cni_error *err)
{
	struct platform_view *v;
	char *data = NULL;
	size_t len = 0;
	int r;

	if (pad > 64)
		return cni_error_set(err, -EINVAL, CNI_CODE_INTERNAL, "a view's pad is at most 64 "
				     "bytes, not %zu", pad);
	v = calloc(1, sizeof(*v));
	if (!v)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory reading %s", path);
	r = file_read(path, false, pad, &data, &len, err);
	if (r < 0) {
		free(v);
		return r;
	}
	v->data = data;
	v->len = len;
	*ret_view = v;
	*ret_data = data;
	*ret_len = len;
	return 0;
}

int platform_file_view_current(const char *path, const struct platform_view *v)
{
	return v ? platform_file_same(path, v->data, v->len) : 0;
}

bool platform_file_view_stable(const struct platform_view *v)
{
	return v != NULL;
}

void platform_file_view_free(struct platform_view *v)
{
	if (!v)
		return;
	free(v->data);
	free(v);
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
	return false;
}

int platform_file_publish(const char *path, const char *data, size_t len, struct cni_error *err)
{
	const struct platform_part part = { data, len };

	return file_replace(path, &part, 1, false, err);
}

long long platform_monotonic_ns(void)
{
	static LARGE_INTEGER freq;
	LARGE_INTEGER t;

	if (!freq.QuadPart)
		QueryPerformanceFrequency(&freq);
	QueryPerformanceCounter(&t);
	return (long long)(t.QuadPart / freq.QuadPart) * 1000000000LL +
	       (long long)(t.QuadPart % freq.QuadPart) * 1000000000LL / freq.QuadPart;
}

static int file_replace(const char *path, const struct platform_part *parts, size_t n,
			bool sync, struct cni_error *err)
{
	char tmp[OS_PATH_MAX], msg[256];
	wchar_t *wpath = NULL, *wtmp = NULL;
	DWORD e = 0, put;
	size_t done, i;
	HANDLE h;
	int r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp%lu", path, (unsigned long)GetCurrentProcessId()) >=
	    (int)sizeof(tmp))
		return cni_error_set(err, -ENAMETOOLONG, CNI_CODE_IO, "path too long: %s", path);
	wpath = win_wide(path);
	wtmp = win_wide(tmp);
	if (!wpath || !wtmp) {
		r = cni_error_set(err, -ENOMEM, CNI_CODE_IO, "cannot write %s: bad path", path);
		goto free_paths;
	}
	r = mkdir_parents(wpath);
	if (r < 0) {
		cni_error_set(err, r, CNI_CODE_IO, "cannot create the directory of %s", path);
		goto free_paths;
	}
	/* A temp file of ours a killed writer with this PID left goes first (a symlink there is
	 * removed, not followed); CREATE_NEW then never opens anything someone put there since. */
	DeleteFileW(wtmp);
	r = open_regular(tmp, GENERIC_WRITE, 0, CREATE_NEW, false, "", &h, err);
	if (r < 0)
		goto free_paths;
	for (i = 0; i < n && !e; i++) {
		for (done = 0; done < parts[i].len;) {
			size_t left = parts[i].len - done;
			DWORD chunk = left > 0x40000000u ? 0x40000000u : (DWORD)left;

			if (!WriteFile(h, parts[i].data + done, chunk, &put, NULL)) {
				e = GetLastError();
				break;
			}
			done += put;
		}
	}
	/* the data reaches the disk before the rename makes it the state */
	if (!e && sync && !FlushFileBuffers(h))
		e = GetLastError();
	CloseHandle(h);
	if (!e)
		platform_fault_point("file written");
	if (!e && !MoveFileExW(wtmp, wpath,
			       MOVEFILE_REPLACE_EXISTING | (sync ? MOVEFILE_WRITE_THROUGH : 0)))
		e = GetLastError();
	if (!e)
		platform_fault_point("file renamed");
	if (e) {
		DeleteFileW(wtmp);
		r = cni_error_set(err, win_errno(e), CNI_CODE_IO, "cannot write %s: %s", path,
				  win_error_text(e, msg, sizeof(msg)));
	}

free_paths:
	free(wpath);
	free(wtmp);
	return r;
}

int platform_file_mtime(const char *path, long long *ret_s)
{
	WIN32_FILE_ATTRIBUTE_DATA d;
	wchar_t *w = win_wide(path);
	BOOL ok = w && GetFileAttributesExW(w, GetFileExInfoStandard, &d);
	DWORD e = ok ? 0 : GetLastError();

	free(w);
	if (!ok)
		return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ? -ENOENT : -EIO;
	/* FILETIME: 100 ns ticks since 1601-01-01 */
	*ret_s = (long long)((((unsigned long long)d.ftLastWriteTime.dwHighDateTime << 32) |
			      d.ftLastWriteTime.dwLowDateTime) / 10000000ULL) - 11644473600LL;
	return 0;
}

int platform_file_set_aside(const char *path, const char *tag, char *ret_path, size_t size,
			    struct cni_error *err)
{
	char aside[OS_PATH_MAX], msg[256];
	wchar_t *wpath = win_wide(path), *waside = NULL;
	SYSTEMTIME t;
	DWORD e = ERROR_ALREADY_EXISTS;
	int n, r = 0;

	GetSystemTime(&t);
	for (n = 1; !r && n < 100 && (e == ERROR_ALREADY_EXISTS || e == ERROR_FILE_EXISTS); n++) {
		int w = snprintf(aside, sizeof(aside), "%s.%s-%04u%02u%02uT%02u%02u%02uZ", path, tag,
				 t.wYear, t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond);

		if (n > 1 && w > 0 && w < (int)sizeof(aside))
			w += snprintf(aside + w, sizeof(aside) - (size_t)w, "-%d", n);
		free(waside);
		waside = w > 0 && w < (int)sizeof(aside) ? win_wide(aside) : NULL;
		if (!wpath || !waside)
			r = cni_error_set(err, -ENAMETOOLONG, CNI_CODE_IO, "cannot set %s aside: bad path",
					  path);
		/* bFailIfExists: an existing file at the new name stays */
		else
			e = CopyFileW(wpath, waside, TRUE) ? 0 : GetLastError();
	}
	if (!r && (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND))
		r = -ENOENT;
	else if (!r && e)
		r = cni_error_set(err, win_errno(e), CNI_CODE_IO, "cannot set %s aside: %s", path,
				  win_error_text(e, msg, sizeof(msg)));
	if (!r && ret_path)
		snprintf(ret_path, size, "%s", aside);
	free(wpath);
	free(waside);
	return r;
}

/* ---- locks ---- */

struct platform_lock {
	HANDLE h;
};

int platform_lock_acquire(const char *path, unsigned timeout_ms, struct platform_lock **ret,
			  struct cni_error *err)
{
	char msg[256], pid[32];
	struct platform_lock *l;
	wchar_t *w = win_wide(path);
	ULONGLONG deadline;
	DWORD sleep_ms = 1, e, put;
	OVERLAPPED ov;
	HANDLE h;
	int r, n;

	if (!w)
		return cni_error_set(err, -ENOMEM, CNI_CODE_IO, "cannot lock %s: bad path", path);
	r = mkdir_parents(w);
	free(w);
	if (r < 0)
		return cni_error_set(err, r, CNI_CODE_IO, "cannot create the directory of %s", path);
	r = open_regular(path, GENERIC_READ | GENERIC_WRITE,
			 FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, OPEN_ALWAYS, false,
			 "lock ", &h, err);
	if (r < 0)
		return r;
	/* Polls with a growing sleep: the lock goes away with its holder's handle (kernel-owned),
	 * and the wait stays bounded without overlapped I/O. */
	deadline = GetTickCount64() + timeout_ms;
	for (;;) {
		memset(&ov, 0, sizeof(ov));
		if (LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, MAXDWORD,
			       MAXDWORD, &ov))
			break;
		e = GetLastError();
		if (e != ERROR_LOCK_VIOLATION && e != ERROR_IO_PENDING) {
			CloseHandle(h);
			return cni_error_set(err, win_errno(e), CNI_CODE_IO, "cannot lock %s: %s", path,
					     win_error_text(e, msg, sizeof(msg)));
		}
		if (GetTickCount64() >= deadline) {
			CloseHandle(h);
			return cni_error_set(err, -ETIMEDOUT, CNI_CODE_TRY_AGAIN, "timed out locking %s",
					     path);
		}
		Sleep(sleep_ms);
		if (sleep_ms < 50)
			sleep_ms *= 2;
	}
	/* the holder's PID, as the Go plugin writes it */
	n = snprintf(pid, sizeof(pid), "%lu", (unsigned long)GetCurrentProcessId());
	if (SetFilePointer(h, 0, NULL, FILE_BEGIN) != INVALID_SET_FILE_POINTER && SetEndOfFile(h))
		(void)WriteFile(h, pid, (DWORD)n, &put, NULL);
	l = calloc(1, sizeof(*l));
	if (!l) {
		CloseHandle(h);
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory");
	}
	l->h = h;
	*ret = l;
	return 0;
}

struct platform_lock *platform_lock_release(struct platform_lock *l)
{
	OVERLAPPED ov;

	if (!l)
		return NULL;
	memset(&ov, 0, sizeof(ov));
	UnlockFileEx(l->h, 0, MAXDWORD, MAXDWORD, &ov);
	CloseHandle(l->h);
	free(l);
	return NULL;
}

/* Windows keeps the file: a plain release. Deleting an open, locked file there needs
 * FILE_SHARE_DELETE on every handle and leaves a delete-pending name that makes the next
 * CreateFile fail (ERROR_ACCESS_DENIED) until the last handle closes, so a waiter would fail
 * instead of waiting. The files are small and one per pod interface. */
struct platform_lock *platform_lock_release_unlink(struct platform_lock *l)
{
	return platform_lock_release(l);
}

/* ---- HTTP ---- */

/* The WinHTTP failure GetLastError() reports, as code 11 naming @method and @url. */
static int http_fail(const char *method, const char *url, unsigned timeout_ms,
		     struct cni_error *err)
{
	DWORD e = GetLastError();
	char msg[256];

	/* WinHTTP reports ERROR_WINHTTP_TIMEOUT; wine's passes the socket's WSAETIMEDOUT through */
	if (e == ERROR_WINHTTP_TIMEOUT || e == WSAETIMEDOUT)
		return cni_error_set(err, -EAGAIN, CNI_CODE_TRY_AGAIN, "%s %s: timed out after %u ms",
				     method, url, timeout_ms);
	return cni_error_set(err, -EAGAIN, CNI_CODE_TRY_AGAIN, "%s %s: %s", method, url,
			     win_error_text(e, msg, sizeof(msg)));
}

/* The body of the answer to @req, read by @deadline (a body that trickles in stays within the
 * whole request's bound), into *ret_body (malloc'd, NUL-terminated, caller frees) and *ret_len.
 * Returns 0 or negative errno: code 11 on a WinHTTP failure or timeout, 105 past the limit. */
static int http_read_body(HINTERNET req, const char *method, const char *url,
			  ULONGLONG deadline, unsigned timeout_ms, char **ret_body, size_t *ret_len,
			  struct cni_error *err)
{
	char *body = malloc(1), *bigger;
	DWORD avail, got;
	size_t len = 0;
	int r = 0;

	if (!body)
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory reading %s", url);
	for (;;) {
		ULONGLONG now = GetTickCount64();

		if (now >= deadline) {
			r = cni_error_set(err, -EAGAIN, CNI_CODE_TRY_AGAIN, "%s %s: timed out after %u ms",
					  method, url, timeout_ms);
			break;
		}
		WinHttpSetTimeouts(req, 0, 0, 0, (int)(deadline - now));
		avail = 0;
		if (!WinHttpQueryDataAvailable(req, &avail)) {
			r = http_fail(method, url, timeout_ms, err);
			break;
		}
		if (avail == 0)
			break;
		if (len + avail > OS_HTTP_BODY_MAX) {
			r = cni_error_set(err, -EFBIG, CNI_CODE_SOURCE, "%s %s: body over %u bytes",
					  method, url, OS_HTTP_BODY_MAX);
			break;
		}
		bigger = realloc(body, len + avail + 1);
		if (!bigger) {
			r = cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL, "out of memory reading %s", url);
			break;
		}
		body = bigger;
		if (!WinHttpReadData(req, body + len, avail, &got)) {
			r = http_fail(method, url, timeout_ms, err);
			break;
		}
		len += got;
	}
	if (r < 0) {
		free(body);
		return r;
	}
	body[len] = '\0';
	*ret_body = body;
	*ret_len = len;
	return 0;
}

/* One request: GET when @data is NULL, else POST of @len bytes of JSON. Returns 0 with the
 * status in *ret_status and the body (malloc'd, NUL-terminated) in *ret_body, *ret_len, whatever
 * the status; -EAGAIN (code 11) when the server cannot be reached or does not answer in time. */
static int http_request(const char *method, const char *url, const char *data, size_t data_len,
			unsigned timeout_ms, long *ret_status, char **ret_body, size_t *ret_len,
			struct cni_error *err)
{
	URL_COMPONENTSW uc;
	wchar_t host[256], path[2048], *wurl = win_wide(url);
	HINTERNET session = NULL, conn = NULL, req = NULL;
	DWORD status = 0, status_len = sizeof(status), rr_timeout, redirects;
	ULONGLONG deadline = GetTickCount64() + timeout_ms;
	int r = 0;

	if (!wurl)
		return cni_error_set(err, -EINVAL, CNI_CODE_TRY_AGAIN, "%s %s: bad URL", method, url);
	memset(&uc, 0, sizeof(uc));
	uc.dwStructSize = sizeof(uc);
	uc.lpszHostName = host;
	uc.dwHostNameLength = sizeof(host) / sizeof(host[0]);
	uc.lpszUrlPath = path;
	uc.dwUrlPathLength = sizeof(path) / sizeof(path[0]);
	uc.dwExtraInfoLength = 1; /* the query string stays part of the path */
	if (!WinHttpCrackUrl(wurl, 0, 0, &uc))
		goto fail;
	if (uc.dwExtraInfoLength && uc.lpszExtraInfo)
		wcsncat(path, uc.lpszExtraInfo, sizeof(path) / sizeof(path[0]) - wcslen(path) - 1);
	/* NMAgent, the wireserver and CNS are local to the VM: never through a proxy */
	session = WinHttpOpen(L"azure-vnet", WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
			      WINHTTP_NO_PROXY_BYPASS, 0);
	if (!session ||
	    !WinHttpSetTimeouts(session, (int)timeout_ms,
				(int)(timeout_ms < OS_HTTP_CONNECT_MAX_MS ? timeout_ms : OS_HTTP_CONNECT_MAX_MS),
				(int)timeout_ms, (int)timeout_ms))
		goto fail;
	conn = WinHttpConnect(session, host, uc.nPort, 0);
	if (!conn)
		goto fail;
	req = WinHttpOpenRequest(conn, data ? L"POST" : L"GET", path, NULL, WINHTTP_NO_REFERER,
				 WINHTTP_DEFAULT_ACCEPT_TYPES,
				 uc.nScheme == INTERNET_SCHEME_HTTPS ? WINHTTP_FLAG_SECURE : 0);
	/* The wait for the response headers has its own limit (90 s by default), which
	 * WinHttpSetTimeouts leaves alone: a server that accepts and never answers would outlast
	 * @timeout_ms without it. */
	rr_timeout = timeout_ms;
	redirects = WINHTTP_OPTION_REDIRECT_POLICY_NEVER;
	if (req && (!WinHttpSetOption(req, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, &rr_timeout,
				      sizeof(rr_timeout)) ||
		    !WinHttpSetOption(req, WINHTTP_OPTION_REDIRECT_POLICY, &redirects,
				      sizeof(redirects))))
		goto fail;
	if (!req ||
	    !WinHttpSendRequest(req, data ? L"Content-Type: application/json\r\n"
					  : WINHTTP_NO_ADDITIONAL_HEADERS,
				data ? (DWORD)-1L : 0, data ? (LPVOID)data : WINHTTP_NO_REQUEST_DATA,
				(DWORD)data_len, (DWORD)data_len, 0) ||
	    !WinHttpReceiveResponse(req, NULL) ||
	    !WinHttpQueryHeaders(req, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
				 WINHTTP_HEADER_NAME_BY_INDEX, &status, &status_len,
				 WINHTTP_NO_HEADER_INDEX))
		goto fail;
	*ret_status = (long)status;
	r = http_read_body(req, method, url, deadline, timeout_ms, ret_body, ret_len, err);
	goto done;

fail:
	r = http_fail(method, url, timeout_ms, err);
done:
	if (req)
		WinHttpCloseHandle(req);
	if (conn)
		WinHttpCloseHandle(conn);
	if (session)
		WinHttpCloseHandle(session);
	free(wurl);
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
		return cni_error_set(err, -EAGAIN, CNI_CODE_TRY_AGAIN, "GET %s: HTTP status %ld", url,
				     status);
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

/* The adapter list (malloc'd, caller frees) or NULL. */
static IP_ADAPTER_ADDRESSES *adapters(void)
{
	ULONG size = 16 * 1024, r;
	IP_ADAPTER_ADDRESSES *list = NULL;
	int tries;

	for (tries = 0; tries < 4; tries++) {
		free(list);
		list = malloc(size);
		if (!list)
			return NULL;
		r = GetAdaptersAddresses(AF_UNSPEC, GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST |
					 GAA_FLAG_SKIP_DNS_SERVER, NULL, list, &size);
		if (r == NO_ERROR)
			return list;
		if (r != ERROR_BUFFER_OVERFLOW)
			break;
	}
	free(list);
	return NULL;
}

int platform_ifname_by_mac(const char *mac, char *buf, size_t size)
{
	uint8_t want[MAC_LEN];
	IP_ADAPTER_ADDRESSES *list, *a;
	ULONG best_index = ULONG_MAX;
	char *name = NULL;

	if (!mac || strlen(mac) != 12 || mac_parse(mac, want) < 0)
		return -ENOENT;
	list = adapters();
	for (a = list; a; a = a->Next) {
		if (a->PhysicalAddressLength != MAC_LEN ||
		    memcmp(a->PhysicalAddress, want, MAC_LEN) != 0 || a->IfIndex >= best_index)
			continue;
		/* the Go plugin names interfaces as net.Interfaces() does on Windows: FriendlyName */
		free(name);
		name = win_utf8(a->FriendlyName);
		best_index = a->IfIndex;
	}
	free(list);
	if (!name)
		return -ENOENT;
	snprintf(buf, size, "%s", name);
	free(name);
	return 0;
}

int win_adapter_for_prefix(int family, const unsigned char *net, int len, char *buf, size_t size)
{
	IP_ADAPTER_ADDRESSES *list = adapters(), *a;
	IP_ADAPTER_UNICAST_ADDRESS *u;
	int r = -ENOENT;

	for (a = list; a && r < 0; a = a->Next) {
		for (u = a->FirstUnicastAddress; u && r < 0; u = u->Next) {
			const struct sockaddr *sa = u->Address.lpSockaddr;
			const unsigned char *b;
			int n, bits, k;

			if (family == 2 && sa->sa_family == AF_INET) {
				b = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
				n = 4;
			} else if (family == 10 && sa->sa_family == AF_INET6) {
				b = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
				n = 16;
			} else {
				continue;
			}
			for (k = 0, bits = len; k < n && bits > 0; k++, bits -= 8) {
				unsigned char m = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));

				if ((b[k] & m) != (net[k] & m))
					break;
			}
			if (bits > 0 && k < n)
				continue;
			{
				char *name = win_utf8(a->FriendlyName);

				if (name) {
					snprintf(buf, size, "%s", name);
					free(name);
					r = 0;
				}
			}
		}
	}
	free(list);
	return r;
}

/* ---- time ---- */

void platform_timestamp(char *buf, size_t size)
{
	FILETIME ft;
	SYSTEMTIME st;
	ULARGE_INTEGER t;

	GetSystemTimePreciseAsFileTime(&ft);
	t.LowPart = ft.dwLowDateTime;
	t.HighPart = ft.dwHighDateTime;
	FileTimeToSystemTime(&ft, &st);
	/* FILETIME counts 100 ns units */
	snprintf(buf, size, "%04u-%02u-%02uT%02u:%02u:%02u.%09luZ", st.wYear, st.wMonth, st.wDay,
		 st.wHour, st.wMinute, st.wSecond, (unsigned long)(t.QuadPart % 10000000u) * 100u);
}

/* ---- logging ---- */

static HANDLE log_handle = INVALID_HANDLE_VALUE;
static char log_dir[OS_PATH_MAX], log_program[64];
static enum logline_level log_min = LOGLINE_DEBUG;

static HANDLE log_open_path(void)
{
	char path[OS_PATH_MAX + 80];
	HANDLE h = INVALID_HANDLE_VALUE;
	wchar_t *w;

	if (snprintf(path, sizeof(path), "%s\\%s.log", log_dir, log_program) >= (int)sizeof(path))
		return INVALID_HANDLE_VALUE;
	w = win_wide(path);
	if (!w)
		return INVALID_HANDLE_VALUE;
	(void)mkdir_parents(w);
	free(w);
	/* FILE_APPEND_DATA alone: every write lands at the end, even from concurrent processes;
	 * FILE_SHARE_DELETE: another process may rotate it. Not a regular file (a symlink, a
	 * pipe): no log, and the call goes on. */
	if (open_regular(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE |
			 FILE_SHARE_DELETE, OPEN_ALWAYS, false, "log ", &h, NULL) < 0)
		return INVALID_HANDLE_VALUE;
	return h;
}

void platform_log_open(const char *program)
{
	if (log_handle != INVALID_HANDLE_VALUE)
		return;
	snprintf(log_dir, sizeof(log_dir), "%s", platform_path(PLATFORM_PATH_LOG_DIR));
	snprintf(log_program, sizeof(log_program), "%s", program);
	log_handle = log_open_path();
}

void platform_log_set_level(enum logline_level level)
{
	log_min = level;
}

/* Keep the newest LOGLINE_BACKUPS backups of the log. */
static void log_prune(void)
{
	char *names[LOGLINE_BACKUPS + 1], *gone, pattern[OS_PATH_MAX + 80], path[OS_PATH_MAX + 300];
	char name[MAX_PATH * 3];
	WIN32_FIND_DATAW fd;
	HANDLE f;
	size_t n = 0;
	wchar_t *w;

	snprintf(pattern, sizeof(pattern), "%s\\%s-*.log", log_dir, log_program);
	w = win_wide(pattern);
	f = w ? FindFirstFileW(w, &fd) : INVALID_HANDLE_VALUE;
	free(w);
	if (f == INVALID_HANDLE_VALUE)
		return;
	do {
		if (WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, name, sizeof(name), NULL,
					NULL) <= 0 || !logline_is_backup(name, log_program) ||
		    !(gone = logline_backups_add(names, &n, name)))
			continue;
		snprintf(path, sizeof(path), "%s\\%s", log_dir, gone);
		if ((w = win_wide(path)))
			DeleteFileW(w);
		free(w);
		free(gone);
	} while (FindNextFileW(f, &fd));
	FindClose(f);
	while (n)
		free(names[--n]);
}

/* The log grew past its limit: under its rotation lock, rename it to its backup name (fails,
 * and waits for a later call, while a process that does not share delete access, such as the
 * Go plugin, holds it open), prune, and open the path anew. */
static void log_rotate(void)
{
	char path[OS_PATH_MAX + 80], backup[OS_PATH_MAX + 120], lock[OS_PATH_MAX + 90];
	struct platform_lock *l = NULL;
	wchar_t *wp, *wb;
	SYSTEMTIME t;
	struct tm tm;
	bool moved;

	snprintf(path, sizeof(path), "%s\\%s.log", log_dir, log_program);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	if (platform_lock_acquire(lock, 0, &l, NULL) < 0)
		return;
	GetSystemTime(&t);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = t.wYear - 1900;
	tm.tm_mon = t.wMonth - 1;
	tm.tm_mday = t.wDay;
	tm.tm_hour = t.wHour;
	tm.tm_min = t.wMinute;
	tm.tm_sec = t.wSecond;
	logline_backup_name(log_dir, log_program, &tm, t.wMilliseconds, backup, sizeof(backup));
	for (char *c = backup + strlen(log_dir); *c; c++)
		if (*c == '/')
			*c = '\\';
	wp = win_wide(path);
	wb = win_wide(backup);
	moved = wp && wb && MoveFileExW(wp, wb, 0);
	free(wp);
	free(wb);
	if (moved)
		log_prune();
	platform_lock_release(l);
	if (moved) {
		CloseHandle(log_handle);
		log_handle = log_open_path();
	}
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
	LARGE_INTEGER size;
	SYSTEMTIME t;
	va_list ap;
	DWORD put;
	size_t n;

	if (log_handle == INVALID_HANDLE_VALUE || level < log_min)
		return;
	GetSystemTime(&t);
	snprintf(ts, sizeof(ts), "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", t.wYear, t.wMonth, t.wDay,
		 t.wHour, t.wMinute, t.wSecond, t.wMilliseconds);
	va_start(ap, fmt);
	n = logline_vformat(rec, sizeof(rec), level, ts, file, line,
			    (long)GetCurrentProcessId(), fmt, ap);
	va_end(ap);
	if (n)
		(void)WriteFile(log_handle, rec, (DWORD)n, &put, NULL);
	if (GetFileSizeEx(log_handle, &size) && size.QuadPart > log_max_bytes())
		log_rotate();
}

void platform_log_close(void)
{
	if (log_handle != INVALID_HANDLE_VALUE)
		CloseHandle(log_handle);
	log_handle = INVALID_HANDLE_VALUE;
}

/* ---- fault injection ---- */

void platform_fault_point(const char *step)
{
	if (platform_fault_step(step))
		TerminateProcess(GetCurrentProcess(), 137);
}

int platform_lock_sweep(bool (*match)(const char *name))
{
	(void)match;
	return 0;  /* Windows keeps lock files (platform_lock_release_unlink) */
}
