/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-audit.c: the JSON-lines audit file moved under haled as
 * logrotate moves it (rename, no copytruncate), and the actor's
 * address. Real files in a temporary directory. */
#include "config.h"

#include "hale-audit.h"
#include "hale-config.h"
#include "hale-names.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <syslog.h>
#include <unistd.h>

typedef struct
{
  char *tmp;
  char *log;
  HaleMetrics *metrics;
  HaleAudit *audit;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const char *max_size = data != NULL ? data : "1M";
  g_autofree char *conf = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleConfig) config = NULL;

  f->tmp = g_dir_make_tmp ("hale-test-audit-XXXXXX", NULL);
  f->log = g_build_filename (f->tmp, "audit.log", NULL);
  conf = g_build_filename (f->tmp, "hale.conf", NULL);
  text = g_strdup_printf ("[Monitoring]\nAuditLog=%s\nAuditLogMaxSize=%s\nAuditLogKeep=3\n", f->log,
                          max_size);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  config = hale_config_load (conf, &error);
  g_assert_no_error (error);
  f->metrics = hale_metrics_new ("hale");
  f->audit = hale_audit_new (f->metrics);
  hale_audit_configure (f->audit, config);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autoptr (GSubprocess) rm = NULL;

  g_clear_object (&f->audit);
  g_clear_object (&f->metrics);
  rm = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, NULL, "rm", "-rf", f->tmp, NULL);
  g_subprocess_wait (rm, NULL, NULL);
  g_free (f->tmp);
  g_free (f->log);
}

static void
emit (Fixture *f, guint n, const HaleAuditActor *actor)
{
  g_autofree char *message = g_strdup_printf ("event #%u#", n);
  HaleAuditEvent ev = { 0 };

  ev.event = HALE_EVENT_CONFIG_RELOADED;
  ev.message_id = HALE_MESSAGE_ID_CONFIG_RELOADED;
  ev.priority = LOG_DEBUG;
  ev.message = message;
  ev.outcome = "success";
  ev.resource_type = "test";
  ev.resource_id = "audit";
  ev.duration_ms = -1;
  ev.actor = actor;
  hale_audit_emit (f->audit, &ev);
}

static char *
contents (const char *path)
{
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static gboolean
holds (const char *path, guint n)
{
  g_autofree char *text = contents (path);
  g_autofree char *needle = g_strdup_printf ("event #%u#", n);
  return strstr (text, needle) != NULL;
}

static char *
rotated (Fixture *f, guint i)
{
  return g_strdup_printf ("%s.%u", f->log, i);
}

/* Whether this process still has @path's file open. */
static gboolean
have_open (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);
      if (target != NULL && g_str_has_prefix (target, path))
        return TRUE;
    }
  return FALSE;
}

/* logrotate's default: rename, then (create) a new empty file. The
 * next event goes to the file at the path, never to the moved one. */
static void
test_moved (Fixture *f, gconstpointer data)
{
  g_autofree char *one = rotated (f, 1);
  g_autofree char *two = rotated (f, 2);

  emit (f, 1, NULL);
  g_assert_true (holds (f->log, 1));
  g_assert_cmpint (g_rename (f->log, one), ==, 0);
  emit (f, 2, NULL);
  g_assert_true (holds (f->log, 2));
  g_assert_false (holds (one, 2));

  /* With "create": the new file is there before haled writes again. */
  g_assert_cmpint (g_rename (one, two), ==, 0);
  g_assert_cmpint (g_rename (f->log, one), ==, 0);
  g_assert_true (g_file_set_contents (f->log, "", 0, NULL));
  emit (f, 3, NULL);
  g_assert_true (holds (f->log, 3));
  g_assert_false (holds (one, 3));
  g_assert_true (holds (one, 2));
  g_assert_true (holds (two, 1));
}

/* "compress" without "delaycompress": the moved file is read and
 * deleted. Events after that must not go to the deleted file. */
static void
test_moved_and_deleted (Fixture *f, gconstpointer data)
{
  g_autofree char *one = rotated (f, 1);

  emit (f, 1, NULL);
  g_assert_cmpint (g_rename (f->log, one), ==, 0);
  g_assert_cmpint (g_unlink (one), ==, 0);
  emit (f, 2, NULL);
  g_assert_true (holds (f->log, 2));
}

/* SIGHUP (hale_audit_reopen): the moved file is let go at once. */
static void
test_reopen (Fixture *f, gconstpointer data)
{
  g_autofree char *one = rotated (f, 1);

  emit (f, 1, NULL);
  g_assert_cmpint (g_rename (f->log, one), ==, 0);
  g_assert_true (have_open (one));
  hale_audit_reopen (f->audit);
  g_assert_false (have_open (one));
  emit (f, 2, NULL);
  g_assert_true (holds (f->log, 2));
  g_assert_false (holds (one, 2));
}

/* haled's own rotation after logrotate moved the file: every event is
 * somewhere (3 files of 1K each and the current one hold them all). */
static void
test_rotation_loses_nothing (Fixture *f, gconstpointer data)
{
  g_autofree char *one = rotated (f, 1);
  const guint n = 12;

  for (guint i = 0; i < n; i++)
    {
      if (i == 3)
        g_assert_cmpint (g_rename (f->log, one), ==, 0);
      emit (f, i, NULL);
    }
  for (guint i = 0; i < n; i++)
    {
      gboolean found = holds (f->log, i);
      for (guint r = 1; r <= 3 && !found; r++)
        {
          g_autofree char *path = rotated (f, r);
          found = holds (path, i);
        }
      if (!found)
        g_test_message ("event %u is in no file", i);
      g_assert_true (found);
    }
}

static JsonObject *
last_actor (Fixture *f)
{
  g_autofree char *text = contents (f->log);
  g_auto (GStrv) lines = g_strsplit (g_strstrip (text), "\n", -1);
  guint n = g_strv_length (lines);
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (lines[n - 1], &error);
  JsonObject *actor;

  g_assert_no_error (error);
  actor = json_object_ref (json_object_get_object_member (json_node_get_object (node), "actor"));
  json_node_unref (node);
  return actor;
}

/* An HTTP caller's address is in the record; a D-Bus caller, and haled
 * itself, have none: the key is left out, not "". */
static void
test_ip_address (Fixture *f, gconstpointer data)
{
  HaleAuditActor http = { "anonymous", "http+bearer", -1, -1, NULL, "127.0.0.1" };
  HaleAuditActor dbus = { "uid:0", "dbus+root", 0, 4242, NULL, NULL };
  JsonObject *actor;

  emit (f, 1, &http);
  actor = last_actor (f);
  g_assert_cmpstr (json_object_get_string_member (actor, "ip_address"), ==, "127.0.0.1");
  g_assert_false (json_object_has_member (actor, "uid"));
  json_object_unref (actor);

  emit (f, 2, &dbus);
  actor = last_actor (f);
  g_assert_false (json_object_has_member (actor, "ip_address"));
  g_assert_cmpint (json_object_get_int_member (actor, "uid"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (actor, "pid"), ==, 4242);
  json_object_unref (actor);

  emit (f, 3, NULL);
  actor = last_actor (f);
  g_assert_false (json_object_has_member (actor, "ip_address"));
  g_assert_cmpstr (json_object_get_string_member (actor, "identity"), ==, "haled");
  json_object_unref (actor);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func, data)                                                                      \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)
  ADD ("/audit/moved", test_moved, NULL);
  ADD ("/audit/moved-and-deleted", test_moved_and_deleted, NULL);
  ADD ("/audit/reopen", test_reopen, NULL);
  ADD ("/audit/rotation-loses-nothing", test_rotation_loses_nothing, "1K");
  ADD ("/audit/ip-address", test_ip_address, NULL);
#undef ADD
  return g_test_run ();
}
