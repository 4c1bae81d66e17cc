/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whether a rollback can write where it would have to: the directories
 * of the certificates and keys it puts back, as haled.service's sandbox
 * sees them. */
#pragma once

#include "hale-config.h"

#include <glib.h>

G_BEGIN_DECLS

gboolean
hale_sandbox_rollback_possible (const HaleConfig *config);
char *
hale_sandbox_rollback_dir (const char *path);
gboolean
hale_sandbox_check_unit (const HaleConfig *config, const char *unit, GError **error);

G_END_DECLS
