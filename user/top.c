// SPDX-License-Identifier: MIT
/*
 * `pyebpf top`: a session (session.h) polled in a loop; at each refresh
 * the view (top_view.h) freezes the profile's numbers and the screen is
 * drawn: the whole terminal on a tty, a plain snapshot otherwise.
 */
#include "top.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"
#include "messages.h"
#include "profile.h"
#include "python_process.h"
#include "sample_stacks.h"
#include "session.h"
#include "signals.h"
#include "system_checks.h"
#include "time_split.h"
#include "top_view.h"

/* Rows of a snapshot written to a pipe or file. */
#define SNAPSHOT_ROWS 20
/* The terminal's size when it does not say. */
#define DEFAULT_COLS 80
#define DEFAULT_ROWS 24

/* ---- the terminal ------------------------------------------------------- */

/*
 * Full-screen mode: keys without echo or line editing (ISIG stays, so
 * Ctrl-C, Ctrl-Z and Ctrl-\ are signals), the alternate screen, no cursor.
 * The state is static so the crash handler can restore it.
 */
static struct {
	volatile sig_atomic_t active; /* the screen is ours */
	bool raw;		      /* `saved` holds the mode to restore */
	bool handlers;		      /* on_crash is installed, `old` saved */
	struct termios saved;
	struct sigaction old[5]; /* crash signals' handlers before ours */
} term;

static const int crash_signals[5] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

#define ENTER_SCREEN "\033[?1049h\033[?25l\033[H\033[2J"
#define LEAVE_SCREEN "\033[0m\033[?25h\033[?1049l"

/* write() all of buf, async-signal-safe. 0 or -errno. */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Give the terminal back: async-signal-safe, idempotent. */
static void term_leave(void)
{
	if (!term.active)
		return;
	term.active = 0;
	write_all(STDOUT_FILENO, LEAVE_SCREEN, sizeof(LEAVE_SCREEN) - 1);
	if (term.raw)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &term.saved);
}

static void term_enter(void)
{
	if (term.active)
		return;
	if (term.raw) {
		struct termios t = term.saved;

		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
	}
	write_all(STDOUT_FILENO, ENTER_SCREEN, sizeof(ENTER_SCREEN) - 1);
	term.active = 1;
}

/* A crash: restore the terminal, then let the old handler (the default, or
 * a sanitizer's) have the signal. */
static void on_crash(int sig)
{
	term_leave();
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		if (crash_signals[i] == sig)
			sigaction(sig, &term.old[i], NULL);
	raise(sig);
}

/* Take the terminal: `keys` when stdin is a terminal to read keys from. */
static void term_setup(bool keys)
{
	struct sigaction sa = {.sa_handler = on_crash};

	term.raw = keys && !tcgetattr(STDIN_FILENO, &term.saved);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		sigaction(crash_signals[i], &sa, &term.old[i]);
	term.handlers = true;
	term_enter();
}

static void term_teardown(void)
{
	term_leave();
	if (term.handlers)
		for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
			sigaction(crash_signals[i], &term.old[i], NULL);
	term.handlers = false;
	term.raw = false;
}

static void term_size(unsigned int *cols, unsigned int *rows)
{
	struct winsize ws;

	*cols = DEFAULT_COLS;
	*rows = DEFAULT_ROWS;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col && ws.ws_row) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
}

/* ---- the run ------------------------------------------------------------ */

struct top {
	const struct cli_options *opts;
	struct session *session;
	struct top_view *view;
	struct top_view_state st;
	struct top_header h;
	bool screen; /* full screen on a terminal, else snapshots */

	pid_t child; /* the program we started, 0 when attached */
	bool child_exited;
	int child_status;
	bool done; /* nothing left to profile */
	bool stop;

	/* the numbers at the start (or reset) and at the last tick */
	double reset_at, tick_at;
	uint64_t reset_samples, tick_samples;
	struct time_split reset_split, tick_split;
	bool was_reset;

	/* the header's strings, as of the last tick */
	char target[128], command[1024], version[32], status[256];
	char *out; /* a frame for the terminal */
	size_t out_cap;
};

/* a - b, per field (the accounts only grow) */
static struct time_split split_sub(const struct time_split *a, const struct time_split *b)
{
	struct time_split d = {
		.cpu_ns = a->cpu_ns - b->cpu_ns,
		.gil_ns = a->gil_ns - b->gil_ns,
		.gil_known_ns = a->gil_known_ns - b->gil_known_ns,
	};

	for (int c = 0; c < PYEBPF_OFF__COUNT; c++)
		d.off_ns[c] = a->off_ns[c] - b->off_ns[c];
	return d;
}

static struct time_split split_now(const struct top *t)
{
	const struct time_accounts *a = session__times(t->session);

	return a ? *time_accounts__total(a) : (struct time_split){0};
}

/* Threads of process pid now (/proc/PID/task), 0 if unreadable. */
static size_t count_threads(pid_t pid)
{
	char path[64];
	struct dirent *d;
	size_t n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* The header's words for the processes: "pid 4242" and its command and
 * version while one process is profiled, else "N processes", a version
 * only if all share it; the threads they have now. */
static void describe_targets(struct top *t)
{
	size_t n = session__process_count(t->session), live = 0, threads = 0;
	struct session_process one = {0}, first_added = {0};
	bool same_version = true;

	t->version[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		struct session_process sp;

		if (session__process(t->session, i, &sp))
			continue;
		if (sp.added && !first_added.pid)
			first_added = sp;
		if (!sp.alive)
			continue;
		if (!live++) {
			one = sp;
			snprintf(t->version, sizeof(t->version), "%s",
				 sp.version ? sp.version : "");
		} else if (!sp.version || strcmp(sp.version, t->version) != 0) {
			same_version = false;
		}
		threads += count_threads(sp.pid);
	}
	t->h.threads = threads;
	if (!live && first_added.pid && !t->opts->all) {
		one = first_added; /* gone: still name it */
		live = 1;
	}
	if (live == 1 && !t->opts->all) {
		snprintf(t->target, sizeof(t->target), "pid %d", (int)one.pid);
		snprintf(t->command, sizeof(t->command), "%s", one.command ? one.command : "");
		if (!t->version[0] && one.version)
			snprintf(t->version, sizeof(t->version), "%s", one.version);
	} else {
		snprintf(t->target, sizeof(t->target), "%zu processes%s", live,
			 t->opts->all ? " (--all)" : "");
		snprintf(t->command, sizeof(t->command), "%s",
			 first_added.command ? first_added.command : "");
		if (!same_version)
			t->version[0] = '\0';
	}
	t->h.target = t->target;
	t->h.command = t->command[0] ? t->command : NULL;
	t->h.python_version = t->version[0] ? t->version : NULL;
}

/* The news line: why nothing more comes. */
static void describe_status(struct top *t)
{
	const char *tail = t->screen ? "; q to quit" : "";

	t->status[0] = '\0';
	if (t->child_exited && WIFEXITED(t->child_status))
		snprintf(t->status, sizeof(t->status), "the program exited with status %d%s",
			 WEXITSTATUS(t->child_status), tail);
	else if (t->child_exited && WIFSIGNALED(t->child_status))
		snprintf(t->status, sizeof(t->status), "the program was killed by signal %d (%s)%s",
			 WTERMSIG(t->child_status), strsignal(WTERMSIG(t->child_status)), tail);
	else if (t->done)
		snprintf(t->status, sizeof(t->status), "%s exited%s",
			 t->opts->subprocesses ? "every process" : t->target, tail);
	t->h.status = t->status[0] ? t->status : NULL;
}

/* The header as of now: counters since the reset and the last tick. */
static void fill_header(struct top *t, double now, const struct time_split *split)
{
	struct session_stats stats = {0};

	session__stats(t->session, &stats);
	describe_targets(t);
	t->h.rate_hz = t->opts->rate_hz;
	t->h.weights_ns = sample_stacks_weights_are_ns(t->opts->time_mode);
	t->h.wall = t->opts->time_mode != TIME_CPU;
	/* top's session reads every sample's GIL state */
	t->h.gil_state = true;
	t->h.was_reset = t->was_reset;
	t->h.period_ns = session__period_ns(t->session);
	t->h.elapsed_s = now - t->reset_at;
	t->h.interval_s = now - t->tick_at;
	t->h.samples = stats.samples - t->reset_samples;
	t->h.interval_samples = stats.samples - t->tick_samples;
	t->h.errors = stats.error_samples;
	t->h.lost = stats.lost;
	t->h.all = split_sub(split, &t->reset_split);
	t->h.interval = split_sub(split, &t->tick_split);
	t->tick_samples = stats.samples;
	describe_status(t);
}

/* End of an interval: freeze the numbers for the screens that follow. */
static int tick(struct top *t)
{
	struct time_split split = split_now(t);
	double now = monotonic_s();
	int err = top_view__tick(t->view, session__profile(t->session));

	if (err)
		return err;
	fill_header(t, now, &split);
	t->tick_split = split;
	t->tick_at = now;
	return 0;
}

/* R: start counting again from now. */
static int reset(struct top *t)
{
	struct session_stats stats = {0};
	int err = top_view__reset(t->view, session__profile(t->session));

	if (err)
		return err;
	session__stats(t->session, &stats);
	t->reset_at = t->tick_at = monotonic_s();
	t->reset_samples = t->tick_samples = stats.samples;
	t->reset_split = t->tick_split = split_now(t);
	t->was_reset = true;
	fill_header(t, t->tick_at, &t->tick_split);
	return 0;
}

/* Append to the terminal frame; false when out of memory. */
static bool out_put(struct top *t, size_t *len, const char *s, size_t n)
{
	if (*len + n > t->out_cap) {
		size_t cap = t->out_cap ? t->out_cap : 16384;
		char *p;

		while (cap < *len + n)
			cap *= 2;
		p = realloc(t->out, cap);
		if (!p)
			return false;
		t->out = p;
		t->out_cap = cap;
	}
	memcpy(t->out + *len, s, n);
	*len += n;
	return true;
}

/* The column header line in reverse video, padded to the width, the sort
 * column's title in bold. */
static bool put_table_header(struct top *t, size_t *len, const char *line, size_t n)
{
	unsigned int start, width;
	size_t a, b;
	bool ok;

	top_view_column(t->st.sort, &start, &width);
	a = start < n ? start : n;
	b = start + width < n ? start + width : n;
	ok = out_put(t, len, "\033[7m", 4) && out_put(t, len, line, a) &&
	     out_put(t, len, "\033[1m", 4) && out_put(t, len, line + a, b - a) &&
	     out_put(t, len, "\033[22m", 5) && out_put(t, len, line + b, n - b);
	for (size_t col = n; ok && col < t->st.width; col++)
		ok = out_put(t, len, " ", 1);
	return ok && out_put(t, len, "\033[0m", 4);
}

/* Draw the screen: on the terminal, every line from the top, each cleared
 * to its end; else a snapshot and a blank line. 0 or -errno. */
static int draw(struct top *t)
{
	const struct profile *p = session__profile(t->session);
	struct top_screen sc;
	size_t len = 0, line_no = 0;
	bool ok = true;
	int err;

	if (t->screen)
		term_size(&t->st.width, &t->st.height);
	err = top_view__render(t->view, p, &t->h, &t->st, &sc);
	if (err)
		return err;
	if (!t->screen) {
		fwrite(sc.text, 1, sc.len, stdout);
		fputc('\n', stdout);
		err = fflush(stdout) || ferror(stdout) ? -(errno ? errno : EIO) : 0;
		top_screen__release(&sc);
		return err;
	}
	ok = out_put(t, &len, "\033[H", 3);
	for (const char *s = sc.text; ok && *s; line_no++) {
		const char *nl = strchr(s, '\n');
		size_t n = (size_t)(nl - s);

		if ((int)line_no == sc.table_header)
			ok = put_table_header(t, &len, s, n);
		else
			ok = out_put(t, &len, s, n);
		/* no newline after the last line: it would scroll */
		ok = ok && out_put(t, &len, "\033[K", 3) && (!nl[1] || out_put(t, &len, "\r\n", 2));
		s = nl + 1;
	}
	ok = ok && out_put(t, &len, "\033[J", 3);
	top_screen__release(&sc);
	if (!ok)
		return -ENOMEM;
	return write_all(STDOUT_FILENO, t->out, len);
}

/* ---- what to profile ---------------------------------------------------- */

/* Start the program, wait for its interpreter and register it. */
static int start_program(struct top *t)
{
	struct python_process *pp = malloc(sizeof(*pp));
	char why[512];
	int err, status = 0;

	if (!pp) {
		pyebpf_message("out of memory");
		return -ENOMEM;
	}
	err = launcher__start(t->opts->program, &t->child, why, sizeof(why));
	if (err) {
		pyebpf_message("%s", why);
		t->child = 0;
		goto out;
	}
	err = launcher__wait_for_python(t->child, pp, &status, why, sizeof(why));
	if (err == -ECHILD) {
		t->child_exited = true;
		pyebpf_message("cannot profile '%s': %s (%s %d)", t->opts->program[0], why,
			       WIFEXITED(status) ? "exit status" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		goto out;
	}
	if (err) {
		pyebpf_message("cannot profile '%s': %s", t->opts->program[0], why);
		goto out;
	}
	err = session__add_pid(t->session, t->child, SESSION_PID_MAY_WAIT, why, sizeof(why));
	if (err)
		pyebpf_message("%s", why);
out:
	free(pp);
	return err;
}

static int open_targets(struct top *t)
{
	char why[512];
	int err;

	if (t->opts->program)
		err = start_program(t);
	else if (t->opts->pid) {
		err = session__add_pid(t->session, t->opts->pid, 0, why, sizeof(why));
		if (err)
			pyebpf_message("%s", why);
	} else {
		err = 0; /* --all: the session found them */
	}
	if (!err) {
		err = session__start(t->session);
		if (err)
			pyebpf_message("cannot read the threads that are off CPU: %s",
				       strerror(-err));
	}
	if (!err && t->child) {
		err = launcher__run(t->child);
		if (err)
			pyebpf_message("cannot start '%s': %s", t->opts->program[0],
				       strerror(-err));
	}
	return err;
}

/* ---- the loop ----------------------------------------------------------- */

/* Returns whether the screen must be drawn again. */
static bool handle_signals(struct top *t, int sfd)
{
	struct signalfd_siginfo si;
	bool redraw = false;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			if (t->child)
				session__handle_child(t->session, t->child, &t->child_exited,
						      &t->child_status);
			break;
		case SIGWINCH:
		case SIGCONT:
			redraw = true;
			break;
		case SIGTSTP:
			/* Ctrl-Z: give the terminal back while stopped */
			if (t->screen) {
				term_leave();
				raise(SIGSTOP);
				term_enter();
				redraw = true;
			} else {
				raise(SIGSTOP);
			}
			break;
		default: /* SIGINT, SIGTERM, SIGHUP */
			t->stop = true;
			break;
		}
	}
	return redraw;
}

/* Keys waiting on stdin; whether the screen must be drawn again. */
static int handle_keys(struct top *t, bool *redraw)
{
	char buf[64];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	unsigned int act;
	int err = 0;

	if (n <= 0)
		return 0;
	act = top_view_keys(&t->st, buf, (size_t)n);
	if (act & TOP_KEY_QUIT)
		t->stop = true;
	if (act & TOP_KEY_RESET)
		err = reset(t);
	if (act & (TOP_KEY_REDRAW | TOP_KEY_RESET))
		*redraw = true;
	return err;
}

static int loop(struct top *t, int sfd)
{
	double refresh = t->opts->refresh_s > 0 ? t->opts->refresh_s : 1.0;
	double deadline = t->opts->duration_s > 0 ? t->reset_at + t->opts->duration_s : 0;
	double next_tick = t->reset_at + refresh;
	bool keys = t->screen && term.raw, redraw = t->screen;
	int err = 0;

	while (!t->stop) {
		struct pollfd fds[3] = {
			{.fd = session__fd(t->session), .events = POLLIN},
			{.fd = sfd, .events = POLLIN},
			{.fd = keys ? STDIN_FILENO : -1, .events = POLLIN},
		};
		double now = monotonic_s(), wake = next_tick;
		int timeout = t->done ? 1000 : session__timeout_ms(t->session);

		if (redraw) {
			err = draw(t);
			if (err)
				break;
			redraw = false;
		}
		if (deadline && deadline < wake)
			wake = deadline;
		if (!t->done && (wake - now) * 1000 < timeout)
			timeout = wake > now ? (int)((wake - now) * 1000) + 1 : 0;
		if (poll(fds, 3, timeout) < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		if (!t->done) {
			err = session__poll(t->session);
			if (err)
				break;
		}
		redraw |= handle_signals(t, sfd);
		if (keys && (fds[2].revents & POLLIN)) {
			err = handle_keys(t, &redraw);
			if (err)
				break;
		}
		if (t->stop || t->done)
			continue;

		now = monotonic_s();
		t->done = session__done(t->session) || (t->child && t->child_exited);
		if (t->done || (deadline && now >= deadline) || now >= next_tick) {
			err = tick(t);
			if (err)
				break;
			redraw = true;
			next_tick += refresh;
			if (next_tick < now)
				next_tick = now + refresh;
		}
		if (deadline && now >= deadline)
			t->stop = true;
		/* a pipe gets its last snapshot; a terminal keeps the last
		 * screen until q */
		if ((t->done || t->stop) && !t->screen) {
			err = draw(t);
			t->stop = true;
			redraw = false;
		}
	}
	return err;
}

int top_run(const struct cli_options *opts)
{
	struct top t = {.opts = opts, .screen = isatty(STDOUT_FILENO)};
	struct session_opts so;
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
	sigset_t old_mask;
	char why[512];
	int err, sfd = -1, exit_code = 1;

	err = system_check(why, sizeof(why));
	if (err) {
		pyebpf_message("%s", why);
		return 1;
	}
	/* a reader that goes away ends the run: EPIPE, not death */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old_pipe);
	/* through a descriptor, so the loop ends in order and the terminal
	 * is restored on the way out */
	sfd = signals_fd(
		(const int[]){SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGWINCH, SIGTSTP, SIGCONT}, 7,
		&old_mask);
	err = sfd < 0 ? sfd : 0;
	if (err) {
		pyebpf_message("cannot set up signal handling: %s", strerror(-err));
		goto cleanup;
	}
	t.view = top_view__new();
	if (!t.view) {
		pyebpf_message("out of memory");
		goto cleanup;
	}
	session_opts_from_cli(&so, opts);
	so.messages = t.screen ? NULL : stderr; /* nothing under the table */
	t.session = session__new(&so, why, sizeof(why));
	if (!t.session) {
		pyebpf_message("%s", why);
		goto cleanup;
	}
	if (open_targets(&t))
		goto cleanup;

	t.st = (struct top_view_state){.snapshot = !t.screen,
				       .max_rows = t.screen ? 0 : SNAPSHOT_ROWS};
	t.reset_at = t.tick_at = monotonic_s();
	t.reset_split = t.tick_split = split_now(&t);
	fill_header(&t, t.reset_at, &t.reset_split);
	if (t.screen)
		term_setup(isatty(STDIN_FILENO));
	err = loop(&t, sfd);
	term_teardown();
	if (err && err != -EPIPE) /* EPIPE: the reader went away, a normal end */
		pyebpf_message("top failed: %s", strerror(-err));
	else
		exit_code = 0;

cleanup:
	term_teardown();
	session__free(t.session);
	top_view__free(t.view);
	free(t.out);
	if (sfd >= 0) {
		close(sfd);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	}
	sigaction(SIGPIPE, &old_pipe, NULL);
	if (t.child && !t.child_exited && exit_code) {
		/* we started it and could not show it: don't leave it behind */
		kill(t.child, SIGKILL);
		waitpid(t.child, NULL, __WALL);
	}
	return exit_code;
}
