/* SPDX-License-Identifier: MIT */
/* A test program that takes a lock file exactly as the Go plugin does on Windows, so the wine
 * suite can run a "Go process" beside ours. ACN processlock.NewFileLock(...).Lock() is
 * lockedfile.Create(path): os.OpenFile(O_RDWR|O_CREATE|O_TRUNC, 0666), which on Windows is
 * CreateFileW(GENERIC_READ|GENERIC_WRITE, FILE_SHARE_READ|FILE_SHARE_WRITE, OPEN_ALWAYS); then
 * filelock_windows.go's LockFileEx(LOCKFILE_EXCLUSIVE_LOCK, 0, ^uint32(0), ^uint32(0)) at offset
 * 0, blocking; then the truncation O_TRUNC asked for, and the PID written in decimal. Unlock is
 * UnlockFileEx over the same range and CloseHandle (lockedfile closeFile).
 *   golock PATH hold MARKER RELEASE  lock as Go (waiting as long as it takes), write "locked\n"
 *                                    to MARKER, hold until the file RELEASE exists, unlock; 0
 *   golock PATH try                  the same open, LockFileEx failing at once: 0 locked (then
 *                                    released), 3 held by another process, 2 other errors */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The Go plugin's open of @path (UTF-8 is enough for the test paths: ANSI API). */
static HANDLE go_open(const char *path)
{
	return CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
			   NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
}

static BOOL go_lock(HANDLE h, DWORD extra_flags)
{
	OVERLAPPED ol;

	memset(&ol, 0, sizeof(ol));
	return LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | extra_flags, 0, MAXDWORD, MAXDWORD, &ol);
}

static void go_unlock(HANDLE h)
{
	OVERLAPPED ol;

	memset(&ol, 0, sizeof(ol));
	UnlockFileEx(h, 0, MAXDWORD, MAXDWORD, &ol);
	CloseHandle(h);
}

/* After the lock: truncate (O_TRUNC) and write the PID as processlock.Lock does. */
static int go_write_pid(HANDLE h)
{
	char pid[32];
	DWORD put;
	int n = snprintf(pid, sizeof(pid), "%lu", (unsigned long)GetCurrentProcessId());

	if (SetFilePointer(h, 0, NULL, FILE_BEGIN) == INVALID_SET_FILE_POINTER || !SetEndOfFile(h))
		return -1;
	return WriteFile(h, pid, (DWORD)n, &put, NULL) && put == (DWORD)n ? 0 : -1;
}

static int hold(HANDLE h, const char *marker, const char *release)
{
	FILE *f;
	int i;

	if (!go_lock(h, 0) || go_write_pid(h) < 0) {
		fprintf(stderr, "golock: lock failed: %lu\n", GetLastError());
		return 2;
	}
	f = fopen(marker, "w");
	if (!f || fputs("locked\n", f) < 0 || fclose(f) != 0)
		return 2;
	/* a bound of two minutes, so a broken suite cannot leave this running */
	for (i = 0; i < 6000 && GetFileAttributesA(release) == INVALID_FILE_ATTRIBUTES; i++)
		Sleep(20);
	go_unlock(h);
	return 0;
}

int main(int argc, char **argv)
{
	HANDLE h;

	if (argc < 3 || (strcmp(argv[2], "hold") == 0 && argc != 5) ||
	    (strcmp(argv[2], "try") == 0 && argc != 3)) {
		fprintf(stderr, "usage: golock PATH hold MARKER RELEASE | golock PATH try\n");
		return 2;
	}
	h = go_open(argv[1]);
	if (h == INVALID_HANDLE_VALUE) {
		fprintf(stderr, "golock: open %s failed: %lu\n", argv[1], GetLastError());
		return 2;
	}
	if (strcmp(argv[2], "hold") == 0)
		return hold(h, argv[3], argv[4]);
	if (go_lock(h, LOCKFILE_FAIL_IMMEDIATELY)) {
		go_unlock(h);
		return 0;
	}
	if (GetLastError() == ERROR_LOCK_VIOLATION) {
		CloseHandle(h);
		return 3;
	}
	fprintf(stderr, "golock: lock failed: %lu\n", GetLastError());
	CloseHandle(h);
	return 2;
}
