/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-check-outcome.h: what one run of a [Check] found.
 *
 * An outcome is immutable once emitted and reference counted, so the
 * aggregate and the faces can hold one while the check runs again.
 */
#pragma once

#include "hale-config.h"
#include "hale-state.h"

#include <glib-object.h>

G_BEGIN_DECLS

/* The latest outcome of one check, before any acknowledgement or
 * category applies. */
typedef struct
{
  char *name; /* the group name: "api" for [Check api] */
  HaleCheckKind kind;
  gboolean ok;            /* passed (a warn answer is ok = FALSE, severity 2) */
  guint severity;         /* of the check: 1 critical, 2 warning */
  HaleCheckStatus status; /* healthy when ok; else critical (severity 1) or warning */
  char *message;          /* one line: why, when not ok */
  GVariant *details;      /* a{sv}: kind-specific (format, http_status, checks, unit states,
                             blockers, ...), never NULL */
  gint64 checked_at;      /* g_get_real_time() */
  gint64 duration;        /* usec */
  double qos;             /* share of passed runs over the recent window, 0..1 */
} HaleCheckOutcome;

/* A new outcome of @name; @details NULL means an empty a{sv} (a floating
 * one is sunk). The status follows from @ok and @severity. */
HaleCheckOutcome *
hale_check_outcome_new (const char *name, HaleCheckKind kind, gboolean ok, guint severity,
                        const char *message, GVariant *details);

#define HALE_TYPE_CHECK_OUTCOME (hale_check_outcome_get_type ())
GType
hale_check_outcome_get_type (void);
HaleCheckOutcome *
hale_check_outcome_ref (HaleCheckOutcome *outcome);
void
hale_check_outcome_unref (HaleCheckOutcome *outcome);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HaleCheckOutcome, hale_check_outcome_unref)

G_END_DECLS
