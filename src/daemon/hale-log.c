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

/* syslog(3) priorities, as GLib maps its levels for the journal. */
static const char *
level_to_priority (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "3";
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    return "4";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "5";
  if (level & G_LOG_LEVEL_INFO)
    return "6";
  return "7";
}

void
hale_log_event (GLogLevelFlags level, const char *message_id, const char *event,
                const char *message, ...)
{
  GLogField fields[MAX_FIELDS];
  gsize n = 0;
  va_list args;
  const char *key;

  fields[n++] = (GLogField){ "PRIORITY", level_to_priority (level), -1 };
  fields[n++] = (GLogField){ "GLIB_DOMAIN", G_LOG_DOMAIN, -1 };
  fields[n++] = (GLogField){ "MESSAGE", message, -1 };
  fields[n++] = (GLogField){ "MESSAGE_ID", message_id, -1 };
  fields[n++] = (GLogField){ HALE_FIELD_EVENT, event, -1 };

  va_start (args, message);
  while ((key = va_arg (args, const char *)) != NULL && n < MAX_FIELDS - 2)
    {
      const char *value = va_arg (args, const char *);
      fields[n++] = (GLogField){ key, value ? value : "", -1 };
    }
  va_end (args);

  g_log_structured_array (level, fields, n);
}
