/* snapshots.c: see snapshots.h. */
#include "snapshots.h"

#include <string.h>

#include "cleanup.h"
#include "collection.h"
#include "table.h"

static const struct table_column local_columns[] = {
    {.title = "LANGUAGE"},
    {.title = "MEM", .right = true},
    {.title = "VCPUS", .right = true},
    {.title = "STATE"},		      /* "status", and what a task other than create does */
    {.title = "SIZE", .right = true}, /* device state + guest memory held, in MiB */
    {.title = "REASON"},	      /* why it is stale or failed */
};

static const struct table_column remote_columns[] = {
    {.title = "LANGUAGE"},
    {.title = "MEM", .right = true},
    {.title = "VCPUS", .right = true},
    {.title = "UPLOADED"},
};

static const char *field(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A JSON integer as text, "-" if it is none. */
static void format_int(json_t *v, const char *unit, char *buf, size_t n)
{
	if (json_is_integer(v))
		snprintf(buf, n, "%lld%s", (long long)json_integer_value(v), unit);
	else
		snprintf(buf, n, "-");
}

/* The snapshot's size: device state plus the guest memory it holds
 * (resident_size: the memory file's allocated pages; else its full size). */
static void format_size(json_t *e, char *buf, size_t n)
{
	json_t *vmstate = json_object_get(e, "vmstate_size");
	json_t *mem = json_object_get(e, "resident_size");
	json_auto_t *sum = NULL;

	if (!json_is_integer(mem))
		mem = json_object_get(e, "mem_size");
	if (json_is_integer(vmstate) && json_is_integer(mem))
		sum = json_integer(json_integer_value(vmstate) + json_integer_value(mem));
	table_format_mb(sum, buf, n);
}

void snapshot_print(FILE *out, json_t *listing, bool remote)
{
	_cleanup_(table_freep) struct table *t =
	    remote ? table_new(remote_columns, sizeof(remote_columns) / sizeof(remote_columns[0]))
		   : table_new(local_columns, sizeof(local_columns) / sizeof(local_columns[0]));
	json_t *e;
	size_t i;

	if (!t)
		return;
	json_array_foreach(json_object_get(listing, "snapshots"), i, e)
	{
		char mem[32], vcpus[32], size[32], state[128];
		json_t *task = json_object_get(e, "task");
		const char *reason = field(e, "reason");

		format_int(json_object_get(e, "mem_mb"), " MB", mem, sizeof(mem));
		format_int(json_object_get(e, "vcpus"), "", vcpus, sizeof(vcpus));
		if (remote) {
			const char *row[] = {field(e, "language"), mem, vcpus, field(e, "uploaded_at")};
			if (table_add(t, row) < 0)
				return;
		} else {
			collection_state_cell(field(e, "status"), task, state, sizeof(state));
			format_size(e, size, sizeof(size));
			if (!reason && strcmp(state, "failed") == 0)
				reason = field(task, "error");
			const char *row[] = {field(e, "language"), mem, vcpus, state, size,
					     reason ? reason : ""};
			if (table_add(t, row) < 0)
				return;
		}
	}
	if (remote && field(listing, "bucket"))
		fprintf(out, "bucket: %s\n", field(listing, "bucket"));
	table_print(t, out);
}

static const struct collection snapshots = {
    .path = "/api/v1/snapshots",
    .key = "snapshots",
    .command = "snapshot",
    .print = snapshot_print,
};

int snapshot_list(const struct ctl *ctl, bool remote)
{
	return collection_list(ctl, &snapshots, remote);
}

int snapshot_create(const struct ctl *ctl, const char *language, unsigned mem_mb, unsigned vcpus,
		    const struct wait_opts *w)
{
	json_auto_t *body = json_pack("{s:s, s:o*, s:o*}", "language", language, "mem_mb",
				      mem_mb > 0 ? json_integer(mem_mb) : NULL, "vcpus",
				      vcpus > 0 ? json_integer(vcpus) : NULL);

	return collection_start(ctl, &snapshots, language, NULL, body, w);
}

int snapshot_transfer(const struct ctl *ctl, const char *verb, const char *language, const char *bucket,
		      const struct wait_opts *w)
{
	json_auto_t *body = json_pack("{s:s*}", "bucket", bucket);

	return collection_start(ctl, &snapshots, language, verb, body, w);
}

int snapshot_remove(const struct ctl *ctl, const char *language)
{
	return collection_remove(ctl, &snapshots, language);
}
