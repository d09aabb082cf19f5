// SPDX-License-Identifier: MIT
// libloopsim-preload.so: runs an unmodified "127.0.0.1, one port per instance" game across the wire (LD_PRELOAD).
/*
 * `loopsim run --localhost-ports BASE` puts this library in every peer's
 * LD_PRELOAD, with LOOPSIM_LOCALHOST_BASE=BASE. It wraps the libc socket
 * calls through which a game's UDP traffic passes, and rewrites addresses
 * only (never data) with the map of preload_map.h:
 *   bind        0.0.0.0:p or 127.0.0.1:p -> LOOPSIM_ADDR:p (UDP only)
 *   connect, sendto, sendmsg, sendmmsg
 *               127.0.0.1:BASE+j -> peer j's public address, and an unbound
 *               UDP socket is bound to LOOPSIM_ADDR:0 first; 127.0.0.1:p,
 *               for a port p the library bound in this process, ->
 *               LOOPSIM_ADDR:p (the game's sockets still reach each other)
 *   recvfrom, recvmsg, recvmmsg, getpeername
 *               peer j's public address -> 127.0.0.1:BASE+j
 *   getsockname LOOPSIM_ADDR:p -> whatever the game asked for, on port p
 * A dual-stack AF_INET6 UDP socket (IPV6_V6ONLY off, Linux's default; a
 * Java DatagramSocket is one) gets the same rules in v4-mapped form. bind of ::, ::1,
 * ::ffff:0.0.0.0 or ::ffff:127.0.0.1 goes to ::ffff:LOOPSIM_ADDR, on which
 * the socket carries IPv4 only, as the wire does; ::ffff:127.0.0.1:BASE+j
 * and ::1:BASE+j (and an AF_INET destination, which Linux takes on such a
 * socket) go to peer j's public address, v4-mapped; peer j is shown as
 * ::ffff:127.0.0.1:BASE+j, or as ::1:BASE+j once the socket last reached a
 * peer at ::1 (what a game that writes ::1 would see without loopsim).
 * Everything else passes through untouched: TCP, other addresses, an
 * IPV6_V6ONLY socket or one bound to a real IPv6 address, AF_UNIX, every
 * call on a file. Without LOOPSIM_LOCALHOST_BASE the library does nothing
 * at all (it is inherited by every process a peer starts).
 *
 * The control channel. The game does not speak loopsim's control protocol,
 * so the library speaks two messages of it for the game: a HELLO with the
 * port of the first UDP socket it binds, of either family (and again if a
 * later one is bound to BASE+index), so that the wire can deliver to a peer
 * that has not sent yet and the harness does not wait for one; and, on the
 * harness's QUIT at the end of the run, a BYE and a SIGTERM to the process,
 * which is how a game is normally asked to stop. A reader thread (all signals blocked)
 * waits for the QUIT; it stops for good, without reading, as soon as the
 * program sends anything on the channel itself (a game that uses peer.h or
 * the Python client reads its own messages). The channel is used only if it
 * really is a SOCK_SEQPACKET socket, so that a program that closed the
 * descriptor and reused its number never sees a stray message.
 *
 * Threads and signals: the map is parsed once, in the constructor, and read
 * only after that; the rest of the shared state is a few atomics. errno is
 * kept as the program would see it without the library: what the library
 * does on the side never changes it. The library writes nothing on stdout,
 * and on stderr only a malformed environment, once.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "control.h"
#include "preload/preload_map.h"

/* Descriptors below this have a remembered `asked` (what getsockname shows); above, the truth is shown. */
#define PRELOAD_MAX_FD 65536
/* mmsghdr entries rewritten per real sendmmsg() call. */
#define PRELOAD_MMSG_CHUNK 64
/* The most messages one recvmmsg() call takes (the kernel's UIO_MAXIOV). */
#define PRELOAD_MMSG_MAX 1024
/* The reader's copy of the control channel sits at or above this number, out of the way of a program's own. */
#define PRELOAD_PRIVATE_FD_MIN 100

#define EXPORT __attribute__((visibility("default")))

/*
 * glibc declares the sockaddr arguments as transparent unions under
 * _GNU_SOURCE; a definition must use the same types.
 */
#if defined(__GLIBC__) && defined(__USE_GNU)
typedef __CONST_SOCKADDR_ARG csa_arg;
typedef __SOCKADDR_ARG sa_arg;
#define CSA(a) ((a).__sockaddr__)
#define SA(a) ((a).__sockaddr__)
#else
typedef const struct sockaddr *csa_arg;
typedef struct sockaddr *sa_arg;
#define CSA(a) (a)
#define SA(a) (a)
#endif

/* ---- the state: written by the constructor, then read only (the map), or atomic ---- */

static struct preload_map map;
static bool active;                                  /* set last by the constructor */
static _Atomic uint8_t asked[PRELOAD_MAX_FD];        /* enum preload_asked, per descriptor */
static atomic_bool via_v6_loopback[PRELOAD_MAX_FD];  /* a dual-stack socket last reached a peer at ::1 (or ::) */
static _Atomic uint32_t hello_port;                  /* the port of the last HELLO sent; 0: none yet */
static atomic_bool program_speaks;                   /* the program sent on the control channel itself */
static atomic_flag reader_started = ATOMIC_FLAG_INIT;
static _Atomic uint32_t own_ports[65536 / 32];       /* ports this process bound through the library, a bit each */

/* ---- the real functions (dlsym RTLD_NEXT), resolved on first use ---- */

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*sockname_fn)(int, struct sockaddr *, socklen_t *);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef int (*sendmmsg_fn)(int, struct mmsghdr *, unsigned int, int);
typedef int (*recvmmsg_fn)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef int (*socket_fn)(int, int, int);

/*
 * Each pointer is loaded once and kept; two threads racing to resolve one
 * store the same value. A symbol that cannot be found is a broken libc:
 * the call fails with ENOSYS rather than jumping to NULL.
 */
#define REAL(name, type)                                                              \
	static type real_##name(void)                                                 \
	{                                                                             \
		static _Atomic(type) fn;                                              \
		type f = atomic_load_explicit(&fn, memory_order_relaxed);             \
		if (!f) {                                                             \
			f = (type)dlsym(RTLD_NEXT, #name);                            \
			atomic_store_explicit(&fn, f, memory_order_relaxed);          \
		}                                                                     \
		return f;                                                             \
	}
REAL(bind, bind_fn)
REAL(connect, bind_fn)
REAL(getsockname, sockname_fn)
REAL(getpeername, sockname_fn)
REAL(sendto, sendto_fn)
REAL(recvfrom, recvfrom_fn)
REAL(sendmsg, sendmsg_fn)
REAL(recvmsg, recvmsg_fn)
REAL(sendmmsg, sendmmsg_fn)
REAL(recvmmsg, recvmmsg_fn)
REAL(send, send_fn)
REAL(socket, socket_fn)

#define CALL_REAL(name, ...) (real_##name() ? real_##name()(__VA_ARGS__) : (errno = ENOSYS, -1))

/* ---- helpers ---- */

__attribute__((constructor)) static void preload_init(void)
{
	const char *base = getenv("LOOPSIM_LOCALHOST_BASE");
	if (!base)
		return;
	char err[200];
	int saved = errno;
	if (preload_map_parse(&map, base, getenv("LOOPSIM_ADDR"), getenv("LOOPSIM_PEERS"), getenv("LOOPSIM_INDEX"),
			      getenv("LOOPSIM_CONTROL_FD"), err, sizeof err) < 0) {
		/* Not a silent no-op: the game would then talk past the wire, and the run would look empty. */
		fprintf(stderr, "loopsim-preload: %s; addresses are not rewritten\n", err);
		errno = saved;
		return;
	}
	active = true;
	errno = saved;
}

static void set_asked(int fd, enum preload_asked a)
{
	if (fd >= 0 && fd < PRELOAD_MAX_FD)
		atomic_store_explicit(&asked[fd], (uint8_t)a, memory_order_relaxed);
}

/* How a dual-stack socket shows its peers: ::1:BASE+j if it last reached one at ::1, else ::ffff:127.0.0.1. */
static void set_v6_loopback(int fd, bool on)
{
	if (fd >= 0 && fd < PRELOAD_MAX_FD)
		atomic_store_explicit(&via_v6_loopback[fd], on, memory_order_relaxed);
}

static bool get_v6_loopback(int fd)
{
	return fd >= 0 && fd < PRELOAD_MAX_FD && atomic_load_explicit(&via_v6_loopback[fd], memory_order_relaxed);
}

static enum preload_asked get_asked(int fd)
{
	return fd >= 0 && fd < PRELOAD_MAX_FD ? atomic_load_explicit(&asked[fd], memory_order_relaxed)
					      : PRELOAD_ASKED_NONE;
}

/* An address the library may rewrite (AF_INET or AF_INET6), or room for any the kernel returns. */
union addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage any;
};

static socklen_t addr_len(const union addr *a)
{
	return a->sa.sa_family == AF_INET6 ? (socklen_t)sizeof a->in6 : (socklen_t)sizeof a->in;
}

static uint16_t addr_port(const union addr *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in.sin_port);
}

/*
 * Copies an AF_INET or AF_INET6 address the caller gave, if it is one and
 * whole as the kernel takes it (an AF_INET6 one may omit sin6_scope_id, as
 * RFC 2133 had it); never reads past len.
 */
static bool addr_from(const struct sockaddr *a, socklen_t len, union addr *out)
{
	sa_family_t family;
	if (!a || len < (socklen_t)sizeof family)
		return false;
	memcpy(&family, a, sizeof family);
	memset(&out->in6, 0, sizeof out->in6);
	if (family == AF_INET && len >= (socklen_t)sizeof out->in) {
		memcpy(&out->in, a, sizeof out->in);
		return true;
	}
	if (family == AF_INET6 && len >= (socklen_t)offsetof(struct sockaddr_in6, sin6_scope_id)) {
		memcpy(&out->in6, a, len < (socklen_t)sizeof out->in6 ? len : sizeof out->in6);
		return true;
	}
	return false;
}

/*
 * The family of a UDP socket the library may rewrite for: AF_INET, or
 * AF_INET6 when the socket is dual-stack (IPV6_V6ONLY off) and bound to
 * nothing, to :: or to a v4-mapped address. Else 0: leave it alone (TCP, an
 * IPv6-only socket, one bound to a real IPv6 address, not a socket). *port
 * gets the bound port (0: not bound yet).
 */
static int udp_family(int fd, uint16_t *port)
{
	int type, v6only;
	socklen_t tl = sizeof type, ol = sizeof v6only;
	union addr me;
	socklen_t ml = sizeof me;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_DGRAM)
		return 0;
	if (CALL_REAL(getsockname, fd, &me.sa, &ml) < 0)
		return 0;
	if (me.sa.sa_family == AF_INET && ml >= (socklen_t)sizeof me.in) {
		/* fall through */
	} else if (me.sa.sa_family == AF_INET6 && ml >= (socklen_t)sizeof me.in6) {
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &ol) < 0 || v6only)
			return 0;
		if (!IN6_IS_ADDR_UNSPECIFIED(&me.in6.sin6_addr) && !IN6_IS_ADDR_V4MAPPED(&me.in6.sin6_addr))
			return 0;
	} else {
		return 0;
	}
	if (port)
		*port = addr_port(&me);
	return me.sa.sa_family;
}

/* Whether a socket of this family can take a destination of that one (a dual-stack socket takes AF_INET too). */
static bool family_fits(int sock, int dest)
{
	return sock != 0 && (sock == dest || (sock == AF_INET6 && dest == AF_INET));
}

static bool is_seqpacket(int fd)
{
	int type, domain;
	socklen_t tl = sizeof type, dl = sizeof domain;
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_SEQPACKET &&
	       getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) == 0 && domain == AF_UNIX;
}

static void send_ctl(int fd, const struct ctl_msg *m)
{
	uint8_t buf[64];
	int n = ctl_encode(m, buf, sizeof buf);
	if (n > 0)
		(void)CALL_REAL(send, fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/*
 * Waits for the harness's QUIT on its own copy of the channel (ctl, a
 * descriptor the program does not know, so that a program that closes fd 3
 * and reuses its number is never read from), then answers BYE and asks the
 * process to stop as a game is asked to: SIGTERM.
 */
static void *quit_reader(void *arg)
{
	int ctl = (int)(intptr_t)arg;
	static uint8_t buf[CTL_MAX_MSG];
	static struct ctl_msg msg;
	for (;;) {
		struct pollfd p = { .fd = ctl, .events = POLLIN };
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		if (atomic_load(&program_speaks))
			break; /* the program reads its own messages: leave them all to it */
		ssize_t n = recv(ctl, buf, sizeof buf, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break; /* the harness has gone: PR_SET_PDEATHSIG and the hang-up end the program */
		if (n > 0 && ctl_decode(buf, (size_t)n, &msg, NULL) == 0 && msg.type == CTL_QUIT) {
			struct ctl_msg bye = { .type = CTL_BYE };
			bye.u.bye.reason = CTL_BYE_QUIT;
			send_ctl(ctl, &bye);
			kill(getpid(), SIGTERM);
			break;
		}
	}
	close(ctl);
	return NULL;
}

/*
 * HELLO for the first UDP socket the library binds, and once more for one
 * bound to BASE+index (the port the game is known by) if the first was not.
 */
static void hello(uint16_t port)
{
	uint16_t own = (uint16_t)(map.base + map.index);
	uint32_t prev = atomic_load(&hello_port);
	for (;;) {
		if (prev != 0 && (prev == own || port != own))
			return;
		if (atomic_compare_exchange_weak(&hello_port, &prev, port))
			break;
	}
	if (map.control_fd < 0 || atomic_load(&program_speaks) || !is_seqpacket(map.control_fd))
		return;
	struct ctl_msg m = { .type = CTL_HELLO };
	m.u.hello = (struct ctl_hello){ .index = (uint16_t)map.index, .ip = map.self_ip, .port = port,
					.pid = (uint32_t)getpid() };
	send_ctl(map.control_fd, &m);
	if (atomic_flag_test_and_set(&reader_started))
		return;
	int ctl = fcntl(map.control_fd, F_DUPFD_CLOEXEC, PRELOAD_PRIVATE_FD_MIN);
	if (ctl < 0)
		return;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_t t;
	bool started = false;
	if (pthread_attr_init(&attr) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		started = pthread_create(&t, &attr, quit_reader, (void *)(intptr_t)ctl) == 0;
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!started)
		close(ctl);
}

/* After a bind the library made: say where the game now is. */
static void bound(int fd, enum preload_asked a)
{
	union addr me;
	socklen_t ml = sizeof me;
	set_asked(fd, a);
	if (CALL_REAL(getsockname, fd, &me.sa, &ml) == 0 && ml >= (socklen_t)sizeof me.in &&
	    (me.sa.sa_family == AF_INET || (me.sa.sa_family == AF_INET6 && ml >= (socklen_t)sizeof me.in6))) {
		uint16_t port = addr_port(&me);
		atomic_fetch_or(&own_ports[port / 32], 1u << (port % 32));
		hello(port);
	}
}

static bool own_port(uint16_t port)
{
	return atomic_load_explicit(&own_ports[port / 32], memory_order_relaxed) & (1u << (port % 32));
}

/*
 * Before a datagram to the mesh: a UDP socket the game never bound would
 * be bound by the kernel to 0.0.0.0 (or ::), and its datagrams would leave
 * from 127.0.0.1, which is no peer's address. Bind it to LOOPSIM_ADDR:0
 * (::ffff:LOOPSIM_ADDR:0) first. family is udp_family()'s, port its port.
 */
static void ready_to_send(int fd, int family, uint16_t port)
{
	if (port != 0)
		return;
	union addr me;
	struct sockaddr_in self = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(map.self_ip) };
	if (family == AF_INET6)
		preload_map_v4_mapped(&self, &me.in6);
	else
		me.in = self;
	/* Another thread may have bound it in between (EINVAL): either way it is bound now. */
	if (CALL_REAL(bind, fd, &me.sa, addr_len(&me)) == 0)
		bound(fd, family == AF_INET6 ? PRELOAD_ASKED_ANY6 : PRELOAD_ASKED_ANY);
}

/*
 * Where a destination really is. DEST_PEER: a session port (a peer on the
 * wire, or this one). DEST_OWN: 127.0.0.1:p where p is another port this
 * process bound through the library, which moved it to LOOPSIM_ADDR (two
 * sockets of one game that talk to each other over 127.0.0.1). Else
 * DEST_NONE: left alone.
 */
enum dest_kind { DEST_NONE, DEST_PEER, DEST_OWN };

/*
 * *out is in the destination's own family; an IPv6 form (::1, ::,
 * ::ffff:127.0.0.1) becomes v4-mapped. *v6_loopback says whether the game
 * wrote ::1 or :: rather than a v4-mapped address.
 */
static enum dest_kind dest_of(const struct sockaddr *to, socklen_t len, union addr *out, bool *v6_loopback)
{
	union addr in;
	struct sockaddr_in v4;
	*v6_loopback = false;
	if (!addr_from(to, len, &in))
		return DEST_NONE;
	if (in.sa.sa_family == AF_INET6) {
		if (preload_map_outbound6(&map, &in.in6, &out->in6)) {
			*v6_loopback = !IN6_IS_ADDR_V4MAPPED(&in.in6.sin6_addr);
			return DEST_PEER;
		}
		if (!preload_map_v4_of(&in.in6, &v4))
			return DEST_NONE;
	} else {
		if (preload_map_outbound(&map, &in.in, &out->in))
			return DEST_PEER;
		v4 = in.in;
	}
	uint32_t ip = ntohl(v4.sin_addr.s_addr);
	if ((ip != INADDR_LOOPBACK && ip != INADDR_ANY) || !own_port(ntohs(v4.sin_port)))
		return DEST_NONE;
	v4.sin_addr.s_addr = htonl(map.self_ip);
	if (in.sa.sa_family == AF_INET6)
		preload_map_v4_mapped(&v4, &out->in6);
	else
		out->in = v4;
	return DEST_OWN;
}

/* A destination to rewrite, for a UDP socket: true with *out set. Keeps errno. */
static bool outbound(int fd, const struct sockaddr *to, socklen_t len, union addr *out)
{
	bool v6_loopback;
	enum dest_kind k = active ? dest_of(to, len, out, &v6_loopback) : DEST_NONE;
	if (k == DEST_NONE)
		return false;
	int saved = errno;
	uint16_t port;
	int family = udp_family(fd, &port);
	bool ok = family_fits(family, out->sa.sa_family);
	if (ok && k == DEST_PEER) {
		ready_to_send(fd, family, port);
		set_v6_loopback(fd, v6_loopback);
	}
	errno = saved;
	return ok;
}

/*
 * A source address the kernel returned, rewritten for the game: `got` bytes
 * of it are in ss, the caller's buffer holds `cap`; copies what fits, as the
 * kernel does, and gives the full length back.
 */
static void give_addr(int fd, union addr *ss, socklen_t got, struct sockaddr *to, socklen_t cap,
		      socklen_t *len_out)
{
	if (got >= (socklen_t)sizeof ss->in && ss->sa.sa_family == AF_INET)
		preload_map_inbound(&map, &ss->in);
	else if (got >= (socklen_t)sizeof ss->in6 && ss->sa.sa_family == AF_INET6)
		preload_map_inbound6(&map, &ss->in6, get_v6_loopback(fd));
	memcpy(to, ss, got < cap ? got : cap);
	*len_out = got;
}

/* ---- the wrapped calls ---- */

EXPORT int socket(int domain, int type, int protocol)
{
	int fd = CALL_REAL(socket, domain, type, protocol);
	set_asked(fd, PRELOAD_ASKED_NONE); /* a new socket on a reused number: nothing to remember */
	set_v6_loopback(fd, false);
	return fd;
}

EXPORT int bind(int fd, csa_arg arg, socklen_t len)
{
	const struct sockaddr *addr = CSA(arg);
	union addr want, to;
	enum preload_asked a;
	if (!active || !addr_from(addr, len, &want) ||
	    !(want.sa.sa_family == AF_INET6 ? preload_map_bind6(&map, &want.in6, &to.in6, &a)
					     : preload_map_bind(&map, &want.in, &to.in, &a)))
		return CALL_REAL(bind, fd, addr, len);
	int saved = errno;
	bool udp = udp_family(fd, NULL) == want.sa.sa_family; /* never rebinds an IPV6_V6ONLY socket */
	errno = saved;
	if (!udp) {
		set_asked(fd, PRELOAD_ASKED_NONE);
		return CALL_REAL(bind, fd, addr, len);
	}
	int r = CALL_REAL(bind, fd, &to.sa, addr_len(&to));
	if (r == 0) {
		bound(fd, a);
		errno = saved;
	}
	return r;
}

EXPORT int connect(int fd, csa_arg arg, socklen_t len)
{
	const struct sockaddr *addr = CSA(arg);
	union addr to;
	if (outbound(fd, addr, len, &to))
		return CALL_REAL(connect, fd, &to.sa, addr_len(&to));
	return CALL_REAL(connect, fd, addr, len);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, csa_arg arg, socklen_t len)
{
	const struct sockaddr *addr = CSA(arg);
	union addr to;
	if (active && fd >= 0 && fd == map.control_fd)
		atomic_store(&program_speaks, true);
	if (outbound(fd, addr, len, &to))
		return CALL_REAL(sendto, fd, buf, n, flags, &to.sa, addr_len(&to));
	return CALL_REAL(sendto, fd, buf, n, flags, addr, len);
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	if (active && fd >= 0 && fd == map.control_fd)
		atomic_store(&program_speaks, true);
	return CALL_REAL(send, fd, buf, n, flags);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	union addr to;
	if (active && fd >= 0 && fd == map.control_fd)
		atomic_store(&program_speaks, true);
	if (!msg || !outbound(fd, msg->msg_name, msg->msg_namelen, &to))
		return CALL_REAL(sendmsg, fd, msg, flags);
	struct msghdr m = *msg;
	m.msg_name = &to;
	m.msg_namelen = addr_len(&to);
	return CALL_REAL(sendmsg, fd, &m, flags);
}

EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	union addr to[PRELOAD_MMSG_CHUNK];
	struct mmsghdr chunk[PRELOAD_MMSG_CHUNK];
	bool any = false, peer = false, v6_loopback = false, lo;
	if (!active || !vec)
		return CALL_REAL(sendmmsg, fd, vec, vlen, flags);
	for (unsigned int i = 0; i < vlen && !any; i++)
		any = dest_of(vec[i].msg_hdr.msg_name, vec[i].msg_hdr.msg_namelen, &to[0], &lo) != DEST_NONE;
	int saved = errno;
	uint16_t port;
	int family = any ? udp_family(fd, &port) : 0;
	if (!family) {
		errno = saved;
		return CALL_REAL(sendmmsg, fd, vec, vlen, flags);
	}
	for (unsigned int i = 0; i < vlen; i++)
		if (dest_of(vec[i].msg_hdr.msg_name, vec[i].msg_hdr.msg_namelen, &to[0], &lo) == DEST_PEER &&
		    family_fits(family, to[0].sa.sa_family)) {
			peer = true;
			v6_loopback = lo; /* the last peer's form, as sendto() would leave it */
		}
	if (peer) {
		ready_to_send(fd, family, port);
		set_v6_loopback(fd, v6_loopback);
	}
	errno = saved;
	/* The rewritten names live here, chunk by chunk; the caller's array only gets each msg_len back. */
	int sent = 0;
	for (unsigned int i = 0; i < vlen;) {
		unsigned int k = vlen - i < PRELOAD_MMSG_CHUNK ? vlen - i : PRELOAD_MMSG_CHUNK;
		for (unsigned int c = 0; c < k; c++) {
			struct msghdr *h = &chunk[c].msg_hdr;
			chunk[c] = vec[i + c];
			if (dest_of(h->msg_name, h->msg_namelen, &to[c], &lo) != DEST_NONE &&
			    family_fits(family, to[c].sa.sa_family)) {
				h->msg_name = &to[c];
				h->msg_namelen = addr_len(&to[c]);
			}
		}
		int r = CALL_REAL(sendmmsg, fd, chunk, k, flags);
		if (r < 0)
			return sent > 0 ? sent : r; /* as the kernel: the count once any went, else the error */
		for (int c = 0; c < r; c++)
			vec[i + (unsigned int)c].msg_len = chunk[c].msg_len;
		sent += r;
		i += (unsigned int)r;
		if ((unsigned int)r < k)
			break;
	}
	return sent;
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, sa_arg arg, socklen_t *len)
{
	struct sockaddr *addr = SA(arg);
	if (!active || !addr || !len)
		return CALL_REAL(recvfrom, fd, buf, n, flags, addr, len);
	union addr ss;
	socklen_t cap = *len, got = sizeof ss;
	ssize_t r = CALL_REAL(recvfrom, fd, buf, n, flags, &ss.sa, &got);
	if (r >= 0)
		give_addr(fd, &ss, got, addr, cap, len);
	return r;
}

#ifdef __GLIBC__
/* _FORTIFY_SOURCE turns recvfrom() into this when the buffer's size is known at compile time. */
extern void __chk_fail(void) __attribute__((noreturn));
EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, sa_arg arg, socklen_t *len);
EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, sa_arg arg, socklen_t *len)
{
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, flags, arg, len);
}
#endif

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (!active || !msg || !msg->msg_name)
		return CALL_REAL(recvmsg, fd, msg, flags);
	union addr ss;
	struct msghdr m = *msg;
	m.msg_name = &ss;
	m.msg_namelen = sizeof ss;
	ssize_t r = CALL_REAL(recvmsg, fd, &m, flags);
	if (r >= 0) {
		give_addr(fd, &ss, m.msg_namelen, msg->msg_name, msg->msg_namelen, &msg->msg_namelen);
		msg->msg_controllen = m.msg_controllen;
		msg->msg_flags = m.msg_flags;
	}
	return r;
}

EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout)
{
	if (!active || !vec)
		return CALL_REAL(recvmmsg, fd, vec, vlen, flags, timeout);
	/*
	 * Each name is rewritten in place if its buffer holds the whole address
	 * (a sockaddr_in, or a sockaddr_in6 on a dual-stack socket); a shorter
	 * one keeps the truth.
	 */
	unsigned int n = vlen < PRELOAD_MMSG_MAX ? vlen : PRELOAD_MMSG_MAX;
	socklen_t cap[PRELOAD_MMSG_MAX];
	for (unsigned int i = 0; i < n; i++)
		cap[i] = vec[i].msg_hdr.msg_name ? vec[i].msg_hdr.msg_namelen : 0;
	int r = CALL_REAL(recvmmsg, fd, vec, vlen, flags, timeout);
	bool v6_loopback = r > 0 && get_v6_loopback(fd);
	for (int i = 0; i < r && (unsigned int)i < n; i++) {
		struct msghdr *h = &vec[i].msg_hdr;
		union addr a;
		socklen_t len = h->msg_namelen;
		if (cap[i] < len || (len != sizeof a.in && len != sizeof a.in6))
			continue;
		memcpy(&a, h->msg_name, len);
		bool changed = false;
		if (a.sa.sa_family == AF_INET && len == sizeof a.in)
			changed = preload_map_inbound(&map, &a.in);
		else if (a.sa.sa_family == AF_INET6 && len == sizeof a.in6)
			changed = preload_map_inbound6(&map, &a.in6, v6_loopback);
		if (changed)
			memcpy(h->msg_name, &a, len);
	}
	return r;
}

EXPORT int getpeername(int fd, sa_arg arg, socklen_t *len)
{
	struct sockaddr *addr = SA(arg);
	if (!active || !addr || !len)
		return CALL_REAL(getpeername, fd, addr, len);
	union addr ss;
	socklen_t cap = *len, got = sizeof ss;
	int r = CALL_REAL(getpeername, fd, &ss.sa, &got);
	if (r == 0)
		give_addr(fd, &ss, got, addr, cap, len);
	return r;
}

EXPORT int getsockname(int fd, sa_arg arg, socklen_t *len)
{
	struct sockaddr *addr = SA(arg);
	enum preload_asked a = get_asked(fd);
	if (!active || !addr || !len || a == PRELOAD_ASKED_NONE)
		return CALL_REAL(getsockname, fd, addr, len);
	union addr ss;
	socklen_t cap = *len, got = sizeof ss;
	int r = CALL_REAL(getsockname, fd, &ss.sa, &got);
	if (r == 0) {
		if (got >= (socklen_t)sizeof ss.in && ss.sa.sa_family == AF_INET)
			preload_map_local_shown(&map, &ss.in, a);
		else if (got >= (socklen_t)sizeof ss.in6 && ss.sa.sa_family == AF_INET6)
			preload_map_local_shown6(&map, &ss.in6, a);
		memcpy(addr, &ss, got < cap ? got : cap);
		*len = got;
	}
	return r;
}
