/* s3-client.h: the requests runnerd-s3 makes of an S3 server, by libcurl:
 * GET (into a file or memory), PUT (from a file or memory), DELETE and
 * ListObjectsV2, on path-style URLs ENDPOINT/BUCKET/KEY, signed with AWS
 * Signature Version 4 by curl itself (CURLOPT_AWS_SIGV4). One connection
 * is kept for the whole run.
 *
 * What curl 7.88's signing leaves to its caller, this does: the payload's
 * SHA-256 goes in x-amz-content-sha256 (which S3 requires, and then checks
 * against the body), the session token in x-amz-security-token, and the
 * query string is sent in canonical form (parameters sorted, values
 * encoded), because curl signs it as it is given.
 *
 * Bodies are bounded: what a GET may bring is stated by its caller, an
 * error document is read up to 64 KiB. A connection that stalls (under
 * 1 KiB/s for --stall-timeout seconds) is given up, as is a connect that
 * takes 15 s. Failures come back as -errno with a one-line message for a
 * user: the server's error <Code>, mapped to advice where there is any. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"
#include "s3-config.h"
#include "s3-files.h"

struct s3_client;

/* cfg is borrowed and must outlive the client. */
int s3_client_new(const struct s3_config *cfg, unsigned stall_seconds, struct s3_client **ret);
void s3_client_free(struct s3_client *c);
const struct s3_config *s3_client_config(const struct s3_client *c);
DEFINE_CLEANUP(struct s3_client *, s3_client_free)

/* What S3 takes in one PUT; more needs a multipart upload, which
 * runnerd-s3 does not do (images are around 1 GiB, templates' RAM 512 MiB). */
#define S3_PUT_MAX (5ull << 30)

/* Uploads the first size bytes of fd (read with pread, from offset 0),
 * whose SHA-256 is sha256: signed as the payload, and checked again as the
 * bytes go out (-ESTALE if the file changed). */
int s3_put_file(struct s3_client *c, const char *key, int fd, uint64_t size, const char sha256[65],
		char **ret_error);
int s3_put_data(struct s3_client *c, const char *key, const void *data, size_t n, char **ret_error);
/* Downloads key into sink; more than max bytes is refused (-EFBIG) as they
 * arrive. */
int s3_get_file(struct s3_client *c, const char *key, struct s3_sink *sink, uint64_t max, char **ret_error);
/* Downloads key into memory (NUL-terminated; at most max bytes). */
int s3_get_data(struct s3_client *c, const char *key, size_t max, char **ret, size_t *ret_len,
		char **ret_error);
int s3_delete(struct s3_client *c, const char *key, char **ret_error);
/* The keys under prefix, every page of the listing, at most max_keys
 * (-E2BIG beyond); *ret_keys is a NULL-terminated malloc'd array. */
int s3_list(struct s3_client *c, const char *prefix, size_t max_keys, char ***ret_keys, size_t *ret_n,
	    char **ret_error);
void s3_keys_free(char **keys);

/* Whether the failure r of a request was the object's absence
 * (NoSuchKey). */
#define S3_NO_SUCH_KEY (-ENOENT)
