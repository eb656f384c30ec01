/* SPDX-License-Identifier: MIT */
/* The metrics textfile (cni/metrics.h): what this process recorded, added under a lock to the
 * samples the file already holds, written back atomically. Talks to platform.h (files, locks,
 * clocks, log). */
#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/platform.h"

#define METRICS_FILE "azure_cni.prom"
#define METRICS_KEY_MAX 256
#define METRICS_MAX 512          /* samples kept; a file beyond it is cut (never grows unbounded) */
#define METRICS_LOCK_MS 1000u

static const char *const lock_names[METRICS_LOCK_N] = { "state", "ipam", "owner" };
static const double buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };

/* What this process recorded. */
static struct {
	long long lock_ns[METRICS_LOCK_N];
	unsigned lock_n[METRICS_LOCK_N];
	unsigned source_ok, source_err;
	bool have_pools;
	double addrs[2][3];              /* [v4, v6][total, in_use, free] */
} rec;

/* The families in the order they are written, with their help and type. */
static const struct family {
	const char *name, *type, *help;
} families[] = {
	{ "azure_cni_calls_total", "counter", "CNI calls by program, command and CNI error code (0: success)." },
	{ "azure_cni_call_duration_seconds", "histogram", "Wall time of CNI calls." },
	{ "azure_cni_lock_wait_seconds_total", "counter", "Time spent waiting for the plugin's locks." },
	{ "azure_cni_lock_acquisitions_total", "counter", "Locks taken, by lock." },
	{ "azure_cni_ipam_source_reads_total", "counter", "Reads of the IPAM source (NMAgent or interfaces.json)." },
	{ "azure_cni_ipam_addresses", "gauge", "Pool addresses by family and state, as last seen by a call." },
	{ "azure_cni_metrics_updated_timestamp_seconds", "gauge", "When a call last wrote this file." },
};

struct sample {
	char key[METRICS_KEY_MAX];       /* name{labels} */
	double v;
};

struct table {
	struct sample s[METRICS_MAX];
	size_t n;
};

void metrics_lock_waited(enum metrics_lock which, long long ns)
{
	if (which < METRICS_LOCK_N) {
		rec.lock_ns[which] += ns;
		rec.lock_n[which]++;
	}
}

void metrics_source_read(bool ok)
{
	if (ok)
		rec.source_ok++;
	else
		rec.source_err++;
}

void metrics_pools(const struct ipam_space *sp)
{
	memset(rec.addrs, 0, sizeof(rec.addrs));
	for (size_t i = 0; i < sp->n_pools; i++) {
		const struct ipam_pool *p = &sp->pools[i];
		double *a = rec.addrs[p->is_ipv6 ? 1 : 0];
		size_t used = 0, free_n = ipam_pool_free_count(p);

		for (size_t k = 0; k < p->n_addrs; k++)
			used += p->addrs[k].in_use;
		a[0] += (double)(used + free_n);
		a[1] += (double)used;
		a[2] += (double)free_n;
	}
	rec.have_pools = true;
}

static struct sample *table_get(struct table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->s[i].key, key) == 0)
			return &t->s[i];
	if (t->n == METRICS_MAX)
		return NULL;
	snprintf(t->s[t->n].key, sizeof(t->s[t->n].key), "%s", key);
	t->s[t->n].v = 0;
	return &t->s[t->n++];
}

static void add(struct table *t, double v, const char *fmt, ...)
	__attribute__((format(gnu_printf, 3, 4)));

static void add(struct table *t, double v, const char *fmt, ...)
{
	char key[METRICS_KEY_MAX];
	struct sample *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	if ((s = table_get(t, key)))
		s->v += v;
}

static void set(struct table *t, double v, const char *key)
{
	struct sample *s = table_get(t, key);

	if (s)
		s->v = v;
}

/* The samples of @text (our own file: "name{labels} value" lines; comments skipped; a line
 * that is not one is dropped). */
static void table_parse(struct table *t, char *text)
{
	char *line, *next;

	for (line = text; line && *line; line = next) {
		char *sp, *end;
		double v;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		sp = strrchr(line, ' ');
		if (line[0] == '#' || !sp || sp == line || (size_t)(sp - line) >= METRICS_KEY_MAX)
			continue;
		*sp = '\0';
		v = strtod(sp + 1, &end);
		if (end != sp + 1 && !*end)
			set(t, v, line);
	}
}

static int sample_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sample *)a)->key, ((const struct sample *)b)->key);
}

/* Does sample key @key belong to family @name (name, name_bucket/_sum/_count, then '{')? */
static bool of_family(const char *key, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(key, name, n) != 0)
		return false;
	key += n;
	if (strncmp(key, "_bucket", 7) == 0)
		key += 7;
	else if (strncmp(key, "_count", 6) == 0)
		key += 6;
	else if (strncmp(key, "_sum", 4) == 0)
		key += 4;
	return *key == '{' || *key == '\0';
}

static char *table_text(struct table *t)
{
	size_t cap = 256 + t->n * (METRICS_KEY_MAX + 32) + sizeof(families), len = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	qsort(t->s, t->n, sizeof(t->s[0]), sample_cmp);
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		len += (size_t)snprintf(out + len, cap - len, "# HELP %s %s\n# TYPE %s %s\n",
					families[f].name, families[f].help, families[f].name,
					families[f].type);
		for (size_t i = 0; i < t->n; i++)
			if (of_family(t->s[i].key, families[f].name))
				len += (size_t)snprintf(out + len, cap - len, "%s %.17g\n", t->s[i].key,
							t->s[i].v);
	}
	return out;
}

/* This process's call and records, added to @t. */
static void table_add_call(struct table *t, const char *program, const char *command, int code,
			   long long duration_ns)
{
	double d = (double)duration_ns / 1e9;
	size_t i;

	add(t, 1, "azure_cni_calls_total{program=\"%s\",command=\"%s\",code=\"%d\"}", program,
	    command, code);
	for (i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++)
		add(t, d <= buckets[i] ? 1 : 0,
		    "azure_cni_call_duration_seconds_bucket{program=\"%s\",command=\"%s\",le=\"%g\"}",
		    program, command, buckets[i]);
	add(t, 1, "azure_cni_call_duration_seconds_bucket{program=\"%s\",command=\"%s\",le=\"+Inf\"}",
	    program, command);
	add(t, d, "azure_cni_call_duration_seconds_sum{program=\"%s\",command=\"%s\"}", program,
	    command);
	add(t, 1, "azure_cni_call_duration_seconds_count{program=\"%s\",command=\"%s\"}", program,
	    command);
	for (i = 0; i < METRICS_LOCK_N; i++)
		if (rec.lock_n[i]) {
			add(t, (double)rec.lock_ns[i] / 1e9,
			    "azure_cni_lock_wait_seconds_total{lock=\"%s\"}", lock_names[i]);
			add(t, rec.lock_n[i], "azure_cni_lock_acquisitions_total{lock=\"%s\"}",
			    lock_names[i]);
		}
	if (rec.source_ok)
		add(t, rec.source_ok, "azure_cni_ipam_source_reads_total{result=\"ok\"}");
	if (rec.source_err)
		add(t, rec.source_err, "azure_cni_ipam_source_reads_total{result=\"error\"}");
	for (i = 0; rec.have_pools && i < 2; i++) {
		static const char *const state[3] = { "total", "in_use", "free" };

		for (size_t k = 0; k < 3; k++) {
			char key[METRICS_KEY_MAX];

			snprintf(key, sizeof(key),
				 "azure_cni_ipam_addresses{family=\"%s\",state=\"%s\"}",
				 i ? "IPv6" : "IPv4", state[k]);
			set(t, rec.addrs[i][k], key);
		}
	}
	set(t, (double)time(NULL), "azure_cni_metrics_updated_timestamp_seconds");
}

void metrics_flush(const char *dir, const char *program, const char *command, int code,
		   long long duration_ns)
{
	const char *env = getenv("AZURE_CNI_METRICS_DIR");
	char path[1024], lock_path[1100], *text = NULL, *out;
	struct platform_lock *l = NULL;
	struct cni_error err = { 0 };
	static struct table t;     /* 140 KB: static, one flush per process */
	size_t len = 0;
	int r;

	if (env && *env)
		dir = env;
	if (!dir || !*dir || !command || !*command)
		return;
	if (snprintf(path, sizeof(path), "%s/%s", dir, METRICS_FILE) >= (int)sizeof(path))
		return;
	snprintf(lock_path, sizeof(lock_path), "%s.lock", path);
	r = platform_lock_acquire(lock_path, METRICS_LOCK_MS, &l, &err);
	if (r >= 0) {
		r = platform_file_read(path, &text, &len, &err);
		if (r == -ENOENT)
			r = 0;
	}
	if (r >= 0) {
		t.n = 0;
		if (text)
			table_parse(&t, text);
		table_add_call(&t, program, command, code, duration_ns);
		out = table_text(&t);
		r = out ? platform_file_publish(path, out, strlen(out), &err) : -ENOMEM;
		free(out);
	}
	free(text);
	platform_lock_release(l);
	if (r < 0)
		platform_log("metrics: %s not written: %s", path, err.msg[0] ? err.msg : "out of memory");
}
