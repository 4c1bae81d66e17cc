/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-audit.c: audit events, to the journal and the optional JSON file. */
#include "config.h"

#include "hale-audit.h"
#include "hale-names.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#define MAX_JOURNAL_FIELDS 48

struct _HaleAudit
{
  GObject parent_instance;

  HaleMetricFamily *events;
  HaleMetricFamily *sink_failures;

  char *path; /* AuditLog=, NULL when unset */
  guint64 max_size;
  guint keep;
  int fd;
  guint64 size;
};

G_DEFINE_TYPE (HaleAudit, hale_audit, G_TYPE_OBJECT)

static void
count_failure (HaleAudit *self, const char *sink)
{
  const char *labels[] = { sink, NULL };
  hale_metric_inc (self->sink_failures, labels, 1);
}

static void
close_file (HaleAudit *self)
{
  if (self->fd >= 0)
    close (self->fd);
  self->fd = -1;
  self->size = 0;
}

static gboolean
open_file (HaleAudit *self, GError **error)
{
  struct stat st;
  g_autofree char *dir = NULL;

  if (self->fd >= 0)
    return TRUE;

  dir = g_path_get_dirname (self->path);
  if (g_mkdir_with_parents (dir, 0750) < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot create %s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  /* 0640: audit lines name who did what; not for every local user.
   * O_NONBLOCK: a FIFO put at the path must not stop the main loop in
   * open(); anything but a regular file is refused right after. */
  self->fd = open (self->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0640);
  if (self->fd < 0 || fstat (self->fd, &st) < 0)
    {
      int saved = errno;
      close_file (self);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot open %s: %s",
                   self->path, g_strerror (saved));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      close_file (self);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                   "cannot write %s: not a regular file", self->path);
      return FALSE;
    }
  self->size = st.st_size;
  return TRUE;
}

/* Whether the open file is still the one at the path: logrotate (without
 * copytruncate) renames it and maybe compresses and deletes it; writing
 * on would put every later event where nobody looks, or nowhere. */
static gboolean
file_moved (HaleAudit *self)
{
  struct stat at_path, open_file;

  if (fstat (self->fd, &open_file) < 0 || open_file.st_nlink == 0)
    return TRUE;
  if (stat (self->path, &at_path) < 0)
    return TRUE;
  return at_path.st_dev != open_file.st_dev || at_path.st_ino != open_file.st_ino;
}

/* audit.log -> audit.log.1 -> ... -> audit.log.KEEP, the oldest dropped.
 * A rename that fails stops the shift: the next one would land on the
 * file that stayed, and lose it. Then the current file grows on. */
static void
rotate (HaleAudit *self)
{
  close_file (self);
  for (guint i = self->keep; i >= 1; i--)
    {
      g_autofree char *from
          = i == 1 ? g_strdup (self->path) : g_strdup_printf ("%s.%u", self->path, i - 1);
      g_autofree char *to = g_strdup_printf ("%s.%u", self->path, i);
      struct stat st;

      if (i < self->keep && lstat (to, &st) == 0)
        {
          g_warning ("audit log rotation: %s is still there; not rotating over it", to);
          return;
        }
      if (rename (from, to) < 0 && errno != ENOENT)
        {
          g_warning ("audit log rotation: cannot rename %s to %s: %s", from, to,
                     g_strerror (errno));
          return;
        }
    }
  if (self->keep == 0)
    unlink (self->path);
}

static gboolean
write_line (HaleAudit *self, const char *line, gsize len, GError **error)
{
  gsize done = 0;

  if (self->fd >= 0 && file_moved (self))
    close_file (self);
  if (self->fd >= 0 && self->size > 0 && self->size + len > self->max_size)
    rotate (self);
  if (!open_file (self, error))
    return FALSE;

  /* Appended with one write(2) per line, no stdio buffer: what returned
   * is in the file even if haled dies next. */
  while (done < len)
    {
      ssize_t n = write (self->fd, line + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot write %s: %s",
                       self->path, g_strerror (saved));
          /* A full disk takes part of a line and refuses the rest: cut
           * the part off, so every line of the file stays whole JSON
           * and the next one does not start in the middle of it. */
          if (done > 0 && ftruncate (self->fd, (off_t)self->size) < 0)
            g_printerr ("haled: audit log: cannot cut a partial line off %s: %s\n", self->path,
                        g_strerror (errno));
          close_file (self);
          return FALSE;
        }
      done += n;
    }
  self->size += len;
  return TRUE;
}

static char *
now_rfc3339 (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
}

/* The seed's shape: timestamp, event_type, actor, resource, outcome,
 * details. */
static char *
event_to_json (const HaleAuditEvent *event)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *timestamp = now_rfc3339 ();
  const HaleAuditActor *actor = event->actor;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "timestamp");
  json_builder_add_string_value (b, timestamp);
  json_builder_set_member_name (b, "event_type");
  json_builder_add_string_value (b, event->event);

  json_builder_set_member_name (b, "actor");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "identity");
  json_builder_add_string_value (b, actor && actor->identity ? actor->identity : HALE_DAEMON_NAME);
  /* Left out, not "", where there is no address: a D-Bus caller is
   * known by uid and pid. */
  if (actor && actor->ip_address)
    {
      json_builder_set_member_name (b, "ip_address");
      json_builder_add_string_value (b, actor->ip_address);
    }
  json_builder_set_member_name (b, "auth_method");
  json_builder_add_string_value (b, actor && actor->auth_method ? actor->auth_method : "internal");
  if (actor && actor->uid >= 0)
    {
      json_builder_set_member_name (b, "uid");
      json_builder_add_int_value (b, actor->uid);
    }
  if (actor && actor->pid >= 0)
    {
      json_builder_set_member_name (b, "pid");
      json_builder_add_int_value (b, actor->pid);
    }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "resource");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, event->resource_type ? event->resource_type : "");
  json_builder_set_member_name (b, "identifier");
  json_builder_add_string_value (b, event->resource_id ? event->resource_id : "");
  json_builder_end_object (b);

  json_builder_set_member_name (b, "outcome");
  json_builder_add_string_value (b, event->outcome ? event->outcome : "success");

  json_builder_set_member_name (b, "details");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, event->message);
  if (event->unit)
    {
      json_builder_set_member_name (b, "unit");
      json_builder_add_string_value (b, event->unit);
    }
  if (event->duration_ms >= 0)
    {
      json_builder_set_member_name (b, "duration_ms");
      json_builder_add_int_value (b, event->duration_ms);
    }
  if (event->error)
    {
      json_builder_set_member_name (b, "error");
      json_builder_add_string_value (b, event->error);
    }
  for (const char *const *kv = event->extra; kv && kv[0] && kv[1]; kv += 2)
    {
      json_builder_set_member_name (b, kv[0]);
      json_builder_add_string_value (b, kv[1]);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

typedef struct
{
  struct iovec iov[MAX_JOURNAL_FIELDS];
  char *owned[MAX_JOURNAL_FIELDS];
  guint n;
} JournalFields;

static void
journal_fields_clear (JournalFields *f)
{
  for (guint i = 0; i < f->n; i++)
    g_free (f->owned[i]);
}

static void
add_field (JournalFields *f, const char *key, const char *value)
{
  if (value == NULL || f->n == MAX_JOURNAL_FIELDS)
    return;
  f->owned[f->n] = g_strconcat (key, "=", value, NULL);
  f->iov[f->n].iov_base = f->owned[f->n];
  f->iov[f->n].iov_len = strlen (f->owned[f->n]);
  f->n++;
}

static void
add_int_field (JournalFields *f, const char *key, gint64 value)
{
  char buf[32];

  if (value < 0)
    return;
  g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, value);
  add_field (f, key, buf);
}

static int
send_to_journal (const HaleAuditEvent *event)
{
  JournalFields f = { 0 };
  const HaleAuditActor *actor = event->actor;
  char priority[4];
  int r;

  g_snprintf (priority, sizeof priority, "%d", event->priority);
  add_field (&f, "MESSAGE", event->message);
  add_field (&f, "MESSAGE_ID", event->message_id);
  add_field (&f, "PRIORITY", priority);
  add_field (&f, "SYSLOG_IDENTIFIER", HALE_SYSLOG_IDENTIFIER);
  add_field (&f, HALE_FIELD_EVENT, event->event);
  add_field (&f, HALE_FIELD_OUTCOME, event->outcome);
  add_field (&f, HALE_FIELD_ACTOR_IDENTITY,
             actor && actor->identity ? actor->identity : HALE_DAEMON_NAME);
  add_field (&f, HALE_FIELD_ACTOR_AUTH_METHOD,
             actor && actor->auth_method ? actor->auth_method : "internal");
  if (actor)
    {
      add_int_field (&f, HALE_FIELD_ACTOR_UID, actor->uid);
      add_int_field (&f, HALE_FIELD_ACTOR_PID, actor->pid);
      add_field (&f, "HALE_ACTOR_UNIT", actor->unit);
      add_field (&f, "HALE_ACTOR_IP_ADDRESS", actor->ip_address);
    }
  add_field (&f, HALE_FIELD_RESOURCE_TYPE, event->resource_type);
  add_field (&f, HALE_FIELD_RESOURCE_ID, event->resource_id);
  add_field (&f, HALE_FIELD_UNIT, event->unit);
  add_int_field (&f, HALE_FIELD_DURATION_MS, event->duration_ms);
  add_field (&f, HALE_FIELD_ERROR, event->error);
  for (const char *const *kv = event->extra; kv && kv[0] && kv[1]; kv += 2)
    {
      g_autofree char *upper = g_ascii_strup (kv[0], -1);
      g_autofree char *key = g_strconcat ("HALE_", upper, NULL);
      add_field (&f, key, kv[1]);
    }

  r = sd_journal_sendv (f.iov, f.n);
  journal_fields_clear (&f);
  return r;
}

void
hale_audit_emit (HaleAudit *self, const HaleAuditEvent *event)
{
  g_autofree char *json = NULL;
  gboolean journal_ok;
  gboolean file_ok = TRUE;
  int r;

  g_return_if_fail (HALE_IS_AUDIT (self));
  g_return_if_fail (event != NULL && event->event != NULL && event->message != NULL);

  {
    const char *labels[] = { event->event, NULL };
    hale_metric_inc (self->events, labels, 1);
  }

  r = send_to_journal (event);
  journal_ok = r >= 0;
  if (!journal_ok)
    count_failure (self, "journal");

  json = event_to_json (event);
  if (self->path != NULL)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *line = g_strconcat (json, "\n", NULL);

      file_ok = write_line (self, line, strlen (line), &error);
      if (!file_ok)
        {
          count_failure (self, "file");
          g_printerr ("haled: audit log: %s\n", error->message);
        }
    }

  /* Where a sink failed, the event still has to be somewhere an
   * operator looks: stderr ends up in the journal's stream or the
   * terminal. */
  if (!journal_ok || !file_ok)
    g_printerr ("haled: audit%s: %s\n", journal_ok ? "" : " (journal unavailable)", json);
}

void
hale_audit_configure (HaleAudit *self, HaleConfig *config)
{
  g_return_if_fail (HALE_IS_AUDIT (self));

  if (g_strcmp0 (self->path, config->audit_log) != 0)
    {
      close_file (self);
      g_free (self->path);
      self->path = g_strdup (config->audit_log);
    }
  self->max_size = MAX (config->audit_log_max_size, 1024);
  self->keep = config->audit_log_keep;
}

void
hale_audit_reopen (HaleAudit *self)
{
  g_return_if_fail (HALE_IS_AUDIT (self));
  close_file (self);
}

static void
hale_audit_finalize (GObject *object)
{
  HaleAudit *self = HALE_AUDIT (object);

  close_file (self);
  g_free (self->path);
  G_OBJECT_CLASS (hale_audit_parent_class)->finalize (object);
}

static void
hale_audit_class_init (HaleAuditClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hale_audit_finalize;
}

static void
hale_audit_init (HaleAudit *self)
{
  self->fd = -1;
}

HaleAudit *
hale_audit_new (HaleMetrics *metrics)
{
  static const char *const event_labels[] = { "event", NULL };
  static const char *const sink_labels[] = { "sink", NULL };
  static const char *const sinks[][2] = { { "journal", NULL }, { "file", NULL } };
  HaleAudit *self = g_object_new (HALE_TYPE_AUDIT, NULL);

  self->events = hale_metrics_add (metrics, HALE_METRIC_COUNTER, "audit_events_total",
                                   "Audit events written, by event type.", NULL, event_labels, NULL,
                                   0, HALE_METRIC_FLAGS_NONE);
  self->sink_failures = hale_metrics_add (
      metrics, HALE_METRIC_COUNTER, "audit_sink_failures_total",
      "Audit events a sink (journal, file) could not take; they went to the other sink and "
      "stderr.",
      NULL, sink_labels, NULL, 0, HALE_METRIC_FLAGS_NONE);
  for (guint i = 0; i < G_N_ELEMENTS (sinks); i++)
    hale_metric_touch (self->sink_failures, sinks[i]);
  return self;
}
