/* s3-manifest.h: the manifest, manifest.json next to the files of an image
 * or a snapshot template in the bucket (docs/s3.md, "Manifest"): which
 * files there are, with the size and SHA-256 of each, when they were
 * uploaded, and what the set is (an image's languages; the template's
 * directory and the inputs recorded in its meta.json). It is uploaded
 * last, so a set without one is incomplete, and it is all a download
 * trusts: every file is checked against it before anything is visible.
 *
 * A manifest from a server is untrusted input: it is bounded
 * (S3_MANIFEST_MAX), and s3_manifest_parse() accepts only format 1 with
 * exactly the keys below, the files the kind may hold (names from a fixed
 * list, so none can point outside its directory), sizes up to
 * S3_FILE_SIZE_MAX and digests of 64 lowercase hex digits. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define S3_MANIFEST_FORMAT 1
#define S3_MANIFEST_MAX	   (1u << 20)
#define S3_FILE_SIZE_MAX   (64ull << 30)
#define S3_NAME_MAX	   64 /* an image's or a language's name */
#define S3_FILES_MAX	   4
#define S3_FILE_NAME_MAX   (S3_NAME_MAX + 16)
#define S3_DIR_MAX	   (S3_NAME_MAX + 18) /* LANG-KEY: the name, '-', 16 hex digits */
#define S3_TEXT_MAX	   4096		      /* qemu_version, machine */

enum s3_kind {
	S3_IMAGE,
	S3_SNAPSHOT,
};

struct s3_file {
	char name[S3_FILE_NAME_MAX];
	bool required; /* the set is nothing without it */
	bool present;  /* in the manifest (and so in the bucket) */
	uint64_t size;
	char sha256[65];
};

struct s3_manifest {
	enum s3_kind kind;
	char name[S3_NAME_MAX + 1];
	char dir[S3_DIR_MAX + 1]; /* snapshots: the template directory's name */
	/* Every file the kind may hold, in the order they are transferred
	 * (an image's id comes last); `present` says which the set has. */
	struct s3_file files[S3_FILES_MAX];
	size_t n_files;
	json_t *json; /* owned: the document */
};

/* Image and language names: [a-z0-9][a-z0-9_+-]*, at most S3_NAME_MAX. */
bool s3_name_valid(const char *s);
bool s3_sha256_valid(const char *s);
/* "image" or "snapshot"; "images" or "snapshots" (the key prefix). */
const char *s3_kind_word(enum s3_kind kind);
const char *s3_kind_prefix(enum s3_kind kind);

/* An empty manifest of kind for name (valid): the file list, nothing
 * present, no document. */
void s3_manifest_init(struct s3_manifest *m, enum s3_kind kind, const char *name);
/* The file of that name in m's list, or NULL. */
struct s3_file *s3_manifest_file(struct s3_manifest *m, const char *name);
/* Makes m->json from the present files, `extra` (the kind's other keys;
 * borrowed) and the time now; checks the result as a download would. */
int s3_manifest_build(struct s3_manifest *m, json_t *extra, char **ret_error);
/* Parses and checks data[0..n) as the manifest of kind `name`. */
int s3_manifest_parse(const char *data, size_t n, enum s3_kind kind, const char *name,
		      struct s3_manifest *ret, char **ret_error);
void s3_manifest_clear(struct s3_manifest *m);
