/* SPDX-License-Identifier: MIT */
/* Metrics for Prometheus, written the node-exporter textfile way: one file,
 * <dir>/azure_cni.prom, replaced atomically after each call (no daemon of ours; node-exporter's
 * textfile collector reads it). <dir> is AZURE_CNI_METRICS_DIR, else the config's "metricsDir";
 * unset = off (a call then only reads a monotonic clock a few times). Counters add up across
 * processes: each call reads the file under <dir>/azure_cni.prom.lock, adds its own and writes
 * it back. Format: the Prometheus text exposition format 0.0.4 (HELP, TYPE, one sample per line).
 *   azure_cni_calls_total{program,command,code}          counter (code "0" = success)
 *   azure_cni_call_duration_seconds{program,command}     histogram (le 0.005 .. 10 s)
 *   azure_cni_lock_wait_seconds_total{lock}              counter (lock: state, ipam, owner)
 *   azure_cni_lock_acquisitions_total{lock}              counter
 *   azure_cni_ipam_source_reads_total{result}            counter (ok, error)
 *   azure_cni_ipam_addresses{family,state}               gauge (state: total, in_use, free;
 *                                                         as the IPAM state last seen)
 *   azure_cni_metrics_updated_timestamp_seconds          gauge */
#ifndef AZCNI_METRICS_H
#define AZCNI_METRICS_H

#include <stdbool.h>

#include "core/ipam.h"

enum metrics_lock {
	METRICS_LOCK_STATE,
	METRICS_LOCK_IPAM,
	METRICS_LOCK_OWNER,
	METRICS_LOCK_N,
};

/* metrics_lock_waited - this process waited @ns nanoseconds for a @which lock. */
void metrics_lock_waited(enum metrics_lock which, long long ns);

/* metrics_source_read - this process read the IPAM source (NMAgent or interfaces.json). */
void metrics_source_read(bool ok);

/* metrics_pools - the IPAM state as this process saw it last (@sp is read now, not kept). */
void metrics_pools(const struct ipam_space *sp);

/* metrics_flush - add one call of @program (@command, CNI error @code or 0, @duration_ns) and
 * what this process recorded to the textfile in @dir (AZURE_CNI_METRICS_DIR wins over it; ""
 * and unset = off). Never fails a call: a problem is logged. */
void metrics_flush(const char *dir, const char *program, const char *command, int code,
		   long long duration_ns);

#endif
