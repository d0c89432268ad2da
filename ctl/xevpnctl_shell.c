// SPDX-License-Identifier: GPL-2.0
/* xevpnctl shell: a libedit prompt whose tab completion asks the running
 * xevpnd for the live object names (ES names and ESIs, VNIs, VTEPs). Each
 * line runs as a child `xevpnctl -s SOCK [-j] WORDS...`, so the shell shows
 * exactly what the one-shot command would, and a failing command never
 * ends the session. */
#include <editline/readline.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xevpnctl_obs.h"

#define SHELL_MAX_WORDS 16
#define SHELL_MAX_CANDS 4096

static const char *shell_sock;
static bool shell_js;

/* Candidates of the word being completed, rebuilt at each completion. */
static char *cands[SHELL_MAX_CANDS];
static unsigned n_cands;

static void cands_clear(void)
{
	while (n_cands)
		free(cands[--n_cands]);
}

static void cand_add(const char *s)
{
	for (unsigned i = 0; i < n_cands; i++)
		if (!strcmp(cands[i], s))
			return;
	if (s && *s && n_cands < SHELL_MAX_CANDS && (cands[n_cands] = strdup(s)))
		n_cands++;
}

static void cands_words(const char *const *w)
{
	for (; *w; w++)
		cand_add(*w);
}

/* Field `key` of every object of the reply array of `line`. */
static void cands_live(const char *line, const char *key)
{
	json_t *r = xevpnctl_request(shell_sock, line), *o;
	size_t i;

	json_array_foreach(json_object_get(r, "data"), i, o) {
		json_t *v = json_object_get(o, key);
		char num[32];

		if (json_is_string(v)) {
			cand_add(json_string_value(v));
		} else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
			cand_add(num);
		}
	}
	json_decref(r);
}

static const char *const top_words[] = { "show", "watch", "trace", "help", "exit", "quit", NULL };
static const char *const show_words[] = { "es", "mac", "vtep", "df", "bd", "stats", "fib",
					  "daemon", "metrics", "health", NULL };
static const char *const es_words[] = { "traffic", "health", NULL };
static const char *const watch_words[] = { "events", NULL };

/* What may follow words[0..n-1]. */
static void cands_build(char **words, int n)
{
	cands_clear();
	if (n == 0)
		cands_words(top_words);
	else if (n == 1 && !strcmp(words[0], "show"))
		cands_words(show_words);
	else if (n == 1 && !strcmp(words[0], "watch"))
		cands_words(watch_words);
	else if (n == 2 && !strcmp(words[0], "show") && !strcmp(words[1], "es")) {
		cands_live("show es", "name");
		cands_live("show es", "esi");
	} else if (n == 3 && !strcmp(words[0], "show") && !strcmp(words[1], "es"))
		cands_words(es_words);
	else if (n == 2 && !strcmp(words[0], "show") && !strcmp(words[1], "mac"))
		cands_live("show bd", "vni");
}

static int split(char *line, char **words, int max)
{
	char *save = NULL;
	int n = 0;

	for (char *t = strtok_r(line, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save))
		words[n++] = t;
	return n;
}

static char *cand_gen(const char *text, int state)
{
	static unsigned idx;
	size_t len = strlen(text);

	if (!state)
		idx = 0;
	while (idx < n_cands) {
		const char *c = cands[idx++];

		if (!strncmp(c, text, len))
			return strdup(c);
	}
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	char *prefix = strndup(rl_line_buffer, (size_t)start), *words[SHELL_MAX_WORDS];
	int n;

	rl_attempted_completion_over = 1;	/* never fall back to file names */
	if (!prefix)
		return NULL;
	n = split(prefix, words, SHELL_MAX_WORDS);
	cands_build(words, n);
	free(prefix);
	return rl_completion_matches(text, cand_gen);
}

static void help(void)
{
	printf("commands (TAB completes, names come from the running xevpnd):\n"
	       "  show es [ESI|NAME [traffic|health]]   show mac [VNI]   show vtep | df | bd\n"
	       "  show stats | fib | daemon | metrics   watch events (Ctrl-C to stop)\n"
	       "  trace                                  exit | quit\n");
}

/* Run one command as a child xevpnctl; Ctrl-C stops the child, not the shell. */
static void run(char **words, int n)
{
	char *argv[SHELL_MAX_WORDS + 5];
	int a = 0, status;
	pid_t pid;

	argv[a++] = "xevpnctl";
	argv[a++] = "-s";
	argv[a++] = (char *)shell_sock;
	if (shell_js)
		argv[a++] = "-j";
	for (int i = 0; i < n; i++)
		argv[a++] = words[i];
	argv[a] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "xevpnctl: fork: %s\n", strerror(errno));
		return;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		execv("/proc/self/exe", argv);
		fprintf(stderr, "xevpnctl: exec: %s\n", strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

int xevpnctl_shell(const char *sock, bool js)
{
	char *line;

	shell_sock = sock;
	shell_js = js;
	rl_readline_name = "xevpnctl";
	rl_attempted_completion_function = complete;
	rl_completer_word_break_characters = " \t\n";
	signal(SIGINT, SIG_IGN);
	if (isatty(STDIN_FILENO))
		printf("xevpnctl shell on %s; TAB completes, 'help' lists commands\n", sock);
	while ((line = readline(isatty(STDIN_FILENO) ? "xevpn> " : "")) != NULL) {
		char *words[SHELL_MAX_WORDS], *copy = strdup(line);
		int n = copy ? split(copy, words, SHELL_MAX_WORDS) : 0;

		if (n && *line)
			add_history(line);
		if (n && (!strcmp(words[0], "exit") || !strcmp(words[0], "quit"))) {
			free(copy);
			free(line);
			break;
		}
		if (n && !strcmp(words[0], "help"))
			help();
		else if (n)
			run(words, n);
		free(copy);
		free(line);
	}
	cands_clear();
	return 0;
}
