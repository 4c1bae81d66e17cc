/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-authority.c: may this D-Bus caller do that? Deny by default. */
#include "config.h"

#include "hale-authority.h"
#include "hale-names.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_IFACE "org.freedesktop.PolicyKit1.Authority"
#define POLKIT_FLAG_ALLOW_USER_INTERACTION 1u

/* The bus daemon answers at once; polkit too unless it asks a human,
 * and a human gets minutes, as pkexec does. */
#define CREDENTIALS_TIMEOUT_MSEC (5 * 1000)
#define POLKIT_TIMEOUT_MSEC (30 * 1000)
#define POLKIT_INTERACTIVE_TIMEOUT_MSEC (5 * 60 * 1000)

struct _HaleAuthorityCaller
{
  HaleAuditActor actor; /* its strings point at the fields below */
  char *sender;
  char *identity;
  char *unit;
};

struct _HaleAuthority
{
  GObject parent_instance;

  HaleAuthorityMode mode;
  uid_t own_uid;
  /* HALE_AUTHORITY_USER: our own connection to the system bus, made on
   * first need; never the g_bus_get() singleton, whose exit-on-close
   * would take haled down with the system bus. */
  GDBusConnection *system_bus;
  HaleMetricFamily *denied; /* NULL until hale_authority_set_metrics() */
};

static const HaleMetricDesc families[] = {
  { G_STRUCT_OFFSET (HaleAuthority, denied), HALE_METRIC_COUNTER, "dbus_calls_denied_total",
    "D-Bus calls refused by the authority (polkit, or no credentials from the bus), by polkit "
    "action.",
    NULL, (const char *const[]){ "action", NULL }, NULL, 0, HALE_METRIC_FLAGS_NONE },
};

/* Every action a face asks for: their denial counters exist from the
 * start, at 0, so rate() sees the first one. */
static const char *const actions[] = {
  HALE_ACTION_RELOAD,          HALE_ACTION_ACKNOWLEDGE,  HALE_ACTION_MANAGE_CATEGORIES,
  HALE_ACTION_REPORT_ROTATION, HALE_ACTION_REPORT_CHECK,
};

G_DEFINE_TYPE (HaleAuthority, hale_authority, G_TYPE_OBJECT)

typedef struct
{
  GDBusMethodInvocation *invocation;
  char *action_id;
  gboolean interactive;
  HaleAuthorityCaller *caller;
  gboolean allowed;
} CheckData;

static void
check_data_free (CheckData *data)
{
  g_clear_object (&data->invocation);
  g_free (data->action_id);
  g_clear_pointer (&data->caller, hale_authority_caller_free);
  g_free (data);
}

const char *
hale_authority_caller_get_sender (const HaleAuthorityCaller *caller)
{
  g_return_val_if_fail (caller != NULL, NULL);
  return caller->sender;
}

const HaleAuditActor *
hale_authority_caller_get_actor (const HaleAuthorityCaller *caller)
{
  g_return_val_if_fail (caller != NULL, NULL);
  return &caller->actor;
}

void
hale_authority_caller_free (HaleAuthorityCaller *caller)
{
  if (caller == NULL)
    return;
  g_free (caller->sender);
  g_free (caller->identity);
  g_free (caller->unit);
  g_free (caller);
}

static HaleAuthorityCaller *
caller_new (const char *sender)
{
  HaleAuthorityCaller *caller = g_new0 (HaleAuthorityCaller, 1);

  caller->sender = g_strdup (sender);
  /* Until the bus says more, the bus name is all we know. */
  caller->identity = g_strdup (sender ? sender : "unknown");
  caller->actor.identity = caller->identity;
  caller->actor.auth_method = HALE_AUTH_METHOD_POLKIT;
  caller->actor.uid = -1;
  caller->actor.pid = -1;
  return caller;
}

static void
caller_set_credentials (HaleAuthorityCaller *caller, gint64 uid, gint64 pid, HaleAuthorityMode mode)
{
  char *unit = NULL;

  caller->actor.uid = uid;
  caller->actor.pid = pid;
  g_free (caller->identity);
  caller->identity = g_strdup_printf ("uid:%" G_GINT64_FORMAT, uid);
  caller->actor.identity = caller->identity;

  /* The caller's unit, for the audit trail only: a read of
   * /proc/PID/cgroup, best effort. A pid may be reused, so this never
   * decides anything. With --user the user manager's unit says more than
   * "user@1000.service". */
  if (pid > 0)
    {
      if (mode == HALE_AUTHORITY_USER && sd_pid_get_user_unit ((pid_t)pid, &unit) < 0)
        unit = NULL;
      if (unit == NULL && sd_pid_get_unit ((pid_t)pid, &unit) < 0)
        unit = NULL;
    }
  g_free (caller->unit);
  caller->unit = g_strdup (unit);
  free (unit);
  caller->actor.unit = caller->unit;
}

gboolean
hale_authority_invocation_is_interactive (GDBusMethodInvocation *invocation)
{
  GDBusMessage *message;

  g_return_val_if_fail (G_IS_DBUS_METHOD_INVOCATION (invocation), FALSE);
  message = g_dbus_method_invocation_get_message (invocation);
  return (g_dbus_message_get_flags (message) & G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION)
         != 0;
}

static void
deny (GTask *task, const char *why)
{
  CheckData *data = g_task_get_task_data (task);

  g_task_return_new_error (task, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                           "Not authorized for %s: %s", data->action_id, why);
}

static void
allow (GTask *task, const char *auth_method)
{
  CheckData *data = g_task_get_task_data (task);

  data->caller->actor.auth_method = auth_method;
  data->allowed = TRUE;
  g_task_return_boolean (task, TRUE);
}

/* polkit's "start-time" of a unix-process subject: field 22 of
 * /proc/PID/stat, counted after the command name, which may hold
 * spaces and parentheses. 0 when it cannot be read; polkit then looks
 * it up itself. */
static guint64
process_start_time (gint64 pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/stat", pid);
  g_autofree char *contents = NULL;
  g_auto (GStrv) fields = NULL;
  const char *after;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  after = strrchr (contents, ')');
  if (after == NULL)
    return 0;
  /* after ") ": field 3 (state) onwards; start-time is field 22. */
  fields = g_strsplit (after + 1, " ", 0);
  if (g_strv_length (fields) < 21)
    return 0;
  return g_ascii_strtoull (fields[20], NULL, 10);
}

static GVariant *
polkit_subject (HaleAuthority *self, CheckData *data)
{
  GVariantBuilder details;

  g_variant_builder_init (&details, G_VARIANT_TYPE ("a{sv}"));
  if (self->mode == HALE_AUTHORITY_SYSTEM)
    {
      /* polkit resolves the name on its own bus, which is ours. */
      g_variant_builder_add (&details, "{sv}", "name", g_variant_new_string (data->caller->sender));
      return g_variant_new ("(sa{sv})", "system-bus-name", &details);
    }
  /* A session bus name means nothing to polkit on the system bus: name
   * the process the session bus vouched for instead. */
  g_variant_builder_add (&details, "{sv}", "pid",
                         g_variant_new_uint32 ((guint32)data->caller->actor.pid));
  g_variant_builder_add (&details, "{sv}", "start-time",
                         g_variant_new_uint64 (process_start_time (data->caller->actor.pid)));
  g_variant_builder_add (&details, "{sv}", "uid",
                         g_variant_new_int32 ((gint32)data->caller->actor.uid));
  return g_variant_new ("(sa{sv})", "unix-process", &details);
}

static void
on_polkit_reply (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) details = NULL;
  gboolean authorized = FALSE;
  gboolean challenge = FALSE;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (reply == NULL)
    {
      g_autofree char *why = NULL;

      if (g_task_return_error_if_cancelled (task))
        return;
      /* Fail closed: no polkit, no answer, no permission. */
      g_dbus_error_strip_remote_error (error);
      why = g_strdup_printf ("polkit could not be asked: %s", error->message);
      deny (task, why);
      return;
    }

  g_variant_get (reply, "((bb@a{ss}))", &authorized, &challenge, &details);
  if (authorized)
    allow (task, HALE_AUTH_METHOD_POLKIT);
  else if (challenge)
    deny (task, "authentication is required (call again allowing interactive authorization)");
  else
    deny (task, "polkit denied it");
}

static void
ask_polkit (GTask *task, GDBusConnection *bus)
{
  HaleAuthority *self = g_task_get_source_object (task);
  CheckData *data = g_task_get_task_data (task);
  GVariantBuilder no_details;

  g_variant_builder_init (&no_details, G_VARIANT_TYPE ("a{ss}"));
  g_dbus_connection_call (
      bus, POLKIT_NAME, POLKIT_PATH, POLKIT_IFACE, "CheckAuthorization",
      g_variant_new ("(@(sa{sv})sa{ss}us)", polkit_subject (self, data), data->action_id,
                     &no_details, data->interactive ? POLKIT_FLAG_ALLOW_USER_INTERACTION : 0u, ""),
      G_VARIANT_TYPE ("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE,
      data->interactive ? POLKIT_INTERACTIVE_TIMEOUT_MSEC : POLKIT_TIMEOUT_MSEC,
      g_task_get_cancellable (task), on_polkit_reply, g_object_ref (task));
}

static void
on_system_bus (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  HaleAuthority *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autofree char *why = NULL;

  bus = g_dbus_connection_new_for_address_finish (res, &error);
  if (bus == NULL)
    {
      if (g_task_return_error_if_cancelled (task))
        return;
      why = g_strdup_printf ("polkit could not be asked: no system bus: %s", error->message);
      deny (task, why);
      return;
    }
  /* Two checks may have raced to connect: keep one connection. */
  if (self->system_bus == NULL || g_dbus_connection_is_closed (self->system_bus))
    g_set_object (&self->system_bus, bus);
  ask_polkit (task, self->system_bus);
}

static void
ask_polkit_on_system_bus (GTask *task)
{
  HaleAuthority *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autofree char *address = NULL;
  g_autofree char *why = NULL;

  if (self->system_bus != NULL && !g_dbus_connection_is_closed (self->system_bus))
    {
      ask_polkit (task, self->system_bus);
      return;
    }
  g_clear_object (&self->system_bus);

  /* $DBUS_SYSTEM_BUS_ADDRESS or the well-known socket: no I/O here. */
  address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SYSTEM, NULL, &error);
  if (address == NULL)
    {
      why = g_strdup_printf ("polkit could not be asked: no system bus: %s", error->message);
      deny (task, why);
      return;
    }
  g_dbus_connection_new_for_address (address,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                         | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                     NULL, g_task_get_cancellable (task), on_system_bus,
                                     g_object_ref (task));
}

static void
on_credentials (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  HaleAuthority *self = g_task_get_source_object (task);
  CheckData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) credentials = NULL;
  guint32 uid;
  guint32 pid;
  gboolean have_pid;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (reply == NULL)
    {
      g_autofree char *why = NULL;

      if (g_task_return_error_if_cancelled (task))
        return;
      g_dbus_error_strip_remote_error (error);
      why = g_strdup_printf ("the bus did not say who %s is: %s", data->caller->sender,
                             error->message);
      deny (task, why);
      return;
    }

  credentials = g_variant_get_child_value (reply, 0);
  if (!g_variant_lookup (credentials, "UnixUserID", "u", &uid))
    {
      deny (task, "the bus did not give the caller's uid");
      return;
    }
  have_pid = g_variant_lookup (credentials, "ProcessID", "u", &pid);
  caller_set_credentials (data->caller, uid, have_pid ? (gint64)pid : -1, self->mode);

  if (uid == 0)
    {
      allow (task, HALE_AUTH_METHOD_ROOT);
      return;
    }
  if (self->mode == HALE_AUTHORITY_USER && uid == self->own_uid)
    {
      allow (task, HALE_AUTH_METHOD_SAME_USER);
      return;
    }

  if (self->mode == HALE_AUTHORITY_SYSTEM)
    ask_polkit (task, g_dbus_method_invocation_get_connection (data->invocation));
  else if (!have_pid)
    deny (task, "the bus did not give the caller's pid, which polkit needs");
  else
    ask_polkit_on_system_bus (task);
}

void
hale_authority_check_async (HaleAuthority *self, GDBusMethodInvocation *invocation,
                            const char *action_id, gboolean interactive, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  CheckData *data;
  const char *sender;

  g_return_if_fail (HALE_IS_AUTHORITY (self));
  g_return_if_fail (G_IS_DBUS_METHOD_INVOCATION (invocation));
  g_return_if_fail (action_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hale_authority_check_async);
  sender = g_dbus_method_invocation_get_sender (invocation);
  data = g_new0 (CheckData, 1);
  data->invocation = g_object_ref (invocation);
  data->action_id = g_strdup (action_id);
  data->interactive = interactive;
  data->caller = caller_new (sender);
  g_task_set_task_data (task, data, (GDestroyNotify)check_data_free);

  /* A peer-to-peer connection has no bus to vouch for the caller. */
  if (sender == NULL)
    {
      deny (task, "the call came without a bus name");
      return;
    }

  g_dbus_connection_call (
      g_dbus_method_invocation_get_connection (invocation), "org.freedesktop.DBus",
      "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionCredentials",
      g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE,
      CREDENTIALS_TIMEOUT_MSEC, cancellable, on_credentials, g_steal_pointer (&task));
}

gboolean
hale_authority_check_finish (HaleAuthority *self, GAsyncResult *result,
                             HaleAuthorityCaller **out_caller, GError **error)
{
  CheckData *data;
  gboolean allowed;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hale_authority_check_async,
                        FALSE);

  data = g_task_get_task_data (G_TASK (result));
  if (out_caller != NULL)
    *out_caller = g_steal_pointer (&data->caller);
  /* Anything but an explicit yes is a no. */
  allowed = g_task_propagate_boolean (G_TASK (result), error) && data->allowed;
  if (!allowed && self->denied != NULL)
    hale_metric_inc (self->denied, (const char *const[]){ data->action_id, NULL }, 1);
  return allowed;
}

void
hale_authority_set_metrics (HaleAuthority *self, HaleMetrics *metrics)
{
  g_return_if_fail (HALE_IS_AUTHORITY (self));
  g_return_if_fail (self->denied == NULL);

  hale_metrics_add_table (metrics, families, G_N_ELEMENTS (families), self);
  for (gsize i = 0; i < G_N_ELEMENTS (actions); i++)
    hale_metric_touch (self->denied, (const char *const[]){ actions[i], NULL });
}

void
hale_authority_audit_actor (HaleAudit *audit, const HaleAuditActor *actor, const char *action_id,
                            const char *method, const char *resource_type, const char *resource_id,
                            const char *denial)
{
  const char *extra[] = { "action", action_id, "method", method, NULL };
  g_autofree char *who = NULL;
  g_autofree char *what = NULL;
  g_autofree char *message = NULL;
  HaleAuditEvent event = { 0 };

  g_return_if_fail (HALE_IS_AUDIT (audit));
  g_return_if_fail (actor != NULL && action_id != NULL && method != NULL);

  if (actor->uid >= 0)
    who = g_strdup_printf ("uid %" G_GINT64_FORMAT " (pid %" G_GINT64_FORMAT ")", actor->uid,
                           actor->pid);
  else if (actor->ip_address != NULL)
    who = g_strdup_printf ("%s from %s", actor->identity ? actor->identity : "a client",
                           actor->ip_address);
  else
    who = g_strdup (actor->identity ? actor->identity : "an unknown caller");
  what = resource_id ? g_strdup_printf ("%s(%s)", method, resource_id) : g_strdup (method);

  if (denial != NULL)
    {
      message = g_strdup_printf ("%s was denied %s: %s", who, what, denial);
      event.event = HALE_EVENT_AUTHORIZATION_DENIED;
      event.message_id = HALE_MESSAGE_ID_AUTHORIZATION_DENIED;
      event.priority = LOG_WARNING;
      event.outcome = "failure";
      event.error = denial;
    }
  else
    {
      message = g_strdup_printf ("%s was allowed %s (%s)", who, what, actor->auth_method);
      event.event = HALE_EVENT_AUTHORIZATION_GRANTED;
      event.message_id = HALE_MESSAGE_ID_AUTHORIZATION_GRANTED;
      event.priority = LOG_INFO;
      event.outcome = "success";
    }
  event.message = message;
  event.resource_type = resource_type;
  event.resource_id = resource_id;
  event.duration_ms = -1;
  event.actor = actor;
  event.extra = extra;
  hale_audit_emit (audit, &event);
}

void
hale_authority_audit (HaleAudit *audit, const HaleAuthorityCaller *caller, const char *action_id,
                      const char *method, const char *resource_type, const char *resource_id,
                      const GError *denial)
{
  /* A caller the bus did not vouch for has its bus name as identity. */
  hale_authority_audit_actor (audit, hale_authority_caller_get_actor (caller), action_id, method,
                              resource_type, resource_id, denial ? denial->message : NULL);
}

static void
hale_authority_finalize (GObject *object)
{
  HaleAuthority *self = HALE_AUTHORITY (object);

  g_clear_object (&self->system_bus);
  G_OBJECT_CLASS (hale_authority_parent_class)->finalize (object);
}

static void
hale_authority_class_init (HaleAuthorityClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hale_authority_finalize;
}

static void
hale_authority_init (HaleAuthority *self)
{
  self->own_uid = getuid ();
}

HaleAuthority *
hale_authority_new (HaleAuthorityMode mode)
{
  HaleAuthority *self = g_object_new (HALE_TYPE_AUTHORITY, NULL);

  self->mode = mode;
  return self;
}
