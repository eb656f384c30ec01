/* SPDX-License-Identifier: MIT */
/* One log record as a JSON line in the Go plugin's layout (cni/log/logger.go: zap's production
 * JSON encoder with ISO 8601 times, the caller, and a "pid" field), so the Go plugin's and our
 * records can share azure-vnet.log:
 *   {"level":"info","ts":"2026-12-02T11:30:00.123Z","caller":"cni/azure-vnet.c:123",
 *    "msg":"...","pid":4242}
 * Portable: the platform writes and rotates the file. */
#ifndef AZCNI_LOGLINE_H
#define AZCNI_LOGLINE_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

enum logline_level {
	LOGLINE_DEBUG,
	LOGLINE_INFO,
	LOGLINE_WARN,
	LOGLINE_ERROR,
};

/* logline_level_name - zap's name of @level ("debug", "info", "warn", "error"). Static. */
const char *logline_level_name(enum logline_level level);

/* logline_level_parse - the level zap names @name (case-insensitive; "warning" too) into *ret.
 * Returns 0, or -EINVAL for anything else (then *ret is unchanged). */
int logline_level_parse(const char *name, enum logline_level *ret);

/* logline_caller - zap's short caller of source @file and @line ("<dir>/<file>:<line>": the
 * last two path components, either separator, written with '/') into @buf (@size bytes).
 * Returns @buf. */
char *logline_caller(const char *file, int line, char *buf, size_t size);

/* logline_format - the record into @buf (@size bytes), '\n'-terminated; @msg is JSON-escaped
 * (quote, backslash and every control byte; other bytes as they are) and cut so the line fits.
 * @ts is written as given (ISO 8601 with milliseconds). Returns the line's length (< @size), or
 * 0 when @size cannot hold even an empty record. */
size_t logline_format(char *buf, size_t size, enum logline_level level, const char *ts,
		      const char *caller, long pid, const char *msg);

/* logline_vformat - logline_format of the message @fmt/@ap, with the caller of @file:@line. */
size_t logline_vformat(char *buf, size_t size, enum logline_level level, const char *ts,
		       const char *file, int line, long pid, const char *fmt, va_list ap)
	__attribute__((format(gnu_printf, 8, 0)));

/* The Go plugin's rotation (lumberjack, cni/log/logger.go): a log past 5 MiB is renamed
 * "<name>-<UTC 2006-01-02T15-04-05.000>.log" and the newest 8 such backups are kept. */
#define LOGLINE_MAX_BYTES (5L * 1024 * 1024)
#define LOGLINE_BACKUPS 8

/* logline_utc - the UTC calendar time of @t (seconds since 1970-01-01T00:00:00Z, any sign;
 * leap seconds not counted, as POSIX time) into *ret: tm_year, tm_mon, tm_mday, tm_hour, tm_min,
 * tm_sec, tm_wday and tm_yday as gmtime_r(3) sets them, tm_isdst 0, the rest zero. Ours, not
 * gmtime_r: glibc's reads and parses /etc/localtime on its first call (tzset), work and heap a
 * CNI call's timestamps do not need. */
void logline_utc(long long t, struct tm *ret);

/* logline_utc_text - "YYYY-MM-DDTHH:MM:SS" (strftime "%Y-%m-%dT%H:%M:%S", years 0-9999) of @t
 * into @buf (@size bytes, 20 suffice; truncated to fit). Returns the length written. */
size_t logline_utc_text(long long t, char *buf, size_t size);

/* logline_backup_name - the backup name of log "<dir>/<program>.log" rotated at UTC time
 * (@tm, @ms) into @buf: "<dir>/<program>-YYYY-MM-DDTHH-MM-SS.mmm.log". Returns @buf. */
char *logline_backup_name(const char *dir, const char *program, const struct tm *tm, int ms,
			  char *buf, size_t size);

/* logline_is_backup - is file name @name (no directory) a backup of @program's log? */
int logline_is_backup(const char *name, const char *program);

/* logline_backups_add - track backup file name @name (copied) among @names (*@n of them, room
 * for LOGLINE_BACKUPS + 1). Once more than LOGLINE_BACKUPS are tracked, the oldest (names sort
 * by time) leaves the set and is returned, for the caller to delete and then free; else NULL
 * (also when out of memory: nothing is tracked). Free the set's names when done. */
char *logline_backups_add(char *names[LOGLINE_BACKUPS + 1], size_t *n, const char *name);

#endif
