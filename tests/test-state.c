/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for the state model: what every face reads. */
#include "hale-state.h"

static HaleCheckResult *
make (const char *name, HaleCheckStatus status, const char *message)
{
  return hale_check_result_new (name, status, message, g_variant_new_parsed ("{'serial': <'0a'>}"),
                                g_get_real_time (), 5);
}

static void
count_signal (gpointer instance, const char *name, gpointer user_data)
{
  GPtrArray *seen = user_data;
  g_ptr_array_add (seen, g_strdup (name));
}

static void
count_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  guint *n = user_data;
  (*n)++;
}

static void
test_status_follows_worst_check (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  g_autoptr (HaleCheckResult) ok = make ("certificate:current", HALE_CHECK_HEALTHY, "fine");
  g_autoptr (HaleCheckResult) warn = make ("certificate:bootstrap", HALE_CHECK_WARNING, "soon");
  g_autoptr (HaleCheckResult) crit = make ("certificate:bootstrap", HALE_CHECK_CRITICAL, "gone");
  g_autofree char *status = NULL;

  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_HEALTHY);
  hale_state_set_check (state, ok);
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_HEALTHY);
  hale_state_set_check (state, warn);
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_DEGRADED);
  hale_state_set_check (state, crit);
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_UNHEALTHY);
  g_object_get (state, "status", &status, NULL);
  g_assert_cmpstr (status, ==, "unhealthy");

  hale_state_remove_check (state, "certificate:bootstrap");
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_HEALTHY);

  hale_state_set_degraded (state, TRUE);
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_DEGRADED);
  hale_state_set_degraded (state, FALSE);
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_HEALTHY);
}

/* The overall status is kept from counts, not by walking every check:
 * each replace and remove must move them right. */
static void
test_status_counts (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  char name[32];

  for (guint i = 0; i < 100; i++)
    {
      g_autoptr (HaleCheckResult) r = NULL;

      g_snprintf (name, sizeof name, "certificate:c%u", i);
      r = make (name, i % 10 == 0 ? HALE_CHECK_CRITICAL : HALE_CHECK_WARNING, "x");
      hale_state_set_check (state, r);
    }
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_UNHEALTHY);

  /* The same check twice counts once; every critical one turned healthy. */
  for (guint i = 0; i < 100; i += 10)
    for (guint again = 0; again < 2; again++)
      {
        g_autoptr (HaleCheckResult) r = NULL;

        g_snprintf (name, sizeof name, "certificate:c%u", i);
        r = make (name, HALE_CHECK_HEALTHY, "x");
        hale_state_set_check (state, r);
      }
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_DEGRADED);

  /* Removing all but one warning keeps it degraded, the last one heals. */
  for (guint i = 0; i < 100; i++)
    if (i % 10 != 0 && i != 55)
      {
        g_snprintf (name, sizeof name, "certificate:c%u", i);
        hale_state_remove_check (state, name);
        g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_DEGRADED);
      }
  hale_state_remove_check (state, "certificate:nonexistent");
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_DEGRADED);
  hale_state_remove_check (state, "certificate:c55");
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_HEALTHY);

  /* Degraded mode counts apart from the checks. */
  hale_state_set_degraded (state, TRUE);
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_DEGRADED);
  {
    g_autoptr (HaleCheckResult) crit = make ("certificate:c0", HALE_CHECK_CRITICAL, "gone");
    hale_state_set_check (state, crit);
  }
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_UNHEALTHY);
  hale_state_remove_check (state, "certificate:c0");
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_DEGRADED);
}

static void
test_signals_only_on_real_change (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (HaleCheckResult) a = make ("certificate:current", HALE_CHECK_HEALTHY, "fine");
  g_autoptr (HaleCheckResult) again = make ("certificate:current", HALE_CHECK_HEALTHY, "fine");
  g_autoptr (HaleCheckResult) other = make ("certificate:current", HALE_CHECK_HEALTHY, "other");
  guint notifies = 0;
  guint64 gen;

  g_signal_connect (state, "check-changed", G_CALLBACK (count_signal), seen);
  g_signal_connect (state, "notify::status", G_CALLBACK (count_notify), &notifies);

  hale_state_set_check (state, a);
  g_assert_cmpuint (seen->len, ==, 1);
  gen = hale_state_get_generation (state);

  /* A re-check that finds the same is not a change, but it is newer. */
  hale_state_set_check (state, again);
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_cmpuint (hale_state_get_generation (state), >, gen);
  {
    g_autoptr (HaleCheckResult) got = hale_state_get_check (state, "certificate:current");
    g_assert_true (got == again);
  }

  hale_state_set_check (state, other);
  g_assert_cmpuint (seen->len, ==, 2);
  g_assert_cmpuint (notifies, ==, 0);

  hale_state_remove_check (state, "certificate:current");
  g_assert_cmpuint (seen->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (seen, 2), ==, "certificate:current");
  hale_state_remove_check (state, "certificate:current");
  g_assert_cmpuint (seen->len, ==, 3);
}

static void
test_list_sorted_and_filtered (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  const char *names[] = { "service:nginx", "certificate:z", "certificate:a", "connectivity" };
  g_autoptr (GPtrArray) certs = NULL;
  g_autoptr (GPtrArray) all = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (HaleCheckResult) r = make (names[i], HALE_CHECK_HEALTHY, "ok");
      hale_state_set_check (state, r);
    }

  certs = hale_state_list_checks (state, "certificate:");
  g_assert_cmpuint (certs->len, ==, 2);
  g_assert_cmpstr (((HaleCheckResult *)certs->pdata[0])->name, ==, "certificate:a");
  g_assert_cmpstr (((HaleCheckResult *)certs->pdata[1])->name, ==, "certificate:z");
  all = hale_state_list_checks (state, NULL);
  g_assert_cmpuint (all->len, ==, 4);
  g_assert_null (hale_state_get_check (state, "nope"));
}

static void
test_result_defaults (void)
{
  g_autoptr (HaleCheckResult) r
      = hale_check_result_new ("x", HALE_CHECK_CRITICAL, NULL, NULL, 1, 2);

  g_assert_cmpstr (r->message, ==, "");
  g_assert_true (g_variant_is_of_type (r->details, G_VARIANT_TYPE_VARDICT));
  g_assert_cmpuint (g_variant_n_children (r->details), ==, 0);
  g_assert_cmpstr (hale_check_status_to_string (r->status), ==, "critical");
}

/* An acknowledged failure stays in the model, with its status, but the
 * overall status no longer counts it; the acknowledgement going away (or
 * a new failure elsewhere) counts again, and the flag is a change. */
static void
test_acknowledged_not_counted (void)
{
  g_autoptr (HaleState) state = hale_state_new ();
  g_autoptr (HaleCheckResult) crit = make ("check:api", HALE_CHECK_CRITICAL, "down");
  g_autoptr (HaleCheckResult) acked = make ("check:api", HALE_CHECK_CRITICAL, "down");
  g_autoptr (HaleCheckResult) warn = make ("check:db", HALE_CHECK_WARNING, "slow");
  g_autoptr (HaleCheckResult) shown = NULL;
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);

  g_assert_false (crit->acknowledged);
  acked->acknowledged = TRUE;
  g_signal_connect (state, "check-changed", G_CALLBACK (count_signal), seen);

  hale_state_set_check (state, crit);
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_UNHEALTHY);
  hale_state_set_check (state, acked);
  g_assert_cmpuint (seen->len, ==, 2);
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_HEALTHY);
  shown = hale_state_get_check (state, "check:api");
  g_assert_cmpint (shown->status, ==, HALE_CHECK_CRITICAL);
  g_assert_true (shown->acknowledged);

  hale_state_set_check (state, warn);
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_DEGRADED);
  hale_state_set_check (state, crit);
  g_assert_cmpint (hale_state_get_status (state), ==, HALE_STATUS_UNHEALTHY);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/state/status-follows-worst-check", test_status_follows_worst_check);
  g_test_add_func ("/state/signals-only-on-real-change", test_signals_only_on_real_change);
  g_test_add_func ("/state/status-counts", test_status_counts);
  g_test_add_func ("/state/list-sorted-and-filtered", test_list_sorted_and_filtered);
  g_test_add_func ("/state/result-defaults", test_result_defaults);
  g_test_add_func ("/state/acknowledged-not-counted", test_acknowledged_not_counted);
  return g_test_run ();
}
