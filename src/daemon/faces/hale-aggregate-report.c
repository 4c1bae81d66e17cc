/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-aggregate-report.c: the aggregate report in its four shapes.
 *
 * Every shape is rendered per request from a snapshot: the aggregate
 * holds a few dozen checks at most, and rendering them is microseconds
 * of work, far below what a cache keyed by filters and Accept headers
 * would save. Nothing here blocks or touches the disk.
 *
 * Only the HTML view is translated, and only its own words (headings,
 * labels, "3 min ago"), in haled's locale (docs/translations.md): the
 * JSON shapes, status words, check names and the messages checks give
 * are what scripts match, and stay as they are.
 */
#include "config.h"

#include "hale-aggregate-report.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "hale-names.h"
#include "hale-units.h"

#define PANIC_GUIDE "https://github.com/hale/hale/blob/main/docs/checks.md"

static char *
format_rfc3339 (gint64 usec)
{
  return usec > 0 ? hale_rfc3339_format (usec / G_USEC_PER_SEC) : NULL;
}

static void
add_time (JsonBuilder *b, const char *member, gint64 usec)
{
  g_autofree char *text = format_rfc3339 (usec);

  json_builder_set_member_name (b, member);
  if (text != NULL)
    json_builder_add_string_value (b, text);
  else
    json_builder_add_null_value (b);
}

static gint64
duration_ms (gint64 usec)
{
  return (MAX (usec, 0) + 500) / 1000;
}

/* What a check counts for its selection, by the model's rule; not yet
 * run: nothing. */
static HaleStatus
check_counts (const HaleAggregateCheck *check)
{
  if (check->outcome == NULL)
    return HALE_STATUS_HEALTHY;
  return hale_status_of_check (check->outcome->status, check->ack != NULL);
}

static void
worse (HaleStatus *status, char **reason, HaleStatus candidate, char *why)
{
  g_autofree char *owned = why;

  if (candidate <= *status)
    return;
  *status = candidate;
  g_free (*reason);
  *reason = g_steal_pointer (&owned);
}

HaleStatus
hale_aggregate_report_status (HaleAggregate *aggregate, const char *const *categories,
                              char **out_reason)
{
  g_autoptr (GPtrArray) checks = hale_aggregate_list_checks (aggregate, categories);
  g_autoptr (GPtrArray) cats = hale_aggregate_list_categories (aggregate, categories);
  HaleStatus status = HALE_STATUS_HEALTHY;
  g_autofree char *reason = NULL;

  /* Disabled categories first: that is a decision, the likeliest answer
   * to "why is this host out of service?". */
  for (guint i = 0; i < cats->len; i++)
    {
      const HaleAggregateCategory *c = g_ptr_array_index (cats, i);
      if (!c->enabled)
        worse (&status, &reason, HALE_STATUS_UNHEALTHY,
               g_strdup_printf ("category %s is disabled (%s)", c->name, c->disabled_reason));
    }
  for (guint i = 0; i < checks->len; i++)
    {
      const HaleAggregateCheck *check = g_ptr_array_index (checks, i);
      HaleStatus s = check_counts (check);
      if (s != HALE_STATUS_HEALTHY)
        worse (&status, &reason, s,
               g_strdup_printf ("check %s: %s", check->name, check->outcome->message));
    }
  if (categories == NULL)
    {
      g_autoptr (GPtrArray) services = hale_state_list_checks (hale_aggregate_get_state (aggregate),
                                                               HALE_CHECK_PREFIX_SERVICE);
      for (guint i = 0; i < services->len; i++)
        {
          const HaleCheckResult *r = g_ptr_array_index (services, i);
          HaleStatus s = hale_status_of_check (r->status, r->acknowledged);
          if (s == HALE_STATUS_HEALTHY)
            continue;
          worse (&status, &reason, s,
                 g_strdup_printf ("service %s: %s", r->name + strlen (HALE_CHECK_PREFIX_SERVICE),
                                  r->message));
        }
    }
  if (out_reason != NULL)
    *out_reason = g_steal_pointer (&reason);
  return status;
}

static const char *
check_status_word (const HaleAggregateCheck *check)
{
  return check->outcome ? hale_check_status_to_string (check->outcome->status) : "unknown";
}

static void
add_details (JsonBuilder *b, GVariant *details)
{
  JsonNode *node = json_gvariant_serialize (details);

  json_builder_set_member_name (b, "details");
  json_builder_add_value (b, node);
}

static void
add_ack (JsonBuilder *b, const HaleAck *ack)
{
  json_builder_set_member_name (b, "acknowledged");
  if (ack == NULL)
    {
      json_builder_add_null_value (b);
      return;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, ack->message);
  json_builder_set_member_name (b, "author");
  json_builder_add_string_value (b, ack->author);
  json_builder_set_member_name (b, "uid");
  if (ack->uid >= 0)
    json_builder_add_int_value (b, ack->uid);
  else
    json_builder_add_null_value (b);
  add_time (b, "time", ack->time);
  json_builder_end_object (b);
}

static void
add_strv (JsonBuilder *b, const char *member, const char *const *strv)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    json_builder_add_string_value (b, strv[i]);
  json_builder_end_array (b);
}

static void
add_check (JsonBuilder *b, const HaleAggregateCheck *check)
{
  const HaleCheckOutcome *o = check->outcome;

  json_builder_set_member_name (b, check->name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, check_status_word (check));
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, o ? o->ok : FALSE);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, o ? o->message : "not run yet");
  if (o != NULL)
    {
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, hale_check_kind_to_string (o->kind));
      json_builder_set_member_name (b, "severity");
      json_builder_add_int_value (b, o->severity);
      add_details (b, o->details);
      add_time (b, "checked_at", o->checked_at);
      json_builder_set_member_name (b, "duration_ms");
      json_builder_add_int_value (b, duration_ms (o->duration));
      json_builder_set_member_name (b, "qos");
      json_builder_add_double_value (b, isfinite (o->qos) ? o->qos : 0);
    }
  json_builder_set_member_name (b, "stale");
  json_builder_add_boolean_value (b, check->stale);
  add_strv (b, "categories", (const char *const *)check->categories);
  add_ack (b, check->ack);
  json_builder_end_object (b);
}

static void
add_category (JsonBuilder *b, const HaleAggregateCategory *c)
{
  json_builder_set_member_name (b, c->name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, hale_status_to_string (c->status));
  json_builder_set_member_name (b, "enabled");
  json_builder_add_boolean_value (b, c->enabled);
  json_builder_set_member_name (b, "sticky");
  json_builder_add_boolean_value (b, c->sticky);
  add_strv (b, "checks", (const char *const *)c->checks);
  json_builder_set_member_name (b, "refresh_rate_seconds");
  json_builder_add_int_value (b, c->refresh_rate / G_USEC_PER_SEC);
  if (!c->enabled)
    {
      json_builder_set_member_name (b, "disabled_reason");
      json_builder_add_string_value (b, c->disabled_reason);
      add_time (b, "disabled_at", c->disabled_at);
    }
  json_builder_end_object (b);
}

static const char *
refresh_word (HaleRefresh refresh)
{
  switch (refresh)
    {
      case HALE_REFRESH_NONE:
        return "none";
      case HALE_REFRESH_STARTED:
        return "started";
      case HALE_REFRESH_FRESH:
        return "fresh";
      case HALE_REFRESH_TIMED_OUT:
        return "timed_out";
    }
  return "none";
}

static GBytes *
to_bytes (JsonBuilder *b)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  GString *text = g_string_new (NULL);

  json_generator_set_root (generator, root);
  json_generator_to_gstring (generator, text);
  g_string_append_c (text, '\n');
  return g_string_free_to_bytes (text);
}

GBytes *
hale_aggregate_report_json (HaleAggregate *aggregate, const HaleAggregateQuery *query,
                            guint *out_http_status)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GPtrArray) checks = hale_aggregate_list_checks (aggregate, query->categories);
  g_autoptr (GPtrArray) cats = hale_aggregate_list_categories (aggregate, query->categories);
  g_autofree char *reason = NULL;
  HaleStatus status = hale_aggregate_report_status (aggregate, query->categories, &reason);
  guint acknowledged = 0;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, hale_status_to_string (status));
  if (reason != NULL)
    {
      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, reason);
    }

  /* The reloaded services are no category's: a filtered report leaves
   * them out. */
  json_builder_set_member_name (b, "services");
  json_builder_begin_object (b);
  if (query->categories == NULL)
    {
      g_autoptr (GPtrArray) services = hale_state_list_checks (hale_aggregate_get_state (aggregate),
                                                               HALE_CHECK_PREFIX_SERVICE);
      for (guint i = 0; i < services->len; i++)
        {
          const HaleCheckResult *r = g_ptr_array_index (services, i);
          json_builder_set_member_name (b, r->name + strlen (HALE_CHECK_PREFIX_SERVICE));
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "status");
          json_builder_add_string_value (b, hale_check_status_to_string (r->status));
          json_builder_set_member_name (b, "message");
          json_builder_add_string_value (b, r->message);
          add_details (b, r->details);
          add_time (b, "checked_at", r->checked_at);
          json_builder_set_member_name (b, "duration_ms");
          json_builder_add_int_value (b, duration_ms (r->duration));
          json_builder_end_object (b);
        }
    }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "checks");
  json_builder_begin_object (b);
  for (guint i = 0; i < checks->len; i++)
    {
      const HaleAggregateCheck *check = g_ptr_array_index (checks, i);
      add_check (b, check);
      if (check->ack != NULL)
        acknowledged++;
    }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "categories");
  json_builder_begin_object (b);
  for (guint i = 0; i < cats->len; i++)
    add_category (b, g_ptr_array_index (cats, i));
  json_builder_end_object (b);

  json_builder_set_member_name (b, "acknowledged");
  json_builder_add_int_value (b, acknowledged);

  json_builder_set_member_name (b, "cache");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "refresh");
  json_builder_add_string_value (b, refresh_word (query->refresh));
  if (query->refresh_message != NULL)
    {
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, query->refresh_message);
    }
  json_builder_end_object (b);

  add_time (b, "timestamp", g_get_real_time ());
  json_builder_end_object (b);

  if (out_http_status != NULL)
    *out_http_status = status == HALE_STATUS_UNHEALTHY ? 503 : 200;
  return to_bytes (b);
}

/* ---- FT __health ----------------------------------------------------- */

static void
add_ft_check (JsonBuilder *b, const char *id, const char *name, gboolean ok, guint severity,
              const char *impact, const char *summary, const char *output, gint64 updated,
              const HaleAck *ack)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, ok);
  json_builder_set_member_name (b, "severity");
  json_builder_add_int_value (b, CLAMP (severity, 1, 3));
  json_builder_set_member_name (b, "businessImpact");
  json_builder_add_string_value (b, impact);
  json_builder_set_member_name (b, "technicalSummary");
  json_builder_add_string_value (b, summary);
  json_builder_set_member_name (b, "panicGuide");
  json_builder_add_string_value (b, PANIC_GUIDE);
  json_builder_set_member_name (b, "checkOutput");
  json_builder_add_string_value (b, output);
  add_time (b, "lastUpdated", updated);
  if (ack != NULL)
    {
      g_autofree char *text = g_strdup_printf ("%s (%s)", ack->message, ack->author);
      json_builder_set_member_name (b, "ack");
      json_builder_add_string_value (b, text);
    }
  json_builder_end_object (b);
}

GBytes *
hale_aggregate_report_ft (HaleAggregate *aggregate, const HaleAggregateQuery *query)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GPtrArray) checks = hale_aggregate_list_checks (aggregate, query->categories);
  g_autoptr (GPtrArray) cats = hale_aggregate_list_categories (aggregate, query->categories);
  HaleStatus status = hale_aggregate_report_status (aggregate, query->categories, NULL);
  g_autofree char *description = g_strdup_printf (
      "The health of the services on %s, as haled checks them", g_get_host_name ());

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "schemaVersion");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "systemCode");
  json_builder_add_string_value (b, "hale");
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, HALE_DAEMON_NAME);
  json_builder_set_member_name (b, "description");
  json_builder_add_string_value (b, description);
  json_builder_set_member_name (b, "checks");
  json_builder_begin_array (b);

  for (guint i = 0; i < cats->len; i++)
    {
      const HaleAggregateCategory *c = g_ptr_array_index (cats, i);
      g_autofree char *id = NULL;
      g_autofree char *impact = NULL;

      if (c->enabled)
        continue;
      id = g_strconcat (HALE_CHECK_PREFIX_CATEGORY, c->name, NULL);
      impact = g_strdup_printf ("The services of category %s are out of service on this host",
                                c->name);
      add_ft_check (b, id, id, FALSE, 1, impact,
                    c->sticky ? "A sticky category disables itself on a failure and stays down "
                                "until enabled (halectl categories enable NAME)"
                              : "The category was disabled (halectl categories enable NAME)",
                    c->disabled_reason, c->disabled_at, NULL);
    }
  for (guint i = 0; i < checks->len; i++)
    {
      const HaleAggregateCheck *check = g_ptr_array_index (checks, i);
      const HaleCheckOutcome *o = check->outcome;
      g_autofree char *impact = NULL;
      g_autofree char *summary = NULL;
      g_autofree char *cats_text = g_strjoinv (", ", check->categories);

      impact = cats_text[0] != '\0'
                   ? g_strdup_printf ("Services of category %s may not work", cats_text)
                   : g_strdup_printf ("Service checked by %s may not work", check->name);
      summary = g_strdup_printf ("%s check [Check %s] of haled",
                                 o ? hale_check_kind_to_string (o->kind) : "a", check->name);
      add_ft_check (b, check->name, check->name, o ? o->ok : FALSE, o ? o->severity : 2, impact,
                    summary, o ? o->message : "not run yet", o ? o->checked_at : 0, check->ack);
    }
  if (query->categories == NULL)
    {
      g_autoptr (GPtrArray) services = hale_state_list_checks (hale_aggregate_get_state (aggregate),
                                                               HALE_CHECK_PREFIX_SERVICE);
      for (guint i = 0; i < services->len; i++)
        {
          const HaleCheckResult *r = g_ptr_array_index (services, i);
          add_ft_check (b, r->name, r->name, r->status == HALE_CHECK_HEALTHY,
                        r->status == HALE_CHECK_CRITICAL ? 1 : 2,
                        "A service that serves with this host's TLS certificates",
                        "Health of a [Service] haled reloads", r->message, r->checked_at, NULL);
        }
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, status == HALE_STATUS_HEALTHY);
  json_builder_end_object (b);
  return to_bytes (b);
}

/* ---- FT __pods-health -------------------------------------------------- */

/* One pod: an instance of the check's group, or the check itself when
 * it has one URL. */
static void
add_pod (JsonBuilder *b, const char *service, const char *instance, const char *url, gboolean ok,
         guint severity, const char *output, gint64 updated)
{
  g_autofree char *impact
      = g_strdup_printf ("One instance of %s may not serve its part of the requests", service);
  g_autofree char *summary = g_strdup_printf ("%s, an instance of [Check %s]", url, service);

  add_ft_check (b, instance, instance, ok, severity, impact, summary, output, updated, NULL);
}

GBytes *
hale_aggregate_report_pods (HaleAggregate *aggregate, const char *service)
{
  HaleChecks *checks = hale_aggregate_get_checks (aggregate);
  g_auto (GStrv) names = hale_checks_list (checks);
  g_autoptr (HaleCheckOutcome) o = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GVariant) instances = NULL;
  g_autoptr (GVariant) url = NULL;
  g_autofree char *name = NULL;
  g_autofree char *description = NULL;
  gboolean ok = TRUE;
  guint severity = 3;

  if (!g_strv_contains ((const char *const *)names, service))
    return NULL;
  o = hale_checks_get_outcome (checks, service);
  name = g_strdup_printf ("%s on %s", service, g_get_host_name ());
  description
      = g_strdup_printf ("The instances of [Check %s], as its last run found them", service);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "schemaVersion");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "systemCode");
  json_builder_add_string_value (b, "hale");
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "description");
  json_builder_add_string_value (b, description);
  json_builder_set_member_name (b, "checks");
  json_builder_begin_array (b);
  if (o != NULL)
    {
      instances = g_variant_lookup_value (o->details, "instances", G_VARIANT_TYPE ("aa{sv}"));
      url = g_variant_lookup_value (o->details, "url", G_VARIANT_TYPE_STRING);
    }
  if (instances != NULL)
    for (gsize i = 0; i < g_variant_n_children (instances); i++)
      {
        g_autoptr (GVariant) d = g_variant_get_child_value (instances, i);
        const char *instance = "", *iurl = "", *message = "";
        gboolean iok = FALSE;
        guint isev = 1;

        g_variant_lookup (d, "instance", "&s", &instance);
        g_variant_lookup (d, "url", "&s", &iurl);
        g_variant_lookup (d, "message", "&s", &message);
        g_variant_lookup (d, "ok", "b", &iok);
        g_variant_lookup (d, "severity", "u", &isev);
        add_pod (b, service, instance, iurl, iok, isev, message, o->checked_at);
        if (!iok)
          {
            ok = FALSE;
            severity = MIN (severity, isev);
          }
      }
  else if (o != NULL && url != NULL)
    {
      /* One URL: the check is its only pod. */
      g_autofree char *instance
          = hale_check_instance_name (service, g_variant_get_string (url, NULL));
      add_pod (b, service, instance, g_variant_get_string (url, NULL), o->ok, o->severity,
               o->message, o->checked_at);
      ok = o->ok;
      severity = o->severity;
    }
  else
    ok = FALSE; /* not run yet, or not a check of instances */
  json_builder_end_array (b);
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, ok);
  if (!ok)
    {
      json_builder_set_member_name (b, "severity");
      json_builder_add_int_value (b, CLAMP (severity, 1, 3));
    }
  json_builder_end_object (b);
  return to_bytes (b);
}

/* ---- __gtg ------------------------------------------------------------ */

GBytes *
hale_aggregate_report_gtg (HaleAggregate *aggregate, const char *const *categories,
                           guint *out_http_status)
{
  g_autofree char *reason = NULL;
  HaleStatus status = hale_aggregate_report_status (aggregate, categories, &reason);
  char *text;

  /* Good to go unless unhealthy: a warning does not take the host out
   * of the load balancer. */
  if (status != HALE_STATUS_UNHEALTHY)
    {
      *out_http_status = 200;
      return g_bytes_new_static ("OK\n", 3);
    }
  *out_http_status = 503;
  text = g_strdup_printf ("%s\n", reason ? reason : "unhealthy");
  return g_bytes_new_take (text, strlen (text));
}

/* ---- HTML ------------------------------------------------------------- */

static const char html_style[]
    = "<style>\n"
      "body{font-family:system-ui,-apple-system,'Segoe UI',Cantarell,sans-serif;margin:0;"
      "background:#f6f7f9;color:#1d2430}\n"
      "header{padding:1.2em 2em;color:#fff}\n"
      "header h1{margin:0;font-size:1.6em}header p{margin:.3em 0 0}\n"
      ".healthy{background:#1f7a3d}.degraded{background:#b36b00}.unhealthy{background:#b3261e}"
      ".unknown{background:#5f6b7a}.warning{background:#b36b00}.critical{background:#b3261e}"
      ".acked{background:#5b4fa8}\n"
      "main{padding:1em 2em 3em}\n"
      "h2{font-size:1.15em;margin:1.6em 0 .5em}\n"
      "table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}\n"
      "th,td{text-align:left;padding:.45em .7em;border-bottom:1px solid #e3e6ea;"
      "vertical-align:top}\n"
      "th{background:#eef0f3;font-weight:600;font-size:.9em}\n"
      ".badge{display:inline-block;color:#fff;border-radius:3px;padding:.1em .5em;"
      "font-size:.85em;font-weight:600;text-transform:uppercase;letter-spacing:.03em}\n"
      ".ack{margin-top:.3em;padding:.3em .5em;border-left:3px solid #5b4fa8;background:#f1effa}\n"
      ".muted{color:#5f6b7a;font-size:.9em}\n"
      "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
      "#checks td:last-child,#services td:last-child{white-space:nowrap}\n"
      "span[title]{text-decoration:underline dotted #9aa3ae}\n"
      "footer{padding:0 2em 2em;color:#5f6b7a;font-size:.85em}\n"
      "</style>\n";

static void
append_escaped (GString *html, const char *text)
{
  g_autofree char *escaped = g_markup_escape_text (text ? text : "", -1);
  g_string_append (html, escaped);
}

static void
append_badge (GString *html, const char *word, const char *css)
{
  g_string_append_printf (html, "<span class=\"badge %s\">", css);
  append_escaped (html, word);
  g_string_append (html, "</span>");
}

/* Units are SI symbols in every language; "%.1f" follows LC_NUMERIC,
 * which haled keeps at "C" (haled.c). */
static char *
format_duration (gint64 usec)
{
  if (usec < G_USEC_PER_SEC)
    return g_strdup_printf ("%" G_GINT64_FORMAT " ms", duration_ms (usec));
  return g_strdup_printf ("%.1f s", (double)usec / G_USEC_PER_SEC);
}

/* "12 s ago", plain text. */
static char *
format_ago (gint64 usec, gint64 now)
{
  gint64 seconds = MAX (now - usec, 0) / G_USEC_PER_SEC;
  int n;

  if (usec <= 0)
    return g_strdup (_ ("never"));
  /* The first three bounds keep the number small: an int. */
  if (seconds < 120)
    return g_strdup_printf (_ ("%d s ago"), (int)seconds);
  if (seconds < 2 * 3600)
    return g_strdup_printf (_ ("%d min ago"), (int)(seconds / 60));
  if (seconds < 2 * 86400)
    return g_strdup_printf (_ ("%d h ago"), (int)(seconds / 3600));
  n = (int)MIN (seconds / 86400, G_MAXINT);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d day ago", "%d days ago", n), n);
}

/* @text with the exact time of @usec in a tooltip: markup, escaped. */
static char *
with_time_tooltip (const char *text, gint64 usec)
{
  g_autofree char *when = format_rfc3339 (usec);

  if (when == NULL)
    return g_markup_escape_text (text, -1);
  return g_markup_printf_escaped ("<span title=\"%s\">%s</span>", when, text);
}

/* "12 s ago", with the exact time in a tooltip: markup, escaped. */
static char *
format_age (gint64 usec, gint64 now)
{
  g_autofree char *ago = format_ago (usec, now);

  return with_time_tooltip (ago, usec);
}

static void
append_ack (GString *html, const HaleAck *ack, gint64 now)
{
  g_autofree char *ago = format_ago (ack->time, now);
  /* TRANSLATORS: who acknowledged a failing check (an identity such as
   * "uid:1000") and when ("3 min ago"). */
  g_autofree char *by_text = g_strdup_printf (_ ("by %s, %s"), ack->author, ago);
  g_autofree char *by = with_time_tooltip (by_text, ack->time);

  g_string_append (html, "<div class=\"ack\">");
  /* TRANSLATORS: the HTML health view, before the message an operator
   * gave with an acknowledgement. */
  append_escaped (html, _ ("Acknowledged:"));
  g_string_append (html, " <q>");
  append_escaped (html, ack->message);
  g_string_append (html, "</q> <span class=\"muted\">");
  g_string_append (html, by);
  g_string_append (html, "</span></div>");
}

/* <th>LABEL</th> for each translated label. */
static void
append_headers (GString *html, const char *const *labels)
{
  g_string_append (html, "<tr>");
  for (guint i = 0; labels[i] != NULL; i++)
    {
      g_string_append (html, "<th>");
      append_escaped (html, _ (labels[i]));
      g_string_append (html, "</th>");
    }
  g_string_append (html, "</tr>\n");
}

static char *
heading (HaleStatus status)
{
  /* The status word itself stays in the page's colours (class=) and in
   * the reports scripts read; the heading is a sentence. */
  switch (status)
    {
      case HALE_STATUS_HEALTHY:
        /* TRANSLATORS: the heading of the HTML health view; %s is the host name. */
        return g_markup_printf_escaped (_ ("%s is healthy"), g_get_host_name ());
      case HALE_STATUS_DEGRADED:
        /* TRANSLATORS: the heading of the HTML health view; %s is the host name. */
        return g_markup_printf_escaped (_ ("%s is degraded"), g_get_host_name ());
      case HALE_STATUS_UNHEALTHY:
        break;
    }
  /* TRANSLATORS: the heading of the HTML health view; %s is the host name. */
  return g_markup_printf_escaped (_ ("%s is unhealthy"), g_get_host_name ());
}

static void
append_section_title (GString *html, const char *title)
{
  g_string_append (html, "<h2>");
  append_escaped (html, title);
  g_string_append (html, "</h2>\n");
}

GBytes *
hale_aggregate_report_html (HaleAggregate *aggregate, const HaleAggregateQuery *query,
                            HaleAggregateView view, guint *out_http_status)
{
  g_autoptr (GPtrArray) checks = hale_aggregate_list_checks (aggregate, query->categories);
  g_autoptr (GPtrArray) cats = hale_aggregate_list_categories (aggregate, query->categories);
  g_autofree char *reason = NULL;
  HaleStatus status = hale_aggregate_report_status (aggregate, query->categories, &reason);
  const char *word = hale_status_to_string (status);
  gint64 now = g_get_real_time ();
  g_autofree char *stamp = format_rfc3339 (now);
  g_autofree char *title = heading (status);
  GString *html = g_string_new (NULL);
  guint acknowledged = 0;

  g_string_append (html, "<!DOCTYPE html>\n<html lang=\"");
  /* TRANSLATORS: the language code of this translation (de, pt-BR), for
   * the HTML view's <html lang="">; "en" in English. */
  append_escaped (html, C_ ("html lang", "en"));
  g_string_append (html, "\"><head><meta charset=\"utf-8\">\n"
                         "<meta name=\"viewport\" content=\"width=device-width\">\n<title>");
  g_string_append (html, title);
  g_string_append (html, " — haled</title>\n");
  g_string_append (html, html_style);
  g_string_append (html, "</head>\n<body>\n");
  g_string_append_printf (html, "<header class=\"%s\" id=\"status\"><h1>", word);
  g_string_append (html, title);
  g_string_append (html, "</h1>");
  if (reason != NULL)
    {
      g_string_append (html, "<p id=\"reason\">");
      append_escaped (html, reason);
      g_string_append (html, "</p>");
    }
  if (query->categories != NULL)
    {
      g_autofree char *list = g_strjoinv (", ", (char **)query->categories);
      g_autofree char *line = NULL;

      /* TRANSLATORS: the HTML view filtered by ?categories=; %s lists them. */
      line = g_markup_printf_escaped (_ ("Categories: %s"), list);
      g_string_append_printf (html, "<p>%s</p>", line);
    }
  g_string_append (html, "</header>\n<main>\n");

  if (cats->len > 0)
    {
      static const char *const labels[]
          = { N_ ("Category"), N_ ("Status"), N_ ("Checks"), N_ ("Refresh"), N_ ("Notes"), NULL };

      append_section_title (html, _ ("Categories"));
      g_string_append (html, "<table id=\"categories\">");
      append_headers (html, labels);
      for (guint i = 0; i < cats->len; i++)
        {
          const HaleAggregateCategory *c = g_ptr_array_index (cats, i);
          g_autofree char *list = g_strjoinv (", ", c->checks);
          g_autofree char *refresh = hale_duration_format (c->refresh_rate);

          g_string_append (html, "<tr><td>");
          append_escaped (html, c->name);
          g_string_append (html, "</td><td>");
          append_badge (html, c->enabled ? hale_status_to_string (c->status) : "disabled",
                        hale_status_to_string (c->status));
          g_string_append (html, "</td><td>");
          append_escaped (html, list);
          g_string_append_printf (html, "</td><td class=\"num\">%s</td><td>", refresh);
          if (c->sticky)
            {
              /* TRANSLATORS: a note on a [Category] with Sticky=true: it
               * disables itself on a failure. */
              append_escaped (html, _ ("Sticky."));
              g_string_append_c (html, ' ');
            }
          if (!c->enabled)
            {
              g_autofree char *age = format_age (c->disabled_at, now);
              append_escaped (html, c->disabled_reason);
              g_string_append (html, " <span class=\"muted\">");
              g_string_append (html, age);
              g_string_append (html, "</span>");
            }
          g_string_append (html, "</td></tr>\n");
        }
      g_string_append (html, "</table>\n");
    }

  append_section_title (html, _ ("Checks"));
  if (checks->len == 0)
    {
      g_string_append (html, "<p class=\"muted\">");
      append_escaped (html, _ ("No [Check NAME] groups configured."));
      g_string_append (html, "</p>\n");
    }
  else
    {
      static const char *const labels[]
          = { N_ ("Check"),   N_ ("Status"), N_ ("Message"), N_ ("Duration"), N_ ("QoS"),
              N_ ("Checked"), NULL };

      g_string_append (html, "<table id=\"checks\">");
      append_headers (html, labels);
      for (guint i = 0; i < checks->len; i++)
        {
          const HaleAggregateCheck *check = g_ptr_array_index (checks, i);
          const HaleCheckOutcome *o = check->outcome;
          const char *status_word = check_status_word (check);

          if (check->ack != NULL)
            acknowledged++;
          g_string_append (html, "<tr class=\"check\"><td>");
          append_escaped (html, check->name);
          if (o != NULL)
            {
              g_string_append (html, "<div class=\"muted\">");
              append_escaped (html, hale_check_kind_to_string (o->kind));
              if (check->categories[0] != NULL)
                {
                  g_autofree char *list = g_strjoinv (", ", check->categories);
                  g_string_append (html, " · ");
                  append_escaped (html, list);
                }
              g_string_append (html, "</div>");
            }
          g_string_append (html, "</td><td>");
          if (check->ack != NULL && o != NULL && !o->ok)
            {
              g_autofree char *acked = g_strdup_printf ("%s · acked", status_word);
              append_badge (html, acked, "acked");
            }
          else
            append_badge (html, status_word, status_word);
          g_string_append (html, "</td><td>");
          append_escaped (html, o ? o->message : _ ("not run yet"));
          if (check->ack != NULL)
            append_ack (html, check->ack, now);
          g_string_append (html, "</td>");
          if (o != NULL)
            {
              g_autofree char *duration = format_duration (o->duration);
              g_autofree char *age = format_age (o->checked_at, now);
              g_string_append_printf (html,
                                      "<td class=\"num\">%s</td><td class=\"num\">%.0f%%</td>",
                                      duration, (isfinite (o->qos) ? o->qos : 0) * 100);
              g_string_append (html, "<td>");
              g_string_append (html, age);
              if (check->stale)
                {
                  g_string_append (html, " <span class=\"muted\">");
                  /* TRANSLATORS: a result older than its category's
                   * RefreshRate=; a fresh run has started. */
                  append_escaped (html, _ ("(stale)"));
                  g_string_append (html, "</span>");
                }
              g_string_append (html, "</td>");
            }
          else
            {
              g_string_append (html, "<td></td><td></td><td>");
              append_escaped (html, _ ("never"));
              g_string_append (html, "</td>");
            }
          g_string_append (html, "</tr>\n");
        }
      g_string_append (html, "</table>\n");
    }

  if (query->categories == NULL && view == HALE_AGGREGATE_VIEW_SERVICES)
    {
      g_autoptr (GPtrArray) services = hale_state_list_checks (hale_aggregate_get_state (aggregate),
                                                               HALE_CHECK_PREFIX_SERVICE);
      if (services->len > 0)
        {
          static const char *const labels[] = { N_ ("Service"),  N_ ("Status"),  N_ ("Message"),
                                                N_ ("Duration"), N_ ("Checked"), NULL };

          append_section_title (html, _ ("Reloaded services"));
          g_string_append (html, "<table id=\"services\">");
          append_headers (html, labels);
          for (guint i = 0; i < services->len; i++)
            {
              const HaleCheckResult *r = g_ptr_array_index (services, i);
              const char *s = hale_check_status_to_string (r->status);
              g_autofree char *duration = format_duration (r->duration);
              g_autofree char *age = format_age (r->checked_at, now);

              g_string_append (html, "<tr><td>");
              append_escaped (html, r->name + strlen (HALE_CHECK_PREFIX_SERVICE));
              g_string_append (html, "</td><td>");
              append_badge (html, s, s);
              g_string_append (html, "</td><td>");
              append_escaped (html, r->message);
              g_string_append_printf (html, "</td><td class=\"num\">%s</td><td>", duration);
              g_string_append (html, age);
              g_string_append (html, "</td></tr>\n");
            }
          g_string_append (html, "</table>\n");
        }
    }

  g_string_append (html, "</main>\n<footer>");
  {
    g_autofree char *count = g_strdup_printf (
        g_dngettext (GETTEXT_PACKAGE, "%u acknowledged", "%u acknowledged", acknowledged),
        acknowledged);
    /* TRANSLATORS: the HTML view's footer; the first %s is the time
     * (RFC 3339), the second haled's version. */
    g_autofree char *generated
        = g_strdup_printf (_ ("generated %s by haled %s"), stamp ? stamp : "", PACKAGE_VERSION);

    append_escaped (html, count);
    g_string_append (html, " · ");
    append_escaped (html, generated);
  }
  if (query->refresh == HALE_REFRESH_STARTED)
    {
      g_string_append (html, " · ");
      append_escaped (html, _ ("a fresh run started: reload the page for its results"));
    }
  else if (query->refresh == HALE_REFRESH_TIMED_OUT && query->refresh_message != NULL)
    {
      g_string_append (html, " · ");
      append_escaped (html, query->refresh_message);
    }
  {
    /* HealthPathPrefix= is plain characters (hale-config checks it). */
    const char *prefix = query->path_prefix ? query->path_prefix : "";
    g_string_append_printf (html,
                            " · <a href=\"/health/services\">services</a> · "
                            "<a href=\"%s/__health\">__health</a> · <a href=\"%s/__gtg\">__gtg</a>",
                            prefix, prefix);
  }
  g_string_append (html, "</footer>\n</body></html>\n");

  if (out_http_status != NULL)
    *out_http_status
        = view == HALE_AGGREGATE_VIEW_FT || status != HALE_STATUS_UNHEALTHY ? 200 : 503;
  return g_string_free_to_bytes (html);
}

static GBytes *
render_services (gpointer user_data, guint *out_http_status)
{
  HaleAggregateQuery query = { 0 };

  return hale_aggregate_report_json (HALE_AGGREGATE (user_data), &query, out_http_status);
}

void
hale_aggregate_report_install (HaleAggregate *aggregate, HaleReport *report)
{
  g_return_if_fail (HALE_IS_AGGREGATE (aggregate));
  g_return_if_fail (HALE_IS_REPORT (report));

  hale_report_set_renderer (report, HALE_REPORT_SERVICES, render_services, g_object_ref (aggregate),
                            g_object_unref);
}
