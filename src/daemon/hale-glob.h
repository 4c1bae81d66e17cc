/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-glob.h: shell patterns in a path, with what each wildcard matched.
 *
 * `*`, `?` and `[...]` (`[!...]` or `[^...]` negated, `a-z` ranges)
 * match within one path component, as in the shell: never a `/`, and a
 * wildcard does not match the leading `.` of a hidden name. What each
 * wildcard matched is kept, so a second pattern with the same wildcards
 * (KeyPath= beside Path=) names the file that belongs to a match. There
 * are no escapes: `[*]` matches a star.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _HaleGlob HaleGlob;

/* Whether @path holds a wildcard at all: a plain path is a file. */
gboolean
hale_glob_has_wildcards (const char *path);

/* @pattern: absolute. Fails on an unclosed `[`, an empty `[]`, `**`
 * (any depth is not supported) and more than HALE_GLOB_MAX_STARS `*`
 * in one component, saying which. */
#define HALE_GLOB_MAX_STARS 4
HaleGlob *
hale_glob_new (const char *pattern, GError **error);
void
hale_glob_free (HaleGlob *glob);

const char *
hale_glob_get_pattern (const HaleGlob *glob);
/* How many wildcards the pattern has (every `*`, `?` and `[...]`). */
guint
hale_glob_count_wildcards (const HaleGlob *glob);

/* The deepest directory of the pattern without a wildcard: where a
 * search starts. */
const char *
hale_glob_get_root (const HaleGlob *glob);
/* The components below the root, the last one the file's. */
guint
hale_glob_get_n_levels (const HaleGlob *glob);
/* The component itself when level @level has no wildcard, else NULL. */
const char *
hale_glob_get_literal (const HaleGlob *glob, guint level);

/* Whether @name (one directory entry) matches component @level; if so,
 * what each of its wildcards matched is appended to @captures (char *,
 * owned by the array). */
gboolean
hale_glob_match_level (const HaleGlob *glob, guint level, const char *name, GPtrArray *captures);

/* @glob's pattern with its i-th wildcard replaced by @captures[i]. */
char *
hale_glob_substitute (const HaleGlob *glob, const char *const *captures);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleGlob, hale_glob_free)

G_END_DECLS
