/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-log.c: haled's log lines, structured, to the journal or stderr. */
#include "config.h"

#include "hale-log.h"
#include "hale-names.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_FIELDS 32

static GLogWriterOutput
hale_log_writer (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields,
                 gpointer user_data)
{
  GLogField with_id[MAX_FIELDS];
  gsize n = MIN (n_fields, MAX_FIELDS - 1);
  const char *domain = NULL;

  /* The record's own domain (GLib-GIO, hale, ...), so that
   * G_MESSAGES_DEBUG names the domains it means. */
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "GLIB_DOMAIN") && fields[i].length < 0)
      domain = fields[i].value;
  if (g_log_writer_default_would_drop (log_level, domain))
    return G_LOG_WRITER_HANDLED;

  if (!g_log_writer_is_journald (fileno (stderr)))
    return g_log_writer_standard_streams (log_level, fields, n_fields, user_data);

  memcpy (with_id, fields, n * sizeof (GLogField));
  with_id[n].key = "SYSLOG_IDENTIFIER";
  with_id[n].value = HALE_SYSLOG_IDENTIFIER;
  with_id[n].length = -1;
  if (g_log_writer_journald (log_level, with_id, n + 1, user_data) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_standard_streams (log_level, fields, n_fields, user_data);
}

void
hale_log_init (void)
{
  g_log_set_writer_func (hale_log_writer, NULL, NULL);
}
