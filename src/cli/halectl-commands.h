/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* halectl-commands.h: one function per halectl command.
 *
 * Adding a command: a new halectl-NAME.c, its declaration here, a row in
 * the table in halectl.c, the file in src/cli/meson.build and
 * po/POTFILES.in, its paragraph in docs/halectl.1 (tests/test-docs.c
 * checks) and its German in po/de.po (docs/translations.md). The bash
 * completion asks halectl for its commands; arguments it should
 * complete go in data/bash-completion/halectl.
 *
 * @argv holds the command's own arguments (not its name), @argc how
 * many; each command checks them itself and returns an HalectlExit.
 */
#pragma once

#include "halectl-common.h"

G_BEGIN_DECLS

int
halectl_status (const HalectlOptions *options, int argc, char **argv);
int
halectl_degraded (const HalectlOptions *options, int argc, char **argv);
int
halectl_endpoints (const HalectlOptions *options, int argc, char **argv);
int
halectl_reload (const HalectlOptions *options, int argc, char **argv);
int
halectl_checks (const HalectlOptions *options, int argc, char **argv);
int
halectl_categories (const HalectlOptions *options, int argc, char **argv);
int
halectl_ack (const HalectlOptions *options, int argc, char **argv);
int
halectl_unack (const HalectlOptions *options, int argc, char **argv);
int
halectl_report (const HalectlOptions *options, int argc, char **argv);
int
halectl_record (const HalectlOptions *options, int argc, char **argv);
int
halectl_complete (const HalectlOptions *options, int argc, char **argv);

/* The table's commands (internal ones left out) and the long options,
 * for `halectl __complete`. */
GStrv
halectl_list_commands (void);
GStrv
halectl_list_options (void);

G_END_DECLS
