/* SPDX-License-Identifier: MIT */
/* Unit tests of the JSON log line (core/logline.h): the Go plugin's (zap's) keys in its order,
 * every message (quotes, control bytes, invalid UTF-8, too long) still one valid JSON line, the
 * short caller, level names, and lumberjack's backup names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "core/logline.h"

/* @line is one JSON object with exactly zap's keys (level, ts, caller, msg, pid) in order. */
static cJSON *parse_line(const char *line, size_t n)
{
	cJSON *o, *it;
	static const char *const keys[] = { "level", "ts", "caller", "msg", "pid" };
	size_t k = 0;

	assert_true(n > 0);
	assert_int_equal(line[n - 1], '\n');
	assert_null(memchr(line, '\n', n - 1));
	o = cJSON_ParseWithLength(line, n);
	assert_non_null(o);
	cJSON_ArrayForEach(it, o) {
		assert_true(k < 5);
		assert_string_equal(it->string, keys[k++]);
	}
	assert_int_equal(k, 5);
	return o;
}

static void test_format(void **state)
{
	char buf[512];
	size_t n;
	cJSON *o;

	(void)state;
	n = logline_format(buf, sizeof(buf), LOGLINE_INFO, "2026-12-02T11:30:00.123Z",
			   "cni/azure-vnet.c:42", 4242, "azure-vnet ADD container=c1 result=ok");
	assert_string_equal(buf, "{\"level\":\"info\",\"ts\":\"2026-12-02T11:30:00.123Z\","
				 "\"caller\":\"cni/azure-vnet.c:42\",\"msg\":\"azure-vnet ADD "
				 "container=c1 result=ok\",\"pid\":4242}\n");
	assert_int_equal(n, strlen(buf));
	o = parse_line(buf, n);
	cJSON_Delete(o);
}

/* Quotes, backslashes, newlines, control bytes and invalid UTF-8 in a message: still one line
 * of valid JSON, the valid text kept. */
static void test_hostile_messages(void **state)
{
	static const char *const msgs[] = {
		"a \"quoted\" \\ path\nsecond line\r\tand\x01\x1f\x7f",
		"bad utf-8: \xff \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 cut \xe2\x82",
		"good utf-8: \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		"",
	};
	char buf[512];

	(void)state;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		size_t n = logline_format(buf, sizeof(buf), LOGLINE_ERROR, "t", "c:1", 1, msgs[i]);
		cJSON *o = parse_line(buf, n);

		assert_string_equal(cJSON_GetObjectItem(o, "level")->valuestring, "error");
		if (i == 0)
			assert_string_equal(cJSON_GetObjectItem(o, "msg")->valuestring,
					    "a \"quoted\" \\ path\nsecond line\r\tand\x01\x1f\x7f");
		if (i == 2)
			assert_string_equal(cJSON_GetObjectItem(o, "msg")->valuestring, msgs[2]);
		if (i == 1)
			assert_non_null(strstr(cJSON_GetObjectItem(o, "msg")->valuestring,
					       "\xef\xbf\xbd"));
		cJSON_Delete(o);
	}
}

/* A message longer than the buffer is cut, never the line's end. */
static void test_long_message(void **state)
{
	char msg[3000], buf[256];
	size_t n;
	cJSON *o;

	(void)state;
	memset(msg, '"', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	n = logline_format(buf, sizeof(buf), LOGLINE_WARN, "t", "c:1", 7, msg);
	assert_true(n > 0 && n < sizeof(buf));
	o = parse_line(buf, n);
	assert_int_equal(cJSON_GetObjectItem(o, "pid")->valueint, 7);
	cJSON_Delete(o);
	assert_int_equal(logline_format(buf, 16, LOGLINE_INFO, "t", "c:1", 7, "m"), 0);
}

static void test_caller_and_levels(void **state)
{
	char buf[64];
	enum logline_level l = LOGLINE_DEBUG;

	(void)state;
	assert_string_equal(logline_caller("/work/main/cni/azure-vnet.c", 12, buf, sizeof(buf)),
			    "cni/azure-vnet.c:12");
	assert_string_equal(logline_caller("C:\\src\\platform\\windows\\os.c", 3, buf, sizeof(buf)),
			    "windows/os.c:3");
	assert_string_equal(logline_caller("os.c", 3, buf, sizeof(buf)), "os.c:3");
	assert_int_equal(logline_level_parse("ERROR", &l), 0);
	assert_int_equal(l, LOGLINE_ERROR);
	assert_int_equal(logline_level_parse("warning", &l), 0);
	assert_int_equal(l, LOGLINE_WARN);
	assert_int_equal(logline_level_parse("verbose", &l), -EINVAL);
	assert_int_equal(l, LOGLINE_WARN);
	assert_string_equal(logline_level_name(LOGLINE_DEBUG), "debug");
}

/* lumberjack's backup names, and which names are backups of which log. */
static void test_backups(void **state)
{
	struct tm tm = { .tm_year = 126, .tm_mon = 11, .tm_mday = 2, .tm_hour = 9, .tm_min = 5,
			 .tm_sec = 7 };
	char buf[128];

	(void)state;
	assert_string_equal(logline_backup_name("/var/log", "azure-vnet", &tm, 45, buf, sizeof(buf)),
			    "/var/log/azure-vnet-2026-12-02T09-05-07.045.log");
	assert_true(logline_is_backup("azure-vnet-2026-12-02T09-05-07.045.log", "azure-vnet"));
	assert_false(logline_is_backup("azure-vnet-ipam-2026-12-02T09-05-07.045.log", "azure-vnet"));
	assert_true(logline_is_backup("azure-vnet-ipam-2026-12-02T09-05-07.045.log",
				      "azure-vnet-ipam"));
	assert_false(logline_is_backup("azure-vnet.log", "azure-vnet"));
	assert_false(logline_is_backup("azure-vnet-2026-12-02T09-05-07.045.log.gz", "azure-vnet"));
}

/* The set keeps the newest LOGLINE_BACKUPS names, whatever order they come in. */
static void test_backups_prune(void **state)
{
	char *names[LOGLINE_BACKUPS + 1], name[64], *gone;
	int order[12] = { 5, 11, 0, 7, 3, 9, 1, 10, 2, 8, 4, 6 }, dropped = 0;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "azure-vnet-2026-12-%02dT00-00-00.000.log", order[i] + 1);
		gone = logline_backups_add(names, &n, name);
		if (gone) {
			/* never one of the 8 newest (days 5..12) */
			assert_true(strcmp(gone, "azure-vnet-2026-12-05T00-00-00.000.log") < 0);
			dropped++;
			free(gone);
		}
	}
	assert_int_equal(dropped, 4);
	assert_int_equal(n, LOGLINE_BACKUPS);
	while (n)
		free(names[--n]);
}

/* logline_utc agrees with the C library's gmtime over leap days, century rules, negative
 * times and 32-bit overflow; logline_utc_text is strftime's "%Y-%m-%dT%H:%M:%S". */
static void test_utc(void **state)
{
	static const struct {
		long long t;
		const char *text;
	} fixed[] = {
		{ 0, "1970-01-01T00:00:00" },
		{ -1, "1969-12-31T23:59:59" },
		{ 951782400, "2000-02-29T00:00:00" },
		{ 4107542399LL, "2100-02-28T23:59:59" },
		{ 4107542400LL, "2100-03-01T00:00:00" },
		{ 1796306400, "2026-12-03T14:00:00" },
		{ 253402300799LL, "9999-12-31T23:59:59" },
		{ -62135596800LL, "0001-01-01T00:00:00" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		assert_int_equal(logline_utc_text(fixed[i].t, buf, sizeof(buf)), 19);
		assert_string_equal(buf, fixed[i].text);
	}
	assert_int_equal(logline_utc_text(0, buf, 5), 4);
	assert_string_equal(buf, "1970");
#ifndef _WIN32
	/* every 7919th second (a prime: all hours, weekdays, days of every month) of 1600-2500 */
	for (long long t = -11676096000LL; t < 16725225600LL; t += 7919LL * 3607) {
		time_t tt = (time_t)t;
		struct tm want, got;
		char ws[32];

		assert_non_null(gmtime_r(&tt, &want));
		logline_utc(t, &got);
		assert_int_equal(got.tm_year, want.tm_year);
		assert_int_equal(got.tm_mon, want.tm_mon);
		assert_int_equal(got.tm_mday, want.tm_mday);
		assert_int_equal(got.tm_hour, want.tm_hour);
		assert_int_equal(got.tm_min, want.tm_min);
		assert_int_equal(got.tm_sec, want.tm_sec);
		assert_int_equal(got.tm_wday, want.tm_wday);
		assert_int_equal(got.tm_yday, want.tm_yday);
		strftime(ws, sizeof(ws), "%Y-%m-%dT%H:%M:%S", &want);
		logline_utc_text(t, buf, sizeof(buf));
		assert_string_equal(buf, ws);
	}
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_hostile_messages),
		cmocka_unit_test(test_long_message),
		cmocka_unit_test(test_caller_and_levels),
		cmocka_unit_test(test_backups),
		cmocka_unit_test(test_backups_prune),
		cmocka_unit_test(test_utc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
