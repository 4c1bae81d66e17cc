/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hale-mkcert: test certificates from the command line, for the
 * integration tests, the demo and the benchmark.
 *
 *   hale-mkcert --out cert.pem [--key-out key.pem] [--cn NAME] [--serial HEX]
 *               [--not-before-days N] [--days N] [--chain-ca [--ca-days N] [--ca-out FILE]]
 *               [--san NAME]... [--expired-out FILE]
 *   hale-mkcert --count N --out-dir DIR [same options]
 */
#include "config.h"

#include "hale-test-cert.h"

#include <errno.h>
#include <locale.h>
#include <stdlib.h>

static char *opt_out;
static char *opt_key_out;
static char *opt_cn;
static char *opt_serial;
static int opt_not_before_days;
static int opt_days = 90;
static gboolean opt_chain_ca;
static int opt_ca_days = 365;
static int opt_count;
static char *opt_ca_out;
static char **opt_san;
static char *opt_out_dir;
static char *opt_expired_out;

static const GOptionEntry entries[] = {
  { "out", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out, "Write the certificate (PEM) to FILE", "FILE" },
  { "key-out", 'k', 0, G_OPTION_ARG_FILENAME, &opt_key_out, "Write the private key to FILE",
    "FILE" },
  { "cn", 0, 0, G_OPTION_ARG_STRING, &opt_cn, "Subject common name (default: localhost)", "NAME" },
  { "serial", 0, 0, G_OPTION_ARG_STRING, &opt_serial, "Serial number in hex (default: random)",
    "HEX" },
  { "not-before-days", 0, 0, G_OPTION_ARG_INT, &opt_not_before_days,
    "Valid from N days from now (negative: in the past; default 0)", "N" },
  { "days", 0, 0, G_OPTION_ARG_INT, &opt_days,
    "Valid for N days after notBefore (negative: already expired; default 90)", "N" },
  { "chain-ca", 0, 0, G_OPTION_ARG_NONE, &opt_chain_ca,
    "Sign with an intermediate CA and append it to the file", NULL },
  { "ca-days", 0, 0, G_OPTION_ARG_INT, &opt_ca_days,
    "The intermediate CA expires N days from now (default 365)", "N" },
  { "ca-out", 0, 0, G_OPTION_ARG_FILENAME, &opt_ca_out,
    "With --chain-ca: also write the CA alone to FILE (for a client's trust store)", "FILE" },
  { "san", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_san,
    "Add a subjectAltName: an IP address or a DNS name (repeatable)", "NAME" },
  { "count", 'n', 0, G_OPTION_ARG_INT, &opt_count,
    "Write N certificates cert-0.pem ... cert-(N-1).pem to --out-dir", "N" },
  { "out-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_out_dir, "Directory for --count", "DIR" },
  { "expired-out", 0, 0, G_OPTION_ARG_FILENAME, &opt_expired_out,
    "Also write a certificate like --out's (same names, key and CA) that expired a day ago",
    "FILE" },
  { NULL }
};

static gboolean
make_one (HaleTestKey *key, HaleTestCert *ca, const char *serial, const char *out,
          const char *key_out, GError **error)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 not_before = now + (gint64)opt_not_before_days * 86400;
  HaleTestCertParams params = {
    .cn = opt_cn != NULL ? opt_cn : "localhost",
    .serial_hex = serial,
    .not_before = not_before,
    .not_after = not_before + (gint64)opt_days * 86400,
    .key = key,
    .alt_names = (const char *const *)opt_san,
  };
  HaleTestCert *chain[] = { ca, NULL };
  g_autoptr (HaleTestCert) cert = NULL;

  /* 0 means "default" to the library: nudge an exact zero by a second. */
  if (params.not_before == 0)
    params.not_before = 1;
  if (params.not_after == 0)
    params.not_after = 1;
  cert = hale_test_cert_new (&params, ca, error);
  if (cert == NULL)
    return FALSE;
  return hale_test_cert_write (cert, ca != NULL ? chain : NULL, out, key_out, error);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleTestKey) key = NULL;
  g_autoptr (HaleTestCert) ca = NULL;

  setlocale (LC_ALL, "");
  context = g_option_context_new ("- make test certificates");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("hale-mkcert: %s\n", error->message);
      return 2;
    }
  if (argc > 1)
    {
      g_printerr ("hale-mkcert: unexpected argument \"%s\"\n", argv[1]);
      return 2;
    }
  if (opt_count > 0 ? opt_out_dir == NULL : opt_out == NULL)
    {
      g_printerr ("hale-mkcert: %s is required (see --help)\n",
                  opt_count > 0 ? "--out-dir" : "--out");
      return 2;
    }
  if (opt_count < 0)
    {
      g_printerr ("hale-mkcert: --count must be positive\n");
      return 2;
    }

  /* One key for everything: signing is fast, key generation less so,
   * and --count is for benchmarks. */
  key = hale_test_key_new (&error);
  if (key == NULL)
    goto fail;
  if (opt_chain_ca)
    {
      gint64 now = g_get_real_time () / G_USEC_PER_SEC;
      HaleTestCertParams ca_params = {
        .cn = "hale test intermediate CA",
        .not_before = now - 86400,
        .not_after = now + (gint64)opt_ca_days * 86400,
        .is_ca = TRUE,
      };
      if (ca_params.not_after == 0)
        ca_params.not_after = 1;
      ca = hale_test_cert_new (&ca_params, NULL, &error);
      if (ca == NULL)
        goto fail;
      if (opt_ca_out != NULL && !hale_test_cert_write (ca, NULL, opt_ca_out, NULL, &error))
        goto fail;
    }

  if (opt_count > 0)
    {
      if (g_mkdir_with_parents (opt_out_dir, 0755) != 0)
        {
          g_printerr ("hale-mkcert: cannot create %s: %s\n", opt_out_dir, g_strerror (errno));
          return 1;
        }
      for (int i = 0; i < opt_count; i++)
        {
          g_autofree char *name = g_strdup_printf ("cert-%d.pem", i);
          g_autofree char *path = g_build_filename (opt_out_dir, name, NULL);
          if (!make_one (key, ca, opt_serial, path, NULL, &error))
            goto fail;
        }
      if (opt_key_out != NULL)
        {
          g_autofree char *pem = hale_test_key_get_pem (key);
          if (!g_file_set_contents_full (opt_key_out, pem, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                         &error))
            goto fail;
        }
      return 0;
    }

  if (!make_one (key, ca, opt_serial, opt_out, opt_key_out, &error))
    goto fail;
  if (opt_expired_out != NULL)
    {
      /* What a server switched to by mistake: the same as before but
       * for the dates (valid from 31 days ago until yesterday). */
      opt_not_before_days = -31;
      opt_days = 30;
      if (!make_one (key, ca, NULL, opt_expired_out, NULL, &error))
        goto fail;
    }
  return 0;

fail:
  g_printerr ("hale-mkcert: %s\n", error->message);
  return 1;
}
