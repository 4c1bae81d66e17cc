/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-common.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

static GLogWriterOutput
quiet_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    {
      g_log_writer_standard_streams (level, fields, n_fields, user_data);
      abort ();
    }
  return G_LOG_WRITER_HANDLED;
}

/* Before libFuzzer's main: linked whole into every harness. */
__attribute__ ((constructor)) static void
quiet_logs (void)
{
  g_log_set_writer_func (quiet_writer, NULL, NULL);
}

static char *tmpdir;

static void
remove_tmpdir (void)
{
  g_autoptr (GDir) dir = g_dir_open (tmpdir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmpdir, name, NULL);
      (void)g_remove (path);
    }
  (void)g_rmdir (tmpdir);
}

const char *
fuzz_tmpdir (void)
{
  if (tmpdir == NULL)
    {
      g_autoptr (GError) error = NULL;

      tmpdir = g_dir_make_tmp ("hale-fuzz-XXXXXX", &error);
      if (tmpdir == NULL)
        {
          fprintf (stderr, "fuzz: %s\n", error->message);
          abort ();
        }
      atexit (remove_tmpdir);
    }
  return tmpdir;
}

static gboolean
timed_out_cb (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

void
fuzz_iterate_until (const gboolean *done, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, timed_out_cb, &timed_out);

  while (!*done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!*done)
    {
      fprintf (stderr, "fuzz: no answer within %u ms\n", timeout_ms);
      abort ();
    }
  g_source_remove (id);
}
