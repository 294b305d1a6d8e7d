/* info.c: see info.h. */
#include "info.h"

#include <stdio.h>
#include <string.h>

int info_languages(const struct ctl *ctl)
{
	json_auto_t *j = NULL;
	json_t *l;
	size_t i;
	int r = ctl_get(ctl, "/api/v1/languages", &j);

	if (r)
		return r < 0 ? 0 : r;
	json_array_foreach(json_object_get(j, "languages"), i, l)
	{
		const char *name =
		    json_is_string(l) ? json_string_value(l) : json_string_value(json_object_get(l, "name"));
		const char *version = json_string_value(json_object_get(l, "version"));
		const char *status = json_string_value(json_object_get(l, "status"));
		json_t *aliases = json_object_get(l, "aliases"), *a;
		size_t k;

		if (!name)
			continue;
		printf("%-12s", name);
		if (status)
			printf(" %-9s", status);
		if (version)
			printf(" %s", version);
		if (json_array_size(aliases) > 0) {
			printf(" (aliases:");
			json_array_foreach(aliases, k, a)
			    printf(" %s", json_string_value(a) ? json_string_value(a) : "?");
			printf(")");
		}
		printf("\n");
	}
	return 0;
}

int info_health(const struct ctl *ctl)
{
	json_auto_t *j = NULL;
	const char *key, *status, *accel;
	json_t *v;
	int r = ctl_get(ctl, "/health", &j);

	if (r)
		return r < 0 ? 0 : r;
	status = json_string_value(json_object_get(j, "status"));
	accel = json_string_value(json_object_get(j, "accel"));
	json_object_foreach(j, key, v)
	{
		if (json_is_string(v))
			printf("%s: %s\n", key, json_string_value(v));
		else if (json_is_integer(v))
			printf("%s: %lld\n", key, (long long)json_integer_value(v));
		else if (json_is_boolean(v))
			printf("%s: %s\n", key, json_is_true(v) ? "yes" : "no");
	}
	/* One line per language pool. */
	const char *lang;
	json_t *p;
	json_object_foreach(json_object_get(j, "pools"), lang, p)
	{
		printf("pool %s: %s, %lld ready of %lld, %lld restoring, %lld busy, %lld queued; %lld jobs, "
		       "%lld sandbox errors, %lld restore failures, last restore %.1f ms%s%s\n",
		       lang, json_string_value(json_object_get(p, "status")),
		       (long long)json_integer_value(json_object_get(p, "ready")),
		       (long long)json_integer_value(json_object_get(p, "size")),
		       (long long)json_integer_value(json_object_get(p, "restoring")),
		       (long long)json_integer_value(json_object_get(p, "busy")),
		       (long long)json_integer_value(json_object_get(p, "queued")),
		       (long long)json_integer_value(json_object_get(p, "jobs")),
		       (long long)json_integer_value(json_object_get(p, "sandbox_errors")),
		       (long long)json_integer_value(json_object_get(p, "restore_failures")),
		       json_number_value(json_object_get(p, "last_restore_ms")),
		       json_object_get(p, "error") ? "; error: " : "",
		       json_object_get(p, "error") ? json_string_value(json_object_get(p, "error")) : "");
	}
	if (accel && strcmp(accel, "tcg") == 0)
		fprintf(
		    stderr,
		    "\n"
		    "runnerctl: WARNING: runnerd runs programs under QEMU software emulation (tcg).\n"
		    "runnerctl: WARNING: TCG gives NO security isolation: do not run untrusted code here.\n");
	return status && strcmp(status, "ok") == 0 ? 0 : 1;
}
