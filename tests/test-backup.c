/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-backup.c: the previous certificates kept, pruned and put back. */
#include "config.h"

#include "hale-backup.h"
#include "hale-test-systemd.h"

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct
{
  char *tmp;
  char *conf;
  char *certs;
  char *backup;
  HaleMetrics *metrics;
  HaleBackup *backup_obj;
  HaleConfig *config;
  HaleState *state;
  HaleCertWatch *watch; /* says which files there are, as it does for haled */
} Fixture;

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
} Wait;

static void
store_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;
  w->ok = hale_backup_store_finish (HALE_BACKUP (source), res, &w->error);
  w->done = TRUE;
}

static void
restore_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;
  w->ok = hale_backup_restore_finish (HALE_BACKUP (source), res, &w->error);
  w->done = TRUE;
}

static HaleConfig *
load_config (Fixture *f, const char *text, GError **error)
{
  g_autofree char *expanded = NULL;
  g_autoptr (GString) s = g_string_new (text);

  g_string_replace (s, "@CERTS@", f->certs, 0);
  g_assert_true (g_file_set_contents (f->conf, s->str, -1, NULL));
  return hale_config_load (f->conf, error);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->tmp = g_dir_make_tmp ("hale-test-backup-XXXXXX", NULL);
  g_assert_nonnull (f->tmp);
  f->conf = g_build_filename (f->tmp, "hale.conf", NULL);
  f->certs = g_build_filename (f->tmp, "certs", NULL);
  f->backup = g_build_filename (f->tmp, "state", "backup", NULL);
  g_assert_cmpint (g_mkdir_with_parents (f->certs, 0755), ==, 0);
  f->metrics = hale_metrics_new ("hale");
  f->backup_obj = hale_backup_new (f->metrics, f->backup);
  f->state = hale_state_new ();
  f->watch = hale_cert_watch_new (f->state, f->metrics, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autoptr (GSubprocess) rm
      = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, NULL, "rm", "-rf", f->tmp, NULL);
  g_subprocess_wait (rm, NULL, NULL);
  g_clear_object (&f->backup_obj);
  g_clear_object (&f->watch);
  g_clear_object (&f->state);
  g_clear_object (&f->metrics);
  g_clear_pointer (&f->config, hale_config_unref);
  g_free (f->tmp);
  g_free (f->conf);
  g_free (f->certs);
  g_free (f->backup);
}

static void
backup_configure (Fixture *f, HaleBackup *backup)
{
  g_autoptr (GPtrArray) certificates = hale_cert_watch_list (f->watch);
  hale_backup_configure (backup, f->config->backup_keep, certificates);
}

static void
configure (Fixture *f, const char *text)
{
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&f->config, hale_config_unref);
  f->config = load_config (f, text, &error);
  g_assert_no_error (error);
  hale_cert_watch_configure (f->watch, f->config);
  backup_configure (f, f->backup_obj);
}

static void
store (HaleBackup *b, const char *name, const char *serial, const char *pem)
{
  g_autoptr (GBytes) bytes = g_bytes_new (pem, strlen (pem));
  Wait w = { 0 };

  hale_backup_store_async (b, name, serial, bytes, NULL, store_cb, &w);
  g_assert_true (hale_test_wait_for (&w.done, 5000));
  g_assert_no_error (w.error);
  g_assert_true (w.ok);
}

static void
restore (HaleBackup *b, const char *name, const char *serial, GError **error)
{
  Wait w = { 0 };

  hale_backup_restore_async (b, name, serial, NULL, restore_cb, &w);
  g_assert_true (hale_test_wait_for (&w.done, 5000));
  if (w.error != NULL)
    g_propagate_error (error, w.error);
}

static char *
read_file (const char *path)
{
  char *contents = NULL;
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  return contents;
}

static guint
file_mode (const char *path)
{
  struct stat st;
  g_assert_cmpint (lstat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

static double
files_count (Fixture *f, const char *name)
{
  HaleMetricFamily *family = hale_metrics_lookup (f->metrics, "backup_files_count");
  const char *labels[] = { name, "", NULL };
  double value = -1;

  g_assert_true (hale_metric_get (family, labels, &value));
  return value;
}

static const char two_certs[] = "[Monitoring]\n"
                                "BackupKeep=3\n"
                                "[Certificate web]\n"
                                "Path=@CERTS@/web.pem\n"
                                "KeyPath=@CERTS@/web.key\n"
                                "[Certificate api]\n"
                                "Path=@CERTS@/api.pem\n";

static void
test_config_keys (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleConfig) config = NULL;
  const HaleServiceConfig *s;
  const HaleCertificateConfig *c;

  config = load_config (f,
                        "[Certificate web]\nPath=/etc/web.pem\nKeyPath=/etc/web.key\n"
                        "[Certificate api]\nPath=/etc/api.pem\n"
                        "[Service a]\nUnit=a.service\nReloadOnChange=true\n"
                        "[Service b]\nUnit=b.service\nReloadOnChange=web; api ,web\n"
                        "[Service c]\nUnit=c.service\n",
                        &error);
  g_assert_no_error (error);
  g_assert_cmpuint (config->backup_keep, ==, 5);
  c = hale_config_find_certificate (config, "web");
  g_assert_cmpstr (c->key_path, ==, "/etc/web.key");
  g_assert_null (hale_config_find_certificate (config, "api")->key_path);
  s = hale_config_find_service (config, "a");
  g_assert_true (s->reload_on_change.all);
  g_assert_null (s->reload_on_change.names);
  s = hale_config_find_service (config, "b");
  g_assert_false (s->reload_on_change.all);
  g_assert_cmpuint (g_strv_length (s->reload_on_change.names), ==, 2);
  g_assert_cmpstr (s->reload_on_change.names[0], ==, "web");
  g_assert_cmpstr (s->reload_on_change.names[1], ==, "api");
  s = hale_config_find_service (config, "c");
  g_assert_false (s->reload_on_change.all);
  g_assert_null (s->reload_on_change.names);
}

static void
test_config_errors (Fixture *f, gconstpointer data)
{
  struct
  {
    const char *text;
    const char *problem;
  } cases[] = {
    { "[Monitoring]\nBackupKeep=0\n",
      ":Monitoring:BackupKeep: \"0\" is not a whole number from 1" },
    { "[Certificate web]\nPath=/etc/web.pem\nKeyPath=etc/web.key\n",
      ":Certificate web:KeyPath: \"etc/web.key\" is not an absolute path" },
    { "[Certificate web]\nPath=/etc/web.pem\nKeyPath=/etc/web.pem\n",
      ":Certificate web:KeyPath: is the same file as Path=/etc/web.pem" },
    { "[Certificate web]\nPath=/etc/web.pem\n[Service a]\nUnit=a.service\nReloadOnChange=webb\n",
      ":Service a:ReloadOnChange: there is no [Certificate webb]" },
    { "[Certificate web]\nPath=/etc/web.pem\n[Service a]\nUnit=a.service\nReloadOnChange=web,,\n",
      ":Service a:ReloadOnChange: \"web,,\" has an empty name" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HaleConfig) config = load_config (f, cases[i].text, &error);

      g_assert_null (config);
      g_assert_error (error, HALE_CONFIG_ERROR, HALE_CONFIG_ERROR_INVALID);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i].problem));
    }
}

static void
test_store_and_prune (Fixture *f, gconstpointer data)
{
  g_autofree char *key_path = g_build_filename (f->certs, "web.key", NULL);
  g_auto (GStrv) list = NULL;
  const char *serials[] = { "01", "02", "03", "04", "05", "06", "07" };

  configure (f, two_certs);
  g_assert_null (hale_backup_list (f->backup_obj, "web"));
  g_assert_cmpfloat (files_count (f, "web"), ==, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (serials); i++)
    {
      g_autofree char *pem = g_strdup_printf ("CERT %s\n", serials[i]);
      g_autofree char *key = g_strdup_printf ("KEY %s\n", serials[i]);

      g_assert_true (g_file_set_contents (key_path, key, -1, NULL));
      store (f->backup_obj, "web", serials[i], pem);
      /* The same serial again keeps nothing new. */
      store (f->backup_obj, "web", serials[i], "other bytes");
    }

  /* BackupKeep=3: the two newest and the good one (the first seen,
   * since no sequence succeeded yet), not the ones in between. */
  g_assert_cmpstr (hale_backup_get_good (f->backup_obj, "web"), ==, "01");
  list = hale_backup_list (f->backup_obj, "web");
  g_assert_cmpuint (g_strv_length (list), ==, 3);
  g_assert_cmpstr (list[0], ==, "07");
  g_assert_cmpstr (list[1], ==, "06");
  g_assert_cmpstr (list[2], ==, "01");
  g_assert_cmpfloat (files_count (f, "web"), ==, 6);

  for (gsize i = 0; i < G_N_ELEMENTS (serials); i++)
    {
      g_autofree char *pem = g_strdup_printf ("%s/web/%s.pem", f->backup, serials[i]);
      g_autofree char *key = g_strdup_printf ("%s/web/%s.key", f->backup, serials[i]);
      gboolean kept = g_strv_contains ((const char *const *)list, serials[i]);

      g_assert_cmpint (g_file_test (pem, G_FILE_TEST_EXISTS), ==, kept);
      g_assert_cmpint (g_file_test (key, G_FILE_TEST_EXISTS), ==, kept);
      if (kept)
        {
          g_autofree char *contents = read_file (pem);
          g_autofree char *expected = g_strdup_printf ("CERT %s\n", serials[i]);
          g_autofree char *key_contents = read_file (key);
          g_autofree char *expected_key = g_strdup_printf ("KEY %s\n", serials[i]);

          g_assert_cmpstr (contents, ==, expected);
          g_assert_cmpstr (key_contents, ==, expected_key);
          g_assert_cmpuint (file_mode (pem), ==, 0644);
          g_assert_cmpuint (file_mode (key), ==, 0600);
        }
    }

  /* Once another serial is good, the old good one is an ordinary
   * backup again and goes with the next prune. */
  hale_backup_set_good (f->backup_obj, "web", "07");
  store (f->backup_obj, "web", "08", "CERT 08\n");
  g_clear_pointer (&list, g_strfreev);
  list = hale_backup_list (f->backup_obj, "web");
  g_assert_cmpuint (g_strv_length (list), ==, 3);
  g_assert_cmpstr (list[0], ==, "08");
  g_assert_cmpstr (list[1], ==, "07");
  g_assert_cmpstr (list[2], ==, "06");

  /* api has no KeyPath: certificates alone. */
  store (f->backup_obj, "api", "aa", "CERT aa\n");
  g_assert_cmpfloat (files_count (f, "api"), ==, 1);
}

static void
test_persisted (Fixture *f, gconstpointer data)
{
  g_autoptr (HaleBackup) again = NULL;
  g_auto (GStrv) list = NULL;

  configure (f, "[Certificate web]\nPath=@CERTS@/web.pem\n");
  store (f->backup_obj, "web", "0a", "CERT 0a\n");
  store (f->backup_obj, "web", "0b", "CERT 0b\n");
  hale_backup_set_good (f->backup_obj, "web", "0b");

  /* The "good" file is written in a worker: wait until it is there. */
  for (int i = 0; i < 200; i++)
    {
      g_autofree char *good = g_build_filename (f->backup, "web", "good", NULL);
      g_autofree char *contents = NULL;
      if (g_file_get_contents (good, &contents, NULL, NULL) && g_str_equal (contents, "0b\n"))
        break;
      g_usleep (10 * 1000);
    }

  again = hale_backup_new (f->metrics, f->backup);
  backup_configure (f, again);
  list = hale_backup_list (again, "web");
  g_assert_cmpuint (g_strv_length (list), ==, 2);
  g_assert_cmpstr (list[0], ==, "0b");
  g_assert_cmpstr (list[1], ==, "0a");
  g_assert_cmpstr (hale_backup_get_good (again, "web"), ==, "0b");
  g_assert_true (hale_backup_has (again, "web", "0a"));
  g_assert_false (hale_backup_has (again, "web", "0c"));
}

static void
test_restore (Fixture *f, gconstpointer data)
{
  g_autofree char *cert = g_build_filename (f->certs, "web.pem", NULL);
  g_autofree char *key = g_build_filename (f->certs, "web.key", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;

  configure (f, two_certs);
  g_assert_true (g_file_set_contents (cert, "CERT old\n", -1, NULL));
  g_assert_true (g_file_set_contents (key, "KEY old\n", -1, NULL));
  store (f->backup_obj, "web", "01", "CERT old\n");

  /* Renewed, with modes of the operator's choosing. */
  g_assert_true (g_file_set_contents (cert, "CERT new\n", -1, NULL));
  g_assert_true (g_file_set_contents (key, "KEY new\n", -1, NULL));
  g_assert_cmpint (g_chmod (cert, 0640), ==, 0);
  g_assert_cmpint (g_chmod (key, 0400), ==, 0);
  store (f->backup_obj, "web", "02", "CERT new\n");

  restore (f->backup_obj, "web", "01", &error);
  g_assert_no_error (error);
  contents = read_file (cert);
  g_assert_cmpstr (contents, ==, "CERT old\n");
  g_clear_pointer (&contents, g_free);
  contents = read_file (key);
  g_assert_cmpstr (contents, ==, "KEY old\n");
  g_assert_cmpuint (file_mode (cert), ==, 0640);
  g_assert_cmpuint (file_mode (key), ==, 0400);

  /* Nothing is lost: both serials are still kept. */
  g_assert_true (hale_backup_has (f->backup_obj, "web", "01"));
  g_assert_true (hale_backup_has (f->backup_obj, "web", "02"));

  /* And no temporary file is left next to the certificate. */
  {
    g_autoptr (GDir) dir = g_dir_open (f->certs, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_false (g_str_has_prefix (name, "."));
  }

  restore (f->backup_obj, "web", "99", &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

/* certbot's live/NAME/cert.pem is a link into archive/: the link stays,
 * its target gets the old bytes back. */
static void
test_restore_symlink (Fixture *f, gconstpointer data)
{
  g_autofree char *cert = g_build_filename (f->certs, "web.pem", NULL);
  g_autofree char *archive = g_build_filename (f->certs, "archive", NULL);
  g_autofree char *target = g_build_filename (archive, "cert2.pem", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  struct stat st;

  configure (f, "[Certificate web]\nPath=@CERTS@/web.pem\n");
  store (f->backup_obj, "web", "01", "CERT one\n");
  g_assert_cmpint (g_mkdir (archive, 0755), ==, 0);
  g_assert_true (g_file_set_contents (target, "CERT two\n", -1, NULL));
  g_assert_cmpint (symlink ("archive/cert2.pem", cert), ==, 0);
  store (f->backup_obj, "web", "02", "CERT two\n");

  restore (f->backup_obj, "web", "01", &error);
  g_assert_no_error (error);
  g_assert_cmpint (lstat (cert, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  contents = read_file (cert);
  g_assert_cmpstr (contents, ==, "CERT one\n");
}

static void
test_store_errors (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = g_bytes_new_static ("x", 1);
  Wait w = { 0 };
  Wait w2 = { 0 };

  configure (f, "[Certificate web]\nPath=@CERTS@/web.pem\n");
  hale_backup_store_async (f->backup_obj, "nope", "01", bytes, NULL, store_cb, &w);
  g_assert_true (hale_test_wait_for (&w.done, 5000));
  g_assert_error (w.error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&w.error);

  /* A serial is a file name here: nothing else may become one. */
  hale_backup_store_async (f->backup_obj, "web", "../../etc/passwd", bytes, NULL, store_cb, &w2);
  g_assert_true (hale_test_wait_for (&w2.done, 5000));
  g_assert_error (w2.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&w2.error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/backup/config/keys", test_config_keys);
  ADD ("/backup/config/errors", test_config_errors);
  ADD ("/backup/store-and-prune", test_store_and_prune);
  ADD ("/backup/persisted", test_persisted);
  ADD ("/backup/restore", test_restore);
  ADD ("/backup/restore-symlink", test_restore_symlink);
  ADD ("/backup/store-errors", test_store_errors);
#undef ADD
  return g_test_run ();
}
