/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-aggregate-state: the aggregate's state file (aggregate.ini).
 *
 * The file is haled's own, but it sits on disk where a crash, a full
 * disk or an operator's editor can leave anything in it. Each input is
 * written as the file and haled starts on it; then one change makes
 * haled write the file back, and that file must read back whole (a
 * file haled writes and then sets aside as broken would lose every
 * acknowledgement at the next start). */
#include "fuzz-common.h"
#include "hale-aggregate-report.h"
#include "hale-aggregate.h"
#include "hale-checks.h"
#include "hale-config.h"
#include "hale-metrics.h"
#include "hale-state.h"

#include <glib/gstdio.h>
#include <string.h>

static HaleConfig *config;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  static const char text[] = "[Check api]\nKind=push\nTTL=1h\n"
                             "[Check db]\nKind=push\nTTL=1h\n"
                             "[Category core]\nChecks=api,db\nSticky=yes\n"
                             "[Category db]\nChecks=db\n";
  g_autoptr (GBytes) bytes = g_bytes_new_static (text, sizeof text - 1);
  const char *names[] = { "hale.conf", NULL };
  g_autoptr (GError) error = NULL;

  config = hale_config_load_from_data (names, &bytes, &error);
  if (config == NULL)
    g_error ("%s", error->message);
  return 0;
}

static HaleAggregate *
start (HaleState *state, HaleChecks *checks, HaleMetrics *metrics)
{
  HaleAggregate *aggregate = hale_aggregate_new (state, checks, metrics, NULL, fuzz_tmpdir ());
  hale_aggregate_configure (aggregate, config);
  return aggregate;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = g_build_filename (fuzz_tmpdir (), HALE_STATE_AGGREGATE, NULL);
  g_autofree char *broken = g_strconcat (path, ".broken", NULL);
  g_autoptr (GError) error = NULL;
  HaleAggregateQuery query = { NULL, HALE_REFRESH_NONE, NULL };
  guint status = 0;

  if (!g_file_set_contents (path, (const char *)data, size, &error))
    g_error ("%s", error->message);
  (void)g_remove (broken);

  {
    g_autoptr (HaleState) state = hale_state_new ();
    g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
    g_autoptr (HaleChecks) checks = hale_checks_new (metrics);
    g_autoptr (HaleAggregate) aggregate = start (state, checks, metrics);
    g_autoptr (GPtrArray) listed = hale_aggregate_list_checks (aggregate, NULL);
    g_autoptr (GPtrArray) categories = hale_aggregate_list_categories (aggregate, NULL);
    g_autoptr (GBytes) json = hale_aggregate_report_json (aggregate, &query, &status);
    g_autoptr (GBytes) ft = hale_aggregate_report_ft (aggregate, &query);

    if (listed == NULL || categories == NULL || categories->len != 2)
      __builtin_trap ();
    if (json == NULL || ft == NULL || (status != 200 && status != 503))
      __builtin_trap ();
    /* A change is written back at once. */
    if (!hale_aggregate_acknowledge (aggregate, "api", "fuzz", NULL, &error))
      g_error ("%s", error->message);
    hale_aggregate_flush (aggregate);
  }
  (void)g_remove (broken);

  {
    g_autoptr (HaleState) state = hale_state_new ();
    g_autoptr (HaleMetrics) metrics = hale_metrics_new ("hale");
    g_autoptr (HaleChecks) checks = hale_checks_new (metrics);
    g_autoptr (HaleAggregate) aggregate = start (state, checks, metrics);

    if (g_file_test (broken, G_FILE_TEST_EXISTS)
        || hale_aggregate_count_acknowledged (aggregate) < 1)
      __builtin_trap ();
  }
  return 0;
}
