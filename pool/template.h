/* template.h: making sure a language has a valid snapshot template. The
 * template's key hashes everything it depends on (QEMU version, kernel,
 * image, machine options, agent protocol, language definition); a cached
 * template with another key is deleted and rebuilt, never loaded. Building
 * one boots the language VM, runs the hello world through the agent (which
 * both checks the image and warms the page cache), then saves the paused
 * VM's device state while its RAM stays in a file. */
#pragma once

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "language.h"
#include "vmm.h"

struct template_spec {
	const struct language *lang;
	const struct vmm_config *vmm;
	const char *cache_dir;
	const char *qemu_version;
	uint32_t boot_timeout_ms;    /* start -> the agent's HELLO (boot script included) */
	uint32_t warm_timeout_ms;    /* the hello world's run step */
	uint32_t compile_timeout_ms; /* its compile step (the language's limit) */
	uint32_t memory_kb;	     /* each step's memory limit (the language's) */
	bool force_rebuild;	     /* ignore a cached template (it failed to restore) */
};

struct template_build;

/* On success error is NULL, ram_fd a sealed memfd (now owned by the
 * callee) and state_fd a sealed memfd with the device state (owned by the
 * callee too). */
typedef void (*template_done_cb)(const char *error, int ram_fd, int state_fd, void *userdata);

int template_prepare(struct event_base *base, const struct template_spec *spec, template_done_cb cb,
		     void *userdata, struct template_build **ret);
/* Stops a build in progress (kills its VM). Accepts NULL. */
void template_build_free(struct template_build *b);
