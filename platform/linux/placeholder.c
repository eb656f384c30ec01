/* SPDX-License-Identifier: MIT */
/* Temporary translation unit until platform/linux/os.c lands. */
int azcni_platform_linux_placeholder(void);
int azcni_platform_linux_placeholder(void) { return 0; }
