/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-check-push.c: the push kind of check.
 *
 * Something else reports (halectl report, the D-Bus method); the report
 * is the outcome. A one-shot timer fails the check TTL= after the last
 * report (or after the check was configured, before any report).
 */
#include "config.h"

#include "hale-check-answer.h"
#include "hale-check-kind.h"

#include <string.h>

#define REPORT_MESSAGE_MAX 1024

typedef struct
{
  HaleCheck parent;
  gint64 reported_mono; /* monotonic; 0: no report yet */
  gint64 reported_at;   /* real */
  char *reported_status;
  char *reported_message;
} PushCheck;

static void
push_arm (HaleCheck *c);

static GVariant *
push_details (HaleCheck *c)
{
  PushCheck *p = (PushCheck *)c;
  GVariantDict d;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "ttl_seconds", "d", (double)c->ttl / G_USEC_PER_SEC);
  g_variant_dict_insert (&d, "last_report_at", "x", p->reported_at / G_USEC_PER_SEC);
  if (p->reported_status != NULL)
    {
      g_variant_dict_insert (&d, "reported_status", "s", p->reported_status);
      g_variant_dict_insert (&d, "reported_message", "s", p->reported_message);
    }
  return g_variant_dict_end (&d);
}

/* The outcome of a push check now: its last report, or its expiry. */
static void
push_evaluate_ref (HaleCheck *c)
{
  PushCheck *p = (PushCheck *)c;
  gint64 now = g_get_monotonic_time ();
  gint64 since = p->reported_mono > 0 ? p->reported_mono : c->watch_start;

  if (now - since >= c->ttl)
    {
      g_autofree char *age = hale_check_format_span (now - since);
      g_autofree char *ttl = hale_check_format_span (c->ttl);
      g_autofree char *message
          = p->reported_mono > 0
                ? g_strdup_printf ("no report for %s (TTL %s)", age, ttl)
                : g_strdup_printf ("no report since the check started %s ago (TTL %s)", age, ttl);
      GVariantDict d;

      g_variant_dict_init (&d, push_details (c));
      g_variant_dict_insert (&d, "reason", "s", message);
      g_variant_dict_insert (&d, "expired", "b", TRUE);
      hale_check_finish (c, FALSE, 1, message, g_variant_dict_end (&d));
      return;
    }
  if (p->reported_status == NULL)
    return; /* pending: nothing to say before the first report or expiry */
  if (c->removed)
    return;
  {
    HaleCheckWord w = hale_check_word_parse (p->reported_status);
    const char *message = p->reported_message[0] != '\0' ? p->reported_message : NULL;
    g_autofree char *text = message != NULL ? g_strdup (message)
                                            : g_strdup_printf ("reported %s", p->reported_status);
    hale_check_finish (c, w == HALE_CHECK_WORD_PASS, w == HALE_CHECK_WORD_WARN ? 2 : 1, text,
                       push_details (c));
  }
  /* A handler of "outcome" may have removed it. */
  if (!c->removed)
    push_arm (c);
}

static void
push_evaluate (HaleCheck *c)
{
  hale_check_ref (c);
  push_evaluate_ref (c);
  hale_check_unref (c);
}

static gboolean
push_expired (gpointer user_data)
{
  HaleCheck *c = user_data;

  g_clear_pointer (&c->timer, g_source_unref);
  push_evaluate (c);
  return G_SOURCE_REMOVE;
}

/* The one-shot timer at the end of the TTL. */
static void
push_arm (HaleCheck *c)
{
  PushCheck *p = (PushCheck *)c;
  gint64 since = p->reported_mono > 0 ? p->reported_mono : c->watch_start;
  gint64 left = since + c->ttl - g_get_monotonic_time ();

  hale_check_source_clear (&c->timer);
  if (left < 0)
    {
      /* Expired already: said so, unless a new TTL made it so now. */
      gboolean said = FALSE;
      if (c->last != NULL)
        g_variant_lookup (c->last->details, "expired", "b", &said);
      if (!said)
        hale_check_set_due (c);
      return;
    }
  c->timer = g_timeout_source_new ((guint)MIN (left / 1000 + 1, G_MAXUINT));
  g_source_set_callback (c->timer, push_expired, c, NULL);
  g_source_set_static_name (c->timer, "[hale] push check TTL");
  g_source_attach (c->timer, g_main_context_get_thread_default ());
}

static gboolean
push_report (HaleCheck *c, const char *status, const char *message, GError **error)
{
  PushCheck *p = (PushCheck *)c;
  g_autofree char *clean = NULL;

  if (!g_str_equal (status, "pass") && !g_str_equal (status, "warn")
      && !g_str_equal (status, "fail"))
    {
      g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_INVALID,
                   "the status must be pass, warn or fail");
      return FALSE;
    }
  if (message == NULL)
    message = "";
  if (strlen (message) > REPORT_MESSAGE_MAX)
    {
      g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_INVALID,
                   "the message is %" G_GSIZE_FORMAT " bytes long; at most %d are kept",
                   strlen (message), REPORT_MESSAGE_MAX);
      return FALSE;
    }
  if (!g_utf8_validate (message, -1, NULL))
    {
      g_set_error (error, HALE_CHECKS_ERROR, HALE_CHECKS_ERROR_INVALID, "the message is not UTF-8");
      return FALSE;
    }
  /* One line: a multi-line message from a script is folded. */
  clean = hale_check_text_clean (message, REPORT_MESSAGE_MAX);

  g_free (p->reported_status);
  p->reported_status = g_strdup (status);
  g_free (p->reported_message);
  p->reported_message = g_steal_pointer (&clean);
  p->reported_mono = g_get_monotonic_time ();
  p->reported_at = g_get_real_time ();
  push_evaluate (c);
  return TRUE;
}

static void
push_run (HaleCheck *c, gboolean event)
{
  push_evaluate (c);
}

static void
push_finalize (HaleCheck *c)
{
  PushCheck *p = (PushCheck *)c;

  g_free (p->reported_status);
  g_free (p->reported_message);
}

const HaleCheckClass hale_check_push_class = {
  .kind = HALE_CHECK_KIND_PUSH,
  .name = "push",
  .instance_size = sizeof (PushCheck),
  .runs = FALSE,
  .run = push_run,
  .arm = push_arm,
  .report = push_report,
  .finalize = push_finalize,
};
