/* agent.c: a VMM's conversation with the guest agent over its channel
 * (docs/agent-protocol.md). Sends JOB frames and turns the agent's frames
 * into the owner's callbacks: HELLO (a booted guest is ready), one ACK and
 * one RESULT per job, ERROR. Any frame out of turn, or a broken channel,
 * fails the VMM. */
#include "vmm-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void vmm_agent_frame_cb(struct channel *ch, const struct rd_frame_hdr *hdr, const uint8_t *payload, void *arg)
{
	struct vmm *v = arg;

	if (v->state == VMM_FAILED || v->state == VMM_DYING)
		return; /* the owner knows already; nothing more reaches it */
	switch (hdr->type) {
	case RD_FRAME_HELLO:
		if (v->state != VMM_BOOTING) {
			vmm_fail(v, "agent sent an unexpected HELLO");
			return;
		}
		vmm_set_state(v, VMM_IDLE);
		v->cbs->ready(v, v->userdata);
		return;
	case RD_FRAME_ACK:
		if (v->state != VMM_JOB_SENT || hdr->id != v->job_id) {
			vmm_fail(v, "agent acknowledged an unknown job, or twice");
			return;
		}
		vmm_set_state(v, VMM_JOB_RUNNING);
		if (v->cbs->ack)
			v->cbs->ack(v, v->userdata);
		return;
	case RD_FRAME_RESULT: {
		struct rd_result res;
		if ((v->state != VMM_JOB_SENT && v->state != VMM_JOB_RUNNING) || hdr->id != v->job_id) {
			vmm_fail(v, "agent answered an unknown job");
			return;
		}
		if (rd_result_decode(payload, hdr->len, &res) < 0) {
			vmm_fail(v, "agent sent a malformed result");
			return;
		}
		v->job_id = 0; /* exactly one result per job */
		vmm_set_state(v, VMM_IDLE);
		v->cbs->result(v, &res, v->userdata);
		return;
	}
	case RD_FRAME_ERROR: {
		/* The message is guest-controlled: keep printable ASCII, bounded. */
		struct rd_tlv_iter it;
		uint16_t tag;
		const uint8_t *val;
		uint32_t len;
		char why[160] = "agent reported an error";
		rd_tlv_iter_init(&it, payload, hdr->len);
		if (rd_tlv_next(&it, &tag, &val, &len) == 1 && tag == RD_TAG_MESSAGE) {
			size_t n = strlen(why);
			n += (size_t)snprintf(why + n, sizeof(why) - n, ": ");
			for (uint32_t i = 0; i < len && val[i] && n + 1 < sizeof(why); i++)
				why[n++] = val[i] >= 0x20 && val[i] < 0x7f ? (char)val[i] : '?';
			why[n] = 0;
		}
		vmm_fail(v, why);
		return;
	}
	default:
		vmm_fail(v, "agent sent an unexpected frame");
		return;
	}
}

void vmm_agent_closed_cb(struct channel *ch, const char *why, void *arg)
{
	vmm_fail(arg, why);
}

int vmm_send_job(struct vmm *v, const struct rd_job *job, size_t budget)
{
	static uint32_t next_job_id;
	struct rd_buf buf;
	int r;

	if (v->state != VMM_IDLE)
		return v->state == VMM_FAILED || v->state == VMM_DYING ? -ENOTCONN : -EBUSY;
	rd_buf_init(&buf, RD_FRAME_MAX + RD_FRAME_HDR_SIZE);
	if (++next_job_id == 0)
		next_job_id = 1;
	r = rd_job_encode(job, next_job_id, &buf);
	if (r >= 0) {
		v->job_id = next_job_id;
		vmm_set_state(v, VMM_JOB_SENT);
		channel_set_budget(v->chan, budget);
		r = channel_send(v->chan, buf.data, buf.len);
	}
	rd_buf_free(&buf);
	return r;
}
