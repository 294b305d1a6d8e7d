/* fuzz-s3.c: libFuzzer target for what runnerd-s3 reads from an S3 server
 * (tools/s3/): the input is a response body, read as a manifest of an
 * image "test" and of a snapshot "py" (s3_manifest_parse()), and as XML
 * for the elements of an error and of a listing (s3_xml_next(),
 * s3_xml_text()). The body is not NUL-terminated, as it arrives.
 *
 * Whatever it says, a manifest is refused with -EINVAL, -EFBIG or -ENOMEM,
 * or accepted holding what the downloads assume: every required file
 * present, only names from the kind's list (plain file names, no '/'),
 * sizes up to 64 GiB, digests of 64 lowercase hex digits, a snapshot's
 * directory LANG-KEY. An XML text is refused or comes back within its
 * bound, NUL-terminated, with the position moving forward.
 *
 * Built with replay.c (plain gcc, no libFuzzer) it replays the committed
 * corpus in `meson test`. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3-manifest.h"
#include "s3-xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

static void check_manifest(const uint8_t *data, size_t size, enum s3_kind kind, const char *name)
{
	struct s3_manifest m;
	int r = s3_manifest_parse((const char *)data, size, kind, name, &m, NULL);

	if (r < 0) {
		must(r == -EINVAL || r == -EFBIG || r == -ENOMEM);
		return;
	}
	must(m.json && m.kind == kind && strcmp(m.name, name) == 0);
	for (size_t i = 0; i < m.n_files; i++) {
		const struct s3_file *f = &m.files[i];
		must(!strchr(f->name, '/') && f->name[0] != '.');
		must(!f->required || f->present);
		if (f->present)
			must(f->size <= S3_FILE_SIZE_MAX && s3_sha256_valid(f->sha256));
	}
	if (kind == S3_SNAPSHOT)
		must(strncmp(m.dir, "py-", 3) == 0 && strlen(m.dir) == 19);
	s3_manifest_clear(&m);
}

static void check_xml(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	size_t pos = 0, last = 0;
	char *v;
	int r;

	while ((r = s3_xml_next(xml, size, "Key", &pos, 1024, &v)) == 0) {
		must(strlen(v) <= 1024 && pos > last && pos <= size);
		last = pos;
		free(v);
	}
	must(r == -ENOENT || r == -EINVAL || r == -ENOMEM);
	static const char *const names[] = {"Code", "Message", "IsTruncated", "NextContinuationToken"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (s3_xml_text(xml, size, names[i], 64, &v) == 0) {
			must(strlen(v) <= 64);
			free(v);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_manifest(data, size, S3_IMAGE, "test");
	check_manifest(data, size, S3_SNAPSHOT, "py");
	check_xml(data, size);
	return 0;
}
