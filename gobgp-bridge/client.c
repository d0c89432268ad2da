// SPDX-License-Identifier: GPL-2.0
/*
 * gobgp-bridge client: one gRPC channel to gobgpd, driven from a libuv loop.
 *
 * Threads: grpc core's callback completion queue hangs in the Debian version,
 * so one thread blocks in grpc_completion_queue_next() and hands (tag, ok)
 * pairs to the loop through a mutex-protected list and uv_async_send() (sends
 * coalesce, so no data travels in the async handle itself). Every grpc call
 * and batch is started from the loop thread.
 *
 * Calls: GetBgp (is BGP running?), WatchEvent (best paths, init dump),
 * AddPathStream (one call per batch of adds/withdrawals), ListPath.
 *
 * State kept here: the ledger (routes this client added: re-advertised after
 * every reconnect), the received RIB (last delivered state per NLRI, so a
 * resync delivers only differences), withdrawals not yet acknowledged, and
 * the queue of changes not yet sent.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "codec.h"

#define GB_BACKOFF_MIN_MS   100
#define GB_BACKOFF_MAX_MS   5000
#define GB_PATHS_PER_MSG    1000
#define GB_GETBGP_TIMEOUT_MS 3000
/* AddPathStreamRequest.paths is field 3, length-delimited */
#define ADDPATH_PATHS_TAG   0x1a

/* ---------- hash map: route key -> route ---------- */

struct map_ent {
	struct gb_key   key;
	struct gb_route r;
	uint32_t        gen;   /* resync mark (RIB) */
	uint8_t         state; /* 0 empty, 1 used, 2 deleted */
};

struct map {
	struct map_ent *e;
	size_t cap, n, dead;
};

static uint64_t key_hash(const struct gb_key *k)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (int i = 0; i < k->len; i++)
		h = (h ^ k->b[i]) * 1099511628211ull;
	return h;
}

static bool key_eq(const struct gb_key *a, const struct gb_key *b)
{
	return a->len == b->len && !memcmp(a->b, b->b, a->len);
}

static struct map_ent *map_find(struct map *m, const struct gb_key *k)
{
	if (!m->cap)
		return NULL;
	for (size_t i = key_hash(k) & (m->cap - 1), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
		struct map_ent *e = &m->e[i];

		if (e->state == 0)
			return NULL;
		if (e->state == 1 && key_eq(&e->key, k))
			return e;
	}
	return NULL;
}

static int map_grow(struct map *m)
{
	/* mostly tombstones: rehash at the same size */
	size_t ocap = m->cap, cap = !ocap ? 64 : m->n * 4 < ocap ? ocap : ocap * 2;
	struct map_ent *old = m->e, *ne = calloc(cap, sizeof(*ne));

	if (!ne)
		return -ENOMEM;
	m->e = ne;
	m->cap = cap;
	m->n = m->dead = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].state != 1)
			continue;
		size_t j = key_hash(&old[i].key) & (cap - 1);

		while (ne[j].state)
			j = (j + 1) & (cap - 1);
		ne[j] = old[i];
		m->n++;
	}
	free(old);
	return 0;
}

/* Insert or replace; returns the entry or NULL on allocation failure. */
static struct map_ent *map_put(struct map *m, const struct gb_key *k, const struct gb_route *r)
{
	struct map_ent *e = map_find(m, k);
	size_t i;

	if (e) {
		e->r = *r;
		return e;
	}
	if ((m->n + m->dead + 1) * 10 > m->cap * 7 && map_grow(m))
		return NULL;
	for (i = key_hash(k) & (m->cap - 1); m->e[i].state == 1; i = (i + 1) & (m->cap - 1))
		;
	e = &m->e[i];
	if (e->state == 2)
		m->dead--;
	e->state = 1;
	e->key = *k;
	e->r = *r;
	e->gen = 0;
	m->n++;
	return e;
}

static void map_del_ent(struct map *m, struct map_ent *e)
{
	e->state = 2;
	m->n--;
	m->dead++;
}

static void map_free(struct map *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}

/* ---------- change queue ---------- */

struct op {
	struct gb_route r;       /* normalized; full path also for withdrawals */
	bool            withdraw;
};

struct oplist {
	struct op *v;
	size_t n, cap;
};

static int oplist_push(struct oplist *l, const struct gb_route *r, bool withdraw)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct op *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n].r = *r;
	l->v[l->n].withdraw = withdraw;
	l->n++;
	return 0;
}

/* A batch waiting to be (re)sent after a rejection was split. */
struct retry {
	struct retry *next;
	struct oplist ops;
};

/* ---------- calls ---------- */

struct gb_call;
struct gb_tag {
	void (*fn)(struct gb_call *call, bool ok);
	struct gb_call *call;
};

enum call_kind { CALL_GETBGP, CALL_WATCH, CALL_ADD, CALL_LIST };

struct gb_call {
	struct gb_client   *c;
	enum call_kind      kind;
	grpc_call          *call;
	int                 pending;   /* batches started and not completed */
	bool                cancelled;
	uint32_t            epoch;     /* connection generation it belongs to */
	grpc_metadata_array md_init, md_trail;
	grpc_status_code    status;
	grpc_slice          details;
	grpc_byte_buffer   *send_buf, *recv_buf;
	struct gb_tag       t_send, t_recv, t_status;
	struct gb_call     *next, *prev; /* c->calls */

	/* CALL_ADD */
	struct oplist       ops;
	size_t              sent;       /* ops already in messages */
	bool                resync;     /* this batch re-advertises after a reconnect */
	size_t              n_readv;
	/* CALL_WATCH */
	bool                got_dump;
	/* CALL_LIST */
	gb_list_cb          list_cb;
	void               *list_arg;
	/* CALL_GETBGP */
	uint32_t            asn;
};

struct event {
	struct event *next;
	struct gb_tag *tag;
	bool ok;
};

enum conn_state { CONN_DOWN, CONN_PROBING, CONN_WATCHING, CONN_UP };

struct gb_client {
	struct gb_config     cfg;
	struct gb_callbacks  cb;
	char                *target;

	uv_async_t           async;
	uv_timer_t           flush_timer, retry_timer;
	int                  open_handles;
	pthread_t            thread;
	bool                 thread_started;
	pthread_mutex_t      lock;
	struct event        *ev_head, *ev_tail;

	grpc_channel        *chan;
	grpc_completion_queue *cq;
	struct gb_call      *calls;

	enum conn_state      conn;
	uint32_t             epoch;          /* bumped on every connection loss */
	int                  depth;          /* inside a libuv callback of ours */
	bool                 free_pending;   /* gb_client_free() called from a callback */
	bool                 closing;
	bool                 ever_up;
	bool                 need_resync;    /* ledger must be re-sent before normal batches */
	unsigned             backoff_ms;
	struct gb_call      *watch;
	struct gb_call      *add;            /* AddPathStream in flight */

	struct map           ledger;         /* routes this client added */
	struct map           rib;            /* last delivered received state */
	struct map           unacked_wd;     /* withdrawals not yet acknowledged */
	uint32_t             rib_gen;
	struct oplist        queue;          /* changes not yet sent */
	struct retry        *retry_head, *retry_tail;

	struct gb_stats      st;
};

static void logf_(struct gb_client *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void logf_(struct gb_client *c, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->cb.log)
		c->cb.log(level, msg, c->cfg.arg);
	else if (level <= LOG_WARNING)
		fprintf(stderr, "gobgp-bridge %s: %s\n", c->target, msg);
}

static void start_connect(struct gb_client *c);
static void maybe_start_batch(struct gb_client *c);
static void conn_lost(struct gb_client *c, const char *why);

/* ---------- completion queue thread ---------- */

static void *cq_thread(void *arg)
{
	struct gb_client *c = arg;

	for (;;) {
		grpc_event ev = grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		struct event *e;

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		e = malloc(sizeof(*e));
		if (!e) /* cannot happen in practice; the batch owner would leak */
			continue;
		e->next = NULL;
		e->tag = ev.tag;
		e->ok = ev.success;
		pthread_mutex_lock(&c->lock);
		if (c->ev_tail)
			c->ev_tail->next = e;
		else
			c->ev_head = e;
		c->ev_tail = e;
		pthread_mutex_unlock(&c->lock);
		uv_async_send(&c->async);
	}
	return NULL;
}

static struct event *take_events(struct gb_client *c)
{
	struct event *e;

	pthread_mutex_lock(&c->lock);
	e = c->ev_head;
	c->ev_head = c->ev_tail = NULL;
	pthread_mutex_unlock(&c->lock);
	return e;
}

static struct event *take_event(struct gb_client *c)
{
	struct event *e;

	pthread_mutex_lock(&c->lock);
	e = c->ev_head;
	if (e) {
		c->ev_head = e->next;
		if (!c->ev_head)
			c->ev_tail = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

static void teardown(struct gb_client *c);

/* Entry/exit of every libuv callback: gb_client_free() from inside a user
 * callback is deferred until the stack has unwound. */
static void enter(struct gb_client *c)
{
	c->depth++;
}

static void leave(struct gb_client *c)
{
	if (--c->depth == 0 && c->free_pending) {
		c->free_pending = false;
		teardown(c);
	}
}

static void on_async(uv_async_t *h)
{
	struct gb_client *c = h->data;
	struct event *e;

	enter(c);
	while (!c->closing && (e = take_event(c))) {
		e->tag->fn(e->tag->call, e->ok);
		free(e);
	}
	leave(c);
}

/* ---------- call plumbing ---------- */

static void call_free(struct gb_call *k)
{
	struct gb_client *c = k->c;

	if (k->prev)
		k->prev->next = k->next;
	else if (c->calls == k)
		c->calls = k->next;
	if (k->next)
		k->next->prev = k->prev;
	grpc_metadata_array_destroy(&k->md_init);
	grpc_metadata_array_destroy(&k->md_trail);
	grpc_slice_unref(k->details);
	if (k->send_buf)
		grpc_byte_buffer_destroy(k->send_buf);
	if (k->recv_buf)
		grpc_byte_buffer_destroy(k->recv_buf);
	if (k->call)
		grpc_call_unref(k->call);
	free(k->ops.v);
	free(k);
}

static void call_finished(struct gb_call *k);

/* A batch of k completed: drop the reference; finish when none is left. */
static bool call_put(struct gb_call *k)
{
	if (--k->pending > 0)
		return false;
	if (k->c->closing)
		call_free(k);
	else
		call_finished(k);
	return true;
}

static void on_status(struct gb_call *k, bool ok)
{
	call_put(k);
}

static struct gb_call *call_new(struct gb_client *c, enum call_kind kind, const char *method,
				unsigned timeout_ms)
{
	struct gb_call *k = calloc(1, sizeof(*k));
	gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_REALTIME);
	grpc_slice m = grpc_slice_from_static_string(method);
	grpc_op op = { 0 };

	if (!k)
		return NULL;
	if (timeout_ms)
		deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
					gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
	k->c = c;
	k->kind = kind;
	k->epoch = c->epoch;
	k->details = grpc_empty_slice();
	grpc_metadata_array_init(&k->md_init);
	grpc_metadata_array_init(&k->md_trail);
	k->t_send.call = k->t_recv.call = k->t_status.call = k;
	k->t_status.fn = on_status;
	k->call = grpc_channel_create_call(c->chan, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, m, NULL,
					   deadline, NULL);
	if (!k->call) {
		call_free(k);
		return NULL;
	}
	k->next = c->calls;
	if (c->calls)
		c->calls->prev = k;
	c->calls = k;
	/* the status gets its own batch (streaming calls hang otherwise) */
	op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op.data.recv_status_on_client.trailing_metadata = &k->md_trail;
	op.data.recv_status_on_client.status = &k->status;
	op.data.recv_status_on_client.status_details = &k->details;
	if (grpc_call_start_batch(k->call, &op, 1, &k->t_status, NULL) != GRPC_CALL_OK) {
		call_free(k);
		return NULL;
	}
	k->pending = 1;
	return k;
}

static void call_cancel(struct gb_call *k)
{
	if (k && !k->cancelled) {
		k->cancelled = true;
		grpc_call_cancel(k->call, NULL);
	}
}

static grpc_byte_buffer *buf_from(const void *data, size_t len)
{
	grpc_slice s = grpc_slice_from_copied_buffer(data, len);
	grpc_byte_buffer *b = grpc_raw_byte_buffer_create(&s, 1);

	grpc_slice_unref(s);
	return b;
}

static grpc_byte_buffer *buf_from_msg(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	grpc_slice s = grpc_slice_malloc(len);
	grpc_byte_buffer *b;

	protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	b = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return b;
}

/* Read and unpack the received message (NULL at end of stream or on error). */
static ProtobufCMessage *recv_unpack(struct gb_call *k, const ProtobufCMessageDescriptor *d,
				     bool *eos)
{
	grpc_byte_buffer_reader rd;
	ProtobufCMessage *m = NULL;
	grpc_slice s;

	*eos = !k->recv_buf;
	if (!k->recv_buf)
		return NULL;
	if (grpc_byte_buffer_reader_init(&rd, k->recv_buf)) {
		s = grpc_byte_buffer_reader_readall(&rd);
		m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
		grpc_slice_unref(s);
		grpc_byte_buffer_reader_destroy(&rd);
	}
	grpc_byte_buffer_destroy(k->recv_buf);
	k->recv_buf = NULL;
	return m;
}

/* Start one batch (send and/or receive). */
static int call_batch(struct gb_call *k, grpc_op *ops, size_t n, struct gb_tag *tag)
{
	if (grpc_call_start_batch(k->call, ops, n, tag, NULL) != GRPC_CALL_OK)
		return -EIO;
	k->pending++;
	return 0;
}

static int call_send_first(struct gb_call *k, grpc_byte_buffer *msg, bool close, bool recv,
			   void (*send_fn)(struct gb_call *, bool),
			   void (*recv_fn)(struct gb_call *, bool))
{
	grpc_op ops[3] = { 0 }, rops[2] = { 0 };
	size_t n = 0;

	k->send_buf = msg;
	ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
	n++;
	if (msg) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = msg;
		n++;
	}
	if (close) {
		ops[n].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
		n++;
	}
	k->t_send.fn = send_fn;
	if (call_batch(k, ops, n, &k->t_send))
		return -EIO;
	if (!recv)
		return 0;
	/* initial metadata travels with the first message */
	rops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
	rops[0].data.recv_initial_metadata.recv_initial_metadata = &k->md_init;
	rops[1].op = GRPC_OP_RECV_MESSAGE;
	rops[1].data.recv_message.recv_message = &k->recv_buf;
	k->t_recv.fn = recv_fn;
	return call_batch(k, rops, 2, &k->t_recv);
}

static int call_recv_next(struct gb_call *k)
{
	grpc_op op = { 0 };

	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &k->recv_buf;
	return call_batch(k, &op, 1, &k->t_recv);
}

static void on_sent_free(struct gb_call *k, bool ok)
{
	if (k->send_buf) {
		grpc_byte_buffer_destroy(k->send_buf);
		k->send_buf = NULL;
	}
	call_put(k);
}

static char *status_str(struct gb_call *k, char *buf, size_t len)
{
	char *d = grpc_slice_to_c_string(k->details);

	snprintf(buf, len, "status %d: %s", k->status, d ? d : "");
	gpr_free(d);
	return buf;
}

/* Failures that mean "gobgpd is not there", not "gobgpd refused this". */
static bool status_is_transport(grpc_status_code s)
{
	return s == GRPC_STATUS_UNAVAILABLE || s == GRPC_STATUS_CANCELLED ||
	       s == GRPC_STATUS_DEADLINE_EXCEEDED || s == GRPC_STATUS_INTERNAL ||
	       s == GRPC_STATUS_UNIMPLEMENTED || s == GRPC_STATUS_ABORTED;
}

/* ---------- connection state ---------- */

static void set_up(struct gb_client *c, bool up)
{
	bool was = c->conn == CONN_UP;

	if (up)
		c->conn = CONN_UP;
	if (was != up && c->cb.state && !c->closing)
		c->cb.state(c, up, c->cfg.arg);
}

static void on_retry_timer(uv_timer_t *t)
{
	struct gb_client *c = t->data;

	enter(c);
	if (!c->closing && c->conn == CONN_DOWN)
		start_connect(c);
	leave(c);
}

static void schedule_reconnect(struct gb_client *c)
{
	unsigned ms = c->backoff_ms;

	c->conn = CONN_DOWN;
	c->backoff_ms = c->backoff_ms * 2 > c->cfg.backoff_max_ms ? c->cfg.backoff_max_ms
								   : c->backoff_ms * 2;
	uv_timer_start(&c->retry_timer, on_retry_timer, ms, 0);
}

static void conn_lost(struct gb_client *c, const char *why)
{
	bool was_up = c->conn == CONN_UP;

	if (c->closing || c->conn == CONN_DOWN)
		return;
	if (was_up) {
		c->st.reconnects++;
		logf_(c, LOG_WARNING, "lost gobgpd (%s), reconnecting", why);
	}
	c->need_resync = true;
	c->epoch++;
	call_cancel(c->watch);
	call_cancel(c->add);
	c->watch = NULL;
	c->conn = CONN_DOWN;
	if (was_up && c->cb.state && !c->closing)
		c->cb.state(c, false, c->cfg.arg);
	if (!uv_is_active((uv_handle_t *)&c->retry_timer))
		schedule_reconnect(c);
}

/* ---------- watch ---------- */

static bool rib_same(const struct gb_route *a, const struct gb_route *b)
{
	return gb_route_equal(a, b) && a->is_local == b->is_local &&
	       a->originator_id.s_addr == b->originator_id.s_addr &&
	       a->peer.family == b->peer.family &&
	       !memcmp(&a->peer.v6, &b->peer.v6, a->peer.family == AF_INET ? 4 : a->peer.family ? 16 : 0);
}

static void rib_apply(struct gb_client *c, const struct gb_route *r)
{
	struct gb_key k;
	struct map_ent *e;

	gb_route_key(r, &k);
	e = map_find(&c->rib, &k);
	if (r->is_withdraw) {
		if (!e) {
			c->st.dup_suppressed++;
			return;
		}
		map_del_ent(&c->rib, e);
		c->st.withdrawals_rx++;
		if (c->cb.route && !c->closing)
			c->cb.route(c, r, c->cfg.arg);
		return;
	}
	if (e && rib_same(&e->r, r)) {
		e->gen = c->rib_gen;
		c->st.dup_suppressed++;
		return;
	}
	e = map_put(&c->rib, &k, r);
	if (!e) {
		logf_(c, LOG_ERR, "out of memory storing a received route");
		return;
	}
	e->gen = c->rib_gen;
	c->st.routes_rx++;
	if (c->cb.route && !c->closing)
		c->cb.route(c, r, c->cfg.arg);
}

/* After a dump: whatever was not re-announced has gone away. */
static void rib_sweep(struct gb_client *c)
{
	for (size_t i = 0; i < c->rib.cap && !c->closing; i++) {
		struct map_ent *e = &c->rib.e[i];
		struct gb_route r;

		if (e->state != 1 || e->gen == c->rib_gen)
			continue;
		r = e->r;
		r.is_withdraw = true;
		map_del_ent(&c->rib, e);
		c->st.withdrawals_rx++;
		if (c->cb.route && !c->closing)
			c->cb.route(c, &r, c->cfg.arg);
	}
}

static void watch_paths(struct gb_client *c, Apipb__Path **paths, size_t n)
{
	for (size_t i = 0; i < n && !c->closing; i++) {
		struct gb_route r;
		int err = gb_codec_decode_path(paths[i], &r, &c->st.decode);

		if (err == -EPROTONOSUPPORT) {
			c->st.non_evpn_paths++;
			continue;
		}
		if (err) {
			c->st.decode_errors++;
			continue;
		}
		if (r.is_local && !(c->cfg.flags & GB_CFG_DELIVER_LOCAL))
			continue;
		rib_apply(c, &r);
	}
}

static void start_resync(struct gb_client *c);

static void on_watch_recv(struct gb_call *k, bool ok)
{
	struct gb_client *c = k->c;
	Apipb__WatchEventResponse *m;
	bool eos;

	if (c->closing || !ok || k->cancelled) {
		if (k->recv_buf) {
			grpc_byte_buffer_destroy(k->recv_buf);
			k->recv_buf = NULL;
		}
		call_put(k);
		return;
	}
	m = (void *)recv_unpack(k, &apipb__watch_event_response__descriptor, &eos);
	if (eos) {
		call_put(k);
		return;
	}
	if (!m) {
		c->st.decode_errors++;
	} else if (m->event_case == APIPB__WATCH_EVENT_RESPONSE__EVENT_TABLE && m->table) {
		bool dump = !k->got_dump;

		if (dump) {
			/* first table message = the init dump: mark and sweep */
			k->got_dump = true;
			c->rib_gen++;
		}
		watch_paths(c, m->table->paths, m->table->n_paths);
		if (dump && !c->closing) {
			rib_sweep(c);
			c->backoff_ms = c->cfg.backoff_min_ms;
			set_up(c, true);
			start_resync(c);
		}
	}
	if (m)
		protobuf_c_message_free_unpacked(&m->base, NULL);
	/* the next receive holds its own reference before this one is dropped */
	if (!c->closing && !k->cancelled)
		call_recv_next(k);
	call_put(k);
}

static void start_watch(struct gb_client *c)
{
	Apipb__WatchEventRequest req = APIPB__WATCH_EVENT_REQUEST__INIT;
	Apipb__WatchEventRequest__Table tbl = APIPB__WATCH_EVENT_REQUEST__TABLE__INIT;
	Apipb__WatchEventRequest__Table__Filter f = APIPB__WATCH_EVENT_REQUEST__TABLE__FILTER__INIT;
	Apipb__WatchEventRequest__Table__Filter *fp = &f;
	struct gb_call *k = call_new(c, CALL_WATCH, "/apipb.GobgpApi/WatchEvent", 0);

	if (!k) {
		schedule_reconnect(c);
		return;
	}
	f.type = APIPB__WATCH_EVENT_REQUEST__TABLE__FILTER__TYPE__BEST;
	f.init = true;
	tbl.n_filters = 1;
	tbl.filters = &fp;
	req.table = &tbl;
	c->watch = k;
	c->conn = CONN_WATCHING;
	if (call_send_first(k, buf_from_msg(&req.base), true, true, on_sent_free, on_watch_recv))
		call_cancel(k);
}

/* ---------- GetBgp probe ---------- */

static void on_getbgp_recv(struct gb_call *k, bool ok)
{
	Apipb__GetBgpResponse *m;
	bool eos;

	if (ok && !k->c->closing) {
		m = (void *)recv_unpack(k, &apipb__get_bgp_response__descriptor, &eos);
		if (m) {
			k->asn = m->global ? m->global->asn : 0;
			protobuf_c_message_free_unpacked(&m->base, NULL);
		}
	}
	call_put(k);
}

static void start_connect(struct gb_client *c)
{
	Apipb__GetBgpRequest req = APIPB__GET_BGP_REQUEST__INIT;
	struct gb_call *k = call_new(c, CALL_GETBGP, "/apipb.GobgpApi/GetBgp", GB_GETBGP_TIMEOUT_MS);

	c->conn = CONN_PROBING;
	if (!k) {
		schedule_reconnect(c);
		return;
	}
	if (call_send_first(k, buf_from_msg(&req.base), true, true, on_sent_free, on_getbgp_recv))
		call_cancel(k);
}

/* ---------- add/withdraw batches ---------- */

/* Encode ops[from..to) as one AddPathStreamRequest. */
static grpc_byte_buffer *encode_msg(struct gb_client *c, struct gb_call *k, size_t from, size_t to)
{
	size_t cap = 4096, len = 0;
	uint8_t *msg = malloc(cap);
	grpc_byte_buffer *b;

	if (!msg)
		return NULL;
	for (size_t i = from; i < to; i++) {
		uint8_t *p;
		size_t plen;

		if (gb_route_encode(&k->ops.v[i].r, k->ops.v[i].withdraw, &p, &plen)) {
			/* validated at queue time: only allocation can fail here */
			logf_(c, LOG_ERR, "cannot encode a queued route");
			continue;
		}
		if (len + plen + 11 > cap) {
			size_t ncap = (len + plen + 11) * 2;
			uint8_t *nm = realloc(msg, ncap);

			if (!nm) {
				free(p);
				free(msg);
				return NULL;
			}
			msg = nm;
			cap = ncap;
		}
		msg[len++] = ADDPATH_PATHS_TAG;
		for (size_t v = plen; ; v >>= 7) {
			msg[len++] = (v & 0x7f) | (v >= 0x80 ? 0x80 : 0);
			if (v < 0x80)
				break;
		}
		memcpy(&msg[len], p, plen);
		len += plen;
		free(p);
		c->st.paths_tx++;
	}
	b = buf_from(msg, len);
	free(msg);
	return b;
}

static void add_send_next(struct gb_call *k);

static void on_add_sent(struct gb_call *k, bool ok)
{
	if (k->send_buf) {
		grpc_byte_buffer_destroy(k->send_buf);
		k->send_buf = NULL;
	}
	if (ok && !k->c->closing && !k->cancelled)
		add_send_next(k);
	call_put(k);
}

static void on_add_recv(struct gb_call *k, bool ok)
{
	if (k->recv_buf) {
		grpc_byte_buffer_destroy(k->recv_buf);
		k->recv_buf = NULL;
	}
	call_put(k);
}

/* Send the next message of the batch, or half-close and wait for the reply. */
static void add_send_next(struct gb_call *k)
{
	struct gb_client *c = k->c;
	grpc_op ops[3] = { 0 };

	if (k->sent < k->ops.n) {
		size_t to = k->sent + c->cfg.paths_per_msg;

		if (to > k->ops.n)
			to = k->ops.n;
		k->send_buf = encode_msg(c, k, k->sent, to);
		k->sent = to;
		if (!k->send_buf) {
			call_cancel(k);
			return;
		}
		ops[0].op = GRPC_OP_SEND_MESSAGE;
		ops[0].data.send_message.send_message = k->send_buf;
		k->t_send.fn = on_add_sent;
		if (call_batch(k, ops, 1, &k->t_send))
			call_cancel(k);
		return;
	}
	ops[0].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[1].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[1].data.recv_initial_metadata.recv_initial_metadata = &k->md_init;
	ops[2].op = GRPC_OP_RECV_MESSAGE;
	ops[2].data.recv_message.recv_message = &k->recv_buf;
	k->t_recv.fn = on_add_recv;
	if (call_batch(k, ops, 3, &k->t_recv))
		call_cancel(k);
}

static int start_add_call(struct gb_client *c, struct oplist *ops, bool resync, size_t n_readv)
{
	struct gb_call *k = call_new(c, CALL_ADD, "/apipb.GobgpApi/AddPathStream", 0);
	grpc_op op = { 0 };

	if (!k)
		return -EIO;
	k->ops = *ops;
	memset(ops, 0, sizeof(*ops));
	k->resync = resync;
	k->n_readv = n_readv;
	c->add = k;
	op.op = GRPC_OP_SEND_INITIAL_METADATA;
	k->t_send.fn = on_add_sent;
	if (call_batch(k, &op, 1, &k->t_send))
		call_cancel(k);
	return 0;
}

/* Withdrawals travel with the full path (the ESI in particular: gobgpd
 * dereferences it), and are remembered until gobgpd acknowledged them. */
static void note_unacked_withdrawals(struct gb_client *c, const struct oplist *ops)
{
	for (size_t i = 0; i < ops->n; i++) {
		struct gb_key k;

		if (!ops->v[i].withdraw)
			continue;
		gb_route_key(&ops->v[i].r, &k);
		map_put(&c->unacked_wd, &k, &ops->v[i].r);
	}
}

static void start_resync(struct gb_client *c)
{
	struct oplist ops = { 0 };
	size_t n_readv = 0;

	if (c->add) /* the old stream is being torn down; resync once it is gone */
		return;
	/* withdrawals first: sent-but-unacknowledged and queued ones */
	for (size_t i = 0; i < c->queue.n; i++)
		if (c->queue.v[i].withdraw) {
			struct gb_key k;

			gb_route_key(&c->queue.v[i].r, &k);
			map_put(&c->unacked_wd, &k, &c->queue.v[i].r);
		}
	c->queue.n = 0;
	for (struct retry *r = c->retry_head; r; ) {
		struct retry *next = r->next;

		note_unacked_withdrawals(c, &r->ops);
		free(r->ops.v);
		free(r);
		r = next;
	}
	c->retry_head = c->retry_tail = NULL;
	for (size_t i = 0; i < c->unacked_wd.cap; i++) {
		struct map_ent *e = &c->unacked_wd.e[i];

		if (e->state == 1 && !map_find(&c->ledger, &e->key))
			oplist_push(&ops, &e->r, true);
	}
	for (size_t i = 0; i < c->ledger.cap; i++)
		if (c->ledger.e[i].state == 1 && !oplist_push(&ops, &c->ledger.e[i].r, false))
			n_readv++;
	c->need_resync = false;
	if (start_add_call(c, &ops, true, n_readv)) {
		free(ops.v);
		conn_lost(c, "cannot start AddPathStream");
	}
}

static void on_flush_timer(uv_timer_t *t)
{
	struct gb_client *c = t->data;

	enter(c);
	maybe_start_batch(c);
	leave(c);
}

static void arm_flush(struct gb_client *c)
{
	if (!uv_is_active((uv_handle_t *)&c->flush_timer))
		uv_timer_start(&c->flush_timer, on_flush_timer, 0, 0);
}

static void maybe_start_batch(struct gb_client *c)
{
	struct oplist ops = { 0 };

	if (c->closing || c->add || c->conn != CONN_UP)
		return;
	if (c->need_resync) {
		start_resync(c);
		return;
	}
	if (c->retry_head) {
		struct retry *r = c->retry_head;

		c->retry_head = r->next;
		if (!c->retry_head)
			c->retry_tail = NULL;
		ops = r->ops;
		free(r);
	} else if (c->queue.n) {
		ops = c->queue;
		memset(&c->queue, 0, sizeof(c->queue));
	} else {
		return;
	}
	if (start_add_call(c, &ops, false, 0)) {
		note_unacked_withdrawals(c, &ops);
		free(ops.v);
		conn_lost(c, "cannot start AddPathStream");
	}
}

static void retry_push(struct gb_client *c, struct op *v, size_t n)
{
	struct retry *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	for (size_t i = 0; i < n; i++)
		oplist_push(&r->ops, &v[i].r, v[i].withdraw);
	if (c->retry_tail)
		c->retry_tail->next = r;
	else
		c->retry_head = r;
	c->retry_tail = r;
}

static void add_finished(struct gb_call *k)
{
	struct gb_client *c = k->c;
	char why[256];

	c->add = NULL;
	if (k->status == GRPC_STATUS_OK) {
		c->st.batches_ok++;
		for (size_t i = 0; i < k->ops.n; i++) {
			struct gb_key key;
			struct map_ent *e;

			if (!k->ops.v[i].withdraw)
				continue;
			gb_route_key(&k->ops.v[i].r, &key);
			if ((e = map_find(&c->unacked_wd, &key)))
				map_del_ent(&c->unacked_wd, e);
		}
		if (k->resync) {
			c->st.resyncs++;
			c->st.readvertised += k->n_readv;
			logf_(c, LOG_INFO, "resync done, %zu routes re-advertised", k->n_readv);
			if (c->cb.resync && !c->closing)
				c->cb.resync(c, !c->ever_up, k->n_readv, c->cfg.arg);
			c->ever_up = true;
		}
	} else if (status_is_transport(k->status) || c->conn != CONN_UP || k->epoch != c->epoch) {
		c->st.batches_failed++;
		note_unacked_withdrawals(c, &k->ops);
		if (k->epoch == c->epoch)
			conn_lost(c, status_str(k, why, sizeof(why)));
		c->need_resync = true;
	} else {
		/* gobgpd refused something: split until the culprit is alone */
		c->st.batches_failed++;
		status_str(k, why, sizeof(why));
		if (k->ops.n > 1) {
			size_t half = k->ops.n / 2;
			struct retry *old_head = c->retry_head, *old_tail = c->retry_tail;

			/* the halves go before anything queued earlier */
			c->retry_head = c->retry_tail = NULL;
			retry_push(c, k->ops.v, half);
			retry_push(c, k->ops.v + half, k->ops.n - half);
			if (old_head) {
				c->retry_tail->next = old_head;
				c->retry_tail = old_tail;
			}
		} else if (k->ops.n == 1) {
			struct op *o = &k->ops.v[0];
			struct gb_key key;
			struct map_ent *e;

			gb_route_key(&o->r, &key);
			if (!o->withdraw && (e = map_find(&c->ledger, &key)) &&
			    gb_route_equal(&e->r, &o->r))
				map_del_ent(&c->ledger, e);
			c->st.rejected++;
			logf_(c, LOG_WARNING, "gobgpd refused a route: %s", why);
			if (c->cb.rejected && !c->closing)
				c->cb.rejected(c, &o->r, why, c->cfg.arg);
		}
		if (k->resync) {
			/* the resync batch goes out again through the retries */
			c->need_resync = false;
			c->st.resyncs++;
			c->st.readvertised += k->n_readv;
			if (c->cb.resync && !c->closing)
				c->cb.resync(c, !c->ever_up, k->n_readv, c->cfg.arg);
			c->ever_up = true;
		}
	}
	if (c->closing)
		return;
	maybe_start_batch(c);
	if (!c->add && !c->queue.n && !c->retry_head && !c->need_resync &&
	    c->conn == CONN_UP && c->cb.flushed && !c->closing)
		c->cb.flushed(c, c->cfg.arg);
}

/* ---------- list ---------- */

static void on_list_recv(struct gb_call *k, bool ok)
{
	struct gb_client *c = k->c;
	Apipb__ListPathResponse *m;
	bool eos;

	if (c->closing || !ok) {
		call_put(k);
		return;
	}
	m = (void *)recv_unpack(k, &apipb__list_path_response__descriptor, &eos);
	if (eos) {
		call_put(k);
		return;
	}
	if (m && m->destination) {
		for (size_t i = 0; i < m->destination->n_paths && !c->closing; i++) {
			struct gb_route r;
			int err = gb_codec_decode_path(m->destination->paths[i], &r, &c->st.decode);

			if (err == -EPROTONOSUPPORT)
				c->st.non_evpn_paths++;
			else if (err)
				c->st.decode_errors++;
			else if (!c->closing)
				k->list_cb(c, &r, 0, k->list_arg);
		}
	} else {
		c->st.decode_errors++;
	}
	if (m)
		protobuf_c_message_free_unpacked(&m->base, NULL);
	if (!c->closing)
		call_recv_next(k);
	call_put(k);
}

int gb_list(struct gb_client *c, gb_list_cb cb, void *arg)
{
	Apipb__ListPathRequest req = APIPB__LIST_PATH_REQUEST__INIT;
	Apipb__Family fam = APIPB__FAMILY__INIT;
	struct gb_call *k;

	if (!cb || c->closing)
		return -EINVAL;
	k = call_new(c, CALL_LIST, "/apipb.GobgpApi/ListPath", 0);
	if (!k)
		return -EIO;
	fam.afi = APIPB__FAMILY__AFI__AFI_L2VPN;
	fam.safi = APIPB__FAMILY__SAFI__SAFI_EVPN;
	req.table_type = APIPB__TABLE_TYPE__GLOBAL;
	req.family = &fam;
	k->list_cb = cb;
	k->list_arg = arg;
	if (call_send_first(k, buf_from_msg(&req.base), true, true, on_sent_free, on_list_recv))
		call_cancel(k);
	return 0;
}

/* ---------- call completion ---------- */

static void call_finished(struct gb_call *k)
{
	struct gb_client *c = k->c;
	char why[256];

	switch (k->kind) {
	case CALL_GETBGP:
		if (k->status == GRPC_STATUS_OK && k->asn) {
			if (c->cfg.flags & GB_CFG_NO_WATCH) {
				c->backoff_ms = c->cfg.backoff_min_ms;
				set_up(c, true);
				start_resync(c);
			} else {
				start_watch(c);
			}
		} else {
			logf_(c, LOG_DEBUG, "gobgpd not ready (%s)",
			      k->status == GRPC_STATUS_OK ? "BGP not started" :
			      status_str(k, why, sizeof(why)));
			schedule_reconnect(c);
		}
		break;
	case CALL_WATCH:
		/* a watch of an earlier connection ends after its replacement began */
		if (k->epoch != c->epoch)
			break;
		c->watch = NULL;
		conn_lost(c, status_str(k, why, sizeof(why)));
		if (c->conn == CONN_DOWN && !uv_is_active((uv_handle_t *)&c->retry_timer))
			schedule_reconnect(c);
		break;
	case CALL_ADD:
		add_finished(k);
		break;
	case CALL_LIST:
		k->list_cb(c, NULL, k->status == GRPC_STATUS_OK ? 0 : -EIO, k->list_arg);
		break;
	}
	call_free(k);
}

/* ---------- public API ---------- */

int gb_client_new(const struct gb_config *cfg, struct gb_client **out)
{
	static const struct gb_callbacks no_cb;
	grpc_arg args[4];
	grpc_channel_args ca = { .num_args = 4, .args = args };
	grpc_channel_credentials *creds;
	struct gb_client *c;

	*out = NULL;
	if (!cfg || !cfg->loop || !cfg->target)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	c->cb = cfg->cb ? *cfg->cb : no_cb;
	c->target = strdup(cfg->target);
	if (!c->target) {
		free(c);
		return -ENOMEM;
	}
	c->cfg.target = c->target;
	if (!c->cfg.backoff_min_ms)
		c->cfg.backoff_min_ms = GB_BACKOFF_MIN_MS;
	if (!c->cfg.backoff_max_ms)
		c->cfg.backoff_max_ms = GB_BACKOFF_MAX_MS;
	if (c->cfg.backoff_max_ms < c->cfg.backoff_min_ms)
		c->cfg.backoff_max_ms = c->cfg.backoff_min_ms;
	if (!c->cfg.paths_per_msg)
		c->cfg.paths_per_msg = GB_PATHS_PER_MSG;
	c->backoff_ms = c->cfg.backoff_min_ms;
	pthread_mutex_init(&c->lock, NULL);

	grpc_init();
	/* the init dump is one message with the whole table: no size limit */
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = -1;
	/* reconnect at our pace, not grpc's (default backoff goes to 120 s) */
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
	args[1].value.integer = c->cfg.backoff_min_ms;
	args[2].type = GRPC_ARG_INTEGER;
	args[2].key = GRPC_ARG_MIN_RECONNECT_BACKOFF_MS;
	args[2].value.integer = c->cfg.backoff_min_ms;
	args[3].type = GRPC_ARG_INTEGER;
	args[3].key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
	args[3].value.integer = c->cfg.backoff_max_ms;
	creds = grpc_insecure_credentials_create();
	c->chan = grpc_channel_create(c->target, creds, &ca);
	grpc_channel_credentials_release(creds);
	c->cq = grpc_completion_queue_create_for_next(NULL);

	uv_async_init(cfg->loop, &c->async, on_async);
	uv_timer_init(cfg->loop, &c->flush_timer);
	uv_timer_init(cfg->loop, &c->retry_timer);
	c->async.data = c->flush_timer.data = c->retry_timer.data = c;
	c->open_handles = 3;
	if (pthread_create(&c->thread, NULL, cq_thread, c)) {
		c->thread_started = false;
		gb_client_free(c);
		return -EAGAIN;
	}
	c->thread_started = true;
	start_connect(c);
	*out = c;
	return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct gb_client *c = h->data;

	if (--c->open_handles)
		return;
	map_free(&c->ledger);
	map_free(&c->rib);
	map_free(&c->unacked_wd);
	free(c->queue.v);
	for (struct retry *r = c->retry_head; r; ) {
		struct retry *next = r->next;

		free(r->ops.v);
		free(r);
		r = next;
	}
	pthread_mutex_destroy(&c->lock);
	free(c->target);
	free(c);
}

void gb_client_free(struct gb_client *c)
{
	if (!c || c->closing)
		return;
	c->closing = true;
	if (c->depth)
		c->free_pending = true;
	else
		teardown(c);
}

static void teardown(struct gb_client *c)
{
	struct event *e;

	for (struct gb_call *k = c->calls; k; k = k->next)
		call_cancel(k);
	grpc_completion_queue_shutdown(c->cq);
	if (c->thread_started)
		pthread_join(c->thread, NULL);
	/* release what the cancelled batches still hold */
	while ((e = take_events(c))) {
		while (e) {
			struct event *next = e->next;

			e->tag->fn(e->tag->call, e->ok);
			free(e);
			e = next;
		}
	}
	while (c->calls) /* calls with batches that never completed */
		call_free(c->calls);
	grpc_channel_destroy(c->chan);
	grpc_completion_queue_destroy(c->cq);
	grpc_shutdown();
	uv_close((uv_handle_t *)&c->async, on_handle_closed);
	uv_close((uv_handle_t *)&c->flush_timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->retry_timer, on_handle_closed);
}

/* Common front of gb_add/gb_withdraw: check r, normalize it into *n, and
 * find its ledger entry (*e, NULL if none). */
static int op_prepare(struct gb_client *c, const struct gb_route *r, bool withdraw,
		      struct gb_route *n, struct gb_key *k, struct map_ent **e)
{
	const char *why = NULL;
	int err;

	if (c->closing)
		return -ESHUTDOWN;
	err = withdraw ? gb_codec_validate_nlri(r, &why) : gb_route_validate(r, &why);
	if (err) {
		logf_(c, LOG_WARNING, "refusing %s: %s", withdraw ? "withdrawal" : "route", why);
		return -EINVAL;
	}
	gb_route_normalize(r, n);
	gb_route_key(n, k);
	*e = map_find(&c->ledger, k);
	return 0;
}

int gb_add(struct gb_client *c, const struct gb_route *r)
{
	struct gb_route n;
	struct gb_key k;
	struct map_ent *e;
	int err = op_prepare(c, r, false, &n, &k, &e);

	if (err)
		return err;
	if (e && gb_route_equal(&e->r, &n)) {
		c->st.adds_unchanged++;
		return 0;
	}
	if (!map_put(&c->ledger, &k, &n) || oplist_push(&c->queue, &n, false))
		return -ENOMEM;
	arm_flush(c);
	return 0;
}

int gb_withdraw(struct gb_client *c, const struct gb_route *r)
{
	struct gb_route n;
	struct gb_key k;
	struct map_ent *e;
	int err = op_prepare(c, r, true, &n, &k, &e);

	if (err)
		return err;
	if (e) {
		n = e->r; /* name the path exactly as it was added */
		map_del_ent(&c->ledger, e);
	}
	if (oplist_push(&c->queue, &n, true))
		return -ENOMEM;
	arm_flush(c);
	return 0;
}

void gb_flush(struct gb_client *c)
{
	/* a callback run from here may call gb_client_free(): defer it */
	enter(c);
	if (!c->closing)
		maybe_start_batch(c);
	leave(c);
}

bool gb_is_up(const struct gb_client *c)
{
	return c->conn == CONN_UP;
}

size_t gb_ledger_count(const struct gb_client *c)
{
	return c->ledger.n;
}

size_t gb_pending_count(const struct gb_client *c)
{
	size_t n = c->queue.n + (c->add ? c->add->ops.n : 0);

	for (struct retry *r = c->retry_head; r; r = r->next)
		n += r->ops.n;
	return n;
}

void gb_get_stats(const struct gb_client *c, struct gb_stats *st)
{
	*st = c->st;
}
