/* SPDX-License-Identifier: MIT */
/* Reading a duration override from the environment, shared by the OS backends (header-only,
 * so each backend's glob picks up nothing new). */
#ifndef AZCNI_PLATFORM_ENV_MS_H
#define AZCNI_PLATFORM_ENV_MS_H

#include <errno.h>
#include <stdlib.h>

/* platform_env_ms - the environment variable @name as milliseconds (decimal digits only),
 * or @dflt when it is unset, empty, not a number, or outside @min..@max. */
static inline unsigned platform_env_ms(const char *name, unsigned dflt, unsigned long min,
				       unsigned long max)
{
	const char *v = getenv(name);
	unsigned long ms;
	char *end;

	if (!v || !*v)
		return dflt;
	errno = 0;
	ms = strtoul(v, &end, 10);
	if (errno || *end || ms < min || ms > max)
		return dflt;
	return (unsigned)ms;
}

#endif
