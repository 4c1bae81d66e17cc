/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* halectl-common.h: what every halectl command shares.
 *
 * halectl is a plain bus client (it links none of the daemon), so this
 * is all it has: the options, one way to call haled and to say why a
 * call failed, and the few printing helpers that keep every command's
 * output alike (sanitised, coloured the same, JSON the same).
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Exit statuses, as --help documents them. The health itself is in the
 * output: a script reads it with `halectl status --json | jq -r .status`
 * rather than from an exit status that would also have to mean "could
 * not ask". */
typedef enum
{
  HALECTL_EXIT_OK = 0,          /* the report was read and printed */
  HALECTL_EXIT_FAILED = 1,      /* the call failed or the answer was unreadable */
  HALECTL_EXIT_USAGE = 2,       /* bad command line */
  HALECTL_EXIT_NOT_RUNNING = 3, /* nobody owns org.hale.Hale1 */
  HALECTL_EXIT_DENIED = 4,      /* polkit (or the bus) refused the call */
} HalectlExit;

#define HALECTL_CALL_TIMEOUT_MSEC (10 * 1000)

typedef struct
{
  gboolean user;
  gboolean json;
  gboolean color;
} HalectlOptions;

/* Command line */
gboolean
halectl_check_no_arguments (const char *command, int argc, char **argv);

/* The bus and haled */
const char *
halectl_bus_description (const HalectlOptions *options);
GDBusConnection *
halectl_bus_get (const HalectlOptions *options, int *out_exit);
gboolean
halectl_error_is_not_running (const GError *error);
gboolean
halectl_error_is_timeout (const GError *error);
int
halectl_not_running (const HalectlOptions *options);
GVariant *
halectl_call_haled (const HalectlOptions *options, const char *iface, const char *method,
                    GVariant *params, const char *reply_type, int *out_exit);
int
halectl_call_change (const HalectlOptions *options, const char *iface, const char *method,
                     GVariant *params, const char *action, GError **error);

/* Output */
gboolean
halectl_want_color (void);
char *
halectl_sanitize (const char *text);
const char *
halectl_status_color (const char *status);
void
halectl_print_cell (const HalectlOptions *options, const char *text, const char *color, int width);
char *
halectl_format_when (guint64 usec);
const char *
halectl_json_member_string (JsonObject *object, const char *name);
gboolean
halectl_print_json_text (const char *text, GError **error);
void
halectl_print_variant_json (GVariant *value);

G_END_DECLS
