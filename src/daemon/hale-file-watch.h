/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-file-watch.h: "one of these files changed", debounced.
 *
 * For files haled reads whole and uses as a unit (a serving certificate
 * and its key, a token, a users file): the directories are watched, so
 * the write-to-temp-then-rename of every rotation tool is seen, and the
 * callback runs once, a moment after the last change, so a certificate
 * and key written one after the other are read as a pair.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _HaleFileWatch HaleFileWatch;

typedef void (*HaleFileWatchFunc) (gpointer user_data);

/* @paths: absolute, NULL-terminated. Never fails: a directory that
 * cannot be watched is logged, and its file is re-read only on SIGHUP. */
HaleFileWatch *
hale_file_watch_new (const char *const *paths, HaleFileWatchFunc func, gpointer user_data);
void
hale_file_watch_free (HaleFileWatch *watch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleFileWatch, hale_file_watch_free)

G_END_DECLS
