/* SPDX-License-Identifier: MIT */
/* JSON log lines in the Go plugin's (zap's) layout: core/logline.h. */
#include "logline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const level_names[] = { "debug", "info", "warn", "error" };

const char *logline_level_name(enum logline_level level)
{
	return (unsigned)level < sizeof(level_names) / sizeof(level_names[0]) ? level_names[level]
									       : "info";
}

int logline_level_parse(const char *name, enum logline_level *ret)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i]) == 0) {
			*ret = (enum logline_level)i;
			return 0;
		}
	if (strcasecmp(name, "warning") == 0) {
		*ret = LOGLINE_WARN;
		return 0;
	}
	return -EINVAL;
}

char *logline_caller(const char *file, int line, char *buf, size_t size)
{
	const char *p = file + strlen(file), *cut = file;
	int seps = 0;

	while (p > file) {
		p--;
		if ((*p == '/' || *p == '\\') && ++seps == 2) {
			cut = p + 1;
			break;
		}
	}
	snprintf(buf, size, "%s:%d", cut, line);
	for (char *c = buf; *c; c++)
		if (*c == '\\')
			*c = '/';  /* zap's callers are slash-separated on every OS */
	return buf;
}

/* The length of the valid UTF-8 sequence at @s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (s[0] >= 0xf5)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong three- and four-byte forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (len == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
	    (len == 4 && s[0] == 0xf0 && s[1] < 0x90) || (len == 4 && s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

/* Append @s JSON-escaped to @buf at *@n, leaving @room bytes unused at the end; a byte that
 * is not valid UTF-8 becomes U+FFFD, so the line stays valid JSON. */
static void escape(char *buf, size_t size, size_t *n, size_t room, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[7];
		size_t k = 0, u;

		if (c >= 0x80) {
			u = utf8_len((const unsigned char *)s);
			if (!u) {
				memcpy(e, "\\ufffd", 6);
				k = 6;
			} else {
				if (*n + u + room >= size)
					return;
				memcpy(buf + *n, s, u);
				*n += u;
				s += u - 1;
				continue;
			}
		} else if (c == '"' || c == '\\') {
			e[k++] = '\\';
			e[k++] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			e[k++] = '\\';
			e[k++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(e, "\\u00", 4);
			k = 4;
			e[k++] = hex[c >> 4];
			e[k++] = hex[c & 15];
		} else {
			e[k++] = (char)c;
		}
		if (*n + k + room >= size)
			return;
		memcpy(buf + *n, e, k);
		*n += k;
	}
}

size_t logline_format(char *buf, size_t size, enum logline_level level, const char *ts,
		      const char *caller, long pid, const char *msg)
{
	char tail[48];
	size_t n, tl;
	int w;

	tl = (size_t)snprintf(tail, sizeof(tail), "\",\"pid\":%ld}\n", pid);
	/* @ts and @caller are ours (a time, a source path): nothing in them to escape */
	w = snprintf(buf, size, "{\"level\":\"%s\",\"ts\":\"%s\",\"caller\":\"%s\",\"msg\":\"",
		     logline_level_name(level), ts, caller);
	if (w < 0 || (size_t)w + tl >= size)
		return 0;
	n = (size_t)w;
	escape(buf, size, &n, tl + 1, msg);
	memcpy(buf + n, tail, tl + 1);
	return n + tl;
}

size_t logline_vformat(char *buf, size_t size, enum logline_level level, const char *ts,
		       const char *file, int line, long pid, const char *fmt, va_list ap)
{
	char msg[4096], caller[128];

	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	return logline_format(buf, size, level, ts, logline_caller(file, line, caller, sizeof(caller)),
			      pid, msg);
}

void logline_utc(long long t, struct tm *ret)
{
	long long days = t / 86400, secs = t % 86400, z, era, y;
	unsigned doe, yoe, doy, mp;
	int leap;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	memset(ret, 0, sizeof(*ret));
	ret->tm_hour = (int)(secs / 3600);
	ret->tm_min = (int)(secs / 60 % 60);
	ret->tm_sec = (int)(secs % 60);
	ret->tm_wday = (int)(((days + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
	/* Days counted from 0000-03-01 in 400-year eras of 146097 days, so the leap day ends
	 * a year: year of the era, day of that March-based year, then month and day. */
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	y = (long long)yoe + era * 400 + (mp >= 10);
	ret->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	ret->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
	ret->tm_year = (int)(y - 1900);
	leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	ret->tm_yday = (int)(mp >= 10 ? doy - 306 : doy + 59 + (unsigned)leap);
}

size_t logline_utc_text(long long t, char *buf, size_t size)
{
	struct tm tm;
	int n;

	if (size == 0)
		return 0;
	logline_utc(t, &tm);
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n < size ? (size_t)n : size - 1;
}

char *logline_backup_name(const char *dir, const char *program, const struct tm *tm, int ms,
			  char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s-%04d-%02d-%02dT%02d-%02d-%02d.%03d.log", dir, program,
		 tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min,
		 tm->tm_sec, ms);
	return buf;
}

int logline_is_backup(const char *name, const char *program)
{
	size_t n = strlen(program), len = strlen(name);

	/* "<program>-" then the time (it starts with a digit: "azure-vnet-ipam.log" is not a
	 * backup of azure-vnet) and ".log" */
	return strncmp(name, program, n) == 0 && name[n] == '-' && name[n + 1] >= '0' &&
	       name[n + 1] <= '9' && len == n + 28 && strcmp(name + len - 4, ".log") == 0;
}

char *logline_backups_add(char *names[LOGLINE_BACKUPS + 1], size_t *n, const char *name)
{
	size_t i, oldest = 0;
	char *out, *copy = malloc(strlen(name) + 1);

	if (!copy)
		return NULL;
	memcpy(copy, name, strlen(name) + 1);
	names[(*n)++] = copy;
	if (*n <= LOGLINE_BACKUPS)
		return NULL;
	for (i = 1; i < *n; i++)
		if (strcmp(names[i], names[oldest]) < 0)
			oldest = i;
	out = names[oldest];
	names[oldest] = names[--*n];
	return out;
}
