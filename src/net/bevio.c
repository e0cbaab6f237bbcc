/* Direct writes to plain-socket bufferevents (see bevio.h). */
#include "net/bevio.h"

#include "core/err.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

int
cst_bev_writev(struct bufferevent *bev, const struct iovec *iov, int n)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	size_t sent = 0;
	evutil_socket_t fd;

	if (evbuffer_get_length(out) == 0 && bufferevent_openssl_get_ssl(bev) == NULL &&
	    (bufferevent_get_enabled(bev) & EV_WRITE) && (fd = bufferevent_getfd(bev)) >= 0) {
		ssize_t w;

		do
			w = writev(fd, iov, n);
		while (w < 0 && errno == EINTR);
		if (w > 0)
			sent = (size_t)w;
	}
	for (int i = 0; i < n; i++) {
		if (sent >= iov[i].iov_len) {
			sent -= iov[i].iov_len;
			continue;
		}
		if (evbuffer_add(out, (const char *)iov[i].iov_base + sent,
		    iov[i].iov_len - sent) != 0)
			return CST_ENOMEM;
		sent = 0;
	}
	return 0;
}
