/* SPDX-License-Identifier: MIT */
/* The portable half of platform_fault_point (platform.h), shared by the OS backends
 * (header-only, as env-ms.h): reading AZURE_CNI_FAULT_KILL_AT and AZURE_CNI_FAULT_LOG once,
 * counting the steps, appending to the step log. Each OS adds only how it kills itself. */
#ifndef AZCNI_PLATFORM_FAULT_H
#define AZCNI_PLATFORM_FAULT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* platform_fault_step - count step @step: false when fault injection is off (both variables
 * unset: one getenv each per process, then nothing), else appends "<n> <step>" to the step log
 * (when set) and returns whether this is the step to kill at. */
static inline bool platform_fault_step(const char *step)
{
	static int on = -1;        /* -1: not read yet */
	static unsigned long at, n;
	static const char *log;
	const char *s;
	FILE *f;

	if (on < 0) {
		s = getenv("AZURE_CNI_FAULT_KILL_AT");
		at = s ? strtoul(s, NULL, 10) : 0;
		log = getenv("AZURE_CNI_FAULT_LOG");
		on = at > 0 || (log && log[0]);
	}
	if (!on)
		return false;
	n++;
	if (log && log[0] && (f = fopen(log, "a"))) {
		fprintf(f, "%lu %s\n", n, step);
		fclose(f);
	}
	return n == at;
}

#endif
