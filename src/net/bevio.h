/*
 * Writing to a bufferevent without the event-loop round trip. A plain-socket bufferevent whose
 * output buffer is empty gets the bytes with one writev() at once; only what the socket does
 * not take is queued, so a small response costs no EPOLLOUT registration and removal. TLS
 * bufferevents, and any bufferevent with output already queued, queue everything (order is
 * kept). Errors other than EAGAIN leave the bytes queued for the bufferevent to fail on.
 */
#ifndef CST_NET_BEVIO_H
#define CST_NET_BEVIO_H

#include <event2/bufferevent.h>
#include <stddef.h>
#include <sys/uio.h>

/* Writes the n pieces in order. Returns 0, or CST_ENOMEM if the remainder cannot be queued. */
int cst_bev_writev(struct bufferevent *bev, const struct iovec *iov, int n);

#endif
