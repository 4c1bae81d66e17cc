/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-check-outcome.c: what one run of a [Check] found. */
#include "config.h"

#include "hale-check-outcome.h"

typedef struct
{
  HaleCheckOutcome pub;
  gatomicrefcount ref;
} Outcome;

HaleCheckOutcome *
hale_check_outcome_new (const char *name, HaleCheckKind kind, gboolean ok, guint severity,
                        const char *message, GVariant *details)
{
  Outcome *o = g_new0 (Outcome, 1);
  HaleCheckOutcome *out = &o->pub;

  g_atomic_ref_count_init (&o->ref);
  out->name = g_strdup (name);
  out->kind = kind;
  out->ok = ok;
  out->severity = severity;
  out->status = ok ? HALE_CHECK_HEALTHY : severity == 1 ? HALE_CHECK_CRITICAL : HALE_CHECK_WARNING;
  out->message = g_strdup (message);
  out->details = g_variant_ref_sink (
      details != NULL ? details : g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  out->checked_at = g_get_real_time ();
  return out;
}

HaleCheckOutcome *
hale_check_outcome_ref (HaleCheckOutcome *outcome)
{
  g_return_val_if_fail (outcome != NULL, NULL);
  g_atomic_ref_count_inc (&((Outcome *)outcome)->ref);
  return outcome;
}

void
hale_check_outcome_unref (HaleCheckOutcome *outcome)
{
  if (outcome == NULL || !g_atomic_ref_count_dec (&((Outcome *)outcome)->ref))
    return;
  g_free (outcome->name);
  g_free (outcome->message);
  g_variant_unref (outcome->details);
  g_free (outcome);
}

G_DEFINE_BOXED_TYPE (HaleCheckOutcome, hale_check_outcome, hale_check_outcome_ref,
                     hale_check_outcome_unref)
