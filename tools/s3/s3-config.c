/* s3-config.c: see s3-config.h. The files are read whole, at most 1 MiB
 * each; a file that does not exist is the same as an empty one. */
#include "s3-config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "error-util.h"

#define AWS_FILE_MAX   (1u << 20)
#define DEFAULT_REGION "us-east-1"
#define FIELD_MAX      4096

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* The whole file at path (with "~/" meaning the home directory), or
 * -ENOENT, -EFBIG, -errno. */
static int read_aws_file(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *full = NULL, *buf = NULL;
	_cleanup_close_ int fd = -1;
	size_t len = 0;

	if (strncmp(path, "~/", 2) == 0) {
		const char *home = env("HOME");
		struct passwd *pw = home ? NULL : getpwuid(getuid());
		if (!home && pw)
			home = pw->pw_dir;
		if (!home || asprintf(&full, "%s/%s", home, path + 2) < 0)
			return -ENOENT;
		path = full;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(AWS_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r = read(fd, buf + len, AWS_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > AWS_FILE_MAX)
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

int s3_ini_get(const char *text, size_t n, const char *section, const char *key, char **ret)
{
	const char *p = text, *end = text + n;
	bool in_section = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p, *e = le;
		p = nl ? nl + 1 : end;
		if (s < e && (*s == ' ' || *s == '\t'))
			continue; /* a nested setting (`s3 =` and indented lines below it) */
		trim(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			const char *ss = s + 1, *se = e;
			if (se[-1] != ']') {
				in_section = false;
				continue;
			}
			se--;
			trim(&ss, &se);
			in_section =
			    (size_t)(se - ss) == strlen(section) && memcmp(ss, section, strlen(section)) == 0;
			continue;
		}
		const char *eq = memchr(s, '=', (size_t)(e - s));
		if (!in_section || !eq)
			continue;
		const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
		trim(&ks, &ke);
		trim(&vs, &ve);
		if ((size_t)(ke - ks) != strlen(key) || memcmp(ks, key, strlen(key)) != 0)
			continue;
		char *v = strndup(vs, (size_t)(ve - vs));
		if (!v)
			return -ENOMEM;
		*ret = v;
		return 0;
	}
	return -ENOENT;
}

/* What the profile says about key: its section of the credentials file
 * (if creds) or of the config file. *ret stays NULL if nothing. */
struct aws_files {
	const char *profile;
	const char *cred_path, *config_path;
	char *cred, *config; /* owned; NULL if absent */
	size_t cred_len, config_len;
};

static int aws_files_load(struct aws_files *f, char **ret_error)
{
	int r;

	f->profile = env("AWS_PROFILE") ? env("AWS_PROFILE") : "default";
	f->cred_path =
	    env("AWS_SHARED_CREDENTIALS_FILE") ? env("AWS_SHARED_CREDENTIALS_FILE") : "~/.aws/credentials";
	f->config_path = env("AWS_CONFIG_FILE") ? env("AWS_CONFIG_FILE") : "~/.aws/config";
	r = read_aws_file(f->cred_path, &f->cred, &f->cred_len);
	if (r < 0 && r != -ENOENT)
		return err_setf(ret_error, r, "cannot read %s: %s", f->cred_path,
				r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
	r = read_aws_file(f->config_path, &f->config, &f->config_len);
	if (r < 0 && r != -ENOENT)
		return err_setf(ret_error, r, "cannot read %s: %s", f->config_path,
				r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
	return 0;
}

static void aws_files_clear(struct aws_files *f)
{
	if (f->cred)
		explicit_bzero(f->cred, f->cred_len);
	free(f->cred);
	if (f->config)
		explicit_bzero(f->config, f->config_len);
	free(f->config);
}

static int profile_get(const struct aws_files *f, bool creds, const char *key, char **ret)
{
	char section[512];
	int r;

	if (creds) {
		if (!f->cred)
			return -ENOENT;
		return s3_ini_get(f->cred, f->cred_len, f->profile, key, ret);
	}
	if (!f->config)
		return -ENOENT;
	snprintf(section, sizeof(section), "profile %s", f->profile);
	r = s3_ini_get(f->config, f->config_len, section, key, ret);
	if (r == -ENOENT && strcmp(f->profile, "default") == 0)
		r = s3_ini_get(f->config, f->config_len, "default", key, ret);
	return r;
}

/* Printable ASCII only, no blanks unless allowed, 1 to max bytes. */
static bool printable(const char *s, size_t max, bool blanks)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f || (!blanks && *s == ' '))
			return false;
	return true;
}

int s3_bucket_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 3 || n > 63 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n)
		return 0;
	return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

static int set_endpoint(struct s3_config *c, const char *url, const char *from, char **ret_error)
{
	const char *host = strstr(url, "://");
	size_t n = strlen(url);

	if (!printable(url, 1024, false))
		return err_setf(ret_error, -EINVAL,
				"invalid S3 endpoint (from %s): not printable ASCII, or too long", from);
	if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) || !host[3] ||
	    host[3] == '/' || strpbrk(url, "?#\"\\<>"))
		return err_setf(ret_error, -EINVAL,
				"invalid S3 endpoint %s (from %s): want http[s]://HOST[:PORT]", url, from);
	while (n > 0 && url[n - 1] == '/')
		n--;
	c->endpoint = strndup(url, n);
	return c->endpoint ? 0 : -ENOMEM;
}

static int resolve_endpoint(struct s3_config *c, const char *endpoint, const struct aws_files *f,
			    char **ret_error)
{
	_cleanup_free_ char *from_profile = NULL;
	char from[600];
	int r;

	if (endpoint)
		return set_endpoint(c, endpoint, "--endpoint", ret_error);
	if (env("AWS_ENDPOINT_URL_S3"))
		return set_endpoint(c, env("AWS_ENDPOINT_URL_S3"), "AWS_ENDPOINT_URL_S3", ret_error);
	if (env("AWS_ENDPOINT_URL"))
		return set_endpoint(c, env("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL", ret_error);
	r = profile_get(f, false, "endpoint_url", &from_profile);
	if (r == 0) {
		snprintf(from, sizeof(from), "%s [%s]", f->config_path, f->profile);
		return set_endpoint(c, from_profile, from, ret_error);
	}
	if (r != -ENOENT)
		return r;
	/* AWS's own S3 endpoint of the region. */
	if (asprintf(&c->endpoint, "https://s3.%s.amazonaws.com", c->region) < 0) {
		c->endpoint = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int resolve_region(struct s3_config *c, const char *region, const struct aws_files *f,
			  char **ret_error)
{
	_cleanup_free_ char *from_profile = NULL;
	const char *v = region ? region : env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
	int r;

	if (!v) {
		r = profile_get(f, false, "region", &from_profile);
		if (r < 0 && r != -ENOENT)
			return r;
		v = from_profile ? from_profile : DEFAULT_REGION;
	}
	/* It becomes part of curl's "aws:amz:REGION:s3" and of a host name. */
	if (strlen(v) > 64 ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != strlen(v) || !*v)
		return err_setf(ret_error, -EINVAL,
				"invalid S3 region %s: want up to 64 of A-Z, a-z, 0-9, '-', '_'",
				printable(v, 256, true) ? v : "(not printable)");
	c->region = strdup(v);
	return c->region ? 0 : -ENOMEM;
}

static int resolve_credentials(struct s3_config *c, const struct aws_files *f, char **ret_error)
{
	const char *id = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
	int r;

	if (id || secret) {
		if (!id || !secret)
			return err_setf(ret_error, -EINVAL, "%s is set but %s is not",
					id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
					id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		c->access_key_id = strdup(id);
		c->secret_access_key = strdup(secret);
		if (env("AWS_SESSION_TOKEN"))
			c->session_token = strdup(env("AWS_SESSION_TOKEN"));
		if (!c->access_key_id || !c->secret_access_key ||
		    (env("AWS_SESSION_TOKEN") && !c->session_token))
			return -ENOMEM;
	} else {
		for (int creds = 1; creds >= 0 && !c->access_key_id; creds--) {
			r = profile_get(f, creds, "aws_access_key_id", &c->access_key_id);
			if (r < 0 && r != -ENOENT)
				return r;
			if (r < 0)
				continue;
			r = profile_get(f, creds, "aws_secret_access_key", &c->secret_access_key);
			if (r == -ENOENT)
				return err_setf(
				    ret_error, -EINVAL,
				    "%s: profile %s has aws_access_key_id but no aws_secret_access_key",
				    creds ? f->cred_path : f->config_path, f->profile);
			if (r < 0)
				return r;
			r = profile_get(f, creds, "aws_session_token", &c->session_token);
			if (r < 0 && r != -ENOENT)
				return r;
		}
		if (!c->access_key_id)
			return err_setf(ret_error, -ENOKEY,
					"no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
					"or give profile %s "
					"aws_access_key_id and aws_secret_access_key in %s",
					f->profile, f->cred_path);
	}
	/* They go into curl's signing and into a header: nothing that could
	 * end one early or smuggle another. */
	if (!printable(c->access_key_id, 128, false) || strchr(c->access_key_id, ':') ||
	    !printable(c->secret_access_key, 256, false) ||
	    (c->session_token && !printable(c->session_token, FIELD_MAX, false)))
		return err_setf(ret_error, -EINVAL,
				"invalid S3 credentials: not printable ASCII, or too long");
	return 0;
}

static int resolve_ca_bundle(struct s3_config *c, const struct aws_files *f)
{
	int r;

	if (env("AWS_CA_BUNDLE")) {
		c->ca_bundle = strdup(env("AWS_CA_BUNDLE"));
		return c->ca_bundle ? 0 : -ENOMEM;
	}
	r = profile_get(f, false, "ca_bundle", &c->ca_bundle);
	return r == -ENOENT ? 0 : r;
}

int s3_config_load(const char *endpoint, const char *region, const char *bucket, struct s3_config *ret,
		   char **ret_error)
{
	struct s3_config c = {0};
	struct aws_files f = {0};
	int r;

	if (!s3_bucket_valid(bucket))
		return err_setf(ret_error, -EINVAL,
				"invalid bucket name %s: want 3 to 63 of a-z, 0-9, '.' and '-'",
				printable(bucket, 256, true) ? bucket : "(not printable)");
	c.bucket = strdup(bucket);
	r = c.bucket ? aws_files_load(&f, ret_error) : -ENOMEM;
	if (r >= 0)
		r = resolve_region(&c, region, &f, ret_error);
	if (r >= 0)
		r = resolve_endpoint(&c, endpoint, &f, ret_error);
	if (r >= 0)
		r = resolve_credentials(&c, &f, ret_error);
	if (r >= 0)
		r = resolve_ca_bundle(&c, &f);
	aws_files_clear(&f);
	if (r < 0) {
		s3_config_clear(&c);
		return r;
	}
	*ret = c;
	return 0;
}

static void free_secret(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void s3_config_clear(struct s3_config *c)
{
	free(c->endpoint);
	free(c->region);
	free(c->bucket);
	free(c->access_key_id);
	free(c->ca_bundle);
	free_secret(c->secret_access_key);
	free_secret(c->session_token);
	*c = (struct s3_config){0};
}
