/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-backup.h: the previous certificates, kept to roll back to.
 *
 * Every certificate serial the watch reads is kept once, as the bytes
 * it read, in DIR/NAME/SERIAL.pem (0644), with the [Certificate]'s
 * KeyPath= file read at the same moment in DIR/NAME/SERIAL.key (0600).
 * The last BackupKeep= serials are kept, and never the newest nor the
 * "good" one (what the services last reloaded with successfully: the
 * one a rollback restores) are deleted. File work runs in GIO's worker
 * threads: the main loop never waits on a disk.
 */
#pragma once

#include "hale-cert-watch.h"
#include "hale-config.h"
#include "hale-metrics.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HALE_TYPE_BACKUP (hale_backup_get_type ())
G_DECLARE_FINAL_TYPE (HaleBackup, hale_backup, HALE, BACKUP, GObject)

/* @dir: where backups live, e.g. /var/lib/hale/backup; made on first
 * use (0700). Registers <ns>_backup_files_count{type}. */
HaleBackup *
hale_backup_new (HaleMetrics *metrics, const char *dir);

/* Keeps @keep serials (BackupKeep=) of each of @certificates
 * (HaleWatchedCertificate: every file the watch has, a match of a
 * pattern with its own KeyPath=), and reads what DIR/NAME/ already
 * holds (a directory listing: small). Called again whenever the
 * certificates change; one no longer there loses its series, never its
 * files. */
void
hale_backup_configure (HaleBackup *self, guint keep, const GPtrArray *certificates);

/* Keeps @cert (the bytes read, whose leaf has @serial) for @name, and
 * its key file as it is now; nothing when @serial is kept already. The
 * first serial kept for a certificate without a good one becomes good.
 * A key that cannot be read is logged and the certificate kept alone. */
void
hale_backup_store_async (HaleBackup *self, const char *name, const char *serial, GBytes *cert,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data);
gboolean
hale_backup_store_finish (HaleBackup *self, GAsyncResult *result, GError **error);

gboolean
hale_backup_has (HaleBackup *self, const char *name, const char *serial);

/* Serials kept for @name, newest first; NULL when none. */
GStrv
hale_backup_list (HaleBackup *self, const char *name);

/* The serial the services last reloaded with successfully (persisted
 * in DIR/NAME/good); NULL when unknown. */
const char *
hale_backup_get_good (HaleBackup *self, const char *name);
void
hale_backup_set_good (HaleBackup *self, const char *name, const char *serial);

/* Writes the kept files of @serial back over Path= (and KeyPath= when
 * a key was kept) atomically: a temporary file in the same directory,
 * the current file's mode and owner, fsync, rename. The key goes
 * first, so a certificate never appears next to a key that is not its
 * own. A symbolic link is followed: its target is replaced, the link
 * stays. */
void
hale_backup_restore_async (HaleBackup *self, const char *name, const char *serial,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data);
gboolean
hale_backup_restore_finish (HaleBackup *self, GAsyncResult *result, GError **error);

G_END_DECLS
