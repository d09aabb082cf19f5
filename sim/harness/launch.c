// SPDX-License-Identifier: MIT
// Launching peers as child processes, and ending everything they started.
#include "harness/launch.h"
#include "harness/paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wire/addr.h"

/* Children handled per round of launch_end_orphans(); more are simply left for the next round. */
#define ORPHANS_PER_ROUND 256
/* The close() loop's ceiling where close_range(2) is missing (Linux before 5.9). */
#define CLOSE_LOOP_MAX_FD 65536

extern char **environ;

int launch_expand(const char *tmpl, const struct launch_cfg *cfg, char *out, size_t cap)
{
	char index[16], addr[WIRE_ADDR_STRLEN], seed[24], port[16];
	snprintf(index, sizeof index, "%u", cfg->index);
	wire_addr_str(addr, sizeof addr, cfg->addr, 0);
	snprintf(seed, sizeof seed, "%" PRIu64, cfg->seed);
	snprintf(port, sizeof port, "%u", cfg->localhost_base ? (unsigned)cfg->localhost_base + cfg->index : 0u);
	static const char *const names[] = { "{index}", "{addr}", "{peers}", "{seed}", "{port}" };
	const char *values[] = { index, addr, cfg->peers, seed, port };
	size_t n = 0;
	for (const char *p = tmpl; *p;) {
		const char *v = NULL;
		size_t skip = 1;
		for (size_t i = 0; i < sizeof names / sizeof names[0] && !v; i++)
			if (strncmp(p, names[i], strlen(names[i])) == 0) {
				v = values[i];
				skip = strlen(names[i]);
			}
		size_t len = v ? strlen(v) : 1;
		if (n + len + 1 > cap)
			return -1;
		memcpy(out + n, v ? v : p, len);
		n += len;
		p += skip;
	}
	out[n] = '\0';
	return 0;
}

int launch_default_program(char *out, size_t cap)
{
	const char *env = getenv("LOOPSIM_PEER");
	if (env && *env) {
		if (strlen(env) >= cap)
			return -1;
		strcpy(out, env);
		return 0;
	}
	char dir[PATH_MAX];
	if (paths_exe_dir(dir, sizeof dir) < 0)
		return -1;
	return snprintf(out, cap, "%s/loopsim-peer", dir) < (int)cap ? 0 : -1;
}

/* Whether LD_PRELOAD can hold path: absolute, with none of its separators (space, colon). */
static bool preloadable(const char *path)
{
	return path[0] == '/' && !strpbrk(path, " :\t\n");
}

int launch_preload_library(char *out, size_t cap, char *err, size_t errlen)
{
	const char *env = getenv("LOOPSIM_PRELOAD");
	if (env && *env) {
		if (snprintf(out, cap, "%s", env) >= (int)cap) {
			snprintf(err, errlen, "LOOPSIM_PRELOAD is too long");
			return -1;
		}
	} else if (paths_lib_file(LAUNCH_PRELOAD_NAME, out, cap) < 0 && !*out) {
		snprintf(err, errlen, "cannot find loopsim's own directory (set LOOPSIM_PRELOAD)");
		return -1;
	}
	if (access(out, R_OK) != 0) {
		snprintf(err, errlen, "no preload library at %s: %s (build the loopsim-preload target, or set "
			 "LOOPSIM_PRELOAD)", out, strerror(errno));
		return -1;
	}
	if (!preloadable(out)) {
		snprintf(err, errlen, "LD_PRELOAD cannot hold '%s' (it must be absolute, without a space or a colon); "
			 "set LOOPSIM_PRELOAD to a copy elsewhere", out);
		return -1;
	}
	return 0;
}

int launch_init(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL) == 0 ? 0 : -errno;
}

/*
 * Everything the child needs, prepared before fork: the harness has threads,
 * so between fork and exec the child may only make async-signal-safe calls,
 * and malloc, snprintf and setenv are not.
 */
struct plan {
	const char *path;         /* what execve runs */
	char *argv[4];
	char **envp;              /* owned array; entries borrowed from environ or env_own */
	char *env_own[7];         /* the LOOPSIM_* entries, and with --localhost-ports LD_PRELOAD, owned */
	char *cmd;                /* the expanded --peer-cmd, owned */
	char timeout[40];
	const char *log_path;
	char *failmsg;            /* "loopsim: cannot run PATH: ", owned */
	size_t failmsg_len;
	int max_fd;               /* for the close() loop, where close_range is missing */
};

static void plan_free(struct plan *p)
{
	free(p->envp);
	for (size_t i = 0; i < sizeof p->env_own / sizeof p->env_own[0]; i++)
		free(p->env_own[i]);
	free(p->cmd);
	free(p->failmsg);
}

/*
 * Our LOOPSIM_* variables replace any the harness itself was given (a
 * LOOPSIM_LOCALHOST_BASE too, set or not: the run decides); LD_PRELOAD is
 * ours to rebuild only with --localhost-ports.
 */
static bool is_ours(const char *entry, bool localhost)
{
	static const char *const names[] = { "LOOPSIM_INDEX=",	    "LOOPSIM_ADDR=", "LOOPSIM_PEERS=",
					     "LOOPSIM_SEED=",	    "LOOPSIM_CONTROL_FD=",
					     "LOOPSIM_LOCALHOST_BASE=" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strncmp(entry, names[i], strlen(names[i])) == 0)
			return true;
	return localhost && strncmp(entry, "LD_PRELOAD=", 11) == 0;
}

/* A formatted string from the heap, or NULL (vasprintf leaves its pointer undefined on failure). */
__attribute__((format(printf, 1, 2))) static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s;
	int n = vasprintf(&s, f, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static int plan_make(struct plan *p, const struct launch_cfg *cfg, char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	p->log_path = cfg->log_path;
	if (cfg->cmd && *cfg->cmd) {
		size_t cap = strlen(cfg->cmd) + strlen(cfg->peers) * 4 + 256;
		p->cmd = malloc(cap);
		if (!p->cmd || launch_expand(cfg->cmd, cfg, p->cmd, cap) < 0) {
			snprintf(err, errlen, "--peer-cmd: the command is too long once expanded");
			return -1;
		}
		/*
		 * As the user wrote it, no `exec` in front: the process group and
		 * the subreaper end all it starts. bash where there is one: it
		 * execs the last command of `CMD`, `cd D && CMD` and `V=1 CMD`
		 * itself, where dash stays as a parent holding the control channel,
		 * so that a peer that closes its channel would go unseen.
		 */
		p->path = access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
		p->argv[0] = "sh";
		p->argv[1] = "-c";
		p->argv[2] = p->cmd;
	} else {
		if (access(cfg->program, X_OK) != 0) {
			snprintf(err, errlen, "cannot run the peer program %s: %s (build it, or set LOOPSIM_PEER)",
				 cfg->program, strerror(errno));
			return -1;
		}
		p->path = cfg->program;
		p->argv[0] = "loopsim-peer";
		p->argv[1] = "--quiet";
		if (cfg->disconnect_ms) {
			snprintf(p->timeout, sizeof p->timeout, "--disconnect-timeout=%" PRIu32, cfg->disconnect_ms);
			p->argv[2] = p->timeout;
		}
	}

	char addr[WIRE_ADDR_STRLEN];
	wire_addr_str(addr, sizeof addr, cfg->addr, 0);
	p->env_own[0] = fmt("LOOPSIM_INDEX=%" PRIu32, cfg->index);
	p->env_own[1] = fmt("LOOPSIM_ADDR=%s", addr);
	p->env_own[2] = fmt("LOOPSIM_PEERS=%s", cfg->peers);
	p->env_own[3] = fmt("LOOPSIM_SEED=%" PRIu64, cfg->seed);
	p->env_own[4] = fmt("LOOPSIM_CONTROL_FD=%d", LAUNCH_CONTROL_FD);
	size_t nown = 5;
	bool localhost = cfg->localhost_base != 0;
	if (localhost) {
		char lib[PATH_MAX], why[PATH_MAX + 200];
		if (launch_preload_library(lib, sizeof lib, why, sizeof why) < 0) {
			snprintf(err, errlen, "--localhost-ports: %s", why);
			return -1;
		}
		/* After the harness's own LD_PRELOAD: a sanitizer's runtime must stay first. */
		const char *before = getenv("LD_PRELOAD");
		p->env_own[nown++] = fmt("LOOPSIM_LOCALHOST_BASE=%u", (unsigned)cfg->localhost_base);
		p->env_own[nown++] = before && *before ? fmt("LD_PRELOAD=%s:%s", before, lib) : fmt("LD_PRELOAD=%s", lib);
	}
	p->failmsg = fmt("loopsim: cannot run %s: ", p->path);
	bool ok = p->failmsg;
	for (size_t i = 0; i < nown; i++)
		ok &= p->env_own[i] != NULL;
	size_t n = 0;
	for (char **e = environ; e && *e; e++)
		n++;
	p->envp = ok ? calloc(n + nown + 1, sizeof *p->envp) : NULL;
	if (!p->envp) {
		snprintf(err, errlen, "out of memory starting peer %" PRIu32, cfg->index);
		return -1;
	}
	size_t k = 0;
	for (char **e = environ; e && *e; e++)
		if (!is_ours(*e, localhost))
			p->envp[k++] = *e;
	for (size_t i = 0; i < nown; i++)
		p->envp[k++] = p->env_own[i];
	p->failmsg_len = strlen(p->failmsg);

	struct rlimit rl;
	p->max_fd = CLOSE_LOOP_MAX_FD;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < CLOSE_LOOP_MAX_FD)
		p->max_fd = (int)rl.rlim_cur;
	return 0;
}

/* Puts fd at number `to` without close-on-exec, whatever was there; dup2 alone keeps the flag when fd == to. */
static int place(int fd, int to)
{
	if (fd != to && dup2(fd, to) < 0)
		return -1;
	return fcntl(to, F_SETFD, 0);
}

/* In the child, after fork: only async-signal-safe calls until exec, and _exit on any failure. */
static _Noreturn void child(const struct plan *p, int ctl, pid_t parent)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127); /* the harness died between fork and prctl */
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigaction(SIGINT, &ign, NULL);
	/* The harness blocks SIGINT, SIGTERM and SIGHUP for its signalfd; a mask outlives exec, the peer needs none. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* Above 2 first, so that setting up 0-2 cannot overwrite it (the harness may have been started with them closed). */
	int c = fcntl(ctl, F_DUPFD_CLOEXEC, LAUNCH_CONTROL_FD);
	int log = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (c < 0 || log < 0 || devnull < 0)
		_exit(127);
	if (place(devnull, 0) < 0 || place(log, 1) < 0 || place(log, 2) < 0 || place(c, LAUNCH_CONTROL_FD) < 0)
		_exit(127);
	/* Only 0-2 and the control channel: not what the harness's own parent left open without close-on-exec. */
	if (close_range(LAUNCH_CONTROL_FD + 1, ~0U, 0) < 0)
		for (int fd = LAUNCH_CONTROL_FD + 1; fd < p->max_fd; fd++)
			close(fd);
	execve(p->path, p->argv, p->envp);
	int e = errno;
	const char *why = strerrordesc_np(e);
	if (write(2, p->failmsg, p->failmsg_len) >= 0 && why && write(2, why, strlen(why)) >= 0)
		(void)!write(2, "\n", 1);
	_exit(127);
}

int launch_peer(const struct launch_cfg *cfg, struct launched *out, char *err, size_t errlen)
{
	struct plan p;
	if (plan_make(&p, cfg, err, errlen) < 0) {
		plan_free(&p);
		return -1;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		plan_free(&p);
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		plan_free(&p);
		return -1;
	}
	if (pid == 0)
		child(&p, sv[1], parent);
	/*
	 * The child sets its group too; whichever runs first, the group exists
	 * before launch_kill() can be called. EACCES here means the child has
	 * exec'd already, having set it.
	 */
	setpgid(pid, pid);
	plan_free(&p);
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	out->pid = pid;
	out->ctl = sv[0];
	return 0;
}

int launch_kill(pid_t pid, int sig)
{
	if (pid <= 1)
		return -EINVAL; /* kill(-1) and kill(0) would reach far more than one peer */
	return kill(-pid, sig) == 0 ? 0 : -errno;
}

int launch_exit_status(int wstatus, bool via_shell, int *signo)
{
	int sig = 0, code;
	if (WIFSIGNALED(wstatus)) {
		sig = WTERMSIG(wstatus);
		code = 128 + sig;
	} else {
		code = WEXITSTATUS(wstatus);
		if (via_shell && code > 128 && code < 128 + NSIG)
			sig = code - 128;
	}
	if (signo)
		*signo = sig;
	return code;
}

/* Appends the pids listed in one /proc/.../children file. */
static void read_children(const char *path, pid_t *out, size_t cap, size_t *n)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	long v;
	while (*n < cap && fscanf(f, "%ld", &v) == 1)
		if (v > 1)
			out[(*n)++] = (pid_t)v;
	fclose(f);
}

/* Without /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN): every process whose parent is us, from /proc/N/stat. */
static int scan_proc(pid_t self, pid_t *out, size_t cap, size_t *n)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct dirent *e;
	while (*n < cap && (e = readdir(d))) {
		char path[300], buf[512];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse from the last ')'. */
		char *rp = strrchr(buf, ')');
		long ppid;
		char state;
		if (rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == self)
			out[(*n)++] = (pid_t)atol(e->d_name);
	}
	closedir(d);
	return 0;
}

/* Our children, as the kernel lists them per thread: a reparented orphan may hang under any of our threads. */
static int list_children(pid_t *out, size_t cap, size_t *n)
{
	*n = 0;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -errno;
	struct dirent *e;
	bool have_file = false;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[300];
		snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
		if (access(path, R_OK) == 0)
			have_file = true;
		read_children(path, out, cap, n);
	}
	closedir(d);
	return have_file ? 0 : scan_proc(getpid(), out, cap, n);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to ms for any of pids to exit (pidfd), or just ms where pidfds are missing. */
static void wait_any(const pid_t *pids, size_t n, int ms)
{
	struct pollfd pfd[ORPHANS_PER_ROUND];
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		int fd = (int)syscall(SYS_pidfd_open, pids[i], 0);
		if (fd >= 0)
			pfd[m++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	if (m == 0 && n > 0)
		ms = ms < 10 ? ms : 10; /* no pidfd (Linux < 5.3): look again soon */
	poll(pfd, m, ms);
	for (size_t i = 0; i < m; i++)
		close(pfd[i].fd);
}

int launch_end_orphans(int timeout_ms)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int ended = 0;
	for (;;) {
		pid_t kids[ORPHANS_PER_ROUND], left[ORPHANS_PER_ROUND];
		size_t n, nleft = 0;
		int rc = list_children(kids, ORPHANS_PER_ROUND, &n);
		if (rc < 0)
			return rc;
		if (n == 0)
			return ended;
		for (size_t i = 0; i < n; i++) {
			/* Its group goes too when it leads one (a setsid'ed daemon's helpers); others are found as orphans. */
			if (getpgid(kids[i]) == kids[i])
				kill(-kids[i], SIGKILL);
			kill(kids[i], SIGKILL);
		}
		for (size_t i = 0; i < n; i++) {
			int status;
			pid_t r = waitpid(kids[i], &status, WNOHANG);
			if (r == kids[i])
				ended++;
			else if (r == 0)
				left[nleft++] = kids[i];
			/* -1 (ECHILD): another waiter reaped it first; nothing to do. */
		}
		/*
		 * With none left, those reaped may have left children of their own
		 * to us: the next round finds them at once. Every round reaps one at
		 * least, so this ends even past the deadline.
		 */
		if (nleft == 0)
			continue;
		int64_t remain = deadline - now_ms();
		if (remain <= 0)
			return -ETIMEDOUT;
		wait_any(left, nleft, remain > INT32_MAX ? INT32_MAX : (int)remain);
	}
}
