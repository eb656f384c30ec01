/* SPDX-License-Identifier: MIT */
/* The reference scanner of test-netscan.c and fuzz-netscan.c: core/netscan.c built without its
 * models (NETSCAN_NO_MODEL: fast_record reads every record, as before they existed), its public
 * functions renamed netscan_ref_*. */
#define NETSCAN_NO_MODEL
#define netscan_run netscan_ref_run
#define netscan_free netscan_ref_free
#define netscan_text_offset netscan_ref_text_offset
#define netscan_unescape netscan_ref_unescape
#include "../../core/netscan.c"
