/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-rotation: the rotation agent's D-Bus arguments.
 *
 * Input: one byte for the method of org.hale.Hale1.Rotation, the rest
 * the serialised arguments of its signature (as the bus delivers them:
 * normal form, so every string is valid UTF-8 without NUL). */
#include "fuzz-common.h"
#include "hale-audit.h"
#include "hale-metrics.h"
#include "hale-rotation.h"

#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

/* A fake, named so: the audit trail writes to the journal, and the
 * harness must not send the host's journald millions of events. */
int
sd_journal_sendv_with_location (const char *file, const char *line, const char *func,
                                const struct iovec *iov, int n)
{
  for (int i = 0; i < n; i++)
    if (iov[i].iov_base == NULL && iov[i].iov_len > 0)
      __builtin_trap ();
  return 0;
}

static HaleRotation *rotation;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  HaleMetrics *metrics;

  metrics = hale_metrics_new ("hale");
  rotation = hale_rotation_new (metrics, hale_audit_new (metrics));
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const signatures[] = { "(sbts)", "(b)", "(s)", "(u)", "(bs)" };
  HaleAuditActor actor = { "uid:1000", "dbus+polkit", 1000, 4242, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) raw = NULL;
  g_autoptr (GVariant) args = NULL;
  const char *s1, *s2;
  gboolean b;
  guint64 t;
  guint32 u;
  gboolean ok = FALSE;
  guint method;

  if (size < 1)
    return 0;
  method = data[0] % G_N_ELEMENTS (signatures);
  raw = g_variant_new_from_data (G_VARIANT_TYPE (signatures[method]), data + 1, size - 1, FALSE,
                                 NULL, NULL);
  args = g_variant_get_normal_form (raw);
  switch (method)
    {
      case 0:
        g_variant_get (args, "(&sbt&s)", &s1, &b, &t, &s2);
        /* As the bus face passes it on. */
        ok = hale_rotation_record_renewal (rotation, s1, b, t > G_MAXINT64 ? -1 : (gint64)t, s2,
                                           &actor, &error);
        break;
      case 1:
        g_variant_get (args, "(b)", &b);
        ok = hale_rotation_record_jwt_refresh (rotation, b, &error);
        break;
      case 2:
        g_variant_get (args, "(&s)", &s1);
        ok = hale_rotation_record_auth_failure (rotation, s1, &actor, &error);
        break;
      case 3:
        g_variant_get (args, "(u)", &u);
        ok = hale_rotation_record_jwt_cache_hits (rotation, u, &error);
        break;
      default:
        g_variant_get (args, "(b&s)", &b, &s1);
        ok = hale_rotation_set_bootstrap_status (rotation, b, s1, &actor, &error);
        break;
    }
  if (ok == (error != NULL))
    __builtin_trap ();
  return 0;
}
