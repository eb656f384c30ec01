/* SPDX-License-Identifier: MIT */
/* Exec a delegated IPAM plugin through CNI_PATH (see ipam-exec.h). */
#define _GNU_SOURCE
#include "platform/ipam-exec.h"
#include "spawn.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "core/json.h"

#define IPAM_EXEC_OUT_MAX (1u << 20)

/* The first executable <dir>/<type> along @cni_path into @buf. */
static int find_plugin(const char *type, const char *cni_path, char *buf, size_t size)
{
	const char *p = cni_path && cni_path[0] ? cni_path : "/opt/cni/bin";

	while (*p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > 0 && (size_t)snprintf(buf, size, "%.*s/%s", (int)n, p, type) < size &&
		    access(buf, X_OK) == 0)
			return 0;
		p += n;
		if (*p == ':')
			p++;
	}
	return -ENOENT;
}

/* Write @in to the child's stdin and read its stdout into a heap buffer, without deadlock,
 * until the child has exited and its output is read (@pidfd, spawn_pidfd; -1: until EOF), or
 * @deadline (CLOCK_MONOTONIC ms). Output past IPAM_EXEC_OUT_MAX is drained and dropped (the
 * child never blocks on a full pipe) and reported with -EFBIG. Returns 0, -EFBIG (with the kept
 * output), -ETIMEDOUT or -ENOMEM; *ret (caller frees) is set unless -ENOMEM. */
static int pump(int in_fd, int out_fd, int pidfd, const char *in, size_t len, long long deadline,
		char **ret, size_t *ret_len)
{
	size_t off = 0, used = 0, cap = 4096;
	char *out = malloc(cap), sink[4096];
	struct pollfd pfd[3];
	bool overflow = false, exited = false, eof = false;
	int result = 0;

	if (!out) {
		if (in_fd >= 0)
			close(in_fd);
		return -ENOMEM;
	}
	if (len == 0) {
		close(in_fd);
		in_fd = -1;
	}
	for (;;) {
		long long left = deadline - spawn_now_ms();
		int nfd = 0, r, o;

		if (left <= 0) {
			result = -ETIMEDOUT;
			break;
		}
		if (in_fd >= 0)
			pfd[nfd++] = (struct pollfd){ .fd = in_fd, .events = POLLOUT };
		o = nfd;
		pfd[nfd++] = (struct pollfd){ .fd = eof ? -1 : out_fd, .events = POLLIN };
		if (pidfd >= 0 && !exited)
			pfd[nfd++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		/* once the child is gone only what it wrote is left: no more waiting */
		r = poll(pfd, (nfds_t)nfd, exited ? 0 : left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			result = -errno;
			break;
		}
		if (pidfd >= 0 && !exited && pfd[nfd - 1].revents) {
			exited = true;
			if (in_fd >= 0) {
				close(in_fd);
				in_fd = -1;
			}
			continue;
		}
		if (exited && (r == 0 || eof))
			break;
		if (in_fd >= 0 && pfd[0].revents) {
			ssize_t w = write(in_fd, in + off, len - off);

			if (w > 0)
				off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == len) {
				close(in_fd);
				in_fd = -1;
			}
		}
		if (!eof && pfd[o].revents) {
			char *dst = out + used;
			size_t room = cap - 1 - used;
			ssize_t n;

			if (room == 0 && cap < IPAM_EXEC_OUT_MAX) {
				char *bigger = realloc(out, cap * 2);

				if (bigger) {
					out = bigger;
					cap *= 2;
					dst = out + used;
					room = cap - 1 - used;
				}
			}
			if (room == 0) {
				overflow = true;
				dst = sink;
				room = sizeof(sink);
			}
			n = read(out_fd, dst, room);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			if (n == 0) {
				/* stdout closed: the end without a pidfd, else wait for the exit */
				if (pidfd < 0 || exited)
					break;
				eof = true;
				continue;
			}
			if (dst != sink)
				used += (size_t)n;
		}
	}
	if (in_fd >= 0)
		close(in_fd);
	out[used] = '\0';
	*ret = out;
	*ret_len = used;
	if (!result && overflow)
		result = -EFBIG;
	return result;
}

/* What the plugin's run came to: @r the pump's (and reap's) result, @status its wait status,
 * @out (@out_len bytes, NUL-terminated) what it printed, @timeout_ms the deadline it had. A
 * timeout is code 11, an oversized answer code 6, out of memory code 100 (no verdict on the
 * plugin's answer), a failed run the plugin's own code and message (code 100 and its raw output
 * when it printed no error object); an ADD's result is decoded into *@ret (when @ret). Returns 0
 * or negative errno with err set. */
static int answer(const char *type, const char *command, int r, int status, unsigned timeout_ms,
		  const char *out, size_t out_len, struct cni_result *ret, struct cni_error *err)
{
	const cJSON *code;
	cJSON *doc;
	bool oom = false;

	if (r == -ETIMEDOUT)
		return cni_error_set(err, r, CNI_CODE_TRY_AGAIN,
				     "IPAM plugin %s %s timed out after %u ms (killed)", type, command,
				     timeout_ms);
	if (r == -EFBIG)
		return cni_error_set(err, r, CNI_CODE_DECODE,
				     "IPAM plugin %s %s wrote more than %u bytes", type, command,
				     IPAM_EXEC_OUT_MAX);
	if (r < 0)
		return cni_error_set(err, r, r == -ENOMEM ? CNI_CODE_INTERNAL : CNI_CODE_IO,
				     "IPAM plugin %s: %s", type, strerror(-r));
	doc = out_len ? json_parse(out, out_len, NULL, &oom) : NULL;
	if (oom) /* no verdict on the plugin's answer, its error code included */
		return cni_error_set(err, -ENOMEM, CNI_CODE_INTERNAL,
				     "out of memory reading IPAM plugin %s %s's output", type, command);
	code = doc ? cJSON_GetObjectItem(doc, "code") : NULL;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || (code && cJSON_IsNumber(code))) {
		const char *msg = doc ? cni_json_string(doc, "msg") : NULL;
		const char *det = doc ? cni_json_string(doc, "details") : NULL;

		r = cni_error_set(err, -EIO,
				  code && cJSON_IsNumber(code) ? code->valueint : CNI_CODE_INTERNAL,
				  "IPAM plugin %s %s failed: %s", type, command,
				  msg ? msg : (out_len ? out : "no output"));
		if (det)
			cni_error_details(err, "%s", det);
	} else if (ret && strcmp(command, "ADD") == 0) {
		r = doc ? cni_result_decode(doc, ret, err) :
			  cni_error_set(err, -EINVAL, CNI_CODE_DECODE,
					"IPAM plugin %s returned no JSON result", type);
	} else {
		r = 0;
	}
	cJSON_Delete(doc);
	return r;
}

int ipam_exec(const char *type, const char *command, const char *cni_path, const char *conf_text,
	      size_t len, struct cni_result *ret, struct cni_error *err)
{
	char path[4096], *out = NULL;
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, status, r, rr, pidfd;
	size_t out_len = 0;
	unsigned timeout;
	struct stat st, self;
	pid_t pid;

	if (!type[0] || strchr(type, '/') || strcmp(type, ".") == 0 || strcmp(type, "..") == 0)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.type \"%s\" is not a plugin name", type);
	if (find_plugin(type, cni_path, path, sizeof(path)) < 0)
		return cni_error_set(err, -ENOENT, CNI_CODE_INVALID_CONFIG,
				     "IPAM plugin %s not found in CNI_PATH (%s)", type,
				     cni_path && cni_path[0] ? cni_path : "unset");
	/* our own program under another name (a symlink, a hard link) would wait on our locks */
	if (stat(path, &st) == 0 && stat("/proc/self/exe", &self) == 0 &&
	    st.st_dev == self.st_dev && st.st_ino == self.st_ino)
		return cni_error_set(err, -EINVAL, CNI_CODE_INVALID_CONFIG,
				     "ipam.type \"%s\" (%s) is this plugin's own program", type, path);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		r = cni_error_set(err, -errno, CNI_CODE_IO, "pipe: %s", strerror(errno));
		goto out;
	}
	/* stderr stays the plugin's own (the runtime's), as libcni passes it */
	r = spawn_start(&(struct spawn_opts){ .path = path, .argv = (const char *const[]){ type, NULL },
					     .stdin_fd = in[0], .stdout_fd = outp[1], .stderr_fd = 2,
					     .env_name = "CNI_COMMAND", .env_value = command },
			CNI_CODE_IO, &pid, err);
	if (r < 0)
		goto out;
	close(in[0]);
	close(outp[1]);
	in[0] = outp[1] = -1;
	/* a plugin that never reads its stdin cannot hold a write past the deadline */
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	timeout = spawn_timeout_ms();
	pidfd = spawn_pidfd(pid);
	r = pump(in[1], outp[0], pidfd, conf_text, len, spawn_now_ms() + timeout, &out, &out_len);
	in[1] = -1; /* closed by pump */
	if (pidfd >= 0)
		close(pidfd);
	/* A hung plugin's whole group is killed; the pipe is closed before the wait either way, so
	 * a child still writing gets EPIPE instead of blocking the wait. */
	close(outp[0]);
	outp[0] = -1;
	rr = spawn_reap(pid, r == -ETIMEDOUT, &status);
	if (rr < 0 && r == 0)
		r = rr;
	r = answer(type, command, r, status, timeout, out, out_len, ret, err);
out:
	free(out);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (outp[i] >= 0)
			close(outp[i]);
	}
	return r;
}
