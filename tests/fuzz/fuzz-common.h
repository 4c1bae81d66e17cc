/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-common.h: what every libFuzzer harness of hale shares. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int
LLVMFuzzerInitialize (int *argc, char ***argv);

/* Every harness starts with its logs quiet (fuzz-common.c): hostile
 * input makes hale log warnings by the million, which are what it
 * should do, not findings. Criticals (g_return_if_fail) still abort. */

/* A private directory for the harness's files, removed at exit. */
const char *
fuzz_tmpdir (void);

/* Runs the thread-default main context until @done is set or @timeout_ms
 * passed; aborts on the timeout (a hang is a finding). */
void
fuzz_iterate_until (const gboolean *done, guint timeout_ms);
