/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-cert.c: reading certificate files with GnuTLS. */
#include "config.h"

#include "hale-cert.h"
#include "hale-test-cert.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define DAY (24 * 3600)

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static GBytes *
pem_bytes (HaleTestCert *cert, HaleTestCert *const *chain)
{
  GString *pem = g_string_new (NULL);
  g_autofree char *leaf = hale_test_cert_get_pem (cert);

  g_string_append (pem, leaf);
  for (gsize i = 0; chain != NULL && chain[i] != NULL; i++)
    {
      g_autofree char *c = hale_test_cert_get_pem (chain[i]);
      g_string_append (pem, c);
    }
  return g_string_free_to_bytes (pem);
}

static HaleCertInfo *
parse_string (const char *text, GError **error)
{
  g_autoptr (GBytes) bytes = g_bytes_new (text, strlen (text));
  return hale_cert_info_parse (bytes, error);
}

static void
test_valid (void)
{
  g_autoptr (GError) error = NULL;
  gint64 now = now_seconds ();
  g_autoptr (HaleTestCert) cert = hale_test_cert_new_simple ("www.example.test", "0A1B2C3D",
                                                             now - DAY, now + 30 * DAY, &error);
  g_autoptr (GBytes) pem = NULL;
  g_autoptr (HaleCertInfo) info = NULL;
  g_autoptr (HaleCertInfo) copy = NULL;

  g_assert_no_error (error);
  pem = pem_bytes (cert, NULL);
  info = hale_cert_info_parse (pem, &error);
  g_assert_no_error (error);
  g_assert_nonnull (info);

  g_assert_cmpstr (info->serial, ==, "0a1b2c3d");
  g_assert_cmpstr (info->serial, ==, hale_test_cert_get_serial (cert));
  g_assert_cmpstr (info->subject, ==, "CN=www.example.test");
  /* self-signed */
  g_assert_cmpstr (info->issuer, ==, info->subject);
  g_assert_cmpint (info->not_before, ==, now - DAY);
  g_assert_cmpint (info->not_after, ==, now + 30 * DAY);
  g_assert_cmpuint (info->chain_length, ==, 1);
  g_assert_cmpint (info->chain_not_after, ==, info->not_after);
  g_assert_cmpstr (info->chain_not_after_subject, ==, info->subject);
  g_assert_cmpuint (strlen (info->fingerprint_sha256), ==, 64);
  for (const char *p = info->fingerprint_sha256; *p; p++)
    g_assert_true (g_ascii_isdigit (*p) || (*p >= 'a' && *p <= 'f'));

  copy = hale_cert_info_copy (info);
  g_assert_true (copy != info);
  g_assert_cmpstr (copy->serial, ==, info->serial);
  g_assert_cmpstr (copy->fingerprint_sha256, ==, info->fingerprint_sha256);
  g_assert_cmpint (copy->not_after, ==, info->not_after);
}

/* A serial with its high bit set is stored with a leading zero byte in
 * DER; the number shown does not have it. */
/* The issuer writes the DN; bytes that are not UTF-8 must not reach
 * GVariant, JSON or label values as they are. */
static void
test_subject_not_utf8 (void)
{
  g_autoptr (GError) error = NULL;
  gint64 now = now_seconds ();
  g_autoptr (HaleTestCert) cert
      = hale_test_cert_new_simple ("bad\xff\xfename", "01", now - DAY, now + DAY, &error);
  g_autoptr (GBytes) pem = NULL;
  g_autoptr (HaleCertInfo) info = NULL;

  g_assert_no_error (error);
  pem = pem_bytes (cert, NULL);
  info = hale_cert_info_parse (pem, &error);
  g_assert_no_error (error);
  g_assert_true (g_utf8_validate (info->subject, -1, NULL));
  g_assert_true (g_utf8_validate (info->issuer, -1, NULL));
  g_assert_true (g_utf8_validate (info->chain_not_after_subject, -1, NULL));
  g_assert_nonnull (strstr (info->subject, "bad"));
  g_assert_nonnull (strstr (info->subject, "name"));
}

static void
test_serial_high_bit (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleTestCert) cert = hale_test_cert_new_simple ("x", "ff0001", 0, 0, &error);
  g_autoptr (GBytes) pem = NULL;
  g_autoptr (HaleCertInfo) info = NULL;

  g_assert_no_error (error);
  pem = pem_bytes (cert, NULL);
  info = hale_cert_info_parse (pem, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->serial, ==, "ff0001");
}

/* Parsing reports dates; whether they are in the past is the watch's
 * business. An expired or not-yet-valid certificate still parses. */
static void
test_expired_and_not_yet_valid (void)
{
  g_autoptr (GError) error = NULL;
  gint64 now = now_seconds ();
  g_autoptr (HaleTestCert) expired
      = hale_test_cert_new_simple ("old", NULL, now - 90 * DAY, now - 2 * DAY, &error);
  g_autoptr (HaleTestCert) future = NULL;
  g_autoptr (GBytes) pem1 = NULL;
  g_autoptr (GBytes) pem2 = NULL;
  g_autoptr (HaleCertInfo) info1 = NULL;
  g_autoptr (HaleCertInfo) info2 = NULL;

  g_assert_no_error (error);
  future = hale_test_cert_new_simple ("new", NULL, now + 2 * DAY, now + 92 * DAY, &error);
  g_assert_no_error (error);

  pem1 = pem_bytes (expired, NULL);
  info1 = hale_cert_info_parse (pem1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info1->not_after, <, now);
  g_assert_cmpint (info1->not_after, ==, now - 2 * DAY);

  pem2 = pem_bytes (future, NULL);
  info2 = hale_cert_info_parse (pem2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info2->not_before, >, now);
  g_assert_cmpstr (info2->subject, ==, "CN=new");
}

static void
test_chain (void)
{
  g_autoptr (GError) error = NULL;
  gint64 now = now_seconds ();
  HaleTestCertParams ca_params = {
    .cn = "Test Intermediate",
    .serial_hex = "77",
    .not_before = now - 10 * DAY,
    .not_after = now + 20 * DAY, /* before the leaf */
    .is_ca = TRUE,
  };
  HaleTestCertParams leaf_params = {
    .cn = "leaf.example.test",
    .serial_hex = "1234",
    .not_before = now - DAY,
    .not_after = now + 60 * DAY,
  };
  g_autoptr (HaleTestCert) ca = hale_test_cert_new (&ca_params, NULL, &error);
  g_autoptr (HaleTestCert) leaf = NULL;
  g_autoptr (GBytes) pem = NULL;
  g_autoptr (HaleCertInfo) info = NULL;
  HaleTestCert *chain[] = { NULL, NULL };

  g_assert_no_error (error);
  leaf = hale_test_cert_new (&leaf_params, ca, &error);
  g_assert_no_error (error);
  chain[0] = ca;

  pem = pem_bytes (leaf, chain);
  info = hale_cert_info_parse (pem, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->serial, ==, "1234");
  g_assert_cmpstr (info->subject, ==, "CN=leaf.example.test");
  g_assert_cmpstr (info->issuer, ==, "CN=Test Intermediate");
  g_assert_cmpint (info->not_after, ==, now + 60 * DAY);
  g_assert_cmpuint (info->chain_length, ==, 2);
  g_assert_cmpint (info->chain_not_after, ==, now + 20 * DAY);
  g_assert_cmpstr (info->chain_not_after_subject, ==, "CN=Test Intermediate");
}

/* Unsorted bundle: the first certificate is the leaf, whatever it is. */
static void
test_chain_leaf_earliest (void)
{
  g_autoptr (GError) error = NULL;
  gint64 now = now_seconds ();
  HaleTestCertParams ca_params = {
    .cn = "Long CA",
    .not_before = now - DAY,
    .not_after = now + 365 * DAY,
    .is_ca = TRUE,
  };
  HaleTestCertParams leaf_params = {
    .cn = "short",
    .not_after = now + 5 * DAY,
  };
  g_autoptr (HaleTestCert) ca = hale_test_cert_new (&ca_params, NULL, &error);
  g_autoptr (HaleTestCert) leaf = NULL;
  g_autoptr (GBytes) pem = NULL;
  g_autoptr (HaleCertInfo) info = NULL;
  HaleTestCert *chain[] = { NULL, NULL };

  g_assert_no_error (error);
  leaf = hale_test_cert_new (&leaf_params, ca, &error);
  g_assert_no_error (error);
  chain[0] = leaf;

  /* CA first, then the "leaf": hale believes the order. */
  pem = pem_bytes (ca, chain);
  info = hale_cert_info_parse (pem, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->subject, ==, "CN=Long CA");
  g_assert_cmpint (info->chain_not_after, ==, now + 5 * DAY);
  g_assert_cmpstr (info->chain_not_after_subject, ==, "CN=short");
}

static void
test_bad_pem (void)
{
  const char *broken[] = {
    "-----BEGIN CERTIFICATE-----\nthis is not base64 !!!\n-----END CERTIFICATE-----\n",
    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", /* base64, bad DER */
    "-----BEGIN CERTIFICATE-----\nMIIB\n",                            /* no END */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (broken); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HaleCertInfo) info = parse_string (broken[i], &error);

      g_assert_null (info);
      g_assert_error (error, HALE_CERT_ERROR, HALE_CERT_ERROR_BAD_PEM);
      g_test_message ("bad_pem %zu: %s", i, error->message);
    }
}

/* A good leaf followed by a mangled chain certificate is broken too. */
static void
test_bad_pem_in_chain (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleTestCert) cert = hale_test_cert_new_simple ("x", NULL, 0, 0, &error);
  g_autofree char *leaf = NULL;
  g_autofree char *text = NULL;
  g_autoptr (HaleCertInfo) info = NULL;

  g_assert_no_error (error);
  leaf = hale_test_cert_get_pem (cert);
  text = g_strconcat (leaf, "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n", NULL);
  info = parse_string (text, &error);
  g_assert_null (info);
  g_assert_error (error, HALE_CERT_ERROR, HALE_CERT_ERROR_BAD_PEM);
}

static void
test_no_certificate (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleTestKey) key = hale_test_key_new (&error);
  g_autofree char *key_pem = NULL;
  g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr (HaleCertInfo) info = NULL;
  const char *texts[] = { NULL, "hello, world\n", "\n\n" };

  g_assert_no_error (error);
  key_pem = hale_test_key_get_pem (key);
  g_assert_nonnull (strstr (key_pem, "PRIVATE KEY"));
  texts[0] = key_pem;

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (GError) e = NULL;
      g_autoptr (HaleCertInfo) none = parse_string (texts[i], &e);
      g_assert_null (none);
      g_assert_error (e, HALE_CERT_ERROR, HALE_CERT_ERROR_NO_CERTIFICATE);
    }

  info = hale_cert_info_parse (empty, &error);
  g_assert_null (info);
  g_assert_error (error, HALE_CERT_ERROR, HALE_CERT_ERROR_NO_CERTIFICATE);
  g_assert_nonnull (strstr (error->message, "empty"));
}

/* A bundle with the key first and the certificate after (haproxy's
 * combined files) is fine. */
static void
test_key_and_cert (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleTestCert) cert = hale_test_cert_new_simple ("combined", "99", 0, 0, &error);
  g_autofree char *key = NULL;
  g_autofree char *crt = NULL;
  g_autofree char *text = NULL;
  g_autoptr (HaleCertInfo) info = NULL;

  g_assert_no_error (error);
  key = hale_test_cert_get_key_pem (cert);
  crt = hale_test_cert_get_pem (cert);
  text = g_strconcat (key, crt, NULL);
  info = parse_string (text, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->serial, ==, "99");
  g_assert_cmpuint (info->chain_length, ==, 1);
}

static void
test_reasons (void)
{
  g_assert_cmpstr (hale_cert_error_reason (HALE_CERT_ERROR_NOT_FOUND), ==, "not_found");
  g_assert_cmpstr (hale_cert_error_reason (HALE_CERT_ERROR_PERMISSION_DENIED), ==,
                   "permission_denied");
  g_assert_cmpstr (hale_cert_error_reason (HALE_CERT_ERROR_BAD_PEM), ==, "bad_pem");
  g_assert_cmpstr (hale_cert_error_reason (HALE_CERT_ERROR_NO_CERTIFICATE), ==, "no_certificate");
  g_assert_cmpstr (hale_cert_error_reason (HALE_CERT_ERROR_READ_FAILED), ==, "read_failed");
}

static void
test_io_error_mapping (void)
{
  struct
  {
    GIOErrorEnum io;
    gint expected;
    const char *fragment;
  } cases[] = {
    { G_IO_ERROR_NOT_FOUND, HALE_CERT_ERROR_NOT_FOUND, "does not exist" },
    { G_IO_ERROR_PERMISSION_DENIED, HALE_CERT_ERROR_PERMISSION_DENIED, "permission denied" },
    { G_IO_ERROR_IS_DIRECTORY, HALE_CERT_ERROR_READ_FAILED, "is a directory, says GIO" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) io = g_error_new (G_IO_ERROR, cases[i].io, "is a directory, says GIO");
      g_autoptr (GError) error = NULL;

      hale_cert_error_from_io (&error, io, "/etc/certs/x.pem");
      g_assert_error (error, HALE_CERT_ERROR, cases[i].expected);
      g_assert_nonnull (strstr (error->message, "/etc/certs/x.pem"));
      g_assert_nonnull (strstr (error->message, cases[i].fragment));
    }
}

/* The same with real files, read the way the watch reads them. */
static void
test_io_real_files (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("hale-test-cert-XXXXXX", &error);
  g_autofree char *missing = NULL;
  g_autofree char *secret = NULL;
  g_autoptr (GFile) file = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_no_error (error);
  missing = g_build_filename (dir, "missing.pem", NULL);
  file = g_file_new_for_path (missing);
  g_assert_false (g_file_load_contents (file, NULL, &contents, &len, NULL, &error));
  {
    g_autoptr (GError) mapped = NULL;
    hale_cert_error_from_io (&mapped, error, missing);
    g_assert_error (mapped, HALE_CERT_ERROR, HALE_CERT_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (mapped->message, missing));
  }
  g_clear_error (&error);
  g_clear_object (&file);

  /* A directory where the file should be. */
  file = g_file_new_for_path (dir);
  g_assert_false (g_file_load_contents (file, NULL, &contents, &len, NULL, &error));
  {
    g_autoptr (GError) mapped = NULL;
    hale_cert_error_from_io (&mapped, error, dir);
    g_assert_error (mapped, HALE_CERT_ERROR, HALE_CERT_ERROR_READ_FAILED);
    g_test_message ("directory: %s", mapped->message);
  }
  g_clear_error (&error);
  g_clear_object (&file);

  secret = g_build_filename (dir, "secret.pem", NULL);
  g_assert_true (g_file_set_contents (secret, "x", 1, &error));
  g_assert_cmpint (g_chmod (secret, 0), ==, 0);
  file = g_file_new_for_path (secret);
  if (geteuid () == 0)
    {
      g_test_message ("running as root: mode 000 does not deny reads, so permission_denied "
                      "on a real file is covered by the constructed-error test only");
      g_assert_true (g_file_load_contents (file, NULL, &contents, &len, NULL, &error));
      g_clear_pointer (&contents, g_free);
    }
  else
    {
      g_autoptr (GError) mapped = NULL;
      g_assert_false (g_file_load_contents (file, NULL, &contents, &len, NULL, &error));
      hale_cert_error_from_io (&mapped, error, secret);
      g_assert_error (mapped, HALE_CERT_ERROR, HALE_CERT_ERROR_PERMISSION_DENIED);
      g_clear_error (&error);
    }

  g_assert_cmpint (g_unlink (secret), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cert/valid", test_valid);
  g_test_add_func ("/cert/serial-high-bit", test_serial_high_bit);
  g_test_add_func ("/cert/subject-not-utf8", test_subject_not_utf8);
  g_test_add_func ("/cert/expired-and-not-yet-valid", test_expired_and_not_yet_valid);
  g_test_add_func ("/cert/chain", test_chain);
  g_test_add_func ("/cert/chain-leaf-earliest", test_chain_leaf_earliest);
  g_test_add_func ("/cert/bad-pem", test_bad_pem);
  g_test_add_func ("/cert/bad-pem-in-chain", test_bad_pem_in_chain);
  g_test_add_func ("/cert/no-certificate", test_no_certificate);
  g_test_add_func ("/cert/key-and-cert", test_key_and_cert);
  g_test_add_func ("/cert/reasons", test_reasons);
  g_test_add_func ("/cert/io-error-mapping", test_io_error_mapping);
  g_test_add_func ("/cert/io-real-files", test_io_real_files);

  return g_test_run ();
}
