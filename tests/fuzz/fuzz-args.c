/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the CNI environment: the whole input as CNI_ARGS through cni_args_parse;
 * then, read as lines CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH
 * (missing lines unset), through cni_env_read. Every string it fills must stay terminated. */
#include <stdlib.h>
#include <string.h>

#include "cni.h"
#include "fuzz.h"

static const char *const env_names[] = { "CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS",
					 "CNI_IFNAME", "CNI_ARGS", "CNI_PATH" };

static void check_args(const struct cni_args *a)
{
	FUZZ_ASSERT_TERMINATED(a->pod_namespace);
	FUZZ_ASSERT_TERMINATED(a->pod_name);
	FUZZ_ASSERT_TERMINATED(a->pod_infra_container_id);
	FUZZ_ASSERT_TERMINATED(a->pod_uid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), *line = text;
	struct cni_args args = { 0 };
	struct cni_env env;
	struct cni_error err = { 0 };
	size_t i;

	if (cni_args_parse(text, &args, &err) == 0)
		check_args(&args);
	else
		FUZZ_ASSERT(err.code == CNI_CODE_INVALID_ENV);

	for (i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++) {
		char *nl = line ? strchr(line, '\n') : NULL;

		if (nl)
			*nl = '\0';
		if (line)
			setenv(env_names[i], line, 1);
		else
			unsetenv(env_names[i]);
		line = nl ? nl + 1 : NULL;
	}
	memset(&err, 0, sizeof(err));
	if (cni_env_read(&env, &err) == 0) {
		FUZZ_ASSERT(env.command != CNI_CMD_UNKNOWN);
		FUZZ_ASSERT_TERMINATED(env.container_id);
		FUZZ_ASSERT_TERMINATED(env.netns);
		FUZZ_ASSERT_TERMINATED(env.ifname);
		FUZZ_ASSERT_TERMINATED(env.path);
		check_args(&env.args);
	} else {
		FUZZ_ASSERT(err.code != 0);
	}
	free(text);
	return 0;
}
