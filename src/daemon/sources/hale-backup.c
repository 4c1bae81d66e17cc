/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-backup.c: the previous certificates, kept to roll back to.
 *
 * The order of backups is the order they were made: the modification
 * time of SERIAL.pem, which hale writes once and never touches again.
 * Main-thread state (which serials exist, which is good) is the truth
 * for decisions; worker threads only move bytes, each job with its own
 * copies of what it needs.
 */
#include "config.h"

#include "hale-backup.h"
#include "hale-metric-families.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GOOD_FILE "good"
#define MAX_SERIAL_LEN 128
/* Stores writing at once. Each is a mkdir, a write and an fsync: the
 * first start with ten thousand certificates makes ten thousand, and
 * all of them at once would fill GLib's shared worker pool ahead of
 * the certificate reads, which then wait for every backup to be
 * written before the first check is known. */
#define MAX_STORES_RUNNING 2

struct _HaleBackup
{
  GObject parent_instance;

  char *dir;
  guint keep;
  GPtrArray *entries;  /* Entry, in configuration order */
  GHashTable *by_name; /* name -> Entry in entries: every read looks one up */
  GQueue store_queue;  /* GTask of store_thread, waiting for a turn */
  guint stores_running;
  HaleMetricFamily *m_files;
  HaleMetricFamily *m_write_failures;
  GMutex good_lock;     /* orders the writes of "good" files */
  guint64 good_seq;     /* main thread */
  guint64 good_written; /* under good_lock */
};

G_DEFINE_TYPE (HaleBackup, hale_backup, G_TYPE_OBJECT)

typedef struct
{
  char *name;
  char *type; /* the labels of its series */
  char *path_label;
  char *path;
  char *key_path;
  char *dir;
  GPtrArray *serials;  /* oldest first */
  GHashTable *pending; /* serials being stored */
  char *restoring;     /* not to be pruned while it is written back */
  char *good;
} Entry;

static void
entry_free (Entry *e)
{
  g_free (e->name);
  g_free (e->type);
  g_free (e->path_label);
  g_free (e->path);
  g_free (e->key_path);
  g_free (e->dir);
  g_ptr_array_unref (e->serials);
  g_hash_table_unref (e->pending);
  g_free (e->restoring);
  g_free (e->good);
  g_free (e);
}

static Entry *
find_entry (HaleBackup *self, const char *name)
{
  return g_hash_table_lookup (self->by_name, name);
}

static gboolean
serial_is_valid (const char *serial)
{
  gsize len = strlen (serial);

  if (len == 0 || len > MAX_SERIAL_LEN)
    return FALSE;
  for (const char *p = serial; *p; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

static char *
serial_file (const char *dir, const char *serial, const char *ext)
{
  g_autofree char *base = g_strconcat (serial, ext, NULL);
  return g_build_filename (dir, base, NULL);
}

static guint
entry_count_files (Entry *e)
{
  guint n = 0;

  for (guint i = 0; i < e->serials->len; i++)
    {
      g_autofree char *key = serial_file (e->dir, g_ptr_array_index (e->serials, i), ".key");
      n += 1 + (g_file_test (key, G_FILE_TEST_EXISTS) ? 1 : 0);
    }
  return n;
}

static void
entry_publish (HaleBackup *self, Entry *e)
{
  const char *labels[] = { e->type, e->path_label, NULL };
  hale_metric_set (self->m_files, labels, entry_count_files (e));
}

/* Oldest first, beyond BackupKeep=; never the newest, the good one, or
 * one being restored: those are what a recovery would need. */
static void
entry_prune (HaleBackup *self, Entry *e)
{
  guint i = 0;

  while (e->serials->len > self->keep && i + 1 < e->serials->len)
    {
      const char *serial = g_ptr_array_index (e->serials, i);
      g_autofree char *pem = NULL;
      g_autofree char *key = NULL;

      if (g_strcmp0 (serial, e->good) == 0 || g_strcmp0 (serial, e->restoring) == 0)
        {
          i++;
          continue;
        }
      pem = serial_file (e->dir, serial, ".pem");
      key = serial_file (e->dir, serial, ".key");
      /* The key first: a .pem alone still counts as a backup. */
      if ((g_unlink (key) < 0 && errno != ENOENT) || (g_unlink (pem) < 0 && errno != ENOENT))
        {
          g_warning ("Cannot remove the old backup %s: %s", pem, g_strerror (errno));
          i++;
          continue;
        }
      g_debug ("Backup of %s: removed serial %s (BackupKeep=%u)", e->name, serial, self->keep);
      g_ptr_array_remove_index (e->serials, i);
    }
}

typedef struct
{
  char *serial;
  gint64 mtime_ns;
} Found;

static gint
compare_found (gconstpointer a, gconstpointer b)
{
  const Found *fa = *(Found *const *)a;
  const Found *fb = *(Found *const *)b;

  if (fa->mtime_ns != fb->mtime_ns)
    return fa->mtime_ns < fb->mtime_ns ? -1 : 1;
  return strcmp (fa->serial, fb->serial);
}

static void
found_free (Found *f)
{
  g_free (f->serial);
  g_free (f);
}

static void
entry_scan (Entry *e)
{
  g_autoptr (GDir) dir = g_dir_open (e->dir, 0, NULL);
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify)found_free);
  g_autofree char *good_path = g_build_filename (e->dir, GOOD_FILE, NULL);
  g_autofree char *good = NULL;
  const char *name;

  g_ptr_array_set_size (e->serials, 0);
  g_clear_pointer (&e->good, g_free);
  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *serial = NULL;
      g_autofree char *path = NULL;
      struct stat st;
      Found *f;

      if (!g_str_has_suffix (name, ".pem"))
        continue;
      serial = g_strndup (name, strlen (name) - 4);
      path = g_build_filename (e->dir, name, NULL);
      if (!serial_is_valid (serial) || stat (path, &st) < 0 || !S_ISREG (st.st_mode))
        continue;
      f = g_new0 (Found, 1);
      f->serial = g_steal_pointer (&serial);
      f->mtime_ns = (gint64)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
      g_ptr_array_add (found, f);
    }
  g_ptr_array_sort (found, compare_found);
  for (guint i = 0; i < found->len; i++)
    g_ptr_array_add (e->serials, g_strdup (((Found *)g_ptr_array_index (found, i))->serial));

  if (g_file_get_contents (good_path, &good, NULL, NULL))
    {
      g_strstrip (good);
      if (serial_is_valid (good))
        e->good = g_steal_pointer (&good);
    }
}

void
hale_backup_configure (HaleBackup *self, guint keep, const GPtrArray *certificates)
{
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify)entry_free);
  g_autoptr (GHashTable) old_by_name = NULL;
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (HALE_IS_BACKUP (self));

  /* The old entries move to the new list by name; what is left of
   * old_by_name afterwards is no longer configured. */
  old_by_name = g_steal_pointer (&self->by_name);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g_ptr_array_set_free_func (self->entries, NULL);

  self->keep = MAX (keep, 1);
  for (guint i = 0; i < certificates->len; i++)
    {
      const HaleWatchedCertificate *c = g_ptr_array_index (certificates, i);
      Entry *old = g_hash_table_lookup (old_by_name, c->name);
      Entry *e;

      if (old != NULL)
        {
          /* Keep what is in flight (pending, restoring) with it. */
          g_hash_table_remove (old_by_name, c->name);
          e = old;
        }
      else
        {
          e = g_new0 (Entry, 1);
          e->name = g_strdup (c->name);
          e->type = g_strdup (c->type);
          e->path_label = g_strdup (c->path_label);
          e->dir = g_build_filename (self->dir, c->name, NULL);
          e->serials = g_ptr_array_new_with_free_func (g_free);
          e->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          entry_scan (e);
        }
      g_free (e->path);
      e->path = g_strdup (c->path);
      g_free (e->key_path);
      e->key_path = g_strdup (c->key_path);
      g_ptr_array_add (entries, e);
      g_hash_table_insert (self->by_name, e->name, e);
    }

  /* Certificates no longer configured: their series go, their files
   * stay (nothing that could still be needed is deleted). */
  g_hash_table_iter_init (&iter, old_by_name);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Entry *e = value;
      const char *labels[] = { e->type, e->path_label, NULL };
      hale_metric_remove (self->m_files, labels);
      g_hash_table_iter_remove (&iter);
      entry_free (e);
    }
  g_ptr_array_unref (self->entries);
  self->entries = g_steal_pointer (&entries);

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *e = g_ptr_array_index (self->entries, i);
      entry_prune (self, e);
      entry_publish (self, e);
    }
}

gboolean
hale_backup_has (HaleBackup *self, const char *name, const char *serial)
{
  Entry *e;

  g_return_val_if_fail (HALE_IS_BACKUP (self), FALSE);
  e = find_entry (self, name);
  if (e == NULL || serial == NULL)
    return FALSE;
  return g_ptr_array_find_with_equal_func (e->serials, serial, g_str_equal, NULL);
}

GStrv
hale_backup_list (HaleBackup *self, const char *name)
{
  Entry *e;
  GStrv list;

  g_return_val_if_fail (HALE_IS_BACKUP (self), NULL);
  e = find_entry (self, name);
  if (e == NULL || e->serials->len == 0)
    return NULL;
  list = g_new0 (char *, e->serials->len + 1);
  for (guint i = 0; i < e->serials->len; i++)
    list[i] = g_strdup (g_ptr_array_index (e->serials, e->serials->len - 1 - i));
  return list;
}

const char *
hale_backup_get_good (HaleBackup *self, const char *name)
{
  Entry *e;

  g_return_val_if_fail (HALE_IS_BACKUP (self), NULL);
  e = find_entry (self, name);
  return e != NULL ? e->good : NULL;
}

/* ---- file work, in worker threads ------------------------------------ */

static gboolean
write_all (int fd, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

/* Replaces @path with @data atomically: a temporary file next to it,
 * fsync, rename, fsync of the directory. @mode/@uid/@gid for the new
 * file; uid -1 leaves the owner as created. */
static gboolean
write_atomic (const char *path, GBytes *data, mode_t mode, uid_t uid, gid_t gid, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmp = g_strdup_printf ("%s/.%s.hale-XXXXXX", dir, base);
  gsize len = 0;
  const guint8 *bytes = g_bytes_get_data (data, &len);
  int fd, dfd;
  int saved;

  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot make a temporary file in %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  if (uid != (uid_t)-1 && fchown (fd, uid, gid) < 0 && errno != EPERM)
    goto fail;
  if (fchmod (fd, mode) < 0 || !write_all (fd, bytes, len) || fsync (fd) < 0)
    goto fail;
  if (close (fd) < 0)
    {
      fd = -1;
      goto fail;
    }
  fd = -1;
  if (rename (tmp, path) < 0)
    goto fail;
  /* The rename itself survives a crash only once the directory is on
   * disk. */
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    {
      fsync (dfd);
      close (dfd);
    }
  return TRUE;

fail:
  saved = errno;
  if (fd >= 0)
    close (fd);
  g_unlink (tmp);
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot write %s: %s", path,
               g_strerror (saved));
  return FALSE;
}

typedef struct
{
  char *name;
  char *dir;
  char *serial;
  GBytes *cert;
  char *key_path;
  char *path;
  gboolean key_kept; /* out */
  char *key_problem; /* out */
} Job;

static void
job_free (Job *job)
{
  g_free (job->name);
  g_free (job->dir);
  g_free (job->serial);
  g_clear_pointer (&job->cert, g_bytes_unref);
  g_free (job->key_path);
  g_free (job->path);
  g_free (job->key_problem);
  g_free (job);
}

static void
store_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Job *job = task_data;
  g_autofree char *pem = serial_file (job->dir, job->serial, ".pem");
  g_autofree char *key = serial_file (job->dir, job->serial, ".key");
  GError *error = NULL;

  if (g_mkdir_with_parents (job->dir, 0700) < 0)
    {
      int saved = errno;
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                               "cannot make %s: %s", job->dir, g_strerror (saved));
      return;
    }
  if (job->key_path != NULL)
    {
      g_autofree char *contents = NULL;
      gsize len = 0;
      g_autoptr (GError) key_error = NULL;

      if (!g_file_get_contents (job->key_path, &contents, &len, &key_error))
        job->key_problem = g_strdup (key_error->message);
      else
        {
          g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&contents), len);
          /* Private: 0600, whatever the original allowed. */
          if (!write_atomic (key, bytes, 0600, (uid_t)-1, (gid_t)-1, &key_error))
            job->key_problem = g_strdup (key_error->message);
          else
            job->key_kept = TRUE;
        }
    }
  if (!write_atomic (pem, job->cert, 0644, (uid_t)-1, (gid_t)-1, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
store_run (HaleBackup *self, GTask *task)
{
  self->stores_running++;
  g_task_run_in_thread (task, store_thread);
  g_object_unref (task);
}

/* Takes @task. */
static void
store_start (HaleBackup *self, GTask *task)
{
  if (self->stores_running >= MAX_STORES_RUNNING)
    g_queue_push_tail (&self->store_queue, task);
  else
    store_run (self, task);
}

static void
store_done_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  HaleBackup *self = HALE_BACKUP (source);
  g_autoptr (GTask) outer = user_data;
  Job *job = g_task_get_task_data (G_TASK (res));
  GError *error = NULL;
  Entry *e = find_entry (self, job->name);

  self->stores_running--;
  while (self->stores_running < MAX_STORES_RUNNING && self->store_queue.length > 0)
    store_run (self, g_queue_pop_head (&self->store_queue));

  if (e != NULL)
    g_hash_table_remove (e->pending, job->serial);
  if (!g_task_propagate_boolean (G_TASK (res), &error))
    {
      hale_metric_family_count_state_failure (self->m_write_failures, "backup");
      g_task_return_error (outer, error);
      return;
    }
  if (job->key_problem != NULL)
    g_warning ("Backup of %s serial %s: the key was not kept: %s", job->name, job->serial,
               job->key_problem);
  if (e != NULL && !hale_backup_has (self, job->name, job->serial))
    {
      g_ptr_array_add (e->serials, g_strdup (job->serial));
      g_debug ("Backup of %s: kept serial %s%s", job->name, job->serial,
               job->key_kept ? " with its key" : "");
      if (e->good == NULL)
        hale_backup_set_good (self, job->name, job->serial);
      entry_prune (self, e);
      entry_publish (self, e);
    }
  g_task_return_boolean (outer, TRUE);
}

void
hale_backup_store_async (HaleBackup *self, const char *name, const char *serial, GBytes *cert,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GTask) outer = NULL;
  g_autoptr (GTask) task = NULL;
  Entry *e;
  Job *job;

  g_return_if_fail (HALE_IS_BACKUP (self));
  g_return_if_fail (name != NULL && serial != NULL && cert != NULL);

  outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, hale_backup_store_async);
  e = find_entry (self, name);
  if (e == NULL)
    {
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "no [Certificate %s] to back up", name);
      return;
    }
  if (!serial_is_valid (serial))
    {
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "\"%s\" is not a serial to name a backup by", serial);
      return;
    }
  if (hale_backup_has (self, name, serial) || g_hash_table_contains (e->pending, serial))
    {
      g_task_return_boolean (outer, TRUE);
      return;
    }
  g_hash_table_add (e->pending, g_strdup (serial));

  job = g_new0 (Job, 1);
  job->name = g_strdup (name);
  job->dir = g_strdup (e->dir);
  job->serial = g_strdup (serial);
  job->cert = g_bytes_ref (cert);
  job->key_path = g_strdup (e->key_path);
  task = g_task_new (self, cancellable, store_done_cb, g_steal_pointer (&outer));
  g_task_set_task_data (task, job, (GDestroyNotify)job_free);
  store_start (self, g_steal_pointer (&task));
}

gboolean
hale_backup_store_finish (HaleBackup *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct
{
  char *path;
  char *contents;
  guint64 seq;
  guint64 *written_seq;
  GMutex *lock;
  gboolean failed; /* out */
} GoodJob;

static void
good_job_free (GoodJob *job)
{
  g_free (job->path);
  g_free (job->contents);
  g_free (job);
}

static void
good_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GoodJob *job = task_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (job->path);

  g_mutex_lock (job->lock);
  /* A newer value written already wins over this one. */
  if (job->seq > *job->written_seq)
    {
      if (g_mkdir_with_parents (dir, 0700) < 0
          || !g_file_set_contents (job->path, job->contents, -1, &error))
        {
          g_warning ("Cannot record the good certificate in %s: %s", job->path,
                     error ? error->message : g_strerror (errno));
          job->failed = TRUE;
        }
      *job->written_seq = job->seq;
    }
  g_mutex_unlock (job->lock);
  g_task_return_boolean (task, TRUE);
}

static void
good_done_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GoodJob *job = g_task_get_task_data (G_TASK (res));

  if (job->failed)
    hale_metric_family_count_state_failure (HALE_BACKUP (source)->m_write_failures, "backup");
}

void
hale_backup_set_good (HaleBackup *self, const char *name, const char *serial)
{
  g_autoptr (GTask) task = NULL;
  GoodJob *job;
  Entry *e;

  g_return_if_fail (HALE_IS_BACKUP (self));
  e = find_entry (self, name);
  if (e == NULL || serial == NULL || !serial_is_valid (serial) || g_strcmp0 (e->good, serial) == 0)
    return;
  g_free (e->good);
  e->good = g_strdup (serial);

  job = g_new0 (GoodJob, 1);
  job->path = g_build_filename (e->dir, GOOD_FILE, NULL);
  job->contents = g_strconcat (serial, "\n", NULL);
  job->seq = ++self->good_seq;
  job->written_seq = &self->good_written;
  job->lock = &self->good_lock;
  task = g_task_new (self, NULL, good_done_cb, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify)good_job_free);
  g_task_run_in_thread (task, good_thread);
}

static gboolean
restore_file (const char *from, const char *to, mode_t default_mode, GError **error)
{
  g_autofree char *contents = NULL;
  g_autofree char *target = NULL;
  g_autoptr (GBytes) bytes = NULL;
  gsize len = 0;
  struct stat st;
  mode_t mode = default_mode;
  uid_t uid = (uid_t)-1;
  gid_t gid = (gid_t)-1;

  if (!g_file_get_contents (from, &contents, &len, error))
    return FALSE;
  bytes = g_bytes_new_take (g_steal_pointer (&contents), len);

  /* certbot's live/ is links into archive/: replace what the link
   * points at, so the link and the tool's layout stay. */
  target = realpath (to, NULL);
  if (target == NULL)
    target = g_strdup (to);
  if (stat (target, &st) == 0)
    {
      mode = st.st_mode & 07777;
      uid = st.st_uid;
      gid = st.st_gid;
    }
  return write_atomic (target, bytes, mode, uid, gid, error);
}

static void
restore_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Job *job = task_data;
  g_autofree char *pem = serial_file (job->dir, job->serial, ".pem");
  g_autofree char *key = serial_file (job->dir, job->serial, ".key");
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (task))
    return;
  /* The key first: the certificate is what the watch and the services
   * look at, and its key must be there already when they do. */
  if (job->key_path != NULL && g_file_test (key, G_FILE_TEST_EXISTS))
    {
      if (!restore_file (key, job->key_path, 0600, &error))
        {
          g_prefix_error (&error, "restoring the key of serial %s: ", job->serial);
          g_task_return_error (task, error);
          return;
        }
      job->key_kept = TRUE;
    }
  if (!restore_file (pem, job->path, 0644, &error))
    {
      g_prefix_error (&error, "restoring serial %s: ", job->serial);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
restore_done_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  HaleBackup *self = HALE_BACKUP (source);
  g_autoptr (GTask) outer = user_data;
  Job *job = g_task_get_task_data (G_TASK (res));
  Entry *e = find_entry (self, job->name);
  GError *error = NULL;

  if (e != NULL && g_strcmp0 (e->restoring, job->serial) == 0)
    g_clear_pointer (&e->restoring, g_free);
  if (!g_task_propagate_boolean (G_TASK (res), &error))
    {
      g_task_return_error (outer, error);
      return;
    }
  g_debug ("Restored %s serial %s%s", job->name, job->serial, job->key_kept ? " with its key" : "");
  g_task_return_boolean (outer, TRUE);
}

void
hale_backup_restore_async (HaleBackup *self, const char *name, const char *serial,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) outer = NULL;
  g_autoptr (GTask) task = NULL;
  Entry *e;
  Job *job;

  g_return_if_fail (HALE_IS_BACKUP (self));
  g_return_if_fail (name != NULL && serial != NULL);

  outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, hale_backup_restore_async);
  e = find_entry (self, name);
  if (e == NULL || !hale_backup_has (self, name, serial))
    {
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "no backup of [Certificate %s] with serial %s", name, serial);
      return;
    }
  g_free (e->restoring);
  e->restoring = g_strdup (serial);

  job = g_new0 (Job, 1);
  job->name = g_strdup (name);
  job->dir = g_strdup (e->dir);
  job->serial = g_strdup (serial);
  job->path = g_strdup (e->path);
  job->key_path = g_strdup (e->key_path);
  task = g_task_new (self, cancellable, restore_done_cb, g_steal_pointer (&outer));
  g_task_set_task_data (task, job, (GDestroyNotify)job_free);
  g_task_run_in_thread (task, restore_thread);
}

gboolean
hale_backup_restore_finish (HaleBackup *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

HaleBackup *
hale_backup_new (HaleMetrics *metrics, const char *dir)
{
  static const char *const labels[] = { "type", "path", NULL };
  HaleBackup *self;

  g_return_val_if_fail (HALE_IS_METRICS (metrics), NULL);
  g_return_val_if_fail (dir != NULL, NULL);

  self = g_object_new (HALE_TYPE_BACKUP, NULL);
  self->dir = g_strdup (dir);
  /* The seed's name. Untyped, because promtool's lint reserves _count
   * for histograms and summaries and skips untyped families only. */
  self->m_files = hale_metrics_add (metrics, HALE_METRIC_UNTYPED, "backup_files_count",
                                    "Files kept to roll back to (certificates and keys), per "
                                    "[Certificate]",
                                    NULL, labels, NULL, 0, HALE_METRIC_EMPTY_LABELS_OMITTED);
  self->m_write_failures = hale_metric_family_state_write_failures (metrics);
  return self;
}

static void
hale_backup_finalize (GObject *object)
{
  HaleBackup *self = HALE_BACKUP (object);

  g_free (self->dir);
  g_hash_table_unref (self->by_name);
  g_ptr_array_unref (self->entries);
  g_mutex_clear (&self->good_lock);

  G_OBJECT_CLASS (hale_backup_parent_class)->finalize (object);
}

static void
hale_backup_class_init (HaleBackupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hale_backup_finalize;
}

static void
hale_backup_init (HaleBackup *self)
{
  self->keep = 5;
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify)entry_free);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g_mutex_init (&self->good_lock);
}
