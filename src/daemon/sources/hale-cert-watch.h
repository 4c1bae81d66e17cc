/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-cert-watch.h: the [Certificate] files, watched.
 *
 * Each file's directory is watched with GFileMonitor (so the
 * write-to-temp-then-rename of every rotation tool is seen), reads are
 * asynchronous, and a periodic re-check catches what inotify misses.
 * Results go to the state model as "certificate:NAME" checks and to the
 * metrics registry; a new serial is a renewal. A Path= with wildcards
 * is searched (in a worker thread) whenever a directory it spans
 * changes, and every file it matches is a certificate of its own.
 */
#pragma once

#include "hale-cert.h"
#include "hale-config.h"
#include "hale-metrics.h"
#include "hale-audit.h"
#include "hale-state.h"

G_BEGIN_DECLS

#define HALE_TYPE_CERT_WATCH (hale_cert_watch_get_type ())
G_DECLARE_FINAL_TYPE (HaleCertWatch, hale_cert_watch, HALE, CERT_WATCH, GObject)

/* One certificate file watched: a [Certificate] with a plain Path=, or
 * one file its pattern matched. */
typedef struct
{
  const char *name;       /* "web"; a match: "GROUP:" and what the wildcards took, ':' between */
  const char *type;       /* the group's NAME: the type label */
  const char *path;       /* the file */
  const char *path_label; /* the path label: "" for a plain Path= (no label), else path */
  const char *key_path;   /* KeyPath=, substituted for a match; NULL: none */
} HaleWatchedCertificate;

/* @state_dir: where the last seen serial and renewal time of each
 * certificate are kept across restarts (NULL: kept in memory only). */
HaleCertWatch *hale_cert_watch_new (HaleState *state, HaleMetrics *metrics,
                                    const char *state_dir);

/* Starts, stops and changes watches to match @config; certificates no
 * longer configured lose their checks and series. */
void hale_cert_watch_configure (HaleCertWatch *self, HaleConfig *config);

/* Where a certificate whose status gets worse (unreadable, malformed,
 * expired, past a threshold) says so (certificate_problem), and one that
 * is well again (certificate_recovered): one event per change of status,
 * never per re-read. NULL: nowhere. */
void hale_cert_watch_set_audit (HaleCertWatch *self, HaleAudit *audit);

/* Reads every file again now (after degraded mode, on request). */
void hale_cert_watch_recheck (HaleCertWatch *self);

/* Every certificate watched now, plain ones in configuration order,
 * then the matches of patterns. Transfer container: the elements hold
 * until the next "certificates-changed". */
GPtrArray *hale_cert_watch_list (HaleCertWatch *self);

/* Transfer none, as above; NULL: no such certificate. */
const HaleWatchedCertificate *hale_cert_watch_lookup (HaleCertWatch *self, const char *name);

/* Transfer none; NULL before the first successful read. */
const HaleCertInfo *hale_cert_watch_get_info (HaleCertWatch *self, const char *name);

/* The next read of @name that finds @serial is not a renewal (no
 * "renewed", no renewal counted): a rollback putting the previous
 * certificate back announces it here first. */
void hale_cert_watch_expect_serial (HaleCertWatch *self, const char *name, const char *serial);

/* Signal "renewed" (const char *name, const HaleCertInfo *previous,
 * const HaleCertInfo *current): a new serial was seen.
 * Signal "read" (const char *name, GBytes *pem, const HaleCertInfo *info):
 * every read that parsed, before the "renewed" it may cause.
 * Signal "certificates-changed" (): a certificate came or went. */

G_END_DECLS
