/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-http: one raw HTTP request to haled's HTTP face, over loopback.
 *
 * The face is configured as haled runs it with credentials: a bearer
 * token and a basic-auth user on /metrics and (HealthAuth=same) on the
 * health paths, so the path, the query, Accept, Accept-Encoding and
 * Authorization all reach hale's code through libsoup's parser. The
 * client sends the input, shuts its side down and reads until haled
 * closes: an answer that never comes is a finding, as is one that is
 * not HTTP/1.x or is a 500. */
#include "fuzz-common.h"
#include "hale-config.h"
#include "hale-http.h"
#include "hale-metrics.h"
#include "hale-report.h"
#include "hale-state.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static HaleHttp *http;
static guint16 port;

static void
write_file (const char *name, const char *contents)
{
  g_autofree char *path = g_build_filename (fuzz_tmpdir (), name, NULL);
  g_autoptr (GError) error = NULL;

  if (!g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error))
    g_error ("%s", error->message);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HaleConfig) config = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GBytes) bytes = NULL;
  const char *names[] = { "hale.conf", NULL };
  HaleState *state;
  HaleReport *report;
  HaleMetrics *metrics;

  write_file ("token", "fuzz-token-0123456789\n");
  /* "user:secret", bcrypt cost 4: a credential check stays cheap. */
  write_file ("users", "user:$2b$04$.vHvj4g3VAe4kCqlCLci1O4VtaBFT5a9uBMZ11zm5EIDRUW6sqlwW\n");
  text = g_strdup_printf ("[Monitoring]\n"
                          "MetricsListen=127.0.0.1:0\n"
                          "HealthListen=127.0.0.1:0\n"
                          "MetricsBearerTokenFile=%s/token\n"
                          "MetricsBasicAuthUsers=%s/users\n"
                          "HealthAuth=same\n",
                          fuzz_tmpdir (), fuzz_tmpdir ());
  bytes = g_bytes_new (text, strlen (text));
  config = hale_config_load_from_data (names, &bytes, &error);
  if (config == NULL)
    g_error ("%s", error->message);

  state = hale_state_new ();
  report = hale_report_new (state);
  metrics = hale_metrics_new ("hale");
  http = hale_http_new (report, metrics);
  if (!hale_http_configure (http, config, &error))
    g_error ("%s", error->message);
  port = hale_http_get_metrics_port (http);
  return 0;
}

typedef struct
{
  GString *answer;
  gboolean done;
} Client;

static gboolean
readable_cb (int fd, GIOCondition condition, gpointer data)
{
  Client *client = data;
  char buffer[4096];
  ssize_t n = recv (fd, buffer, sizeof buffer, MSG_DONTWAIT);

  if (n > 0)
    {
      g_string_append_len (client->answer, buffer, n);
      return G_SOURCE_CONTINUE;
    }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  client->done = TRUE;
  return G_SOURCE_REMOVE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons (port) };
  Client client = { g_string_new (NULL), FALSE };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  size_t sent = 0;

  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0)
    g_error ("socket: %s", g_strerror (errno));
  /* libFuzzer's timer (SIGALRM) may interrupt the connect, which then
   * goes on by itself. */
  if (connect (fd, (struct sockaddr *)&address, sizeof address) < 0)
    {
      struct pollfd pfd = { fd, POLLOUT, 0 };
      int soerror = 0;
      socklen_t len = sizeof soerror;

      if (errno != EINTR)
        g_error ("connect: %s", g_strerror (errno));
      while (poll (&pfd, 1, 5000) < 0 && errno == EINTR)
        ;
      if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &soerror, &len) < 0 || soerror != 0)
        g_error ("connect: %s", g_strerror (soerror));
    }
  g_unix_fd_add (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, readable_cb, &client);
  while (sent < size && !client.done)
    {
      ssize_t n = send (fd, data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0)
        sent += n;
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        break; /* haled answered and closed before reading it all */
      g_main_context_iteration (NULL, FALSE);
    }
  shutdown (fd, SHUT_WR);
  fuzz_iterate_until (&client.done, 5000);
  close (fd);

  /* Whatever came back is HTTP/1.x, never an internal error. */
  if (client.answer->len > 0)
    {
      if (!g_str_has_prefix (client.answer->str, "HTTP/1."))
        __builtin_trap ();
      if (client.answer->len >= 12 && client.answer->str[9] == '5' && client.answer->str[10] == '0'
          && client.answer->str[11] == '0')
        __builtin_trap ();
    }
  g_string_free (client.answer, TRUE);
  return 0;
}
