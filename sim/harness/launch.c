// SPDX-License-Identifier: MIT
// Launching peers as child processes.
#include "harness/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire/addr.h"

int launch_expand(const char *tmpl, const struct launch_cfg *cfg, char *out, size_t cap)
{
	char index[16], addr[WIRE_ADDR_STRLEN], seed[24];
	snprintf(index, sizeof index, "%u", cfg->index);
	wire_addr_str(addr, sizeof addr, cfg->addr, 0);
	snprintf(seed, sizeof seed, "%" PRIu64, cfg->seed);
	static const char *const names[] = { "{index}", "{addr}", "{peers}", "{seed}" };
	const char *values[] = { index, addr, cfg->peers, seed };
	size_t n = 0;
	for (const char *p = tmpl; *p;) {
		const char *v = NULL;
		size_t skip = 1;
		for (int i = 0; i < 4 && !v; i++)
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
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return snprintf(out, cap, "%s/loopsim-peer", self) < (int)cap ? 0 : -1;
}

/* In the child, after fork: only async-signal-safe calls until exec, and _exit on any failure. */
static void child(const struct launch_cfg *cfg, int ctl, pid_t parent, const char *shell_cmd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127); /* the harness died between fork and prctl */
	signal(SIGINT, SIG_IGN);
	int fd = dup(ctl); /* dup clears close-on-exec: the one fd the peer inherits */
	int log = open(cfg->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || log < 0 || devnull < 0)
		_exit(127);
	dup2(devnull, 0);
	dup2(log, 1);
	dup2(log, 2);
	char v[32], addr[WIRE_ADDR_STRLEN];
	snprintf(v, sizeof v, "%u", cfg->index);
	setenv("LOOPSIM_INDEX", v, 1);
	setenv("LOOPSIM_ADDR", wire_addr_str(addr, sizeof addr, cfg->addr, 0), 1);
	setenv("LOOPSIM_PEERS", cfg->peers, 1);
	snprintf(v, sizeof v, "%" PRIu64, cfg->seed);
	setenv("LOOPSIM_SEED", v, 1);
	snprintf(v, sizeof v, "%d", fd);
	setenv("LOOPSIM_CONTROL_FD", v, 1);
	char timeout[32];
	snprintf(timeout, sizeof timeout, "--disconnect-timeout=%" PRIu32, cfg->disconnect_ms);
	if (shell_cmd)
		execl("/bin/sh", "sh", "-c", shell_cmd, (char *)NULL);
	else if (cfg->disconnect_ms)
		execl(cfg->program, "loopsim-peer", "--quiet", timeout, (char *)NULL);
	else
		execl(cfg->program, "loopsim-peer", "--quiet", (char *)NULL);
	fprintf(stderr, "loopsim: cannot run %s: %s\n", shell_cmd ? "/bin/sh" : cfg->program, strerror(errno));
	_exit(127);
}

int launch_peer(const struct launch_cfg *cfg, struct launched *out, char *err, size_t errlen)
{
	char *shell_cmd = NULL;
	if (cfg->cmd && *cfg->cmd) {
		size_t cap = strlen(cfg->cmd) + strlen(cfg->peers) * 4 + 256;
		char *expanded = malloc(cap);
		shell_cmd = malloc(cap + 8);
		if (!expanded || !shell_cmd || launch_expand(cfg->cmd, cfg, expanded, cap) < 0) {
			free(expanded);
			free(shell_cmd);
			snprintf(err, errlen, "--peer-cmd: the command is too long once expanded");
			return -1;
		}
		/* exec: the peer replaces the shell, so signals and PDEATHSIG reach the program itself. */
		snprintf(shell_cmd, cap + 8, "exec %s", expanded);
		free(expanded);
	} else if (access(cfg->program, X_OK) != 0) {
		snprintf(err, errlen, "cannot run the peer program %s: %s (build it, or set LOOPSIM_PEER)", cfg->program,
			 strerror(errno));
		return -1;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		free(shell_cmd);
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(shell_cmd);
		return -1;
	}
	if (pid == 0)
		child(cfg, sv[1], parent, shell_cmd);
	free(shell_cmd);
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	out->pid = pid;
	out->ctl = sv[0];
	return 0;
}
