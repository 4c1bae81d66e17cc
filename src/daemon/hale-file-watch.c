/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-file-watch.c: a few files, watched through their directories. */
#include "config.h"

#include "hale-file-watch.h"

/* Long enough for a tool to write a certificate and then its key, short
 * enough that a scrape right after a renewal sees the new one. */
#define SETTLE_MS 200

struct _HaleFileWatch
{
  GPtrArray *monitors; /* GFileMonitor */
  GStrv basenames;     /* of the files, matched against events */
  HaleFileWatchFunc func;
  gpointer user_data;
  guint settle_id;
};

static gboolean
settled_cb (gpointer data)
{
  HaleFileWatch *watch = data;

  watch->settle_id = 0;
  watch->func (watch->user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
is_watched (HaleFileWatch *watch, GFile *file)
{
  g_autofree char *name = file != NULL ? g_file_get_basename (file) : NULL;

  return name != NULL && g_strv_contains ((const char *const *)watch->basenames, name);
}

static void
changed_cb (GFileMonitor *monitor, GFile *file, GFile *other_file, GFileMonitorEvent event,
            gpointer data)
{
  HaleFileWatch *watch = data;

  switch (event)
    {
      case G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT:
      case G_FILE_MONITOR_EVENT_CREATED:
      case G_FILE_MONITOR_EVENT_DELETED:
      case G_FILE_MONITOR_EVENT_RENAMED:
      case G_FILE_MONITOR_EVENT_MOVED_IN:
      case G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED:
        break;
      default:
        return; /* CHANGED comes in bursts; CHANGES_DONE_HINT follows */
    }
  if (!is_watched (watch, file) && !is_watched (watch, other_file))
    return;
  if (watch->settle_id != 0)
    g_source_remove (watch->settle_id);
  watch->settle_id = g_timeout_add (SETTLE_MS, settled_cb, watch);
}

HaleFileWatch *
hale_file_watch_new (const char *const *paths, HaleFileWatchFunc func, gpointer user_data)
{
  HaleFileWatch *watch = g_new0 (HaleFileWatch, 1);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  g_autoptr (GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (paths != NULL && func != NULL, NULL);

  watch->func = func;
  watch->user_data = user_data;
  watch->monitors = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; paths[i] != NULL; i++)
    {
      char *dir = g_path_get_dirname (paths[i]);
      g_ptr_array_add (names, g_path_get_basename (paths[i]));
      if (g_ptr_array_find_with_equal_func (dirs, dir, g_str_equal, NULL))
        g_free (dir);
      else
        g_ptr_array_add (dirs, dir);
    }
  g_ptr_array_add (names, NULL);
  watch->basenames = (GStrv)g_ptr_array_steal (names, NULL);

  for (guint i = 0; i < dirs->len; i++)
    {
      g_autoptr (GFile) dir = g_file_new_for_path (g_ptr_array_index (dirs, i));
      g_autoptr (GError) error = NULL;
      GFileMonitor *monitor
          = g_file_monitor_directory (dir, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);

      if (monitor == NULL)
        {
          g_message ("cannot watch %s (changes are read on reload only): %s",
                     (const char *)g_ptr_array_index (dirs, i), error->message);
          continue;
        }
      g_signal_connect (monitor, "changed", G_CALLBACK (changed_cb), watch);
      g_ptr_array_add (watch->monitors, monitor);
    }
  return watch;
}

void
hale_file_watch_free (HaleFileWatch *watch)
{
  if (watch == NULL)
    return;
  for (guint i = 0; i < watch->monitors->len; i++)
    {
      GFileMonitor *monitor = g_ptr_array_index (watch->monitors, i);
      g_signal_handlers_disconnect_by_data (monitor, watch);
      g_file_monitor_cancel (monitor);
    }
  g_ptr_array_unref (watch->monitors);
  g_clear_handle_id (&watch->settle_id, g_source_remove);
  g_strfreev (watch->basenames);
  g_free (watch);
}
