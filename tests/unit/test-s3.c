/* test-s3.c: unit tests of runnerd-s3's pure parts (tools/s3/): the XML
 * reader (entities, exact element names, bounds, malformed text), the AWS
 * INI reader, the configuration's precedence (flags, environment, profile
 * files, defaults) and its refusals, manifests built and parsed back and
 * every kind of manifest refused, and the download sink (contents, digest,
 * holes for zero pages). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#include "s3-config.h"
#include "s3-files.h"
#include "s3-manifest.h"
#include "s3-xml.h"
#include "sha256.h"

#define SHA_A	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_UPPER "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
/* An image's files: the two it needs and one more, `name` (JSON text). */
#define FILES(name, size, sha)                                                                               \
	"{\"test.erofs\": {\"size\": 1, \"sha256\": \"" SHA_A "\"}, \"test.erofs.id\": {\"size\": 1, "       \
	"\"sha256\": \"" SHA_A "\"}, " name ": {\"size\": " size ", \"sha256\": \"" sha "\"}}"

static char tmpdir[64];

static void test_xml(void)
{
	const char *err = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>a &lt;b&gt; &amp; "
			  "&quot;c&quot; &apos;d&apos; &#65;&#x42;&#0;&#x7f;</Message></Error>";
	const char *list =
	    "<ListBucketResult><KeyCount>2</KeyCount><Contents><Key>images/a/manifest.json</Key>"
	    "</Contents><Contents><Key>images/b&amp;c/x</Key></Contents>"
	    "<IsTruncated>true</IsTruncated><NextContinuationToken>1ue+/x=</NextContinuationToken>"
	    "</ListBucketResult>";
	char *v = NULL;
	size_t pos = 0;

	CHECK(s3_xml_text(err, strlen(err), "Code", 64, &v) == 0 && strcmp(v, "NoSuchKey") == 0,
	      "xml: <Code>");
	free(v);
	CHECK(s3_xml_text(err, strlen(err), "Message", 200, &v) == 0 &&
		  strcmp(v, "a <b> & \"c\" 'd' AB??") == 0,
	      "xml: entities; numeric ones outside printable ASCII become '?'");
	free(v);
	CHECK(s3_xml_text(err, strlen(err), "Message", 10, &v) == -EINVAL,
	      "xml: text over its bound is refused");
	CHECK(s3_xml_text(err, strlen(err), "Key", 64, &v) == -ENOENT, "xml: absent element");

	CHECK(s3_xml_next(list, strlen(list), "Key", &pos, 1024, &v) == 0 &&
		  strcmp(v, "images/a/manifest.json") == 0,
	      "xml: first <Key>, not <KeyCount>");
	free(v);
	CHECK(s3_xml_next(list, strlen(list), "Key", &pos, 1024, &v) == 0 && strcmp(v, "images/b&c/x") == 0,
	      "xml: second <Key>");
	free(v);
	CHECK(s3_xml_next(list, strlen(list), "Key", &pos, 1024, &v) == -ENOENT, "xml: no third <Key>");
	CHECK(s3_xml_text(list, strlen(list), "NextContinuationToken", 64, &v) == 0 &&
		  strcmp(v, "1ue+/x=") == 0,
	      "xml: continuation token");
	free(v);

	static const char *const bad[] = {
	    "<Code>abc",	   "<Code>a<b>c</b></Code>",
	    "<Code>a</Cod>",	   "<Code>a &bogus; b</Code>",
	    "<Code>&#;</Code>",	   "<Code>&#x;</Code>",
	    "<Code>&#12a;</Code>", "<Code>&amp</Code>",
	    "<Code>&#x4g;</Code>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(s3_xml_text(bad[i], strlen(bad[i]), "Code", 64, &v) == -EINVAL, bad[i]);
	/* A NUL inside the text, as a server could send it. */
	const char nul[] = "<Code>a\0b</Code>";
	CHECK(s3_xml_text(nul, sizeof(nul) - 1, "Code", 64, &v) == -EINVAL, "xml: NUL in text refused");
}

static void test_ini(void)
{
	const char *ini = "# comment\n"
			  "[default]\n"
			  "region = eu-west-1\n"
			  "; another\n"
			  "[profile ci]\n"
			  "s3 =\n"
			  "  region = nested\n"
			  "\tendpoint_url = http://nested\n"
			  "  region  =   us-west-2  \r\n"
			  "region = second\n"
			  "[ profile  spaced ]\n"
			  "x=1\n";
	char *v = NULL;

	CHECK(s3_ini_get(ini, strlen(ini), "default", "region", &v) == 0 && strcmp(v, "eu-west-1") == 0,
	      "ini: [default]");
	free(v);
	CHECK(s3_ini_get(ini, strlen(ini), "profile ci", "region", &v) == 0 && strcmp(v, "second") == 0,
	      "ini: indented (nested) lines skipped, first top-level value");
	free(v);
	CHECK(s3_ini_get(ini, strlen(ini), "profile ci", "endpoint_url", &v) == -ENOENT,
	      "ini: nested endpoint_url is not the profile's");
	CHECK(s3_ini_get(ini, strlen(ini), "profile  spaced", "x", &v) == 0 && strcmp(v, "1") == 0,
	      "ini: blanks inside brackets trimmed");
	free(v);
	CHECK(s3_ini_get(ini, strlen(ini), "nope", "region", &v) == -ENOENT, "ini: absent section");
}

static void write_file(const char *name, const char *text, char path[128])
{
	snprintf(path, 128, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void clear_env(void)
{
	static const char *const vars[] = {
	    "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL",	"AWS_REGION",
	    "AWS_DEFAULT_REGION",  "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	    "AWS_SESSION_TOKEN",   "AWS_PROFILE",	"AWS_CA_BUNDLE"};
	char path[128];

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	snprintf(path, sizeof(path), "%s/none", tmpdir);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	setenv("AWS_CONFIG_FILE", path, 1);
}

static void test_config(void)
{
	struct s3_config c;
	char *err = NULL, cred[128], conf[128];

	clear_env();
	CHECK(s3_config_load(NULL, NULL, "bucket", &c, &err) == -ENOKEY && err &&
		  strncmp(err, "no S3 credentials: ", 19) == 0,
	      "config: no credentials anywhere");
	free(err);
	err = NULL;

	setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
	CHECK(s3_config_load(NULL, NULL, "bucket", &c, &err) == -EINVAL && err &&
		  strcmp(err, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not") == 0,
	      "config: half the credentials");
	free(err);
	err = NULL;

	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	CHECK(s3_config_load(NULL, NULL, "bucket", &c, NULL) == 0 && strcmp(c.region, "us-east-1") == 0 &&
		  strcmp(c.endpoint, "https://s3.us-east-1.amazonaws.com") == 0 &&
		  strcmp(c.access_key_id, "AKID") == 0 && !c.session_token && !c.ca_bundle,
	      "config: defaults");
	s3_config_clear(&c);

	setenv("AWS_DEFAULT_REGION", "eu-west-2", 1);
	setenv("AWS_ENDPOINT_URL", "http://generic:9000", 1);
	CHECK(s3_config_load(NULL, NULL, "bucket", &c, NULL) == 0 && strcmp(c.region, "eu-west-2") == 0 &&
		  strcmp(c.endpoint, "http://generic:9000") == 0,
	      "config: AWS_DEFAULT_REGION, AWS_ENDPOINT_URL");
	s3_config_clear(&c);
	setenv("AWS_REGION", "eu-north-1", 1);
	setenv("AWS_ENDPOINT_URL_S3", "https://s3.example:8443//", 1);
	setenv("AWS_SESSION_TOKEN", "tok", 1);
	CHECK(s3_config_load(NULL, NULL, "bucket", &c, NULL) == 0 && strcmp(c.region, "eu-north-1") == 0 &&
		  strcmp(c.endpoint, "https://s3.example:8443") == 0 && strcmp(c.session_token, "tok") == 0,
	      "config: AWS_REGION over AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL");
	s3_config_clear(&c);
	CHECK(s3_config_load("http://flag:1/", "flag-region", "bucket", &c, NULL) == 0 &&
		  strcmp(c.region, "flag-region") == 0 && strcmp(c.endpoint, "http://flag:1") == 0,
	      "config: flags first");
	s3_config_clear(&c);

	static const char *const bad_endpoints[] = {"ftp://x",	  "http://",	"https:///x",
						    "http://a b", "http://x?y", "s3.example"};
	for (size_t i = 0; i < sizeof(bad_endpoints) / sizeof(bad_endpoints[0]); i++) {
		CHECK(s3_config_load(bad_endpoints[i], NULL, "bucket", &c, &err) == -EINVAL && err &&
			  strncmp(err, "invalid S3 endpoint", 19) == 0,
		      bad_endpoints[i]);
		free(err);
		err = NULL;
	}
	CHECK(s3_config_load(NULL, "us:east", "bucket", &c, NULL) == -EINVAL,
	      "config: region with ':' refused");
	CHECK(s3_config_load(NULL, NULL, "Bucket_1", &c, NULL) == -EINVAL, "config: invalid bucket refused");
	setenv("AWS_SESSION_TOKEN", "tok\r\nx-evil: 1", 1);
	CHECK(s3_config_load(NULL, NULL, "bucket", &c, NULL) == -EINVAL, "config: header injection refused");

	/* Profile files. */
	clear_env();
	write_file("credentials",
		   "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n"
		   "[ci]\naws_access_key_id=CI\naws_secret_access_key=CIS\naws_session_token = CIT\n"
		   "[half]\naws_access_key_id = H\n",
		   cred);
	write_file("config",
		   "[default]\nregion = ap-south-1\n[profile ci]\nregion = sa-east-1\n"
		   "endpoint_url = http://minio:9000\nca_bundle = /etc/ci.pem\n"
		   "[profile cfg]\naws_access_key_id = C\naws_secret_access_key = CS\n",
		   conf);
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
	setenv("AWS_CONFIG_FILE", conf, 1);
	CHECK(s3_config_load(NULL, NULL, "bucket", &c, NULL) == 0 && strcmp(c.access_key_id, "D") == 0 &&
		  strcmp(c.secret_access_key, "DS") == 0 && strcmp(c.region, "ap-south-1") == 0,
	      "config: the default profile");
	s3_config_clear(&c);
	setenv("AWS_PROFILE", "ci", 1);
	CHECK(s3_config_load(NULL, NULL, "bucket", &c, NULL) == 0 && strcmp(c.access_key_id, "CI") == 0 &&
		  strcmp(c.session_token, "CIT") == 0 && strcmp(c.region, "sa-east-1") == 0 &&
		  strcmp(c.endpoint, "http://minio:9000") == 0 && strcmp(c.ca_bundle, "/etc/ci.pem") == 0,
	      "config: AWS_PROFILE, its region, endpoint_url and ca_bundle");
	s3_config_clear(&c);
	setenv("AWS_PROFILE", "cfg", 1);
	CHECK(s3_config_load(NULL, NULL, "bucket", &c, NULL) == 0 && strcmp(c.access_key_id, "C") == 0 &&
		  strcmp(c.region, "us-east-1") == 0,
	      "config: credentials in the config file");
	s3_config_clear(&c);
	setenv("AWS_PROFILE", "half", 1);
	CHECK(s3_config_load(NULL, NULL, "bucket", &c, &err) == -EINVAL && err &&
		  strstr(err, "profile half has"),
	      "config: a key id without a secret");
	free(err);
	err = NULL;
	setenv("AWS_ACCESS_KEY_ID", "ENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVS", 1);
	CHECK(s3_config_load(NULL, NULL, "bucket", &c, NULL) == 0 && strcmp(c.access_key_id, "ENV") == 0 &&
		  !c.session_token,
	      "config: the environment over the files");
	s3_config_clear(&c);
	clear_env();
	unlink(cred);
	unlink(conf);

	CHECK(s3_bucket_valid("runnerd-test") && s3_bucket_valid("a.b-c") && !s3_bucket_valid("ab") &&
		  !s3_bucket_valid("-ab") && !s3_bucket_valid("ab-") && !s3_bucket_valid("a_b") &&
		  !s3_bucket_valid("a/b"),
	      "bucket names");
}

static struct s3_manifest built_image(void)
{
	struct s3_manifest m;
	json_t *extra = json_pack("{s:[s,s]}", "languages", "bash", "sh");

	s3_manifest_init(&m, S3_IMAGE, "test");
	for (size_t i = 0; i < m.n_files; i++) {
		if (i == 2)
			continue; /* no inputs */
		m.files[i].present = true;
		m.files[i].size = 100 + i;
		memset(m.files[i].sha256, 'a' + (char)i, 64);
		m.files[i].sha256[64] = '\0';
	}
	if (s3_manifest_build(&m, extra, NULL) < 0)
		abort();
	json_decref(extra);
	return m;
}

/* m's document with `key` set to the JSON text `value` (or removed if
 * NULL), parsed back as an image "test". */
static int parse_edited(const struct s3_manifest *m, const char *key, const char *value)
{
	json_t *j = json_deep_copy(m->json);
	struct s3_manifest out;

	if (value)
		json_object_set_new(j, key, json_loads(value, JSON_DECODE_ANY, NULL));
	else
		json_object_del(j, key);
	char *doc = json_dumps(j, 0);
	json_decref(j);
	int r = s3_manifest_parse(doc, strlen(doc), S3_IMAGE, "test", &out, NULL);
	free(doc);
	if (r >= 0)
		s3_manifest_clear(&out);
	return r;
}

static void test_manifest(void)
{
	struct s3_manifest m = built_image(), back;
	char *doc = json_dumps(m.json, 0), *err = NULL;

	CHECK(s3_manifest_parse(doc, strlen(doc), S3_IMAGE, "test", &back, NULL) == 0 &&
		  back.files[0].present && back.files[0].size == 100 && back.files[1].present &&
		  !back.files[2].present && back.files[3].present &&
		  strcmp(back.files[3].name, "test.erofs.id") == 0 && back.files[3].sha256[0] == 'd',
	      "manifest: built, parsed back");
	s3_manifest_clear(&back);
	CHECK(s3_manifest_parse(doc, strlen(doc), S3_IMAGE, "other", &back, &err) == -EINVAL && err &&
		  strcmp(err, "'name' is not other") == 0,
	      "manifest: another image's");
	free(err);
	CHECK(s3_manifest_parse(doc, strlen(doc), S3_SNAPSHOT, "test", &back, NULL) == -EINVAL,
	      "manifest: an image's is no snapshot's");
	CHECK(s3_manifest_parse(doc, strlen(doc), S3_IMAGE, "../x", &back, NULL) == -EINVAL,
	      "manifest: invalid name");
	free(doc);

	static const struct {
		const char *key, *value, *name;
	} bad[] = {
	    {"format", "2", "format 2"},
	    {"format", NULL, "no format"},
	    {"kind", "\"snapshot\"", "kind"},
	    {"uploaded_at", "\"yesterday\"", "uploaded_at"},
	    {"extra", "1", "unknown key"},
	    {"dir", "\"test-0123456789abcdef\"", "a snapshot's key in an image's"},
	    {"languages", "[\"Bash\"]", "invalid language"},
	    {"languages", "\"bash\"", "languages not an array"},
	    {"files", "[]", "files not an object"},
	    {"files", "{\"test.erofs\": {\"size\": 1, \"sha256\": \"" SHA_A "\"}}", "no id"},
	    {"files", "{\"test.erofs.id\": {\"size\": 1, \"sha256\": \"" SHA_A "\"}}", "no image"},
	    {"files", FILES("\"../x\"", "1", SHA_A), "a name outside the list"},
	    {"files", FILES("\"test.versions\"", "-1", SHA_A), "negative size"},
	    {"files", FILES("\"test.versions\"", "68719476737", SHA_A), "size over 64 GiB"},
	    {"files", FILES("\"test.versions\"", "1.5", SHA_A), "fractional size"},
	    {"files", FILES("\"test.versions\"", "1", "ABC"), "short digest"},
	    {"files", FILES("\"test.versions\"", "1", SHA_UPPER), "uppercase digest"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(parse_edited(&m, bad[i].key, bad[i].value) == -EINVAL, bad[i].name);
	CHECK(parse_edited(&m, "files",
			   "{\"test.erofs\": {\"size\": 68719476736, \"sha256\": \"" SHA_A "\"},"
			   "\"test.erofs.id\": {\"size\": 0, \"sha256\": \"" SHA_A "\"}}") == 0,
	      "manifest: 64 GiB and empty files pass");
	CHECK(parse_edited(&m, "languages", NULL) == 0, "manifest: languages are optional");

	const char dup[] = "{\"format\": 1, \"format\": 1}";
	CHECK(s3_manifest_parse(dup, strlen(dup), S3_IMAGE, "test", &back, NULL) == -EINVAL,
	      "manifest: duplicate keys");
	CHECK(s3_manifest_parse("[1", 2, S3_IMAGE, "test", &back, NULL) == -EINVAL, "manifest: not JSON");
	s3_manifest_clear(&m);

	/* A snapshot's. */
	json_t *extra = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "dir", "py-0123456789abcdef", "language", "py",
				  "qemu_version", "QEMU 7.2", "kernel_sha256", SHA_A, "image_sha256", SHA_A,
				  "machine", "mem=512M");
	s3_manifest_init(&m, S3_SNAPSHOT, "py");
	for (size_t i = 0; i < m.n_files; i++) {
		m.files[i].present = true;
		memcpy(m.files[i].sha256, SHA_A, 65);
	}
	CHECK(s3_manifest_build(&m, extra, NULL) == 0 && strcmp(m.dir, "py-0123456789abcdef") == 0,
	      "manifest: a snapshot's");
	s3_manifest_clear(&m);
	json_object_set_new(extra, "dir", json_string("py-0123456789abcdeX"));
	CHECK(s3_manifest_build(&m, extra, NULL) == -EINVAL, "manifest: snapshot dir not LANG-KEY");
	json_object_set_new(extra, "dir", json_string("py-0123456789abcdef"));
	json_object_set_new(extra, "machine", json_string("a\nb"));
	CHECK(s3_manifest_build(&m, extra, NULL) == -EINVAL, "manifest: machine with a newline");
	json_object_set_new(extra, "machine", json_string("m"));
	json_object_set_new(extra, "language", json_string("python"));
	CHECK(s3_manifest_build(&m, extra, NULL) == -EINVAL, "manifest: another language's");
	json_decref(extra);

	CHECK(s3_name_valid("python") && s3_name_valid("c++") && s3_name_valid("a_b-1") &&
		  !s3_name_valid("") && !s3_name_valid("-a") && !s3_name_valid("A") &&
		  !s3_name_valid("a/b") && !s3_name_valid("a.b") &&
		  !s3_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	      "names");
}

static void test_sink(void)
{
	char path[128], want[65], got_sha[65];
	size_t n = (3u << 20) + 100;
	unsigned char *data = calloc(1, n);
	struct s3_sink sink;
	uint64_t got;
	struct stat st;

	for (size_t i = 0; i < 4096 * 3; i++)
		data[(1u << 20) + 8192 + i] = (unsigned char)(i * 7 + 1);
	data[n - 1] = 9;
	sha256_hex(data, n, want);
	snprintf(path, sizeof(path), "%s/sink", tmpdir);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	int r = s3_sink_init(&sink, fd);
	/* In uneven pieces, as a network brings them. */
	for (size_t off = 0; r >= 0 && off < n; off += 16411)
		r = s3_sink_write(&sink, data + off, n - off < 16411 ? n - off : 16411);
	if (r >= 0)
		r = s3_sink_finish(&sink, &got, got_sha);
	s3_sink_clear(&sink);
	CHECK(r == 0 && got == n && strcmp(got_sha, want) == 0, "sink: size and digest");
	unsigned char *back = malloc(n);
	CHECK(pread(fd, back, n, 0) == (ssize_t)n && memcmp(back, data, n) == 0, "sink: contents");
	CHECK(fstat(fd, &st) == 0 && st.st_blocks * 512 < (1u << 20), "sink: zero pages are holes");
	close(fd);
	unlink(path);
	free(back);
	free(data);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-s3.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	test_xml();
	test_ini();
	test_config();
	test_manifest();
	test_sink();
	rmdir(tmpdir);
	return check_done();
}
