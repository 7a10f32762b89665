#ifndef CZEROMQ_SHIM_H
#define CZEROMQ_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

/// Error numbers that zmq.h defines through expressions Swift does not import.
static inline int czmq_eterm(void) { return ETERM; }
static inline int czmq_eagain(void) { return EAGAIN; }
static inline int czmq_eintr(void) { return EINTR; }
static inline int czmq_ehostunreach(void) { return EHOSTUNREACH; }
static inline int czmq_einval(void) { return EINVAL; }

/// errno as a function: Swift cannot read the C macro reliably across libcs.
static inline int czmq_errno(void) { return zmq_errno(); }

/// Non-blocking eventfd used to wake a socket-owning thread from any other thread.
static inline int czmq_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

static inline int czmq_eventfd_signal(int fd) {
    uint64_t one = 1;
    return (int)write(fd, &one, sizeof one);
}

static inline int czmq_eventfd_drain(int fd) {
    uint64_t value = 0;
    return (int)read(fd, &value, sizeof value);
}

static inline int czmq_close_fd(int fd) { return close(fd); }

/// Names the calling thread (15 characters at most), so that top -H and gdb show it.
static inline void czmq_name_thread(const char *name) { pthread_setname_np(pthread_self(), name); }

#endif
