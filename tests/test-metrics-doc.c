/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* docs/metrics.md against the registry: every family the modules register
 * is documented with its type, labels and unit, and every documented row
 * of those modules exists, so the page cannot drift from the code.
 *
 * The modules are built here as haled builds them (same constructors,
 * same registry). The daemon's own families (hale-daemon.c registers
 * them as it starts) are checked against a real haled's /metrics by
 * tests/integration/test_rotation.py instead; the test fails on a row
 * whose module is neither built here nor known to be checked there.
 */
#include "config.h"

#include "hale-aggregate.h"
#include "hale-audit.h"
#include "hale-authority.h"
#include "hale-cert-watch.h"
#include "hale-checks.h"
#include "hale-connectivity.h"
#include "hale-http.h"
#include "hale-metrics.h"
#include "hale-probe.h"
#include "hale-process.h"
#include "hale-reload.h"
#include "hale-report.h"
#include "hale-rotation.h"
#include "hale-state.h"

#include <glib/gstdio.h>
#include <string.h>

/* Modules whose rows this test cannot check (no constructor to call
 * without a running daemon) and which test says where they are checked. */
static const char *const checked_elsewhere[] = {
  "daemon", /* tests/integration/test_rotation.py: test_metrics_doc_matches_haled */
  NULL,
};

typedef struct
{
  char *type;
  char *labels; /* "a,b" or "" */
  char *unit;   /* "" when none */
  char *module;
} Row;

static void
row_free (Row *row)
{
  g_free (row->type);
  g_free (row->labels);
  g_free (row->unit);
  g_free (row->module);
  g_free (row);
}

static const char *const type_words[] = { "counter", "gauge", "histogram", "untyped" };

/* "`a`, `b`" or "—" -> "a,b" or "". */
static char *
cell_words (const char *cell)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_auto (GStrv) parts = g_strsplit (cell, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_autofree char *word = g_strdup (g_strstrip (parts[i]));
      gsize len = strlen (word);

      if (len >= 2 && word[0] == '`' && word[len - 1] == '`')
        {
          word[len - 1] = '\0';
          memmove (word, word + 1, len - 1);
        }
      if (word[0] == '\0' || g_str_equal (word, "—") || g_str_equal (word, "-"))
        continue;
      if (out->len > 0)
        g_string_append_c (out, ',');
      g_string_append (out, word);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The table rows of docs/metrics.md: | `name` | type | labels | unit |
 * module | meaning |. Names carry the default namespace (hale_) except
 * process_*, which keep their standard names. */
static GHashTable *
read_doc (void)
{
  const char *srcdir = g_getenv ("HALE_TEST_SRCDIR");
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  GHashTable *rows
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)row_free);

  g_assert_nonnull (srcdir);
  path = g_build_filename (srcdir, "..", "docs", "metrics.md", NULL);
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) cells = NULL;
      g_autofree char *name = NULL;
      Row *row;

      if (!g_str_has_prefix (lines[i], "| `"))
        continue;
      cells = g_strsplit (lines[i], "|", -1);
      /* "", name, type, labels, unit, module, meaning, "" */
      if (g_strv_length (cells) != 8)
        g_error ("docs/metrics.md:%u: want 6 cells (metric, type, labels, unit, module, "
                 "meaning): %s",
                 i + 1, lines[i]);
      name = cell_words (cells[1]);
      row = g_new0 (Row, 1);
      row->type = g_strdup (g_strstrip (cells[2]));
      row->labels = cell_words (cells[3]);
      row->unit = cell_words (cells[4]);
      row->module = g_strdup (g_strstrip (cells[5]));
      if (!g_hash_table_insert (rows, g_steal_pointer (&name), row))
        g_error ("docs/metrics.md:%u: documented twice: %s", i + 1, lines[i]);
    }
  return rows;
}

typedef struct
{
  GHashTable *doc;
  GHashTable *seen; /* documented names the registry has */
  GString *problems;
} Compare;

static void
compare_family (const char *name, HaleMetricType type, const char *unit,
                const char *const *label_names, HaleMetricFlags flags, gpointer user_data)
{
  Compare *c = user_data;
  g_autofree char *full
      = (flags & HALE_METRIC_NO_NAMESPACE) ? g_strdup (name) : g_strconcat ("hale_", name, NULL);
  g_autofree char *labels = g_strjoinv (",", (char **)label_names);
  const Row *row = g_hash_table_lookup (c->doc, full);

  if (row == NULL)
    {
      g_string_append_printf (c->problems, "\n  not in docs/metrics.md: | `%s` | %s | %s | %s |",
                              full, type_words[type], labels, unit ? unit : "-");
      return;
    }
  g_hash_table_add (c->seen, g_strdup (full));
  if (!g_str_equal (row->type, type_words[type]))
    g_string_append_printf (c->problems, "\n  %s: documented as %s, registered as %s", full,
                            row->type, type_words[type]);
  if (!g_str_equal (row->labels, labels))
    g_string_append_printf (c->problems, "\n  %s: documented labels \"%s\", registered \"%s\"",
                            full, row->labels, labels);
  if (!g_str_equal (row->unit, unit ? unit : ""))
    g_string_append_printf (c->problems, "\n  %s: documented unit \"%s\", registered \"%s\"", full,
                            row->unit, unit ? unit : "");
}

static void
test_doc_matches_registry (void)
{
  g_autoptr (GHashTable) doc = read_doc ();
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GString) problems = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("hale-test-metrics-doc-XXXXXX", &error);
  g_autoptr (HaleMetrics) metrics = hale_metrics_new (NULL);
  g_autoptr (HaleState) state = hale_state_new ();
  g_autoptr (HaleReport) report = hale_report_new (state);
  g_autoptr (HaleAudit) audit = NULL;
  g_autoptr (HaleProber) prober = hale_prober_new ();
  g_autoptr (HaleCertWatch) certs = NULL;
  g_autoptr (HaleConnectivity) connectivity = NULL;
  g_autoptr (HaleReload) reload = NULL;
  g_autoptr (HaleRotation) rotation = NULL;
  g_autoptr (HaleHttp) http = NULL;
  g_autoptr (HaleChecks) checks = NULL;
  g_autoptr (HaleAggregate) aggregate = NULL;
  g_autoptr (HaleAuthority) authority = hale_authority_new (HALE_AUTHORITY_USER);
  Compare c = { doc, seen, problems };
  GHashTableIter iter;
  gpointer key, value;

  g_assert_no_error (error);
  /* The order of haled's hale_daemon_start(). */
  audit = hale_audit_new (metrics);
  certs = hale_cert_watch_new (state, metrics, dir);
  connectivity = hale_connectivity_new (state, metrics, audit, prober);
  reload = hale_reload_new (state, metrics, audit, certs, prober, dir);
  rotation = hale_rotation_new (metrics, audit);
  checks = hale_checks_new (metrics);
  aggregate = hale_aggregate_new (state, checks, metrics, audit, dir);
  hale_authority_set_metrics (authority, metrics);
  http = hale_http_new (report, metrics);
  hale_process_collector_add (metrics);

  hale_metrics_foreach_family (metrics, compare_family, &c);

  g_hash_table_iter_init (&iter, doc);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const Row *row = value;

      if (g_hash_table_contains (seen, key) || g_strv_contains (checked_elsewhere, row->module))
        continue;
      g_string_append_printf (problems, "\n  documented (module %s) but not registered: %s",
                              row->module, (const char *)key);
    }
  if (problems->len > 0)
    g_error ("docs/metrics.md and the registry differ:%s", problems->str);
  /* The whole set, not an empty comparison. */
  g_assert_cmpuint (g_hash_table_size (seen), >=, 40);

  g_clear_object (&aggregate);
  g_clear_object (&checks);
  g_clear_object (&http);
  g_clear_object (&reload);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics-doc/matches-registry", test_doc_matches_registry);
  return g_test_run ();
}
