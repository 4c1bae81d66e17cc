/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for org.hale.Hale1.Reload, the bus face of the reload engine,
 * driven by the real halectl over a private dbus-daemon.
 *
 * The engine here is a FAKE, defined in this file: it replaces
 * hale-reload.o at link time (the face uses only the functions below, so
 * the linker never pulls the real one from libhale). It lets a test
 * script results, hold the engine busy and see which actor the face
 * handed over, which the real engine, talking to a real systemd, cannot
 * do on demand. tests/integration/test_reload.py runs the real one.
 */
#include "config.h"

#include "hale-dbus-generated.h"
#include "hale-dbus-reload.h"
#include "hale-names.h"
#include "hale-test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#define NOBODY_UID 65534

/* ---- the fake engine ---------------------------------------------------- */

struct _HaleReload
{
  GObject parent_instance;
  gboolean busy;
  GPtrArray *script; /* HaleReloadResult to report, in order */
  GPtrArray *last;
  gboolean rolled_back;
  guint runs;
  gint64 actor_uid;
  char *actor_auth_method;
};

G_DEFINE_TYPE (HaleReload, hale_reload, G_TYPE_OBJECT)
G_DEFINE_QUARK (hale - reload - error - quark, hale_reload_error)

static guint fake_signals[2];

HaleReloadResult *
hale_reload_result_copy (const HaleReloadResult *r)
{
  HaleReloadResult *copy = g_new0 (HaleReloadResult, 1);

  *copy = *r;
  copy->service = g_strdup (r->service);
  copy->unit = g_strdup (r->unit);
  copy->error = g_strdup (r->error);
  return copy;
}

void
hale_reload_result_free (HaleReloadResult *r)
{
  g_free (r->service);
  g_free (r->unit);
  g_free (r->error);
  g_free (r);
}

gboolean
hale_reload_is_busy (HaleReload *self)
{
  return self->busy;
}

GPtrArray *
hale_reload_get_last_results (HaleReload *self)
{
  return g_ptr_array_ref (self->last);
}

static gboolean
fake_run (gpointer data)
{
  GTask *task = data;
  HaleReload *self = g_task_get_source_object (task);
  const char *service = g_task_get_task_data (task);
  GPtrArray *results = g_ptr_array_new_with_free_func ((GDestroyNotify)hale_reload_result_free);

  for (guint i = 0; i < self->script->len; i++)
    {
      HaleReloadResult *r = g_ptr_array_index (self->script, i);

      if (service != NULL && !g_str_equal (service, r->service))
        continue;
      g_ptr_array_add (results, hale_reload_result_copy (r));
      g_signal_emit (self, fake_signals[0], 0, r);
    }
  g_ptr_array_unref (self->last);
  self->last = g_ptr_array_ref (results);
  self->busy = FALSE;
  g_signal_emit (self, fake_signals[1], 0, results, self->rolled_back);
  g_task_return_pointer (task, results, (GDestroyNotify)g_ptr_array_unref);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

void
hale_reload_run_async (HaleReload *self, const char *service, const HaleAuditActor *actor,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  gboolean known = service == NULL;

  self->runs++;
  self->actor_uid = actor ? actor->uid : -1;
  g_free (self->actor_auth_method);
  self->actor_auth_method = g_strdup (actor ? actor->auth_method : NULL);
  if (self->busy)
    {
      g_task_return_new_error (task, HALE_RELOAD_ERROR, HALE_RELOAD_ERROR_BUSY,
                               "A reload sequence is running");
      g_object_unref (task);
      return;
    }
  for (guint i = 0; service != NULL && i < self->script->len; i++)
    known |= g_str_equal (((HaleReloadResult *)g_ptr_array_index (self->script, i))->service,
                          service);
  if (!known)
    {
      g_task_return_new_error (task, HALE_RELOAD_ERROR, HALE_RELOAD_ERROR_UNKNOWN_SERVICE,
                               "No [Service %s]", service);
      g_object_unref (task);
      return;
    }
  g_task_set_task_data (task, g_strdup (service), g_free);
  self->busy = TRUE;
  g_idle_add (fake_run, task);
}

GPtrArray *
hale_reload_run_finish (HaleReload *self, GAsyncResult *result, gboolean *out_rolled_back,
                        GError **error)
{
  if (out_rolled_back != NULL)
    *out_rolled_back = self->rolled_back;
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_finalize (GObject *object)
{
  HaleReload *self = HALE_RELOAD (object);

  g_ptr_array_unref (self->script);
  g_ptr_array_unref (self->last);
  g_free (self->actor_auth_method);
  G_OBJECT_CLASS (hale_reload_parent_class)->finalize (object);
}

static void
hale_reload_class_init (HaleReloadClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = fake_finalize;
  fake_signals[0] = g_signal_new ("service-reloaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  fake_signals[1]
      = g_signal_new ("sequence-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_BOOLEAN);
}

static void
hale_reload_init (HaleReload *self)
{
  self->script = g_ptr_array_new_with_free_func ((GDestroyNotify)hale_reload_result_free);
  self->last = g_ptr_array_new_with_free_func ((GDestroyNotify)hale_reload_result_free);
  self->actor_uid = -2;
}

static void
script (HaleReload *self, const char *service, gboolean success, gint64 duration, const char *error)
{
  HaleReloadResult r = { (char *)service, NULL, success, duration, (char *)error, 0 };
  g_autofree char *unit = g_strconcat (service, ".service", NULL);

  r.unit = unit;
  g_ptr_array_add (self->script, hale_reload_result_copy (&r));
}

/* ---- the bus ------------------------------------------------------------- */

typedef struct
{
  char *tmpdir;
  GSubprocess *bus;
  char *address;
  GDBusConnection *conn;
  HaleReload *reload;
  HaleMetrics *metrics;
  HaleAudit *audit;
  char *audit_path;
  HaleAuthority *authority;
  HaleReloadFace *face;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleConfig) config = hale_config_new_default ();
  g_autoptr (GVariant) reply = NULL;

  f->tmpdir = g_dir_make_tmp ("hale-test-dbus-reload-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (f->tmpdir, 0755), ==, 0);
  /* Any uid may connect: one test calls as nobody. */
  f->address = hale_test_dbus_daemon_start (
      f->tmpdir,
      "<policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>"
      "<allow send_destination=\"*\"/><allow receive_sender=\"*\"/></policy>",
      &f->bus);

  f->conn = g_dbus_connection_new_for_address_sync (
      f->address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);

  f->reload = g_object_new (HALE_TYPE_RELOAD, NULL);
  script (f->reload, "nginx", TRUE, 1500000, NULL);
  script (f->reload, "postfix", FALSE, 250000, "org.freedesktop.systemd1.NoSuchUnit: no unit");
  f->metrics = hale_metrics_new (NULL);
  f->audit = hale_audit_new (f->metrics);
  f->audit_path = g_build_filename (f->tmpdir, "audit.log", NULL);
  g_free (config->audit_log);
  config->audit_log = g_strdup (f->audit_path);
  hale_audit_configure (f->audit, config);
  /* As haled --user would: polkit on a system bus that is not there. */
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/hale-test-bus", TRUE);
  f->authority = hale_authority_new (HALE_AUTHORITY_USER);
  f->face = hale_reload_face_new (f->reload, f->authority, f->audit);
  g_dbus_interface_skeleton_export (hale_reload_face_get_skeleton (f->face), f->conn,
                                    HALE_DBUS_PATH, &error);
  g_assert_no_error (error);
  reply = g_dbus_connection_call_sync (
      f->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "RequestName", g_variant_new ("(su)", HALE_DBUS_NAME, 0), NULL, 0, -1, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_dbus_interface_skeleton_unexport (hale_reload_face_get_skeleton (f->face));
  g_clear_object (&f->face);
  g_clear_object (&f->authority);
  g_clear_object (&f->audit);
  g_clear_object (&f->metrics);
  g_clear_object (&f->reload);
  g_dbus_connection_close_sync (f->conn, NULL, NULL);
  g_clear_object (&f->conn);
  hale_test_stop (f->bus);
  g_clear_object (&f->bus);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  hale_test_remove_tree (f->tmpdir);
  g_free (f->tmpdir);
  g_free (f->address);
  g_free (f->audit_path);
  g_unsetenv ("DBUS_SYSTEM_BUS_ADDRESS");
}

/* Runs halectl --user reload [SERVICE] on the test bus, as nobody when
 * @as_nobody; the main loop runs meanwhile so the face can answer. */
static int
halectl_reload (Fixture *f, const char *service, gboolean as_nobody, char **out, char **err)
{
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *halectl
      = g_build_filename (g_getenv ("HALE_TEST_BUILDDIR"), "..", "src", "halectl", NULL);
  int status;

  if (as_nobody)
    {
      g_ptr_array_add (argv, "setpriv");
      g_ptr_array_add (argv, "--reuid=65534");
      g_ptr_array_add (argv, "--regid=65534");
      g_ptr_array_add (argv, "--clear-groups");
      g_ptr_array_add (argv, "--");
    }
  g_ptr_array_add (argv, halectl);
  g_ptr_array_add (argv, "--user");
  g_ptr_array_add (argv, "reload");
  if (service != NULL)
    g_ptr_array_add (argv, (char *)service);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", f->address, TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "NO_COLOR", "1", TRUE);
  p = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  status = hale_test_communicate (p, out, err);
  g_test_message ("halectl: %s%s", *out, *err);
  return status;
}

static char *
read_audit (Fixture *f)
{
  char *contents = NULL;

  g_assert_true (g_file_get_contents (f->audit_path, &contents, NULL, NULL));
  return contents;
}

static void
test_reload_all (Fixture *f, gconstpointer data)
{
  HaleDBusReload *skeleton = HALE_DBUS_RELOAD (hale_reload_face_get_skeleton (f->face));
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *audit = NULL;
  GVariant *last;
  const char *nginx;
  const char *postfix;
  int status;

  if (geteuid () != 0)
    {
      g_test_skip ("the caller must be root to be allowed without polkit");
      return;
    }
  g_assert_false (hale_dbus_reload_get_busy (skeleton));
  status = halectl_reload (f, NULL, FALSE, &out, &err);

  /* One failed service: exit 1, each line, then the summary. */
  g_assert_cmpint (status, ==, 1);
  nginx = strstr (out, "nginx");
  postfix = strstr (out, "postfix");
  g_assert_nonnull (nginx);
  g_assert_nonnull (postfix);
  g_assert_true (nginx < postfix);
  g_assert_nonnull (strstr (nginx, "ok      1.500 s"));
  g_assert_nonnull (strstr (postfix, "FAILED  0.250 s     org.freedesktop.systemd1.NoSuchUnit"));
  g_assert_nonnull (strstr (out, "2 services reloaded, 1 failed."));

  /* The engine was handed the caller. */
  g_assert_cmpuint (f->reload->runs, ==, 1);
  g_assert_cmpint (f->reload->actor_uid, ==, 0);
  g_assert_cmpstr (f->reload->actor_auth_method, ==, HALE_AUTH_METHOD_ROOT);

  /* The properties followed. */
  g_assert_false (hale_dbus_reload_get_busy (skeleton));
  last = hale_dbus_reload_get_last_results (skeleton);
  g_assert_nonnull (last);
  g_assert_cmpuint (g_variant_n_children (last), ==, 2);
  {
    g_autofree char *printed = g_variant_print (last, FALSE);
    g_assert_cmpstr (printed, ==,
                     "[('nginx', true, 1500000, '', 'nginx.service'), ('postfix', false, 250000, "
                     "'org.freedesktop.systemd1.NoSuchUnit: no unit', 'postfix.service')]");
  }

  audit = read_audit (f);
  g_assert_nonnull (strstr (audit, "\"event_type\":\"authorization_granted\""));
  g_assert_nonnull (strstr (audit, "\"method\":\"ReloadAll\""));
}

static void
test_reload_one (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  if (geteuid () != 0)
    {
      g_test_skip ("the caller must be root to be allowed without polkit");
      return;
    }
  status = halectl_reload (f, "nginx", FALSE, &out, &err);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "nginx"));
  g_assert_null (strstr (out, "postfix"));
  g_assert_nonnull (strstr (out, "1 service reloaded, 0 failed."));
}

static void
test_unknown_and_busy (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *out2 = NULL;
  g_autofree char *err2 = NULL;
  int status;

  if (geteuid () != 0)
    {
      g_test_skip ("the caller must be root to be allowed without polkit");
      return;
    }
  status = halectl_reload (f, "nope", FALSE, &out, &err);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, "no service “nope” in haled's configuration"));

  f->reload->busy = TRUE;
  status = halectl_reload (f, NULL, FALSE, &out2, &err2);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err2, "haled is already reloading"));
  f->reload->busy = FALSE;
}

static void
on_call_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GError **error = user_data;
  g_autoptr (GVariant) reply = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, error);
  g_assert_null (reply);
}

/* The error names are the contract scripts match on, not the message. */
static void
test_error_names (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *remote = NULL;

  if (geteuid () != 0)
    {
      g_test_skip ("the caller must be root to be allowed without polkit");
      return;
    }
  g_dbus_connection_call (f->conn, HALE_DBUS_NAME, HALE_DBUS_PATH, HALE_DBUS_IFACE_RELOAD,
                          "ReloadService", g_variant_new ("(s)", "nope"), NULL, 0, 10000, NULL,
                          on_call_done, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, HALE_DBUS_ERROR_UNKNOWN_SERVICE);
}

static void
test_denied (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *audit = NULL;
  int status;

  if (geteuid () != 0)
    {
      g_test_skip ("calling as another uid needs root (setpriv)");
      return;
    }
  /* nobody, no polkit: refused, the engine never asked, audited. */
  status = halectl_reload (f, NULL, TRUE, &out, &err);
  g_assert_cmpint (status, ==, 4);
  g_assert_true (g_str_has_prefix (err, "not authorised: "));
  g_assert_nonnull (strstr (err, HALE_ACTION_RELOAD));
  g_assert_cmpuint (f->reload->runs, ==, 0);
  audit = read_audit (f);
  g_assert_nonnull (strstr (audit, "\"event_type\":\"authorization_denied\""));
  g_assert_nonnull (strstr (audit, "\"uid\":65534"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/dbus-reload/reload-all", test_reload_all);
  ADD ("/dbus-reload/reload-one", test_reload_one);
  ADD ("/dbus-reload/unknown-and-busy", test_unknown_and_busy);
  ADD ("/dbus-reload/error-names", test_error_names);
  ADD ("/dbus-reload/denied", test_denied);
#undef ADD

  return g_test_run ();
}
