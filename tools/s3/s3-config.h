/* s3-config.h: where runnerd-s3 finds its S3 server and credentials, by
 * the conventions of the AWS command-line tools, so an operator's existing
 * setup works unchanged (docs/s3.md, "Configuration"):
 *
 *   endpoint     --endpoint, $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, the
 *                profile's endpoint_url, else AWS's https://s3.REGION.amazonaws.com
 *   region       --region, $AWS_REGION, $AWS_DEFAULT_REGION, the profile's
 *                region, else us-east-1
 *   credentials  $AWS_ACCESS_KEY_ID + $AWS_SECRET_ACCESS_KEY (+
 *                $AWS_SESSION_TOKEN), else the profile's in the shared
 *                credentials file, else in the config file
 *   CA bundle    $AWS_CA_BUNDLE, the profile's ca_bundle, else the system's
 *
 * The profile is $AWS_PROFILE or "default"; the files are
 * $AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and $AWS_CONFIG_FILE
 * (~/.aws/config, where a profile's section is [profile NAME], the
 * default's [default]). Everything is checked here, once: what would break
 * a URL, a header or curl's signing parameters is refused. */
#pragma once

#include <stddef.h>

struct s3_config {
	char *endpoint;		 /* owned: http[s]://HOST[:PORT][/PATH], no trailing '/' */
	char *region;		 /* owned */
	char *bucket;		 /* owned */
	char *access_key_id;	 /* owned */
	char *secret_access_key; /* owned */
	char *session_token;	 /* owned; NULL without one */
	char *ca_bundle;	 /* owned: CA certificates for https; NULL: the system's */
};

/* Resolves the configuration; endpoint and region may be NULL (not given
 * on the command line), bucket may not. On failure nothing is left to
 * free and *ret_error says what is missing or wrong. */
int s3_config_load(const char *endpoint, const char *region, const char *bucket, struct s3_config *ret,
		   char **ret_error);
/* Frees the fields (secrets are wiped first); c may be half filled. */
void s3_config_clear(struct s3_config *c);

/* The value of `key` in `[section]` of the INI text[0..n) of an AWS file:
 * "key = value" lines, blanks trimmed, '#' and ';' lines are comments,
 * indented lines (nested settings) are skipped; the first one counts.
 * 0 and *ret (malloc'd), -ENOENT if absent, -ENOMEM. */
int s3_ini_get(const char *text, size_t n, const char *section, const char *key, char **ret);

/* Whether s is a valid bucket name: 3 to 63 of [a-z0-9.-], starting and
 * ending with a letter or digit (S3's rules for new buckets). */
int s3_bucket_valid(const char *s);
