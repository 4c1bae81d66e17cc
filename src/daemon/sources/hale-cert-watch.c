/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-cert-watch.c: the [Certificate] files, watched.
 *
 * Rotation tools replace certificates in many ways: write a temporary
 * file and rename it over the old one (most), rewrite in place (cp),
 * swap a symlink (certbot's live/, Kubernetes' ..data). Watching the
 * file itself misses the renames, so the parent directory is watched,
 * and so is every directory a symlink leads to. Bursts of events are
 * folded into one read a few tens of milliseconds after they stop, and
 * a slow periodic re-check catches whatever inotify cannot see (network
 * file systems, a directory that did not exist yet).
 *
 * Status depends on the clock as well as on the file: instead of
 * polling, a timeout is set for the next moment a threshold is crossed.
 */
#include "config.h"

#include "hale-cert-watch.h"
#include "hale-glob.h"
#include "hale-metric-families.h"

#include "hale-names.h"
#include "hale-units.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

/* Events are folded until none came for DEBOUNCE_MS, but never delayed
 * more than DEBOUNCE_MAX_MS after the first: a file rewritten without
 * pause must still be read. */
/* A leaf, its chain and a CA bundle fit in far less. */
#define MAX_CERTIFICATE_FILE_SIZE (1024 * 1024)

#define DEBOUNCE_MS 50
#define DEBOUNCE_MAX_MS 250
/* A good certificate that reads as broken or missing right after an
 * event is read again once before the failure is published: an
 * in-place rewrite or a delete-then-create shows a torn file for a
 * moment, and a false "critical" wakes people up. */
#define CONFIRM_MS 200
/* GLib timeouts count milliseconds in a guint; thresholds can be months
 * away. Wake up at least daily and look again. */
#define MAX_TIMER_MS (24u * 3600u * 1000u)
#define MAX_SYMLINK_HOPS 8
/* Reads in flight at once; the others wait in a queue. Ten thousand
 * certificates read all at once would hold ten thousand open files (past
 * the usual limit of 1024) and as many read buffers, whose memory stays
 * with the process long after the reads are done. */
#define MAX_READS_IN_FLIGHT 32
/* New serials are saved this long after the first one not saved yet:
 * the file holds every certificate, and ten thousand seen at start are
 * a few writes, not thousands. Stopping saves at once. */
#define PERSIST_DELAY_MS 1000

typedef struct
{
  char *dir;
  char *basename;
} WatchedName;

typedef struct _Glob Glob;

typedef struct
{
  HaleCertWatch *self; /* unowned: entries live inside it */
  char *name;
  char *type; /* the [Certificate] group: the type label */
  char *check_name;
  char *path;
  char *key_path;             /* KeyPath=, substituted for a match; NULL: none */
  Glob *glob;                 /* unowned: the pattern this file matched; NULL: a plain Path= */
  HaleWatchedCertificate pub; /* what hale_cert_watch_list() hands out, pointing in here */
  gint64 warning_before;      /* usec */
  gint64 critical_before;     /* usec */

  GArray *names;             /* WatchedName: the path and where its symlinks lead */
  GCancellable *cancellable; /* of the read in flight */
  GList *queued;             /* our link in read_queue while waiting to be read */
  guint debounce_id;
  gint64 burst_start; /* monotonic usec of the first event of a burst */
  guint confirm_id;
  gboolean confirming;
  gint64 threshold_at;           /* real-time usec of our next threshold; 0: none */
  GSequenceIter *threshold_iter; /* our place in thresholds, or NULL */

  HaleCertInfo *info; /* last good read */
  GError *error;      /* why the last read failed; NULL when it was good */

  char *last_serial;     /* last serial ever seen, persisted */
  gint64 last_renewal;   /* seconds since the epoch; 0: unknown */
  char *expected_serial; /* put back by a rollback: not a renewal */

  HaleCheckStatus told; /* the status the journal last heard of */

  char **info_labels;  /* labels of our certificate_info series, or NULL */
  guint error_reasons; /* bit per HaleCertError: read_errors_total series made */
} Entry;

/* A [Certificate] whose Path= is a pattern: what it matched last, and
 * every directory the search looked into, each watched, so that a file
 * or directory appearing or going is a new search. */
struct _Glob
{
  HaleCertWatch *self;
  char *type;
  HaleGlob *path;
  HaleGlob *key_path; /* NULL: no KeyPath= */
  gint64 warning_before;
  gint64 critical_before;
  GHashTable *dirs;          /* directory -> NULL: where the last search looked */
  GCancellable *cancellable; /* of the search in flight */
  gboolean again;            /* search again when the one in flight is done */
  guint debounce_id;
  gint64 burst_start;
  gboolean told_empty; /* the log heard that nothing matches */
};

struct _HaleCertWatch
{
  GObject parent_instance;

  HaleState *state;
  HaleMetrics *metrics;
  HaleAudit *audit; /* NULL: no events */
  char *state_dir;
  GMainContext *context;

  HaleConfig *config;
  GPtrArray *entries;    /* Entry, in configuration order */
  GHashTable *by_name;   /* entry->name -> Entry, unowned: configure looks up every name */
  GHashTable *globs;     /* group name -> Glob, the [Certificate]s with a pattern */
  GHashTable *monitors;  /* directory -> GFileMonitor */
  GQueue read_queue;     /* Entry waiting for a read slot */
  guint reads_in_flight; /* reads started and neither done nor cancelled */
  guint sync_id;         /* a sync_monitors() to come */
  /* Every entry's next threshold, soonest first, behind one timer: a
   * GSource per certificate would make every main loop iteration walk
   * ten thousand of them. */
  GSequence *thresholds; /* Entry, unowned */
  GSource *threshold_source;
  gint64 threshold_armed_at; /* threshold_at the timer is set for; 0: none */
  gboolean monitors_missing; /* a directory could not be watched last time */
  GSource *recheck_source;

  GKeyFile *persist;
  gboolean persist_writing;
  gboolean persist_dirty;
  guint persist_id; /* a write to come */
  gboolean disposed;

  HaleMetricFamily *m_expiry;
  HaleMetricFamily *m_age;
  HaleMetricFamily *m_not_after;
  HaleMetricFamily *m_not_before;
  HaleMetricFamily *m_chain_expiry;
  HaleMetricFamily *m_last_renewal;
  HaleMetricFamily *m_renewals;
  HaleMetricFamily *m_info;
  HaleMetricFamily *m_valid;
  HaleMetricFamily *m_read_errors;
  HaleMetricFamily *m_state_failures;
};

G_DEFINE_TYPE (HaleCertWatch, hale_cert_watch, G_TYPE_OBJECT)

enum
{
  SIGNAL_RENEWED,
  SIGNAL_READ,
  SIGNAL_CERTIFICATES_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
entry_start_read (Entry *entry);
static void
entry_queue_read (Entry *entry, gboolean urgent);
static void
pump_reads (HaleCertWatch *self);
static void
sync_monitors (HaleCertWatch *self);
static void
schedule_sync_monitors (HaleCertWatch *self);
static void
glob_search (Glob *glob);

/* Time and its words ---------------------------------------------------- */

static GSource *
timeout_attach (HaleCertWatch *self, guint ms, GSourceFunc func, gpointer data)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, self->context);
  return source;
}

static guint
timeout_add (HaleCertWatch *self, guint ms, GSourceFunc func, gpointer data)
{
  g_autoptr (GSource) source = timeout_attach (self, ms, func, data);
  return g_source_get_id (source);
}

static void
source_clear (guint *id, GMainContext *context)
{
  if (*id != 0)
    {
      GSource *source = g_main_context_find_source_by_id (context, *id);
      if (source != NULL)
        g_source_destroy (source);
      *id = 0;
    }
}

/* Calls @func DEBOUNCE_MS after the last of a burst of calls, but no
 * later than DEBOUNCE_MAX_MS after the first. */
static void
debounce (HaleCertWatch *self, guint *id, gint64 *burst_start, GSourceFunc func, gpointer data)
{
  gint64 now = g_get_monotonic_time ();

  if (*id == 0)
    *burst_start = now;
  else if (now - *burst_start < DEBOUNCE_MAX_MS * 1000)
    source_clear (id, self->context);
  else
    return; /* due soon anyway */
  *id = timeout_add (self, DEBOUNCE_MS, func, data);
}

/* Persisted serials -------------------------------------------------------- */

static char *
persist_group (const char *name)
{
  return g_strdup_printf ("Certificate %s", name);
}

static void
persist_load (HaleCertWatch *self)
{
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;

  self->persist = g_key_file_new ();
  if (self->state_dir == NULL)
    return;
  path = g_build_filename (self->state_dir, HALE_STATE_CERTIFICATES, NULL);
  /* Once at start, a few hundred bytes: reading it synchronously is
   * cheaper than the state it would take not to. */
  if (!g_key_file_load_from_file (self->persist, path, G_KEY_FILE_KEEP_COMMENTS, &error)
      && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    g_warning ("Cannot read %s, renewals seen before this start are forgotten: %s", path,
               error->message);
}

static void
persist_write (HaleCertWatch *self);
static void
persist_schedule (HaleCertWatch *self);

static gboolean
persist_cb (gpointer user_data)
{
  HaleCertWatch *self = user_data;

  self->persist_id = 0;
  persist_write (self);
  return G_SOURCE_REMOVE;
}

static void
persist_schedule (HaleCertWatch *self)
{
  if (self->state_dir == NULL)
    return;
  if (self->persist_writing)
    self->persist_dirty = TRUE;
  else if (self->persist_id == 0)
    self->persist_id = timeout_add (self, PERSIST_DELAY_MS, persist_cb, self);
}

/* At stop, with no write in flight (one in flight writes again when it
 * is done, see persist_written_cb): synchronously, since the loop may
 * not run again to finish an asynchronous write. A few hundred bytes
 * per certificate, once. */
static void
persist_write_now (HaleCertWatch *self)
{
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  g_autoptr (GError) error = NULL;
  gsize len = 0;

  source_clear (&self->persist_id, self->context);
  if (self->state_dir == NULL)
    return;
  if (self->persist_writing)
    {
      self->persist_dirty = TRUE;
      return;
    }
  if (g_mkdir_with_parents (self->state_dir, 0755) != 0)
    {
      g_warning ("Cannot create %s: %s", self->state_dir, g_strerror (errno));
      hale_metric_family_count_state_failure (self->m_state_failures, "certificate_serials");
      return;
    }
  data = g_key_file_to_data (self->persist, &len, NULL);
  path = g_build_filename (self->state_dir, HALE_STATE_CERTIFICATES, NULL);
  if (!g_file_set_contents_full (path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                 &error))
    {
      g_warning ("Cannot save certificate serials to %s: %s", path, error->message);
      hale_metric_family_count_state_failure (self->m_state_failures, "certificate_serials");
    }
}

typedef struct
{
  char *path;
  GBytes *bytes;
} PersistJob;

static void
persist_job_free (PersistJob *job)
{
  g_free (job->path);
  g_bytes_unref (job->bytes);
  g_free (job);
}

/* g_file_set_contents_full() writes a temporary file, fsyncs it and
 * renames it over the old one, and removes the temporary when a write
 * fails: a crash or a full disk leaves the old file or the new one,
 * never half of either. (GLib's g_file_replace_contents() left an empty
 * file behind on a full disk.) */
static void
persist_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  PersistJob *job = task_data;
  GError *error = NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data (job->bytes, &len);

  if (!g_file_set_contents_full (job->path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                 &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
persist_written_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  HaleCertWatch *self = HALE_CERT_WATCH (source);
  PersistJob *job = g_task_get_task_data (G_TASK (res));
  g_autoptr (GError) error = NULL;

  self->persist_writing = FALSE;
  if (!g_task_propagate_boolean (G_TASK (res), &error))
    {
      g_warning ("Cannot save certificate serials to %s: %s", job->path, error->message);
      hale_metric_family_count_state_failure (self->m_state_failures, "certificate_serials");
    }
  if (self->persist_dirty)
    {
      if (self->disposed)
        persist_write (self);
      else
        persist_schedule (self);
    }
}

static void
persist_write (HaleCertWatch *self)
{
  g_autofree char *data = NULL;
  g_autoptr (GTask) task = NULL;
  PersistJob *job;
  gsize len = 0;

  if (self->state_dir == NULL)
    return;
  /* One write at a time, the last state wins. */
  if (self->persist_writing)
    {
      self->persist_dirty = TRUE;
      return;
    }
  self->persist_dirty = FALSE;
  source_clear (&self->persist_id, self->context);

  if (g_mkdir_with_parents (self->state_dir, 0755) != 0)
    {
      g_warning ("Cannot create %s: %s", self->state_dir, g_strerror (errno));
      hale_metric_family_count_state_failure (self->m_state_failures, "certificate_serials");
      return;
    }
  data = g_key_file_to_data (self->persist, &len, NULL);
  job = g_new0 (PersistJob, 1);
  job->bytes = g_bytes_new_take (g_steal_pointer (&data), len);
  job->path = g_build_filename (self->state_dir, HALE_STATE_CERTIFICATES, NULL);
  self->persist_writing = TRUE;
  /* The task holds a reference, so the last renewal is saved even when
   * haled is stopping. */
  task = g_task_new (self, NULL, persist_written_cb, NULL);
  g_task_set_source_tag (task, persist_write);
  g_task_set_task_data (task, job, (GDestroyNotify)persist_job_free);
  g_task_run_in_thread (task, persist_thread);
}

/* Entries ---------------------------------------------------------------- */

static void
watched_name_clear (gpointer data)
{
  WatchedName *wn = data;
  g_free (wn->dir);
  g_free (wn->basename);
}

/* type and path: a plain Path= has no path label (an empty value is
 * left out of the exposition), so its series are what they always were. */
static const char *const *
type_labels (Entry *entry, const char **buf)
{
  buf[0] = entry->type;
  buf[1] = entry->pub.path_label;
  buf[2] = NULL;
  return buf;
}

static void
entry_remove_info_series (Entry *entry)
{
  if (entry->info_labels == NULL)
    return;
  hale_metric_remove (entry->self->m_info, (const char *const *)entry->info_labels);
  g_clear_pointer (&entry->info_labels, g_strfreev);
}

static void
entry_remove_series (Entry *entry)
{
  HaleCertWatch *self = entry->self;
  const char *buf[3];
  const char *const *labels = type_labels (entry, buf);

  hale_metric_remove (self->m_expiry, labels);
  hale_metric_remove (self->m_age, labels);
  hale_metric_remove (self->m_not_after, labels);
  hale_metric_remove (self->m_not_before, labels);
  hale_metric_remove (self->m_chain_expiry, labels);
  hale_metric_remove (self->m_last_renewal, labels);
  hale_metric_remove (self->m_valid, labels);
  entry_remove_info_series (entry);
  for (guint code = 0; code <= HALE_CERT_ERROR_READ_FAILED; code++)
    {
      const char *error_labels[]
          = { entry->type, entry->pub.path_label, hale_cert_error_reason (code), NULL };
      if (entry->error_reasons & (1u << code))
        hale_metric_remove (self->m_read_errors, error_labels);
    }
  entry->error_reasons = 0;
}

/* A cancelled read gives its slot back at once: its callback touches
 * nothing, the entry may be gone by then. */
static void
entry_cancel_read (Entry *entry)
{
  HaleCertWatch *self = entry->self;

  if (entry->queued != NULL)
    {
      g_queue_delete_link (&self->read_queue, entry->queued);
      entry->queued = NULL;
    }
  if (entry->cancellable != NULL)
    {
      g_cancellable_cancel (entry->cancellable);
      g_clear_object (&entry->cancellable);
      self->reads_in_flight--;
    }
}

static void
entry_unschedule_threshold (Entry *entry);

static void
entry_stop (Entry *entry)
{
  GMainContext *context = entry->self->context;

  entry_cancel_read (entry);
  source_clear (&entry->debounce_id, context);
  source_clear (&entry->confirm_id, context);
  entry_unschedule_threshold (entry);
  entry->confirming = FALSE;
}

static void
entry_free (Entry *entry)
{
  entry_stop (entry);
  g_free (entry->name);
  g_free (entry->type);
  g_free (entry->check_name);
  g_free (entry->path);
  g_free (entry->key_path);
  g_array_unref (entry->names);
  g_clear_pointer (&entry->info, hale_cert_info_free);
  g_clear_error (&entry->error);
  g_free (entry->last_serial);
  g_free (entry->expected_serial);
  g_strfreev (entry->info_labels);
  g_free (entry);
}

static Entry *
find_entry (HaleCertWatch *self, const char *name)
{
  return name != NULL ? g_hash_table_lookup (self->by_name, name) : NULL;
}

/* The file and key of @entry; pub follows them. */
static void
entry_set_paths (Entry *entry, const char *path, const char *key_path)
{
  if (entry->path != path)
    {
      g_free (entry->path);
      entry->path = g_strdup (path);
    }
  if (entry->key_path != key_path)
    {
      g_free (entry->key_path);
      entry->key_path = g_strdup (key_path);
    }
  entry->pub.name = entry->name;
  entry->pub.type = entry->type;
  entry->pub.path = entry->path;
  entry->pub.path_label = entry->glob != NULL ? entry->path : "";
  entry->pub.key_path = entry->key_path;
}

static Entry *
entry_new (HaleCertWatch *self, const char *name, const char *type, Glob *glob, const char *path,
           const char *key_path)
{
  Entry *entry = g_new0 (Entry, 1);
  g_autofree char *group = persist_group (name);
  g_autofree char *renewal = NULL;

  entry->self = self;
  entry->name = g_strdup (name);
  entry->type = g_strdup (type);
  entry->glob = glob;
  entry_set_paths (entry, path, key_path);
  entry->check_name = g_strconcat (HALE_CHECK_PREFIX_CERTIFICATE, name, NULL);
  entry->names = g_array_new (FALSE, TRUE, sizeof (WatchedName));
  g_array_set_clear_func (entry->names, watched_name_clear);

  entry->last_serial = g_key_file_get_string (self->persist, group, "Serial", NULL);
  renewal = g_key_file_get_string (self->persist, group, "LastRenewal", NULL);
  if (renewal != NULL)
    {
      g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (renewal, NULL);
      if (dt != NULL)
        entry->last_renewal = g_date_time_to_unix (dt);
    }
  if (entry->last_renewal != 0)
    {
      const char *buf[3];
      hale_metric_set (self->m_last_renewal, type_labels (entry, buf), (double)entry->last_renewal);
    }
  return entry;
}

/* Where events about this file can come from: its directory, and for a
 * symlink every directory on the way to the real file. Re-resolved after
 * every read, since swapping the link is how certbot renews. */
static void
watched_names_add (GArray *names, const char *path)
{
  WatchedName wn = { g_path_get_dirname (path), g_path_get_basename (path) };
  g_array_append_val (names, wn);
}

/* TRUE when the directories of @a and @b differ: only then do the
 * monitors need another look. */
static gboolean
watched_dirs_differ (GArray *a, GArray *b)
{
  if (a->len != b->len)
    return TRUE;
  for (guint i = 0; i < a->len; i++)
    if (!g_str_equal (g_array_index (a, WatchedName, i).dir, g_array_index (b, WatchedName, i).dir))
      return TRUE;
  return FALSE;
}

/* Returns TRUE when the directories to watch changed. */
static gboolean
entry_resolve (Entry *entry)
{
  g_autofree char *cur = g_canonicalize_filename (entry->path, NULL);
  g_autofree char *real = NULL;
  g_autoptr (GArray) old = entry->names;

  entry->names = g_array_new (FALSE, TRUE, sizeof (WatchedName));
  g_array_set_clear_func (entry->names, watched_name_clear);
  watched_names_add (entry->names, cur);
  for (guint hop = 0; hop < MAX_SYMLINK_HOPS; hop++)
    {
      g_autofree char *target = g_file_read_link (cur, NULL);
      g_autofree char *dir = NULL;

      if (target == NULL)
        break;
      dir = g_path_get_dirname (cur);
      g_free (cur);
      cur = g_canonicalize_filename (target, dir);
      watched_names_add (entry->names, cur);
    }

  /* Links in the directories themselves (Kubernetes' ..data) end up in
   * the real directory. */
  real = realpath (entry->path, NULL);
  if (real != NULL)
    watched_names_add (entry->names, real);

  return watched_dirs_differ (old, entry->names);
}

static void
entry_set_info_metrics (Entry *entry)
{
  HaleCertWatch *self = entry->self;
  const HaleCertInfo *info = entry->info;
  const char *buf[3];
  const char *const *labels = type_labels (entry, buf);

  hale_metric_set_until (self->m_expiry, labels, (double)info->not_after);
  hale_metric_set_since (self->m_age, labels, (double)info->not_before);
  hale_metric_set (self->m_not_after, labels, (double)info->not_after);
  hale_metric_set (self->m_not_before, labels, (double)info->not_before);
  hale_metric_set_until (self->m_chain_expiry, labels, (double)info->chain_not_after);

  if (entry->info_labels == NULL || g_strcmp0 (entry->info_labels[2], info->serial) != 0
      || g_strcmp0 (entry->info_labels[3], info->subject) != 0
      || g_strcmp0 (entry->info_labels[4], info->issuer) != 0)
    {
      entry_remove_info_series (entry);
      entry->info_labels = g_new0 (char *, 6);
      entry->info_labels[0] = g_strdup (entry->type);
      entry->info_labels[1] = g_strdup (entry->pub.path_label);
      entry->info_labels[2] = g_strdup (info->serial);
      entry->info_labels[3] = g_strdup (info->subject);
      entry->info_labels[4] = g_strdup (info->issuer);
    }
  hale_metric_set (self->m_info, (const char *const *)entry->info_labels, 1);
}

/* Status from what was read and what time it is ---------------------------- */

/* One event per change of status: worse is a problem (also warning to
 * critical), healthy again a recovery; better but not well is quiet. */
static void
entry_tell (Entry *entry, HaleCheckStatus status, const char *reason, const char *message)
{
  HaleCertWatch *self = entry->self;
  const HaleCertInfo *info = entry->error == NULL ? entry->info : NULL;
  HaleCheckStatus told = entry->told;
  g_autofree char *line = NULL;
  const char *extra[7];
  guint n = 0;
  HaleAuditEvent ev = {
    .resource_type = "certificate",
    .resource_id = entry->name,
    .duration_ms = -1,
    .extra = extra,
  };

  entry->told = status;
  if (self->audit == NULL || status == told || (status != HALE_CHECK_HEALTHY && status < told))
    return;

  extra[n++] = "file";
  extra[n++] = entry->path;
  if (info != NULL)
    {
      extra[n++] = "serial";
      extra[n++] = info->serial;
    }
  if (status == HALE_CHECK_HEALTHY)
    {
      line = g_strdup_printf ("certificate %s is well again: %s", entry->name, message);
      ev.event = HALE_EVENT_CERTIFICATE_RECOVERED;
      ev.message_id = HALE_MESSAGE_ID_CERTIFICATE_RECOVERED;
      ev.priority = LOG_NOTICE;
      ev.outcome = "success";
    }
  else
    {
      line = g_strdup_printf ("certificate %s is %s: %s", entry->name,
                              status == HALE_CHECK_CRITICAL ? "critical" : "a warning", message);
      ev.event = HALE_EVENT_CERTIFICATE_PROBLEM;
      ev.message_id = HALE_MESSAGE_ID_CERTIFICATE_PROBLEM;
      ev.priority = status == HALE_CHECK_CRITICAL ? LOG_ERR : LOG_WARNING;
      ev.outcome = "failure";
      ev.error = message;
      extra[n++] = "reason";
      extra[n++] = reason;
    }
  extra[n] = NULL;
  ev.message = line;
  hale_audit_emit (self->audit, &ev);
}

static void
entry_publish (Entry *entry);

static gint
compare_threshold (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Entry *ea = a, *eb = b;

  if (ea->threshold_at != eb->threshold_at)
    return ea->threshold_at < eb->threshold_at ? -1 : 1;
  return ea < eb ? -1 : (ea > eb ? 1 : 0);
}

static void
arm_thresholds (HaleCertWatch *self);

static gboolean
threshold_cb (gpointer user_data)
{
  HaleCertWatch *self = user_data;
  gint64 now = g_get_real_time ();

  g_clear_pointer (&self->threshold_source, g_source_unref);
  self->threshold_armed_at = 0;
  while (g_sequence_get_length (self->thresholds) > 0)
    {
      GSequenceIter *head = g_sequence_get_begin_iter (self->thresholds);
      Entry *entry = g_sequence_get (head);

      if (entry->threshold_at > now)
        break;
      g_sequence_remove (head);
      entry->threshold_iter = NULL;
      entry->threshold_at = 0;
      /* Schedules its next threshold, if any. */
      entry_publish (entry);
    }
  arm_thresholds (self);
  return G_SOURCE_REMOVE;
}

/* Sets the one timer for the soonest threshold, unless it is set for it
 * already. */
static void
arm_thresholds (HaleCertWatch *self)
{
  GSequenceIter *head;
  gint64 at, now;
  guint64 ms;

  if (g_sequence_get_length (self->thresholds) == 0)
    return; /* a timer still set finds nothing due, and stops */
  head = g_sequence_get_begin_iter (self->thresholds);
  at = ((Entry *)g_sequence_get (head))->threshold_at;
  if (self->threshold_source != NULL && self->threshold_armed_at == at)
    return;
  if (self->threshold_source != NULL)
    {
      g_source_destroy (self->threshold_source);
      g_clear_pointer (&self->threshold_source, g_source_unref);
    }
  now = g_get_real_time ();
  /* One millisecond late rather than early: at the exact moment the
   * comparison would still see the old side. */
  ms = at > now ? (guint64)(at - now) / 1000 + 1 : 0;
  self->threshold_source = timeout_attach (self, (guint)MIN (ms, MAX_TIMER_MS), threshold_cb, self);
  self->threshold_armed_at = at;
}

static void
entry_unschedule_threshold (Entry *entry)
{
  if (entry->threshold_iter != NULL)
    {
      g_sequence_remove (entry->threshold_iter);
      entry->threshold_iter = NULL;
    }
  entry->threshold_at = 0;
}

static void
entry_schedule_threshold (Entry *entry, gint64 now_usec)
{
  HaleCertWatch *self = entry->self;
  const HaleCertInfo *info = entry->info;
  gint64 expiry, next = G_MAXINT64;
  gint64 moments[4];

  entry_unschedule_threshold (entry);
  if (info == NULL || entry->error != NULL)
    return;

  expiry = MIN (info->not_after, info->chain_not_after) * G_USEC_PER_SEC;
  moments[0] = info->not_before * G_USEC_PER_SEC;
  moments[1] = expiry - entry->warning_before;
  moments[2] = expiry - entry->critical_before;
  moments[3] = expiry;
  for (guint i = 0; i < G_N_ELEMENTS (moments); i++)
    if (moments[i] > now_usec && moments[i] < next)
      next = moments[i];
  if (next == G_MAXINT64)
    return;

  /* Look again at least daily, whatever the thresholds. */
  entry->threshold_at = MIN (next, now_usec + (gint64)MAX_TIMER_MS * 1000);
  entry->threshold_iter
      = g_sequence_insert_sorted (self->thresholds, entry, compare_threshold, NULL);
  arm_thresholds (self);
}

static void
entry_publish (Entry *entry)
{
  HaleCertWatch *self = entry->self;
  const HaleCertInfo *info = entry->info;
  gint64 now_usec = g_get_real_time ();
  gint64 now = now_usec / G_USEC_PER_SEC;
  HaleCheckStatus status = HALE_CHECK_HEALTHY;
  g_autofree char *message = NULL;
  g_auto (GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (HaleCheckResult) result = NULL;
  gboolean valid = FALSE;
  const char *reason = NULL; /* why it is not healthy */
  const char *buf[3];

  g_variant_builder_add (&builder, "{sv}", "path", g_variant_new_string (entry->path));

  /* What the last good read said stays in the details after a failed
   * read: it is most likely what the services still serve. */
  if (info != NULL)
    {
      gint64 expiry = MIN (info->not_after, info->chain_not_after);
      gint64 expiry_remaining_usec = expiry * G_USEC_PER_SEC - now_usec;
      g_autofree char *nb = hale_rfc3339_format (info->not_before);
      g_autofree char *na = hale_rfc3339_format (info->not_after);
      g_autofree char *cna = hale_rfc3339_format (info->chain_not_after);
      g_autofree char *span = hale_span_format (info->not_after - now, 1);

      /* Only what the file says, nothing that moves with the clock:
       * "remaining" and "percentage" are worked out by hale-report when
       * /health is rendered, so a re-check that finds the same file is
       * no change, and ten thousand certificates do not republish
       * themselves every minute. */
      g_variant_builder_add (&builder, "{sv}", "serial", g_variant_new_string (info->serial));
      g_variant_builder_add (&builder, "{sv}", "subject", g_variant_new_string (info->subject));
      g_variant_builder_add (&builder, "{sv}", "issuer", g_variant_new_string (info->issuer));
      g_variant_builder_add (&builder, "{sv}", "not_before", g_variant_new_string (nb));
      g_variant_builder_add (&builder, "{sv}", "expires_at", g_variant_new_string (na));
      g_variant_builder_add (&builder, "{sv}", "not_after", g_variant_new_int64 (info->not_after));
      g_variant_builder_add (&builder, "{sv}", "lifetime_seconds",
                             g_variant_new_int64 (info->not_after - info->not_before));
      g_variant_builder_add (&builder, "{sv}", "chain_length",
                             g_variant_new_uint32 (info->chain_length));
      g_variant_builder_add (&builder, "{sv}", "chain_expires_at", g_variant_new_string (cna));
      g_variant_builder_add (&builder, "{sv}", "chain_expires_subject",
                             g_variant_new_string (info->chain_not_after_subject));
      g_variant_builder_add (&builder, "{sv}", "fingerprint_sha256",
                             g_variant_new_string (info->fingerprint_sha256));

      if (now_usec < info->not_before * G_USEC_PER_SEC)
        {
          status = HALE_CHECK_CRITICAL;
          reason = "not_yet_valid";
          message = g_strdup_printf ("not yet valid: valid from %s", nb);
        }
      else if (expiry_remaining_usec <= 0)
        {
          g_autofree char *ago = hale_span_format (now - expiry, 1);
          status = HALE_CHECK_CRITICAL;
          reason = "expired";
          if (info->chain_not_after < info->not_after)
            message = g_strdup_printf ("chain certificate %s expired %s ago",
                                       info->chain_not_after_subject, ago);
          else
            message = g_strdup_printf ("expired %s ago", ago);
        }
      else
        {
          valid = TRUE;
          if (expiry_remaining_usec < entry->critical_before)
            status = HALE_CHECK_CRITICAL;
          else if (expiry_remaining_usec < entry->warning_before)
            status = HALE_CHECK_WARNING;
          reason = "expires_soon";
          /* The chain only speaks when it expires first. */
          if (info->chain_not_after < info->not_after)
            {
              g_autofree char *chain_span = hale_span_format (expiry - now, 1);
              message = g_strdup_printf ("expires in %s; chain certificate %s expires in %s", span,
                                         info->chain_not_after_subject, chain_span);
            }
          else
            message = g_strdup_printf ("expires in %s", span);
        }
    }
  if (entry->last_renewal != 0)
    {
      g_autofree char *lr = hale_rfc3339_format (entry->last_renewal);
      g_variant_builder_add (&builder, "{sv}", "last_renewal", g_variant_new_string (lr));
    }

  if (entry->error != NULL)
    {
      reason = hale_cert_error_reason (entry->error->code);
      status = HALE_CHECK_CRITICAL;
      valid = FALSE;
      g_clear_pointer (&message, g_free);
      message = g_strdup_printf ("%s: %s", reason, entry->error->message);
      g_variant_builder_add (&builder, "{sv}", "error", g_variant_new_string (reason));
      g_variant_builder_add (&builder, "{sv}", "error_message",
                             g_variant_new_string (entry->error->message));
      entry_tell (entry, status, reason, message);
    }
  else if (info == NULL)
    {
      /* Every publish follows a read that set info or error; this only
       * keeps the message from ever being empty. */
      status = HALE_CHECK_WARNING;
      message = g_strdup ("not read yet");
    }
  else
    entry_tell (entry, status, reason, message);

  hale_metric_set (self->m_valid, type_labels (entry, buf), valid ? 1 : 0);

  result = hale_check_result_new (entry->check_name, status, message,
                                  g_variant_builder_end (&builder), now_usec, 0);
  hale_state_set_check (self->state, result);
  entry_schedule_threshold (entry, now_usec);
}

/* Reading -------------------------------------------------------------- */

static void
entry_renewed (Entry *entry, const HaleCertInfo *previous, const HaleCertInfo *current)
{
  HaleCertWatch *self = entry->self;
  const char *success[] = { "success", NULL };
  g_autofree char *group = persist_group (entry->name);
  g_autofree char *when = NULL;
  const char *buf[3];

  entry->last_renewal = g_get_real_time () / G_USEC_PER_SEC;
  when = hale_rfc3339_format (entry->last_renewal);
  hale_metric_inc (self->m_renewals, success, 1);
  hale_metric_set (self->m_last_renewal, type_labels (entry, buf), (double)entry->last_renewal);
  g_key_file_set_string (self->persist, group, "LastRenewal", when);
  g_debug ("Certificate %s renewed: serial %s, was %s", entry->name, current->serial,
           previous->serial);
  g_signal_emit (self, signals[SIGNAL_RENEWED], 0, entry->name, previous, current);
}

static void
entry_apply (Entry *entry, HaleCertInfo *info, GError *error)
{
  HaleCertWatch *self = entry->self;
  g_autoptr (HaleCertInfo) previous = NULL; /* set: a renewal */

  if (error != NULL)
    {
      const char *labels[]
          = { entry->type, entry->pub.path_label, hale_cert_error_reason (error->code), NULL };

      /* Was good a moment ago: look once more before crying wolf. */
      if (!entry->confirming && entry->info != NULL && entry->error == NULL)
        {
          g_debug ("Certificate %s: %s; reading again to confirm", entry->name, error->message);
          entry->confirming = TRUE;
          g_error_free (error);
          return;
        }
      entry->confirming = FALSE;
      hale_metric_inc (self->m_read_errors, labels, 1);
      entry->error_reasons |= 1u << error->code;
      g_clear_error (&entry->error);
      entry->error = error;
    }
  else
    {
      g_autofree char *group = persist_group (entry->name);

      entry->confirming = FALSE;
      g_clear_error (&entry->error);

      if (g_strcmp0 (entry->last_serial, info->serial) != 0)
        {
          /* The first serial ever seen is where history starts, not a
           * renewal. One seen before, also before a restart, is. */
          if (g_strcmp0 (entry->expected_serial, info->serial) == 0)
            g_debug ("Certificate %s: serial %s is back, as expected (not a renewal)", entry->name,
                     info->serial);
          else if (entry->last_serial != NULL)
            {
              if (entry->info != NULL && g_strcmp0 (entry->info->serial, entry->last_serial) == 0)
                previous = hale_cert_info_copy (entry->info);
              else
                {
                  /* Seen by an earlier haled: only the serial is known. */
                  previous = g_new0 (HaleCertInfo, 1);
                  previous->serial = g_strdup (entry->last_serial);
                }
            }
          g_clear_pointer (&entry->expected_serial, g_free);
          g_free (entry->last_serial);
          entry->last_serial = g_strdup (info->serial);
          g_key_file_set_string (self->persist, group, "Serial", info->serial);
          persist_schedule (self);
        }
      g_clear_pointer (&entry->info, hale_cert_info_free);
      entry->info = info;
      entry_set_info_metrics (entry);
      /* Announced once stored: a handler (ReloadOnChange=) that starts a
       * reload reads the serial it applies from the watch. */
      if (previous != NULL)
        entry_renewed (entry, previous, entry->info);
    }
  entry_publish (entry);
}

static gboolean
confirm_cb (gpointer user_data)
{
  Entry *entry = user_data;

  entry->confirm_id = 0;
  entry_start_read (entry);
  return G_SOURCE_REMOVE;
}

/* One read, done in a worker thread from open to parse: GIO's
 * asynchronous load hops between the loop and its threads four or five
 * times a file, which with ten thousand files is most of a re-check's
 * cost. Only the path goes in; bytes, info and error come out.
 *
 * Only a regular file of a certificate's size is read: opening a FIFO
 * would block the worker thread for good (cancelling does not wake it;
 * O_NONBLOCK makes the open return), and /dev/zero or a huge file would
 * fill memory and hold the parser. */
typedef struct
{
  char *path;
  GBytes *bytes;
  HaleCertInfo *info;
  GError *io_error; /* G_IO_ERROR, from opening or reading */
  GError *error;    /* HALE_CERT_ERROR, naming the path */
} ReadJob;

static void
read_job_free (ReadJob *job)
{
  g_free (job->path);
  g_clear_pointer (&job->bytes, g_bytes_unref);
  g_clear_pointer (&job->info, hale_cert_info_free);
  g_clear_error (&job->io_error);
  g_clear_error (&job->error);
  g_free (job);
}

static void
read_job_io_error (ReadJob *job, int saved_errno)
{
  job->io_error = g_error_new (G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", job->path,
                               g_strerror (saved_errno));
}

static void
read_job_too_large (ReadJob *job)
{
  g_set_error (&job->error, HALE_CERT_ERROR, HALE_CERT_ERROR_READ_FAILED,
               "%s is larger than %u KiB: not a certificate file", job->path,
               MAX_CERTIFICATE_FILE_SIZE / 1024);
}

/* Reads all of @fd, up to one byte more than a certificate file may
 * have. */
static void
read_job_read (ReadJob *job, int fd, gsize size_hint)
{
  gsize cap = MIN (size_hint, (gsize)MAX_CERTIFICATE_FILE_SIZE) + 1;
  gsize len = 0;
  char *buf = g_malloc (cap);

  for (;;)
    {
      gssize n;

      if (len == cap)
        {
          if (cap > MAX_CERTIFICATE_FILE_SIZE)
            break;
          cap = MIN (cap * 2, (gsize)MAX_CERTIFICATE_FILE_SIZE + 1);
          buf = g_realloc (buf, cap);
        }
      n = read (fd, buf + len, cap - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          read_job_io_error (job, errno);
          g_free (buf);
          return;
        }
      if (n == 0)
        break;
      len += (gsize)n;
    }
  if (len > MAX_CERTIFICATE_FILE_SIZE)
    {
      /* It grew between the look and the read. */
      read_job_too_large (job);
      g_free (buf);
      return;
    }
  job->bytes = g_bytes_new_take (g_realloc (buf, MAX (len, 1)), len);
}

static void
read_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ReadJob *job = task_data;
  struct stat st;
  int fd = g_open (job->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);

  if (fd < 0)
    read_job_io_error (job, errno);
  else if (fstat (fd, &st) != 0)
    read_job_io_error (job, errno);
  else if (!S_ISREG (st.st_mode))
    g_set_error (&job->error, HALE_CERT_ERROR, HALE_CERT_ERROR_READ_FAILED,
                 "%s is not a regular file", job->path);
  else if (st.st_size > MAX_CERTIFICATE_FILE_SIZE)
    read_job_too_large (job);
  else
    read_job_read (job, fd, (gsize)st.st_size);
  if (fd >= 0)
    close (fd);

  if (job->bytes != NULL)
    {
      job->info = hale_cert_info_parse (job->bytes, &job->error);
      if (job->info == NULL)
        g_prefix_error (&job->error, "%s: ", job->path);
    }
  g_task_return_boolean (task, TRUE);
}

/* The end of a read, whatever ended it: the check, the series, and the
 * next read in the queue. Takes @info and @error. */
static void
read_done (Entry *entry, HaleCertInfo *info, GError *error)
{
  g_clear_object (&entry->cancellable);
  entry->self->reads_in_flight--;

  entry_apply (entry, info, error);
  if (entry->confirming && entry->confirm_id == 0)
    entry->confirm_id = timeout_add (entry->self, CONFIRM_MS, confirm_cb, entry);

  /* The link may point elsewhere now. Looking at the monitors walks
   * every entry: only when this one's directories moved (a symlink
   * swap), or to retry a directory that could not be watched, and then
   * once for a whole burst of reads, not once per read. */
  if (entry_resolve (entry) || entry->self->monitors_missing)
    schedule_sync_monitors (entry->self);

  pump_reads (entry->self);
}

static void
load_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Entry *entry;
  ReadJob *job;
  GError *error = NULL;
  HaleCertInfo *info = NULL;

  if (!g_task_propagate_boolean (G_TASK (res), NULL))
    return; /* cancelled: the entry may be gone, touch nothing */

  entry = user_data;
  job = g_task_get_task_data (G_TASK (res));
  if (job->io_error != NULL)
    hale_cert_error_from_io (&error, job->io_error, entry->path);
  else if (job->info == NULL)
    error = g_steal_pointer (&job->error);
  else
    {
      info = g_steal_pointer (&job->info);
      g_signal_emit (entry->self, signals[SIGNAL_READ], 0, entry->name, job->bytes, info);
    }
  read_done (entry, info, error);
}

static gboolean
sync_monitors_cb (gpointer user_data)
{
  HaleCertWatch *self = user_data;

  self->sync_id = 0;
  sync_monitors (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_sync_monitors (HaleCertWatch *self)
{
  if (self->sync_id == 0)
    self->sync_id = timeout_add (self, DEBOUNCE_MS, sync_monitors_cb, self);
}

static void
entry_begin_read (Entry *entry)
{
  g_autoptr (GTask) task = NULL;
  ReadJob *job = g_new0 (ReadJob, 1);

  job->path = g_strdup (entry->path);
  entry->cancellable = g_cancellable_new ();
  entry->self->reads_in_flight++;
  task = g_task_new (NULL, entry->cancellable, load_cb, entry);
  g_task_set_source_tag (task, entry_begin_read);
  g_task_set_task_data (task, job, (GDestroyNotify)read_job_free);
  g_task_run_in_thread (task, read_thread);
}

static void
pump_reads (HaleCertWatch *self)
{
  while (self->reads_in_flight < MAX_READS_IN_FLIGHT && self->read_queue.length > 0)
    {
      Entry *entry = g_queue_pop_head (&self->read_queue);

      entry->queued = NULL;
      entry_begin_read (entry);
    }
}

/* @urgent: an event or a (re)configuration asked for it, ahead of the
 * periodic re-check's queue: a renewal does not wait for ten thousand
 * unchanged files to be read. */
static void
entry_queue_read (Entry *entry, gboolean urgent)
{
  HaleCertWatch *self = entry->self;

  /* The newest read wins: what it finds is the newest state. */
  entry_cancel_read (entry);
  source_clear (&entry->debounce_id, self->context);
  source_clear (&entry->confirm_id, self->context);

  if (urgent)
    {
      g_queue_push_head (&self->read_queue, entry);
      entry->queued = self->read_queue.head;
    }
  else
    {
      g_queue_push_tail (&self->read_queue, entry);
      entry->queued = self->read_queue.tail;
    }
  pump_reads (self);
}

static void
entry_start_read (Entry *entry)
{
  entry_queue_read (entry, TRUE);
}

/* Patterns ---------------------------------------------------------------- */

/* What a name may hold: it becomes a check name, a journal field, a
 * directory of the backups and a group of the state file. */
static gboolean
capture_is_nameable (const char *s)
{
  for (const guchar *p = (const guchar *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f || *p == '[' || *p == ']' || *p == '/')
      return FALSE;
  return TRUE;
}

/* Drops @entry from the model and from us; the caller takes it out of
 * self->entries. */
static void
entry_forget (Entry *entry)
{
  HaleCertWatch *self = entry->self;

  entry_stop (entry);
  hale_state_remove_check (self->state, entry->check_name);
  entry_remove_series (entry);
  g_hash_table_remove (self->by_name, entry->name);
}

/* Keeps the entries @keep says to keep, in order, and frees the rest
 * after entry_forget(). */
static gboolean
entries_filter (HaleCertWatch *self, gboolean (*keep) (Entry *, gpointer), gpointer data)
{
  GPtrArray *entries = self->entries;
  guint kept = 0, len = entries->len;

  for (guint i = 0; i < len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);
      if (keep (entry, data))
        entries->pdata[kept++] = entry;
      else
        {
          entry_forget (entry);
          entry_free (entry);
        }
    }
  g_ptr_array_set_free_func (entries, NULL);
  g_ptr_array_set_size (entries, kept);
  g_ptr_array_set_free_func (entries, (GDestroyNotify)entry_free);
  return kept != len;
}

static void
glob_free (Glob *glob)
{
  if (glob->cancellable != NULL)
    {
      g_cancellable_cancel (glob->cancellable);
      g_object_unref (glob->cancellable);
    }
  source_clear (&glob->debounce_id, glob->self->context);
  g_free (glob->type);
  hale_glob_free (glob->path);
  hale_glob_free (glob->key_path);
  g_hash_table_unref (glob->dirs);
  g_free (glob);
}

typedef struct
{
  HaleGlob *glob;     /* the job's own: the Glob may go while it runs */
  GPtrArray *matches; /* char * path, then its captures as a GStrv, alternately */
  GPtrArray *dirs;    /* char *: every directory looked into */
  GPtrArray *unnamed; /* char *: matches whose wildcards took what a name cannot hold */
} SearchJob;

static void
search_job_free (SearchJob *job)
{
  hale_glob_free (job->glob);
  for (guint i = 0; i < job->matches->len; i += 2)
    {
      g_free (g_ptr_array_index (job->matches, i));
      g_strfreev (g_ptr_array_index (job->matches, i + 1));
    }
  g_ptr_array_unref (job->matches);
  g_ptr_array_unref (job->dirs);
  g_ptr_array_unref (job->unnamed);
  g_free (job);
}

static void
search_level (SearchJob *job, guint level, const char *dir, GPtrArray *captures);

static void
search_child (SearchJob *job, guint level, const char *path, GPtrArray *captures)
{
  struct stat st, lst;
  char **strv;
  gboolean is_dir = stat (path, &st) == 0 && S_ISDIR (st.st_mode);

  if (level + 1 < hale_glob_get_n_levels (job->glob))
    {
      if (is_dir)
        search_level (job, level + 1, path, captures);
      return;
    }
  /* The file level: a dangling link is a certificate that cannot be
   * read (critical), not one that is gone. */
  if (is_dir || lstat (path, &lst) != 0)
    return;
  for (guint i = 0; i < captures->len; i++)
    if (!capture_is_nameable (g_ptr_array_index (captures, i)))
      {
        g_ptr_array_add (job->unnamed, g_strdup (path));
        return;
      }
  strv = g_new0 (char *, captures->len + 1);
  for (guint i = 0; i < captures->len; i++)
    strv[i] = g_strdup (g_ptr_array_index (captures, i));
  g_ptr_array_add (job->matches, g_strdup (path));
  g_ptr_array_add (job->matches, strv);
}

static void
search_level (SearchJob *job, guint level, const char *dir, GPtrArray *captures)
{
  const char *literal = hale_glob_get_literal (job->glob, level);
  g_autoptr (GDir) d = NULL;
  const char *name;

  g_ptr_array_add (job->dirs, g_strdup (dir));
  if (literal != NULL)
    {
      g_autofree char *child = g_build_filename (dir, literal, NULL);
      search_child (job, level, child, captures);
      return;
    }
  d = g_dir_open (dir, 0, NULL);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      guint n = captures->len;
      if (hale_glob_match_level (job->glob, level, name, captures))
        {
          g_autofree char *child = g_build_filename (dir, name, NULL);
          search_child (job, level, child, captures);
          g_ptr_array_set_size (captures, n);
        }
    }
}

static void
search_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SearchJob *job = task_data;
  g_autoptr (GPtrArray) captures = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *dir = g_strdup (hale_glob_get_root (job->glob));

  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    search_level (job, 0, dir, captures);
  else
    {
      /* Not there yet (the agent has not run): the nearest directory
       * that is, so that its coming is seen. */
      while (!g_file_test (dir, G_FILE_TEST_IS_DIR) && strcmp (dir, "/") != 0)
        {
          char *parent = g_path_get_dirname (dir);
          g_free (dir);
          dir = parent;
        }
      g_ptr_array_add (job->dirs, g_steal_pointer (&dir));
    }
  g_task_return_boolean (task, TRUE);
}

static char *
match_name (const char *type, const char *const *captures)
{
  g_autofree char *joined = g_strjoinv (":", (char **)captures);
  return g_strconcat (type, ":", joined, NULL);
}

typedef struct
{
  Glob *glob;
  GHashTable *found; /* name -> path: what the search found */
} Found;

static gboolean
keep_unless_gone (Entry *entry, gpointer data)
{
  Found *f = data;

  return entry->glob != f->glob
         || g_strcmp0 (g_hash_table_lookup (f->found, entry->name), entry->path) == 0;
}

static void
search_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Glob *glob;
  HaleCertWatch *self;
  SearchJob *job;
  g_autoptr (GHashTable) found = NULL;
  gboolean changed;

  if (!g_task_propagate_boolean (G_TASK (res), NULL))
    return; /* cancelled: the glob may be gone, touch nothing */
  glob = user_data;
  self = glob->self;
  job = g_task_get_task_data (G_TASK (res));
  g_clear_object (&glob->cancellable);

  g_hash_table_remove_all (glob->dirs);
  for (guint i = 0; i < job->dirs->len; i++)
    g_hash_table_add (glob->dirs, g_strdup (g_ptr_array_index (job->dirs, i)));
  for (guint i = 0; i < job->unnamed->len; i++)
    g_warning ("Certificate %s: %s is left out: what the wildcards matched has control "
               "characters or brackets",
               glob->type, (const char *)g_ptr_array_index (job->unnamed, i));

  found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < job->matches->len; i += 2)
    {
      const char *path = g_ptr_array_index (job->matches, i);
      const char *const *captures = g_ptr_array_index (job->matches, i + 1);
      char *name = match_name (glob->type, captures);

      if (g_hash_table_contains (found, name))
        {
          g_warning ("Certificate %s: %s is left out: its name %s is taken by %s", glob->type, path,
                     name, (const char *)g_hash_table_lookup (found, name));
          g_free (name);
          continue;
        }
      g_hash_table_insert (found, name, (gpointer)path);
    }

  /* Gone (or another file under the same name): gone from the report
   * and /metrics, now. */
  changed = entries_filter (self, keep_unless_gone, &(Found){ glob, found });

  for (guint i = 0; i < job->matches->len; i += 2)
    {
      const char *path = g_ptr_array_index (job->matches, i);
      const char *const *captures = g_ptr_array_index (job->matches, i + 1);
      g_autofree char *name = match_name (glob->type, captures);
      g_autofree char *key = NULL;
      Entry *entry;

      if (g_hash_table_lookup (found, name) != path || find_entry (self, name) != NULL)
        continue;
      if (glob->key_path != NULL)
        key = hale_glob_substitute (glob->key_path, captures);
      entry = entry_new (self, name, glob->type, glob, path, key);
      entry->warning_before = glob->warning_before;
      entry->critical_before = glob->critical_before;
      g_ptr_array_add (self->entries, entry);
      g_hash_table_insert (self->by_name, entry->name, entry);
      entry_resolve (entry);
      entry_queue_read (entry, TRUE);
      changed = TRUE;
    }

  if (job->matches->len == 0 && !glob->told_empty)
    g_warning ("Certificate %s: Path=%s matches no file yet; watching for one", glob->type,
               hale_glob_get_pattern (glob->path));
  glob->told_empty = job->matches->len == 0;

  if (changed)
    g_signal_emit (self, signals[SIGNAL_CERTIFICATES_CHANGED], 0);
  /* Now, not later: a renewal right after a file appeared must find its
   * directory watched. */
  sync_monitors (self);
  if (glob->again)
    glob_search (glob);
}

/* Looks for the pattern's files in a worker thread: a directory of ten
 * thousand is not listed on the main loop. */
static void
glob_search (Glob *glob)
{
  g_autoptr (GTask) task = NULL;
  SearchJob *job;

  source_clear (&glob->debounce_id, glob->self->context);
  if (glob->cancellable != NULL)
    {
      glob->again = TRUE;
      return;
    }
  glob->again = FALSE;
  job = g_new0 (SearchJob, 1);
  job->glob = hale_glob_new (hale_glob_get_pattern (glob->path), NULL);
  job->matches = g_ptr_array_new ();
  job->dirs = g_ptr_array_new_with_free_func (g_free);
  job->unnamed = g_ptr_array_new_with_free_func (g_free);
  glob->cancellable = g_cancellable_new ();
  task = g_task_new (NULL, glob->cancellable, search_cb, glob);
  g_task_set_source_tag (task, glob_search);
  g_task_set_task_data (task, job, (GDestroyNotify)search_job_free);
  g_task_run_in_thread (task, search_thread);
}

static gboolean
glob_debounce_cb (gpointer user_data)
{
  Glob *glob = user_data;

  glob->debounce_id = 0;
  glob_search (glob);
  return G_SOURCE_REMOVE;
}

/* A directory the pattern spans changed: search again once the burst
 * (an unpacked tree, certbot's renewal of many) is over. */
static void
glob_poke (Glob *glob)
{
  debounce (glob->self, &glob->debounce_id, &glob->burst_start, glob_debounce_cb, glob);
}

/* Directory monitors ------------------------------------------------------ */

static gboolean
debounce_cb (gpointer user_data)
{
  Entry *entry = user_data;

  entry->debounce_id = 0;
  entry_start_read (entry);
  return G_SOURCE_REMOVE;
}

static void
entry_poke (Entry *entry)
{
  debounce (entry->self, &entry->debounce_id, &entry->burst_start, debounce_cb, entry);
}

static gboolean
entry_cares (Entry *entry, const char *dir, const char *basename, const char *other_basename,
             gboolean structural)
{
  for (guint i = 0; i < entry->names->len; i++)
    {
      const WatchedName *wn = &g_array_index (entry->names, WatchedName, i);
      if (g_strcmp0 (wn->dir, dir) != 0)
        continue;
      /* A rename or create anywhere in the directory may be a symlink
       * swap we cannot name in advance (Kubernetes' ..data); writes to
       * other files (a busy log next door) are not our business. */
      if (structural || g_strcmp0 (wn->basename, basename) == 0
          || g_strcmp0 (wn->basename, other_basename) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
monitor_changed_cb (GFileMonitor *monitor, GFile *file, GFile *other_file, GFileMonitorEvent event,
                    gpointer user_data)
{
  HaleCertWatch *self = user_data;
  const char *dir = g_object_get_data (G_OBJECT (monitor), "hale-dir");
  g_autofree char *basename = file != NULL ? g_file_get_basename (file) : NULL;
  g_autofree char *other = other_file != NULL ? g_file_get_basename (other_file) : NULL;
  gboolean structural;

  switch (event)
    {
      case G_FILE_MONITOR_EVENT_CHANGED:
      case G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT:
      case G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED:
        structural = FALSE;
        break;
      default:
        structural = TRUE;
        break;
    }

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);
      if (entry_cares (entry, dir, basename, other, structural))
        entry_poke (entry);
    }
  if (structural)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, self->globs);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (g_hash_table_contains (((Glob *)value)->dirs, dir))
          glob_poke (value);
    }
}

static void
monitor_destroy (gpointer data)
{
  GFileMonitor *monitor = data;

  g_signal_handlers_disconnect_matched (monitor, G_SIGNAL_MATCH_FUNC, 0, 0, NULL,
                                        monitor_changed_cb, NULL);
  g_file_monitor_cancel (monitor);
  g_object_unref (monitor);
}

/* One monitor per directory, shared by every certificate in it. */
static void
sync_monitors (HaleCertWatch *self)
{
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter, globs;
  gpointer key, value;

  source_clear (&self->sync_id, self->context);
  self->monitors_missing = FALSE;
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);
      for (guint j = 0; j < entry->names->len; j++)
        g_hash_table_add (wanted, g_array_index (entry->names, WatchedName, j).dir);
    }
  g_hash_table_iter_init (&iter, self->globs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      GHashTableIter dirs;
      g_hash_table_iter_init (&dirs, ((Glob *)value)->dirs);
      while (g_hash_table_iter_next (&dirs, &key, NULL))
        g_hash_table_add (wanted, key);
    }

  g_hash_table_iter_init (&iter, self->monitors);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (wanted, key))
      g_hash_table_iter_remove (&iter);

  g_hash_table_iter_init (&iter, wanted);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      const char *dir = key;
      g_autoptr (GFile) file = NULL;
      g_autoptr (GError) error = NULL;
      GFileMonitor *monitor;

      if (g_hash_table_contains (self->monitors, dir))
        continue;
      file = g_file_new_for_path (dir);
      monitor = g_file_monitor_directory (file, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
      if (monitor == NULL)
        {
          /* The periodic re-check still sees changes, only later. */
          g_debug ("Cannot watch %s: %s", dir, error->message);
          self->monitors_missing = TRUE;
          continue;
        }
      g_object_set_data_full (G_OBJECT (monitor), "hale-dir", g_strdup (dir), g_free);
      g_signal_connect (monitor, "changed", G_CALLBACK (monitor_changed_cb), self);
      g_hash_table_insert (self->monitors, g_strdup (dir), monitor);

      /* What came into a directory between the search that found it and
       * this watch was seen by neither: one more search. */
      g_hash_table_iter_init (&globs, self->globs);
      while (g_hash_table_iter_next (&globs, NULL, &value))
        if (g_hash_table_contains (((Glob *)value)->dirs, dir))
          glob_poke (value);
    }
}

/* The periodic re-check ---------------------------------------------------- */

static gboolean
recheck_cb (gpointer user_data)
{
  hale_cert_watch_recheck (HALE_CERT_WATCH (user_data));
  return G_SOURCE_CONTINUE;
}

static void
restart_recheck (HaleCertWatch *self)
{
  gint64 interval = self->config != NULL ? self->config->certificate_recheck : 0;

  if (self->recheck_source != NULL)
    {
      g_source_destroy (self->recheck_source);
      g_clear_pointer (&self->recheck_source, g_source_unref);
    }
  if (interval <= 0 || (self->entries->len == 0 && g_hash_table_size (self->globs) == 0))
    return;
  self->recheck_source
      = timeout_attach (self, (guint)MIN (interval / 1000, MAX_TIMER_MS), recheck_cb, self);
}

/* Public ------------------------------------------------------------------ */

/* Whether @entry stays with @config: a plain Path= stays while its group
 * is plain; a match while its group has the same patterns (a changed
 * pattern is searched anew). */
static gboolean
keep_configured (Entry *entry, gpointer data)
{
  HaleConfig *config = data;
  const HaleCertificateConfig *cc = hale_config_find_certificate (config, entry->type);

  if (cc == NULL)
    return FALSE;
  if (entry->glob == NULL)
    return !hale_glob_has_wildcards (cc->path);
  return g_hash_table_lookup (entry->self->globs, entry->type) == entry->glob;
}

static gboolean
glob_is_configured (Glob *glob, const HaleCertificateConfig *cc)
{
  g_autofree char *path = NULL;
  g_autofree char *key = NULL;

  if (cc == NULL || !hale_glob_has_wildcards (cc->path))
    return FALSE;
  path = g_canonicalize_filename (cc->path, "/");
  key = cc->key_path != NULL ? g_canonicalize_filename (cc->key_path, "/") : NULL;
  return g_str_equal (hale_glob_get_pattern (glob->path), path)
         && g_strcmp0 (glob->key_path ? hale_glob_get_pattern (glob->key_path) : NULL, key) == 0;
}

/* The [Certificate]s with a pattern: kept while their patterns are
 * the same, searched again either way. */
static void
configure_globs (HaleCertWatch *self, HaleConfig *config)
{
  for (guint i = 0; i < config->certificates->len; i++)
    {
      const HaleCertificateConfig *cc = g_ptr_array_index (config->certificates, i);
      Glob *glob;

      if (!hale_glob_has_wildcards (cc->path))
        continue;
      glob = g_hash_table_lookup (self->globs, cc->name);
      if (glob == NULL)
        {
          /* The configuration checked both patterns. */
          glob = g_new0 (Glob, 1);
          glob->self = self;
          glob->type = g_strdup (cc->name);
          glob->path = hale_glob_new (cc->path, NULL);
          glob->key_path = cc->key_path != NULL ? hale_glob_new (cc->key_path, NULL) : NULL;
          glob->dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          g_hash_table_insert (self->globs, glob->type, glob);
        }
      glob->warning_before = cc->warning_before;
      glob->critical_before = cc->critical_before;
      for (guint j = 0; j < self->entries->len; j++)
        {
          Entry *entry = g_ptr_array_index (self->entries, j);
          if (entry->glob == glob)
            {
              entry->warning_before = cc->warning_before;
              entry->critical_before = cc->critical_before;
              entry_queue_read (entry, FALSE);
            }
        }
      glob_search (glob);
    }
}

void
hale_cert_watch_configure (HaleCertWatch *self, HaleConfig *config)
{
  GHashTableIter iter;
  gpointer value;
  gboolean changed;

  g_return_if_fail (HALE_IS_CERT_WATCH (self));
  g_return_if_fail (config != NULL);

  hale_config_ref (config);
  g_clear_pointer (&self->config, hale_config_unref);
  self->config = config;

  /* Gone from the configuration: gone from the report and /metrics. The
   * patterns first, so that the matches of a changed one go too (their
   * entries then point at no Glob of ours, and keep_configured drops
   * them before anything could follow the pointer). */
  g_hash_table_iter_init (&iter, self->globs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (!glob_is_configured (value, hale_config_find_certificate (config, ((Glob *)value)->type)))
      g_hash_table_iter_remove (&iter);
  changed = entries_filter (self, keep_configured, config);

  for (guint i = 0; i < config->certificates->len; i++)
    {
      const HaleCertificateConfig *cc = g_ptr_array_index (config->certificates, i);
      Entry *entry;

      if (hale_glob_has_wildcards (cc->path))
        continue;
      entry = find_entry (self, cc->name);
      if (entry == NULL)
        {
          entry = entry_new (self, cc->name, cc->name, NULL, cc->path, cc->key_path);
          g_ptr_array_add (self->entries, entry);
          g_hash_table_insert (self->by_name, entry->name, entry);
          changed = TRUE;
        }
      else if (g_strcmp0 (entry->path, cc->path) != 0)
        {
          /* Another file: what the old one said no longer holds. The
           * serial history stays with the name. */
          const char *buf[3];
          entry_stop (entry);
          g_clear_pointer (&entry->info, hale_cert_info_free);
          g_clear_error (&entry->error);
          entry_remove_info_series (entry);
          hale_metric_remove (self->m_expiry, type_labels (entry, buf));
          hale_metric_remove (self->m_age, buf);
          hale_metric_remove (self->m_not_after, buf);
          hale_metric_remove (self->m_not_before, buf);
          hale_metric_remove (self->m_chain_expiry, buf);
          changed = TRUE;
        }
      if (g_strcmp0 (entry->key_path, cc->key_path) != 0)
        changed = TRUE;
      entry_set_paths (entry, cc->path, cc->key_path);
      entry->warning_before = cc->warning_before;
      entry->critical_before = cc->critical_before;
      entry_resolve (entry);
      /* A reload means "look again", and thresholds may have moved. In
       * configuration order: nothing here is more urgent than the rest. */
      entry_queue_read (entry, FALSE);
    }
  configure_globs (self, config);

  if (changed)
    g_signal_emit (self, signals[SIGNAL_CERTIFICATES_CHANGED], 0);
  sync_monitors (self);
  restart_recheck (self);
}

void
hale_cert_watch_recheck (HaleCertWatch *self)
{
  g_return_if_fail (HALE_IS_CERT_WATCH (self));

  GHashTableIter iter;
  gpointer value;

  for (guint i = 0; i < self->entries->len; i++)
    entry_queue_read (g_ptr_array_index (self->entries, i), FALSE);
  /* Also what the watches missed of the patterns' directories. */
  g_hash_table_iter_init (&iter, self->globs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    glob_search (value);
}

GPtrArray *
hale_cert_watch_list (HaleCertWatch *self)
{
  GPtrArray *list;

  g_return_val_if_fail (HALE_IS_CERT_WATCH (self), NULL);

  list = g_ptr_array_sized_new (self->entries->len);
  for (guint i = 0; i < self->entries->len; i++)
    g_ptr_array_add (list, &((Entry *)g_ptr_array_index (self->entries, i))->pub);
  return list;
}

const HaleWatchedCertificate *
hale_cert_watch_lookup (HaleCertWatch *self, const char *name)
{
  Entry *entry;

  g_return_val_if_fail (HALE_IS_CERT_WATCH (self), NULL);

  entry = find_entry (self, name);
  return entry != NULL ? &entry->pub : NULL;
}

const HaleCertInfo *
hale_cert_watch_get_info (HaleCertWatch *self, const char *name)
{
  Entry *entry;

  g_return_val_if_fail (HALE_IS_CERT_WATCH (self), NULL);

  entry = find_entry (self, name);
  return entry != NULL ? entry->info : NULL;
}

static void
register_metrics (HaleCertWatch *self)
{
  static const char *const type[] = { "type", "path", NULL };
  static const char *const info[] = { "type", "path", "serial", "subject", "issuer", NULL };
  static const char *const type_reason[] = { "type", "path", "reason", NULL };
  const char *success[] = { "success", NULL };
  const char *failure[] = { "failure", NULL };
  HaleMetrics *m = self->metrics;

  self->m_expiry = hale_metrics_add (m, HALE_METRIC_GAUGE, "certificate_expiry_seconds",
                                     "Seconds until the certificate expires (negative: expired)",
                                     "seconds", type, NULL, 0, HALE_METRIC_EMPTY_LABELS_OMITTED);
  self->m_age = hale_metrics_add (m, HALE_METRIC_GAUGE, "certificate_age_seconds",
                                  "Seconds since the certificate's notBefore", "seconds", type,
                                  NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_not_after
      = hale_metrics_add (m, HALE_METRIC_GAUGE, "certificate_not_after_timestamp_seconds",
                          "The certificate's notAfter, seconds since the epoch", "seconds", type,
                          NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_not_before
      = hale_metrics_add (m, HALE_METRIC_GAUGE, "certificate_not_before_timestamp_seconds",
                          "The certificate's notBefore, seconds since the epoch", "seconds", type,
                          NULL, 0, HALE_METRIC_FLAGS_NONE);
  self->m_chain_expiry
      = hale_metrics_add (m, HALE_METRIC_GAUGE, "certificate_chain_expiry_seconds",
                          "Seconds until the first certificate in the file's chain expires",
                          "seconds", type, NULL, 0, HALE_METRIC_EMPTY_LABELS_OMITTED);
  self->m_last_renewal
      = hale_metrics_add (m, HALE_METRIC_GAUGE, "last_renewal_timestamp_seconds",
                          "When a new certificate serial was last seen, seconds since the epoch",
                          "seconds", type, NULL, 0, HALE_METRIC_EMPTY_LABELS_OMITTED);
  self->m_renewals = hale_metric_family_renewal_attempts (m);
  self->m_state_failures = hale_metric_family_state_write_failures (m);
  self->m_info = hale_metrics_add (m, HALE_METRIC_GAUGE, "certificate_info",
                                   "The certificate being watched (always 1)", NULL, info, NULL, 0,
                                   HALE_METRIC_EMPTY_LABELS_OMITTED);
  self->m_valid = hale_metrics_add (
      m, HALE_METRIC_GAUGE, "certificate_valid",
      "1 when the file was read, parsed and is within its validity period, else 0", NULL, type,
      NULL, 0, HALE_METRIC_EMPTY_LABELS_OMITTED);
  self->m_read_errors = hale_metrics_add (m, HALE_METRIC_COUNTER, "certificate_read_errors_total",
                                          "Failed reads of certificate files, by reason", NULL,
                                          type_reason, NULL, 0, HALE_METRIC_EMPTY_LABELS_OMITTED);

  /* Rates need both series from the start, not from the first event. */
  hale_metric_touch (self->m_renewals, success);
  hale_metric_touch (self->m_renewals, failure);
}

void
hale_cert_watch_set_audit (HaleCertWatch *self, HaleAudit *audit)
{
  g_return_if_fail (HALE_IS_CERT_WATCH (self));
  g_set_object (&self->audit, audit);
}

HaleCertWatch *
hale_cert_watch_new (HaleState *state, HaleMetrics *metrics, const char *state_dir)
{
  HaleCertWatch *self;

  g_return_val_if_fail (HALE_IS_STATE (state), NULL);
  g_return_val_if_fail (HALE_IS_METRICS (metrics), NULL);

  self = g_object_new (HALE_TYPE_CERT_WATCH, NULL);
  self->state = g_object_ref (state);
  self->metrics = g_object_ref (metrics);
  self->state_dir = g_strdup (state_dir);
  register_metrics (self);
  persist_load (self);
  return self;
}

static void
hale_cert_watch_dispose (GObject *object)
{
  HaleCertWatch *self = HALE_CERT_WATCH (object);

  for (guint i = 0; i < self->entries->len; i++)
    entry_stop (g_ptr_array_index (self->entries, i));
  source_clear (&self->sync_id, self->context);
  g_hash_table_remove_all (self->globs);
  /* What is not saved yet is saved now, before haled goes. */
  self->disposed = TRUE;
  if (self->persist_id != 0)
    persist_write_now (self);
  if (self->threshold_source != NULL)
    {
      g_source_destroy (self->threshold_source);
      g_clear_pointer (&self->threshold_source, g_source_unref);
    }
  g_hash_table_remove_all (self->monitors);
  if (self->recheck_source != NULL)
    {
      g_source_destroy (self->recheck_source);
      g_clear_pointer (&self->recheck_source, g_source_unref);
    }

  G_OBJECT_CLASS (hale_cert_watch_parent_class)->dispose (object);
}

static void
hale_cert_watch_finalize (GObject *object)
{
  HaleCertWatch *self = HALE_CERT_WATCH (object);

  g_hash_table_unref (self->by_name);
  g_hash_table_unref (self->globs);
  g_ptr_array_unref (self->entries);
  g_sequence_free (self->thresholds);
  g_hash_table_unref (self->monitors);
  g_clear_pointer (&self->config, hale_config_unref);
  g_clear_pointer (&self->persist, g_key_file_unref);
  g_clear_object (&self->state);
  g_clear_object (&self->metrics);
  g_clear_object (&self->audit);
  g_main_context_unref (self->context);
  g_free (self->state_dir);

  G_OBJECT_CLASS (hale_cert_watch_parent_class)->finalize (object);
}

void
hale_cert_watch_expect_serial (HaleCertWatch *self, const char *name, const char *serial)
{
  Entry *entry;

  g_return_if_fail (HALE_IS_CERT_WATCH (self));
  entry = find_entry (self, name);
  if (entry == NULL)
    return;
  g_free (entry->expected_serial);
  entry->expected_serial = g_strdup (serial);
}

static void
hale_cert_watch_class_init (HaleCertWatchClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hale_cert_watch_dispose;
  object_class->finalize = hale_cert_watch_finalize;

  /**
   * HaleCertWatch::renewed:
   * @name: the [Certificate NAME]
   * @previous: (type gpointer): the HaleCertInfo seen before; after a
   *   restart only its serial is known (other fields zero)
   * @current: (type gpointer): the HaleCertInfo now in the file
   *
   * A serial different from the last one seen for @name was read.
   */
  signals[SIGNAL_RENEWED]
      = g_signal_new ("renewed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_POINTER, G_TYPE_POINTER);

  /**
   * HaleCertWatch::read:
   * @name: the [Certificate NAME]
   * @pem: the bytes read from the file
   * @info: (type gpointer): the HaleCertInfo parsed from @pem
   *
   * A read that parsed, before any "renewed" it causes: what the backup
   * keeps is exactly what was read.
   */
  signals[SIGNAL_READ]
      = g_signal_new ("read", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_BYTES, G_TYPE_POINTER);

  /**
   * HaleCertWatch::certificates-changed:
   *
   * A certificate came or went (configured, or a file matching a
   * pattern): hale_cert_watch_list() says which there are now.
   */
  signals[SIGNAL_CERTIFICATES_CHANGED]
      = g_signal_new ("certificates-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 0);
}

static void
hale_cert_watch_init (HaleCertWatch *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify)entry_free);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->globs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)glob_free);
  self->thresholds = g_sequence_new (NULL);
  self->monitors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, monitor_destroy);
}
