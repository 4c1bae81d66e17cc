/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for the authority: who may change something over D-Bus.
 *
 * Each test runs a private dbus-daemon whose policy lets any uid
 * connect, exports a small object whose method asks the authority, and
 * calls it with busctl, as root or, through setpriv, as nobody (65534):
 * the credentials come from the real bus daemon. polkit is
 * python3-dbusmock's polkitd template on that bus (a mock: a real
 * polkitd needs a system bus and its own user); its SetAllowed decides.
 */
#include "config.h"

#include "hale-authority.h"
#include "hale-names.h"
#include "hale-test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#define NOBODY_UID 65534
#define TEST_PATH "/org/hale/Test"
#define TEST_IFACE "org.hale.Test"
#define WAIT_USEC (15 * G_USEC_PER_SEC)

static const char introspection[] = "<node><interface name='org.hale.Test'>"
                                    "<method name='Do'><arg type='s' direction='in'/>"
                                    "<arg type='s' direction='out'/></method>"
                                    "</interface></node>";

typedef struct
{
  char *tmpdir;
  GSubprocess *bus;
  char *address;
  GSubprocess *polkit;
  GDBusConnection *conn;
  GDBusNodeInfo *node;
  guint registration;

  HaleMetrics *metrics;
  HaleAudit *audit;
  char *audit_path;
  HaleAuthority *authority;

  /* The last decision. */
  gboolean decided;
  gboolean allowed;
  GError *error;
  HaleAuthorityCaller *caller;
} Fixture;

static gboolean
running_as_root (void)
{
  return geteuid () == 0;
}

static void
on_checked (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  Fixture *f = g_object_get_data (G_OBJECT (invocation), "fixture");
  g_autoptr (GError) error = NULL;

  g_clear_error (&f->error);
  g_clear_pointer (&f->caller, hale_authority_caller_free);
  f->allowed = hale_authority_check_finish (HALE_AUTHORITY (source), res, &f->caller, &error);
  f->decided = TRUE;
  g_assert_nonnull (f->caller);
  hale_authority_audit (f->audit, f->caller, HALE_ACTION_RELOAD, "Do", "service", "demo",
                        f->allowed ? NULL : error);
  if (f->allowed)
    {
      g_assert_no_error (error);
      g_dbus_method_invocation_return_value (
          invocation,
          g_variant_new ("(s)", hale_authority_caller_get_actor (f->caller)->auth_method));
    }
  else
    {
      g_assert_nonnull (error);
      f->error = g_error_copy (error);
      g_dbus_method_invocation_return_gerror (invocation, error);
    }
}

static void
on_method_call (GDBusConnection *connection, const char *sender, const char *path,
                const char *iface, const char *method, GVariant *parameters,
                GDBusMethodInvocation *invocation, gpointer user_data)
{
  Fixture *f = user_data;
  const char *action;

  g_variant_get (parameters, "(&s)", &action);
  g_object_set_data (G_OBJECT (invocation), "fixture", f);
  hale_authority_check_async (f->authority, invocation, action,
                              hale_authority_invocation_is_interactive (invocation), NULL,
                              on_checked, g_object_ref (invocation));
}

static const GDBusInterfaceVTable vtable = { on_method_call, NULL, NULL, { 0 } };

static void
start_bus (Fixture *f)
{
  /* Any uid may connect and talk: the tests call as root and as nobody. */
  f->address
      = hale_test_dbus_daemon_start (f->tmpdir,
                                     "  <policy context=\"default\">\n"
                                     "    <allow user=\"*\"/>\n"
                                     "    <allow own=\"*\"/>\n"
                                     "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                                     "    <allow eavesdrop=\"true\"/>\n"
                                     "  </policy>",
                                     &f->bus);
}

static gboolean
name_has_owner (Fixture *f, const char *name)
{
  g_autoptr (GVariant) reply = NULL;
  gboolean has = FALSE;

  reply = g_dbus_connection_call_sync (f->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", name), G_VARIANT_TYPE ("(b)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &has);
  return has;
}

static const char *
python (void)
{
  const char *env = g_getenv ("HALE_TEST_PYTHON");

  if (env != NULL)
    return env;
  /* A pyenv or venv python3 first on PATH does not see Debian's
   * python3-dbusmock; the system interpreter does. */
  if (g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    return "/usr/bin/python3";
  return "python3";
}

static gboolean
have_dbusmock (void)
{
  g_autoptr (GSubprocess) p = NULL;

  p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, NULL,
                        python (), "-c", "import dbusmock", NULL);
  return p != NULL && g_subprocess_wait_check (p, NULL, NULL);
}

/* python3-dbusmock's polkitd on the test bus, as the system bus. */
static gboolean
start_polkit (Fixture *f)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  gint64 deadline;

  if (!have_dbusmock ())
    {
      /* CI installs python3-dbusmock: there a skip is a failure. */
      g_assert_cmpstr (g_getenv ("CI"), !=, "true");
      g_test_skip ("python3-dbusmock is not installed (set HALE_TEST_PYTHON to a python3 that "
                   "has it)");
      return FALSE;
    }

  launcher = hale_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS", f->address, TRUE);
  f->polkit = g_subprocess_launcher_spawn (launcher, &error, python (), "-m", "dbusmock",
                                           "--template", "polkitd", NULL);
  g_assert_no_error (error);

  deadline = g_get_monotonic_time () + WAIT_USEC;
  while (!name_has_owner (f, "org.freedesktop.PolicyKit1"))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }
  return TRUE;
}

static void
polkit_set_allowed (Fixture *f, const char *const *actions)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;

  reply = g_dbus_connection_call_sync (
      f->conn, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
      "org.freedesktop.DBus.Mock", "SetAllowed", g_variant_new ("(^as)", actions), NULL,
      G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture *f, HaleAuthorityMode mode)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleConfig) config = hale_config_new_default ();

  f->tmpdir = g_dir_make_tmp ("hale-test-authority-XXXXXX", &error);
  g_assert_no_error (error);
  /* nobody must reach the bus socket inside. */
  g_assert_cmpint (g_chmod (f->tmpdir, 0755), ==, 0);
  start_bus (f);

  f->conn = g_dbus_connection_new_for_address_sync (
      f->address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);
  f->node = g_dbus_node_info_new_for_xml (introspection, &error);
  g_assert_no_error (error);
  f->registration = g_dbus_connection_register_object (f->conn, TEST_PATH, f->node->interfaces[0],
                                                       &vtable, f, NULL, &error);
  g_assert_no_error (error);

  /* With --user polkit is on "the system bus": the test bus here. */
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", f->address, TRUE);

  f->metrics = hale_metrics_new (NULL);
  f->audit = hale_audit_new (f->metrics);
  f->audit_path = g_build_filename (f->tmpdir, "audit.log", NULL);
  g_free (config->audit_log);
  config->audit_log = g_strdup (f->audit_path);
  hale_audit_configure (f->audit, config);
  f->authority = hale_authority_new (mode);
}

static void
fixture_set_up_system (Fixture *f, gconstpointer data)
{
  fixture_set_up (f, HALE_AUTHORITY_SYSTEM);
}

static void
fixture_set_up_user (Fixture *f, gconstpointer data)
{
  fixture_set_up (f, HALE_AUTHORITY_USER);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->authority);
  g_clear_object (&f->audit);
  g_clear_object (&f->metrics);
  if (f->registration)
    g_dbus_connection_unregister_object (f->conn, f->registration);
  g_clear_pointer (&f->node, g_dbus_node_info_unref);
  if (f->conn)
    g_dbus_connection_close_sync (f->conn, NULL, NULL);
  g_clear_object (&f->conn);
  hale_test_stop (f->polkit);
  g_clear_object (&f->polkit);
  hale_test_stop (f->bus);
  g_clear_object (&f->bus);
  /* Let the authority's closed connections finish in their thread. */
  while (g_main_context_iteration (NULL, FALSE))
    ;

  hale_test_remove_tree (f->tmpdir);
  g_free (f->tmpdir);
  g_free (f->address);
  g_free (f->audit_path);
  g_clear_error (&f->error);
  g_clear_pointer (&f->caller, hale_authority_caller_free);
  g_unsetenv ("DBUS_SYSTEM_BUS_ADDRESS");
}

/* Calls Do(@action) with busctl, as @uid (through setpriv) or as
 * ourselves (uid -1). Returns busctl's exit status; the main loop runs
 * meanwhile so the authority can answer. */
static int
call_as (Fixture *f, gint64 uid, const char *action, char **out, char **err, gint64 *out_pid)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;

  if (uid >= 0)
    {
      g_ptr_array_add (argv, g_strdup ("setpriv"));
      g_ptr_array_add (argv, g_strdup_printf ("--reuid=%" G_GINT64_FORMAT, uid));
      g_ptr_array_add (argv, g_strdup_printf ("--regid=%" G_GINT64_FORMAT, uid));
      g_ptr_array_add (argv, g_strdup ("--clear-groups"));
      g_ptr_array_add (argv, g_strdup ("--"));
    }
  g_ptr_array_add (argv, g_strdup ("busctl"));
  g_ptr_array_add (argv, g_strdup_printf ("--address=%s", f->address));
  g_ptr_array_add (argv, g_strdup ("--timeout=20"));
  g_ptr_array_add (argv, g_strdup ("call"));
  g_ptr_array_add (argv, g_strdup (g_dbus_connection_get_unique_name (f->conn)));
  g_ptr_array_add (argv, g_strdup (TEST_PATH));
  g_ptr_array_add (argv, g_strdup (TEST_IFACE));
  g_ptr_array_add (argv, g_strdup ("Do"));
  g_ptr_array_add (argv, g_strdup ("s"));
  g_ptr_array_add (argv, g_strdup (action));
  g_ptr_array_add (argv, NULL);

  f->decided = FALSE;
  p = g_subprocess_newv ((const char *const *)argv->pdata,
                         G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  /* setpriv execs busctl: the pid the bus sees is this one. */
  *out_pid = g_ascii_strtoll (g_subprocess_get_identifier (p), NULL, 10);
  return hale_test_communicate (p, out, err);
}

/* The last line of the JSON audit file, parsed. */
static JsonObject *
last_audit_line (Fixture *f, JsonParser *parser)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;
  guint n;

  g_assert_true (g_file_get_contents (f->audit_path, &contents, NULL, &error));
  g_assert_no_error (error);
  lines = g_strsplit (g_strchomp (contents), "\n", 0);
  n = g_strv_length (lines);
  g_assert_cmpuint (n, >, 0);
  g_assert_true (json_parser_load_from_data (parser, lines[n - 1], -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static void
assert_audited (Fixture *f, const char *event, gint64 uid, gint64 pid, const char *auth_method)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *line = last_audit_line (f, parser);
  JsonObject *actor = json_object_get_object_member (line, "actor");
  JsonObject *resource = json_object_get_object_member (line, "resource");
  JsonObject *details = json_object_get_object_member (line, "details");
  g_autofree char *identity = g_strdup_printf ("uid:%" G_GINT64_FORMAT, uid);

  g_assert_cmpstr (json_object_get_string_member (line, "event_type"), ==, event);
  g_assert_cmpstr (json_object_get_string_member (line, "outcome"), ==,
                   g_str_equal (event, HALE_EVENT_AUTHORIZATION_GRANTED) ? "success" : "failure");
  g_assert_cmpstr (json_object_get_string_member (actor, "identity"), ==, identity);
  g_assert_cmpstr (json_object_get_string_member (actor, "auth_method"), ==, auth_method);
  g_assert_cmpint (json_object_get_int_member (actor, "uid"), ==, uid);
  g_assert_cmpint (json_object_get_int_member (actor, "pid"), ==, pid);
  g_assert_cmpstr (json_object_get_string_member (resource, "type"), ==, "service");
  g_assert_cmpstr (json_object_get_string_member (resource, "identifier"), ==, "demo");
  g_assert_cmpstr (json_object_get_string_member (details, "action"), ==, HALE_ACTION_RELOAD);
  g_assert_cmpstr (json_object_get_string_member (details, "method"), ==, "Do");
  if (g_str_equal (event, HALE_EVENT_AUTHORIZATION_DENIED))
    g_assert_nonnull (
        strstr (json_object_get_string_member (details, "error"), HALE_ACTION_RELOAD));
}

/* Another uid than ours: nobody through setpriv when we are root, else
 * we are already not root ourselves. */
static gint64
other_uid (void)
{
  return running_as_root () ? NOBODY_UID : -1;
}

static gint64
other_uid_value (void)
{
  return running_as_root () ? NOBODY_UID : (gint64)getuid ();
}

static void
assert_denied (Fixture *f, int status, const char *err, const char *why)
{
  g_assert_true (f->decided);
  g_assert_false (f->allowed);
  g_assert_error (f->error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED);
  g_assert_nonnull (strstr (f->error->message, HALE_ACTION_RELOAD));
  g_assert_nonnull (strstr (f->error->message, why));
  /* The caller is refused; busctl names the error, not its message. */
  g_assert_cmpint (status, !=, 0);
  g_test_message ("busctl: %s", err);
  g_assert_nonnull (strstr (err, "Access denied"));
}

static void
test_root_allowed (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  gint64 pid;
  int status;

  if (!running_as_root ())
    {
      g_test_skip ("calling as root needs root");
      return;
    }
  /* No polkit at all: root needs none. */
  status = call_as (f, -1, HALE_ACTION_RELOAD, &out, &err, &pid);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "s \"dbus+root\"\n");
  g_assert_true (f->allowed);
  g_assert_cmpint (hale_authority_caller_get_actor (f->caller)->uid, ==, 0);
  g_assert_cmpint (hale_authority_caller_get_actor (f->caller)->pid, ==, pid);
  assert_audited (f, HALE_EVENT_AUTHORIZATION_GRANTED, 0, pid, HALE_AUTH_METHOD_ROOT);
}

static void
test_polkit_allows (Fixture *f, gconstpointer data)
{
  const char *const allowed[] = { HALE_ACTION_RELOAD, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  gint64 pid;
  int status;

  if (!start_polkit (f))
    return;
  polkit_set_allowed (f, allowed);
  status = call_as (f, other_uid (), HALE_ACTION_RELOAD, &out, &err, &pid);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "s \"dbus+polkit\"\n");
  g_assert_true (f->allowed);
  g_assert_cmpint (hale_authority_caller_get_actor (f->caller)->uid, ==, other_uid_value ());
  assert_audited (f, HALE_EVENT_AUTHORIZATION_GRANTED, other_uid_value (), pid,
                  HALE_AUTH_METHOD_POLKIT);
}

static void
test_polkit_denies (Fixture *f, gconstpointer data)
{
  /* polkit allows something else, not this. */
  const char *const allowed[] = { HALE_ACTION_ACKNOWLEDGE, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  gint64 pid;
  int status;

  if (!start_polkit (f))
    return;
  polkit_set_allowed (f, allowed);
  status = call_as (f, other_uid (), HALE_ACTION_RELOAD, &out, &err, &pid);
  assert_denied (f, status, err, "polkit denied it");
  g_assert_cmpint (hale_authority_caller_get_actor (f->caller)->uid, ==, other_uid_value ());
  g_assert_cmpint (hale_authority_caller_get_actor (f->caller)->pid, ==, pid);
  assert_audited (f, HALE_EVENT_AUTHORIZATION_DENIED, other_uid_value (), pid,
                  HALE_AUTH_METHOD_POLKIT);
}

static void
test_polkit_absent (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  gint64 pid;
  int status;

  /* Nobody owns org.freedesktop.PolicyKit1 on this bus: fail closed. */
  status = call_as (f, other_uid (), HALE_ACTION_RELOAD, &out, &err, &pid);
  assert_denied (f, status, err, "polkit could not be asked");
  assert_audited (f, HALE_EVENT_AUTHORIZATION_DENIED, other_uid_value (), pid,
                  HALE_AUTH_METHOD_POLKIT);
}

static void
test_user_polkit_on_system_bus (Fixture *f, gconstpointer data)
{
  const char *const allowed[] = { HALE_ACTION_RELOAD, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *out2 = NULL;
  g_autofree char *err2 = NULL;
  gint64 pid;
  int status;

  if (!running_as_root ())
    {
      g_test_skip ("another uid than haled's needs root (setpriv)");
      return;
    }
  if (!start_polkit (f))
    return;
  /* With --user, a caller of another uid goes to polkit on
   * $DBUS_SYSTEM_BUS_ADDRESS, about its process. */
  status = call_as (f, NOBODY_UID, HALE_ACTION_RELOAD, &out, &err, &pid);
  assert_denied (f, status, err, "polkit denied it");

  polkit_set_allowed (f, allowed);
  status = call_as (f, NOBODY_UID, HALE_ACTION_RELOAD, &out2, &err2, &pid);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out2, ==, "s \"dbus+polkit\"\n");
  assert_audited (f, HALE_EVENT_AUTHORIZATION_GRANTED, NOBODY_UID, pid, HALE_AUTH_METHOD_POLKIT);
}

static void
test_user_no_system_bus (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *nowhere = g_build_filename (f->tmpdir, "no-such-bus", NULL);
  g_autofree char *address = g_strdup_printf ("unix:path=%s", nowhere);
  gint64 pid;
  int status;

  if (!running_as_root ())
    {
      g_test_skip ("another uid than haled's needs root (setpriv)");
      return;
    }
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", address, TRUE);
  status = call_as (f, NOBODY_UID, HALE_ACTION_RELOAD, &out, &err, &pid);
  assert_denied (f, status, err, "no system bus");
}

static void
test_user_same_user (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  gint64 pid;
  int status;

  if (running_as_root ())
    {
      /* As root, "same user" is root and the root rule answers first:
       * run this very test again as nobody, haled's side included. */
      g_autoptr (GSubprocess) p = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", &error);
      g_autofree char *child_out = NULL;
      g_autofree char *child_err = NULL;
      g_autofree char *reuid = g_strdup_printf ("--reuid=%d", NOBODY_UID);
      g_autofree char *regid = g_strdup_printf ("--regid=%d", NOBODY_UID);

      g_assert_no_error (error);
      p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                            "setpriv", reuid, regid, "--clear-groups", "--", self_exe, "--tap",
                            "-p", "/authority/user/same-user", NULL);
      g_assert_no_error (error);
      g_subprocess_communicate_utf8 (p, NULL, NULL, &child_out, &child_err, &error);
      g_assert_no_error (error);
      g_test_message ("as nobody: %s%s", child_out, child_err);
      g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
      g_assert_nonnull (strstr (child_out, "ok 1 /authority/user/same-user"));
      g_assert_null (strstr (child_out, "SKIP"));
      return;
    }

  /* haled and the caller share a non-root uid: allowed, no polkit. */
  status = call_as (f, -1, HALE_ACTION_RELOAD, &out, &err, &pid);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "s \"dbus+same-user\"\n");
  assert_audited (f, HALE_EVENT_AUTHORIZATION_GRANTED, getuid (), pid, HALE_AUTH_METHOD_SAME_USER);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, setup, func) g_test_add (path, Fixture, NULL, setup, func, fixture_tear_down)
  ADD ("/authority/system/root-allowed", fixture_set_up_system, test_root_allowed);
  ADD ("/authority/system/polkit-allows", fixture_set_up_system, test_polkit_allows);
  ADD ("/authority/system/polkit-denies", fixture_set_up_system, test_polkit_denies);
  ADD ("/authority/system/polkit-absent", fixture_set_up_system, test_polkit_absent);
  ADD ("/authority/user/polkit-on-system-bus", fixture_set_up_user, test_user_polkit_on_system_bus);
  ADD ("/authority/user/no-system-bus", fixture_set_up_user, test_user_no_system_bus);
  ADD ("/authority/user/same-user", fixture_set_up_user, test_user_same_user);
#undef ADD

  return g_test_run ();
}
