/* images.c: see images.h. */
#include "images.h"

#include <string.h>

#include "cleanup.h"
#include "collection.h"
#include "table.h"

static const struct table_column local_columns[] = {
    {.title = "LANGUAGE"},
    {.title = "IMAGE"},
    {.title = "SIZE", .right = true}, /* "size": bytes, shown in MiB */
    {.title = "STATE"},		      /* "state", and what a task other than a build does */
    {.title = "SOURCE"},	      /* "debian", or the container image */
    {.title = "BUILT"},
};

static const struct table_column remote_columns[] = {
    {.title = "LANGUAGE"},
    {.title = "IMAGE"},
    {.title = "SIZE", .right = true},
    {.title = "UPLOADED"},
};

static const char *field(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

void rootfs_print(FILE *out, json_t *listing, bool remote)
{
	_cleanup_(table_freep) struct table *t =
	    remote ? table_new(remote_columns, sizeof(remote_columns) / sizeof(remote_columns[0]))
		   : table_new(local_columns, sizeof(local_columns) / sizeof(local_columns[0]));
	json_t *e;
	size_t i;

	if (!t)
		return;
	json_array_foreach(json_object_get(listing, "rootfs"), i, e)
	{
		char size[32], state[128];

		table_format_mb(json_object_get(e, "size"), size, sizeof(size));
		if (remote) {
			const char *row[] = {field(e, "language"), field(e, "image"), size,
					     field(e, "uploaded_at")};
			if (table_add(t, row) < 0)
				return;
		} else {
			collection_state_cell(field(e, "state"), json_object_get(e, "task"), state,
					      sizeof(state));
			const char *row[] = {field(e, "language"), field(e, "image"),	size, state,
					     field(e, "source"),   field(e, "built_at")};
			if (table_add(t, row) < 0)
				return;
		}
	}
	if (remote && field(listing, "bucket"))
		fprintf(out, "bucket: %s\n", field(listing, "bucket"));
	table_print(t, out);
}

static const struct collection rootfs = {
    .path = "/api/v1/rootfs",
    .key = "rootfs",
    .command = "rootfs",
    .print = rootfs_print,
};

int rootfs_list(const struct ctl *ctl, bool remote)
{
	return collection_list(ctl, &rootfs, remote);
}

int rootfs_build(const struct ctl *ctl, const char *language, unsigned size_mb, const struct wait_opts *w)
{
	json_auto_t *body = json_pack("{s:s, s:o*}", "language", language, "size_mb",
				      size_mb > 0 ? json_integer(size_mb) : NULL);

	return collection_start(ctl, &rootfs, language, NULL, body, w);
}

int rootfs_from_image(const struct ctl *ctl, const char *name, const char *image, unsigned size_mb,
		      const struct wait_opts *w)
{
	json_auto_t *body = json_pack("{s:s, s:s, s:o*}", "language", name, "image", image, "size_mb",
				      size_mb > 0 ? json_integer(size_mb) : NULL);

	return collection_start(ctl, &rootfs, name, NULL, body, w);
}

int rootfs_transfer(const struct ctl *ctl, const char *verb, const char *language, const char *bucket,
		    const struct wait_opts *w)
{
	json_auto_t *body = json_pack("{s:s*}", "bucket", bucket);

	return collection_start(ctl, &rootfs, language, verb, body, w);
}

int rootfs_remove(const struct ctl *ctl, const char *language)
{
	return collection_remove(ctl, &rootfs, language);
}
