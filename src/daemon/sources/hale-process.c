/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-process.c: process_* series sampled from /proc/self at scrape time. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib.h>

#include "hale-process.h"

typedef struct
{
  HaleMetricFamily *cpu;
  HaleMetricFamily *resident;
  HaleMetricFamily *virtual;
  HaleMetricFamily *start_time;
  HaleMetricFamily *open_fds;
  HaleMetricFamily *max_fds;
  double boot_time; /* seconds since the epoch; read once, 0 until then */
} ProcessFamilies;

#define FIELD(member) G_STRUCT_OFFSET (ProcessFamilies, member)

/* client_golang's names and help texts, which dashboards expect. */
static const HaleMetricDesc families[] = {
  { FIELD (cpu), HALE_METRIC_COUNTER, "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.", "seconds", NULL, NULL, 0,
    HALE_METRIC_NO_NAMESPACE },
  { FIELD (resident), HALE_METRIC_GAUGE, "process_resident_memory_bytes",
    "Resident memory size in bytes.", "bytes", NULL, NULL, 0, HALE_METRIC_NO_NAMESPACE },
  { FIELD (virtual), HALE_METRIC_GAUGE, "process_virtual_memory_bytes",
    "Virtual memory size in bytes.", "bytes", NULL, NULL, 0, HALE_METRIC_NO_NAMESPACE },
  { FIELD (start_time), HALE_METRIC_GAUGE, "process_start_time_seconds",
    "Start time of the process since unix epoch in seconds.", "seconds", NULL, NULL, 0,
    HALE_METRIC_NO_NAMESPACE },
  { FIELD (open_fds), HALE_METRIC_GAUGE, "process_open_fds", "Number of open file descriptors.",
    NULL, NULL, NULL, 0, HALE_METRIC_NO_NAMESPACE },
  { FIELD (max_fds), HALE_METRIC_GAUGE, "process_max_fds",
    "Maximum number of open file descriptors.", NULL, NULL, NULL, 0, HALE_METRIC_NO_NAMESPACE },
};

static double
boot_time (void)
{
  g_autofree char *stat = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/stat", &stat, NULL, NULL))
    return -1;
  line = strstr (stat, "\nbtime ");
  if (line == NULL)
    return -1;
  return g_ascii_strtod (line + strlen ("\nbtime "), NULL);
}

static void
collect_process (HaleMetrics *metrics, gpointer user_data)
{
  ProcessFamilies *f = user_data;
  g_autofree char *stat = NULL;
  g_autoptr (GDir) dir = NULL;
  struct rlimit rl;
  long ticks = sysconf (_SC_CLK_TCK);
  long page = sysconf (_SC_PAGESIZE);

  /* /proc/self/stat: the command may contain spaces and parentheses, so
   * fields are counted from the last ')'. Field 3 (state) follows it. */
  if (g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL))
    {
      const char *p = strrchr (stat, ')');
      g_auto (GStrv) fields = p != NULL ? g_strsplit (p + 2, " ", -1) : NULL;

      /* fields[0] is field 3; utime 14, stime 15, starttime 22, vsize
       * 23, rss 24. */
      if (fields != NULL && g_strv_length (fields) > 21 && ticks > 0)
        {
          double utime = g_ascii_strtod (fields[14 - 3], NULL);
          double stime = g_ascii_strtod (fields[15 - 3], NULL);
          double start = g_ascii_strtod (fields[22 - 3], NULL);
          double vsize = g_ascii_strtod (fields[23 - 3], NULL);
          double rss = g_ascii_strtod (fields[24 - 3], NULL);

          if (f->boot_time <= 0)
            f->boot_time = boot_time ();

          hale_metric_set (f->cpu, NULL, (utime + stime) / (double)ticks);
          hale_metric_set (f->virtual, NULL, vsize);
          hale_metric_set (f->resident, NULL, rss * (double)page);
          if (f->boot_time > 0)
            hale_metric_set (f->start_time, NULL, f->boot_time + start / (double)ticks);
        }
    }

  dir = g_dir_open ("/proc/self/fd", 0, NULL);
  if (dir != NULL)
    {
      guint n = 0;

      while (g_dir_read_name (dir) != NULL)
        n++;
      /* Not counting the descriptor that reads the directory. */
      hale_metric_set (f->open_fds, NULL, n > 0 ? n - 1 : 0);
    }

  /* The soft limit, which /proc/self/limits shows as "Max open files". */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0)
    hale_metric_set (f->max_fds, NULL,
                     rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
}

void
hale_process_collector_add (HaleMetrics *self)
{
  ProcessFamilies *f;

  g_return_if_fail (HALE_IS_METRICS (self));

  /* Once per registry: the families live as long as it does. */
  if (g_object_get_data (G_OBJECT (self), "hale-process-collector") != NULL)
    return;

  f = g_new0 (ProcessFamilies, 1);
  hale_metrics_add_table (self, families, G_N_ELEMENTS (families), f);
  g_object_set_data_full (G_OBJECT (self), "hale-process-collector", f, g_free);
  hale_metrics_add_collector (self, collect_process, f);
}
