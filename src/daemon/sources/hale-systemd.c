/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-systemd.c: ReloadUnit and the JobRemoved of its job.
 *
 * The order of things is what makes this reliable. The JobRemoved
 * subscription (a match rule on the bus) and Subscribe() are sent
 * before the first ReloadUnit on the same connection, so the bus and
 * systemd have both seen them before the job exists. A job can still
 * finish before its method reply has been handled here: while any
 * ReloadUnit reply is outstanding, JobRemoved signals of jobs not known
 * yet are kept (a few dozen at most) and looked up when the reply
 * names the job.
 */
#include "config.h"

#include "hale-systemd.h"

#include "hale-units.h"

#define SYSTEMD_NAME "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define SYSTEMD_JOB "org.freedesktop.systemd1.Job"
#define SYSTEMD_UNIT "org.freedesktop.systemd1.Unit"
/* Enough for every job that can finish between one reply being sent
 * and being handled; others' jobs beyond that are dropped first. */
#define MAX_EARLY_JOBS 64
#define CANCEL_JOB_TIMEOUT_MS 5000

G_DEFINE_QUARK (hale - systemd - error - quark, hale_systemd_error)

struct _HaleSystemd
{
  GObject parent_instance;

  GDBusConnection *connection;
  guint job_removed_id;
  gboolean subscribe_sent;

  /* job path -> GPtrArray of Call (unowned: their tasks own them).
   * systemd merges a reload into one of the same unit still waiting,
   * so several calls can share a job. */
  GHashTable *jobs;
  guint n_waiting;   /* ReloadUnit replies outstanding */
  GHashTable *early; /* job path -> result, JobRemoved before the reply */
  GQueue early_order;
};

G_DEFINE_TYPE (HaleSystemd, hale_systemd, G_TYPE_OBJECT)

typedef struct
{
  HaleSystemd *self; /* the task's source object keeps it alive */
  GTask *task;       /* owned until completed */
  char *unit;
  char *job;
  gint64 timeout;
  gboolean done;
  gboolean timed_out;
  GCancellable *cancellable; /* the D-Bus call's: cancelled with the caller's */
  GCancellable *user_cancellable;
  gulong user_cancel_id;
  GSource *timeout_source;
  GSource *cancel_source;
} Call;

static void
call_free (Call *call)
{
  g_free (call->unit);
  g_free (call->job);
  g_clear_object (&call->cancellable);
  g_clear_object (&call->user_cancellable);
  g_free (call);
}

static void
source_destroy (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

/* Ends @call with @error (NULL: success). Nothing may touch @call after:
 * returning the task may free it. */
static void
call_complete (Call *call, GError *error)
{
  HaleSystemd *self = call->self;
  GTask *task;

  if (call->done)
    {
      g_clear_error (&error);
      return;
    }
  call->done = TRUE;
  source_destroy (&call->timeout_source);
  source_destroy (&call->cancel_source);
  if (call->user_cancel_id != 0)
    g_cancellable_disconnect (call->user_cancellable, call->user_cancel_id);
  call->user_cancel_id = 0;
  if (call->job != NULL)
    {
      GPtrArray *calls = g_hash_table_lookup (self->jobs, call->job);
      if (calls != NULL && g_ptr_array_remove (calls, call) && calls->len == 0)
        g_hash_table_remove (self->jobs, call->job);
    }

  task = g_steal_pointer (&call->task);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
call_complete_with_result (Call *call, const char *result)
{
  if (g_strcmp0 (result, "done") == 0)
    call_complete (call, NULL);
  else
    call_complete (call,
                   g_error_new_literal (HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_JOB_FAILED, result));
}

static void
early_clear (HaleSystemd *self)
{
  g_hash_table_remove_all (self->early);
  g_queue_clear_full (&self->early_order, g_free);
}

static void
early_add (HaleSystemd *self, const char *job, const char *result)
{
  if (g_hash_table_contains (self->early, job))
    return;
  if (g_queue_get_length (&self->early_order) >= MAX_EARLY_JOBS)
    {
      g_autofree char *oldest = g_queue_pop_head (&self->early_order);
      g_hash_table_remove (self->early, oldest);
    }
  g_hash_table_insert (self->early, g_strdup (job), g_strdup (result));
  g_queue_push_tail (&self->early_order, g_strdup (job));
}

static void
job_removed_cb (GDBusConnection *connection, const char *sender, const char *path,
                const char *interface, const char *signal, GVariant *parameters, gpointer user_data)
{
  HaleSystemd *self = user_data;
  const char *job = NULL;
  const char *unit = NULL;
  const char *result = NULL;
  guint32 id = 0;
  GPtrArray *calls;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(uoss)")))
    return;
  g_variant_get (parameters, "(u&o&s&s)", &id, &job, &unit, &result);

  calls = g_hash_table_lookup (self->jobs, job);
  if (calls != NULL)
    {
      g_autofree char *key = NULL;
      g_autoptr (GPtrArray) ended = NULL;

      g_hash_table_steal_extended (self->jobs, job, (gpointer *)&key, (gpointer *)&ended);
      g_debug ("Job %u (%s) for %s: %s", id, job, unit, result);
      /* Completing removes nothing now: the array is ours. */
      while (ended->len > 0)
        call_complete_with_result (g_ptr_array_steal_index (ended, 0), result);
    }
  else if (self->n_waiting > 0)
    early_add (self, job, result);
}

static void
cancel_job_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autofree char *job = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);

  /* Gone already is what we wanted. */
  if (ret == NULL)
    g_debug ("Cancelling job %s: %s", job, error->message);
}

static void
cancel_job (HaleSystemd *self, const char *job)
{
  g_debug ("Cancelling job %s after its timeout", job);
  g_dbus_connection_call (self->connection, SYSTEMD_NAME, job, SYSTEMD_JOB, "Cancel", NULL, NULL,
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, CANCEL_JOB_TIMEOUT_MS, NULL,
                          cancel_job_cb, g_strdup (job));
}

static GError *
timeout_error (Call *call)
{
  g_autofree char *span = hale_duration_format (call->timeout);

  /* Without a job the manager never saw the reload (stopped, hung,
   * swamped): whatever the unit's files hold played no part. */
  if (call->job == NULL)
    return g_error_new (HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_NOT_TAKEN,
                        "timeout: systemd did not take the reload of %s within %s", call->unit,
                        span);
  return g_error_new (HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_TIMEOUT,
                      "timeout: no result for the reload of %s within %s", call->unit, span);
}

static gboolean
timeout_cb (gpointer user_data)
{
  Call *call = user_data;

  call->timed_out = TRUE;
  /* Without a reply yet the job is not known: the reply callback
   * cancels it when it comes. */
  if (call->job != NULL)
    cancel_job (call->self, call->job);
  call_complete (call, timeout_error (call));
  return G_SOURCE_REMOVE;
}

static gboolean
cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  Call *call = user_data;

  call_complete (
      call, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "the reload was cancelled"));
  return G_SOURCE_REMOVE;
}

/* Runs wherever the caller cancels; only passes the word on. */
static void
user_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static GError *
map_call_error (Call *call, GError *error)
{
  g_autofree char *remote = NULL;
  GError *mapped;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      g_error_free (error);
      return timeout_error (call);
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED)
      || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED))
    {
      mapped = g_error_new (HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_DISCONNECTED,
                            "not connected to the service manager: %s", error->message);
      g_error_free (error);
      return mapped;
    }
  remote = g_dbus_error_get_remote_error (error);
  if (remote != NULL)
    {
      g_dbus_error_strip_remote_error (error);
      mapped = g_error_new (HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_BUS, "%s: %s", remote,
                            error->message);
    }
  else
    mapped = g_error_new (HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_BUS, "%s", error->message);
  g_error_free (error);
  return mapped;
}

static void
reload_unit_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Call *call = g_task_get_task_data (task);
  HaleSystemd *self = call->self;
  GError *error = NULL;
  g_autoptr (GVariant) ret
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  const char *job = NULL;
  const char *early_result;

  g_assert (self->n_waiting > 0);
  self->n_waiting--;

  if (call->done)
    {
      /* Timed out before systemd answered: the job may still run. */
      if (ret != NULL && call->timed_out)
        {
          g_variant_get (ret, "(&o)", &job);
          cancel_job (self, job);
        }
      g_clear_error (&error);
    }
  else if (ret == NULL)
    call_complete (call, map_call_error (call, error));
  else
    {
      g_variant_get (ret, "(&o)", &job);
      call->job = g_strdup (job);
      early_result = g_hash_table_lookup (self->early, job);
      if (early_result != NULL)
        {
          g_autofree char *result = g_strdup (early_result);
          g_debug ("Job %s for %s finished before its reply: %s", job, call->unit, result);
          call_complete_with_result (call, result);
        }
      else
        {
          GPtrArray *calls = g_hash_table_lookup (self->jobs, job);
          if (calls == NULL)
            {
              calls = g_ptr_array_new ();
              g_hash_table_insert (self->jobs, g_strdup (job), calls);
            }
          g_ptr_array_add (calls, call);
        }
    }

  if (self->n_waiting == 0)
    early_clear (self);
}

static void
subscribe_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  g_autofree char *remote = NULL;

  if (ret != NULL)
    return;
  /* Without it systemd may not send JobRemoved, nor units'
   * PropertiesChanged: every reload would then end in its timeout, which
   * says what went wrong, and unit checks see changes only at their
   * Interval=. AlreadySubscribed
   * (another user of this connection subscribed) is as good. */
  remote = g_dbus_error_get_remote_error (error);
  if (g_strcmp0 (remote, "org.freedesktop.systemd1.AlreadySubscribed") != 0)
    g_warning ("Cannot subscribe to systemd's signals: %s", error->message);
}

void
hale_systemd_subscribe (HaleSystemd *self)
{
  g_return_if_fail (HALE_IS_SYSTEMD (self));

  if (self->subscribe_sent)
    return;
  self->subscribe_sent = TRUE;
  g_dbus_connection_call (self->connection, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER,
                          "Subscribe", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, subscribe_cb,
                          NULL);
}

void
hale_systemd_reload_unit_async (HaleSystemd *self, const char *unit, gint64 timeout,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GMainContext *context;
  Call *call;
  gint64 timeout_ms;

  g_return_if_fail (HALE_IS_SYSTEMD (self));
  g_return_if_fail (unit != NULL);
  g_return_if_fail (timeout > 0);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hale_systemd_reload_unit_async);

  if (g_dbus_connection_is_closed (self->connection))
    {
      g_task_return_new_error (task, HALE_SYSTEMD_ERROR, HALE_SYSTEMD_ERROR_DISCONNECTED,
                               "not connected to the service manager: the bus connection is "
                               "closed");
      return;
    }

  call = g_new0 (Call, 1);
  call->self = self;
  call->task = g_object_ref (task);
  call->unit = g_strdup (unit);
  call->timeout = timeout;
  call->cancellable = g_cancellable_new ();
  g_task_set_task_data (task, call, (GDestroyNotify)call_free);

  context = g_task_get_context (task);
  timeout_ms = MAX ((timeout + 999) / 1000, 1);
  call->timeout_source = g_timeout_source_new ((guint)MIN (timeout_ms, G_MAXINT));
  g_source_set_callback (call->timeout_source, timeout_cb, call, NULL);
  g_source_attach (call->timeout_source, context);

  call->cancel_source = g_cancellable_source_new (call->cancellable);
  g_source_set_callback (call->cancel_source, G_SOURCE_FUNC (cancelled_cb), call, NULL);
  g_source_attach (call->cancel_source, context);
  if (cancellable != NULL)
    {
      call->user_cancellable = g_object_ref (cancellable);
      call->user_cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (user_cancelled_cb),
                                                    call->cancellable, NULL);
    }
  if (g_cancellable_is_cancelled (call->cancellable))
    return; /* cancelled already: cancelled_cb ends it */

  hale_systemd_subscribe (self);
  self->n_waiting++;
  /* The reply has a little longer than the whole: our own timer says
   * "timeout", and a late reply still names the job to cancel. */
  g_dbus_connection_call (self->connection, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER,
                          "ReloadUnit", g_variant_new ("(ss)", unit, "replace"),
                          G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE,
                          (int)MIN (timeout_ms + 1000, G_MAXINT), call->cancellable, reload_unit_cb,
                          g_object_ref (task));
}

gboolean
hale_systemd_reload_unit_finish (HaleSystemd *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* A call's reply: its one value, as the task's. */
static void
call_reply_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  g_autoptr (GVariant) ret
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);

  if (ret == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_variant_get_child_value (ret, 0),
                           (GDestroyNotify)g_variant_unref);
}

void
hale_systemd_load_unit_async (HaleSystemd *self, const char *unit, int timeout_ms,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  GTask *task;

  g_return_if_fail (HALE_IS_SYSTEMD (self));
  g_return_if_fail (unit != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hale_systemd_load_unit_async);
  g_dbus_connection_call (self->connection, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER, "LoadUnit",
                          g_variant_new ("(s)", unit), G_VARIANT_TYPE ("(o)"),
                          G_DBUS_CALL_FLAGS_NONE, timeout_ms, cancellable, call_reply_cb, task);
}

char *
hale_systemd_load_unit_finish (HaleSystemd *self, GAsyncResult *result, GError **error)
{
  g_autoptr (GVariant) path = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  path = g_task_propagate_pointer (G_TASK (result), error);
  return path != NULL ? g_variant_dup_string (path, NULL) : NULL;
}

void
hale_systemd_get_unit_properties_async (HaleSystemd *self, const char *path, int timeout_ms,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  GTask *task;

  g_return_if_fail (HALE_IS_SYSTEMD (self));
  g_return_if_fail (path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hale_systemd_get_unit_properties_async);
  g_dbus_connection_call (self->connection, SYSTEMD_NAME, path, "org.freedesktop.DBus.Properties",
                          "GetAll", g_variant_new ("(s)", SYSTEMD_UNIT), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NONE, timeout_ms, cancellable, call_reply_cb, task);
}

GVariant *
hale_systemd_get_unit_properties_finish (HaleSystemd *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

GDBusConnection *
hale_systemd_get_connection (HaleSystemd *self)
{
  g_return_val_if_fail (HALE_IS_SYSTEMD (self), NULL);
  return self->connection;
}

HaleSystemd *
hale_systemd_new (GDBusConnection *connection)
{
  HaleSystemd *self;

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), NULL);

  self = g_object_new (HALE_TYPE_SYSTEMD, NULL);
  self->connection = g_object_ref (connection);
  self->job_removed_id = g_dbus_connection_signal_subscribe (
      connection, SYSTEMD_NAME, SYSTEMD_MANAGER, "JobRemoved", SYSTEMD_PATH, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, job_removed_cb, self, NULL);
  return self;
}

static void
hale_systemd_dispose (GObject *object)
{
  HaleSystemd *self = HALE_SYSTEMD (object);

  /* Calls in flight hold a reference to us through their task: by the
   * time we are disposed none is left. */
  if (self->job_removed_id != 0)
    g_dbus_connection_signal_unsubscribe (self->connection, self->job_removed_id);
  self->job_removed_id = 0;
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (hale_systemd_parent_class)->dispose (object);
}

static void
hale_systemd_finalize (GObject *object)
{
  HaleSystemd *self = HALE_SYSTEMD (object);

  g_hash_table_unref (self->jobs);
  early_clear (self);
  g_hash_table_unref (self->early);

  G_OBJECT_CLASS (hale_systemd_parent_class)->finalize (object);
}

static void
hale_systemd_class_init (HaleSystemdClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hale_systemd_dispose;
  object_class->finalize = hale_systemd_finalize;
}

static void
hale_systemd_init (HaleSystemd *self)
{
  self->jobs
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  self->early = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_queue_init (&self->early_order);
}
