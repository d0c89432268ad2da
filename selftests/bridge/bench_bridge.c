// SPDX-License-Identifier: GPL-2.0
/*
 * Type-2 route add rate into a real gobgpd (own namespace, empty table at the
 * start of every run): the bridge (AddPathStream, batched) against one unary
 * AddPath call per route, the baseline, in the same run.
 *
 * gobgpd's MAC-mobility check walks every EVPN best path for each type-2 it
 * accepts, so the rate falls as the table grows: that scan, not the bridge,
 * is the ceiling for the 10k figures.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/byte_buffer.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "bridge_env.h"

static uv_loop_t loop;
static struct benv_gobgpd g;
static bool resynced;

static void on_resync(struct gb_client *c, bool first, size_t n, void *arg)
{
	resynced = true;
}

static bool ready(void *arg)
{
	return resynced;
}

static bool drained(void *arg)
{
	return gb_pending_count(arg) == 0;
}

static int fresh_gobgpd(void)
{
	benv_gobgpd_stop(&g);
	return benv_gobgpd_restart(&g);
}

static double bench_stream(unsigned n)
{
	static const struct gb_callbacks cbs = { .resync = on_resync };
	struct gb_config cfg = { .loop = &loop, .target = g.target, .cb = &cbs,
				 .flags = GB_CFG_NO_WATCH };
	struct gb_client *c;
	struct gb_stats st;
	uint64_t t0, t1;

	if (fresh_gobgpd() || gb_client_new(&cfg, &c))
		return -1;
	resynced = false;
	if (!benv_run_until(&loop, ready, NULL, 30000))
		return -1;
	t0 = xt_now_ms();
	for (unsigned i = 0; i < n; i++) {
		struct gb_route r;

		benv_type2(&r, i, "192.0.2.1", 1);
		if (gb_add(c, &r))
			return -1;
	}
	if (!benv_run_until(&loop, drained, c, 300000))
		return -1;
	t1 = xt_now_ms();
	gb_get_stats(c, &st);
	gb_client_free(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (st.batches_failed || st.rejected)
		return -1;
	return n * 1000.0 / (double)(t1 - t0 ? t1 - t0 : 1);
}

/* One synchronous unary AddPath: AddPathRequest{path (field 3) = packed Path}. */
static int unary_add(grpc_channel *ch, grpc_completion_queue *cq, const uint8_t *path, size_t plen)
{
	uint8_t req[1024];
	size_t len = 0;
	grpc_metadata_array md_init, md_trail;
	grpc_byte_buffer *send, *recv = NULL;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details, s;
	grpc_op ops[6] = { 0 };
	grpc_call *call;
	grpc_event ev;

	if (plen + 8 > sizeof(req))
		return -1;
	req[len++] = 0x1a;
	for (size_t v = plen;; v >>= 7) {
		req[len++] = (v & 0x7f) | (v >= 0x80 ? 0x80 : 0);
		if (v < 0x80)
			break;
	}
	memcpy(req + len, path, plen);
	len += plen;
	s = grpc_slice_from_copied_buffer((const char *)req, len);
	send = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	grpc_metadata_array_init(&md_init);
	grpc_metadata_array_init(&md_trail);
	call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
					grpc_slice_from_static_string("/apipb.GobgpApi/AddPath"),
					NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_init;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &md_trail;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;
	grpc_call_start_batch(call, ops, 6, (void *)1, NULL);
	ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_byte_buffer_destroy(send);
	if (recv)
		grpc_byte_buffer_destroy(recv);
	grpc_metadata_array_destroy(&md_init);
	grpc_metadata_array_destroy(&md_trail);
	if (ev.success)
		grpc_slice_unref(details);
	grpc_call_unref(call);
	return ev.success && status == GRPC_STATUS_OK ? 0 : -1;
}

static double bench_unary(unsigned n)
{
	grpc_channel_credentials *creds;
	grpc_completion_queue *cq;
	grpc_channel *ch;
	uint64_t t0, t1;
	int err = 0;

	if (fresh_gobgpd())
		return -1;
	grpc_init();
	creds = grpc_insecure_credentials_create();
	ch = grpc_channel_create(g.target, creds, NULL);
	grpc_channel_credentials_release(creds);
	cq = grpc_completion_queue_create_for_next(NULL);
	t0 = xt_now_ms();
	for (unsigned i = 0; i < n && !err; i++) {
		struct gb_route r;
		uint8_t *buf;
		size_t len;

		benv_type2(&r, i, "192.0.2.1", 1);
		if (gb_route_encode(&r, false, &buf, &len))
			return -1;
		err = unary_add(ch, cq, buf, len);
		free(buf);
	}
	t1 = xt_now_ms();
	grpc_channel_destroy(ch);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	grpc_shutdown();
	return err ? -1 : n * 1000.0 / (double)(t1 - t0 ? t1 - t0 : 1);
}

int main(void)
{
	double s1k, s10k, u1k, u10k;
	int rc = 1;

	if (uv_loop_init(&loop) || xt_ns_create("a") || xt_link_up("a", "lo") ||
	    xt_addr_add("a", "lo", "192.0.2.1/32") ||
	    benv_gobgpd_start(&g, "a", "a", "192.0.2.1", NULL)) {
		fprintf(stderr, "bench_bridge: cannot set up gobgpd\n");
		goto out;
	}
	s1k = bench_stream(1000);
	u1k = bench_unary(1000);
	s10k = bench_stream(10000);
	u10k = bench_unary(10000);
	if (s1k < 0 || s10k < 0 || u1k < 0 || u10k < 0) {
		fprintf(stderr, "bench_bridge: a run failed (%.0f %.0f %.0f %.0f)\n", s1k, u1k,
			s10k, u10k);
		xt_dump_tail(g.log, 20);
		goto out;
	}
	printf("# type-2 adds into an empty gobgpd table; stream = gobgp-bridge AddPathStream "
	       "(1000 paths/msg), unary = one AddPath call per route\n");
	printf("BENCH bridge_type2_adds_per_s_1k %.0f\n", s1k);
	printf("BENCH bridge_type2_adds_per_s_10k %.0f\n", s10k);
	printf("BENCH bridge_type2_unary_adds_per_s_1k %.0f\n", u1k);
	printf("BENCH bridge_type2_unary_adds_per_s_10k %.0f\n", u10k);
	printf("BENCH bridge_type2_stream_vs_unary_10k_ratio %.2f\n", s10k / u10k);
	rc = 0;
out:
	benv_gobgpd_stop(&g);
	uv_loop_close(&loop);
	xt_cleanup();
	return rc;
}
