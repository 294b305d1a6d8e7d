/* test-runnerctl.c: the pure parts of runnerctl (tools/runnerctl/): the
 * bearer token of a token file, language names as URL path segments and
 * base URLs, the text tables of `rootfs list` and `snapshot list` (exact
 * output), and the judgement of a task while it is followed. Nothing here
 * talks to runnerd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cleanup.h"
#include "collection.h"
#include "http.h"
#include "images.h"
#include "snapshots.h"
#include "table.h"
#include "token.h"
#include "wait.h"

static bool token_is(const char *data, size_t len, const char *want)
{
	_cleanup_free_ char *t = NULL;

	return token_parse(data, len, &t) == 0 && strcmp(t, want) == 0;
}

static int token_error(const char *data, size_t len)
{
	_cleanup_free_ char *t = NULL;
	int r = token_parse(data, len, &t);

	return r < 0 && !t ? r : 0;
}

/* Writes data to a new temporary file (in $TMPDIR, else /tmp); its path
 * in a static buffer. */
static const char *temp_file(const char *data, size_t len)
{
	static char path[4096];
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, sizeof(path), "%s/test-runnerctl.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	return path;
}

static void test_token(void)
{
	char long_token[TOKEN_MAX + 2];
	_cleanup_free_ char *t = NULL;
	const char *path;

	CHECK(token_is("s3cret\n", 7, "s3cret"), "the first line, its newline stripped");
	CHECK(token_is("s3cret", 6, "s3cret"), "a file without a final newline");
	CHECK(token_is("s3cret\r\n", 8, "s3cret"), "a CRLF line ending is stripped");
	CHECK(token_is("abc.DEF-123_~+/=\nsecond line\n", 29, "abc.DEF-123_~+/="),
	      "only the first line is the token");
	CHECK(token_error("", 0) == -ENODATA, "an empty file is refused");
	CHECK(token_error("\nsecret\n", 8) == -ENODATA, "an empty first line is refused");
	CHECK(token_error("\r\n", 2) == -ENODATA, "a first line of only CR is refused");
	CHECK(token_error("a b\n", 4) == -EINVAL, "a space is refused");
	CHECK(token_error("a\rInjected: 1\n", 14) == -EINVAL,
	      "a CR inside the line (header injection) is refused");
	CHECK(token_error("a\0b\n", 4) == -EINVAL, "a NUL is refused");
	CHECK(token_error("\xc3\xa9t\xc3\xa9\n", 7) == -EINVAL, "non-ASCII is refused");
	CHECK(token_error("a\tb", 3) == -EINVAL, "a tab is refused");
	memset(long_token, 'x', sizeof(long_token));
	CHECK(token_error(long_token, TOKEN_MAX + 1) == -E2BIG, "a token over TOKEN_MAX is refused");
	CHECK(token_error(long_token, TOKEN_MAX) == 0, "a token of TOKEN_MAX bytes is taken");

	path = temp_file("from-a-file\n", 12);
	CHECK(token_read_file(path, &t) == 0 && strcmp(t, "from-a-file") == 0, "token_read_file() reads it");
	unlink(path);
	path = temp_file("", 0);
	CHECK(token_read_file(path, &t) == -ENODATA, "token_read_file() refuses an empty file");
	unlink(path);
	CHECK(token_read_file("/nonexistent/token", &t) == -ENOENT, "a missing file is its errno");
	CHECK(strstr(token_strerror(-ENODATA), "empty") != NULL, "token_strerror() says why");
}

static bool segment_is(const char *in, const char *want)
{
	_cleanup_free_ char *s = NULL;

	return http_path_segment(in, &s) == 0 && strcmp(s, want) == 0;
}

static void test_http(void)
{
	_cleanup_free_ char *s = NULL;

	CHECK(segment_is("python", "python"), "a plain name is itself");
	CHECK(segment_is("c++", "c++"), "'+' stays (a language name may hold it)");
	CHECK(segment_is("node-20.1_x", "node-20.1_x"), "'-' '.' '_' stay");
	CHECK(segment_is("a/b", "a%2Fb"), "'/' is encoded: no other resource");
	CHECK(segment_is("../x", "..%2Fx"), "a leading .. with a slash stays in one segment");
	CHECK(segment_is("a b?#%", "a%20b%3F%23%25"), "space ? # % are encoded");
	CHECK(segment_is("\xc3\xbc", "%C3%BC"), "UTF-8 bytes are encoded");
	CHECK(http_path_segment("", &s) == -EINVAL, "an empty name is refused");
	CHECK(http_path_segment(".", &s) == -EINVAL, "'.' is refused");
	CHECK(http_path_segment("..", &s) == -EINVAL, "'..' is refused");

	CHECK(http_url_valid("http://127.0.0.1:8080"), "http://HOST:PORT");
	CHECK(http_url_valid("https://runnerd.example/"), "https:// with a trailing slash");
	CHECK(http_url_valid("http://[::1]:8080/prefix"), "IPv6 and a path prefix");
	CHECK(!http_url_valid("ftp://host"), "another scheme is refused");
	CHECK(!http_url_valid("127.0.0.1:8080"), "no scheme is refused");
	CHECK(!http_url_valid("http://"), "no host is refused");
	CHECK(!http_url_valid("http:///path"), "an empty host is refused");
	CHECK(!http_url_valid("http://h/?a=b"), "a query is refused");
	CHECK(!http_url_valid("http://h/#f"), "a fragment is refused");
	CHECK(!http_url_valid("http://h/\r\nX: y"), "a line break is refused");
}

/* What print(listing) writes, malloc'd. */
static char *printed(void (*print)(FILE *, json_t *, bool), const char *listing, bool remote)
{
	json_auto_t *j = json_loads(listing, 0, NULL);
	char *out = NULL;
	size_t n;
	FILE *f = open_memstream(&out, &n);

	if (!j || !f)
		abort();
	print(f, j, remote);
	fclose(f);
	return out;
}

static const char *size_of(long long bytes)
{
	static char buf[32];
	json_auto_t *v = json_integer(bytes);

	table_format_mb(v, buf, sizeof(buf));
	return buf;
}

static void test_table(void)
{
	static const struct table_column cols[] = {
	    {.title = "NAME"},
	    {.title = "N", .right = true},
	    {.title = "NOTE"},
	};
	_cleanup_(table_freep) struct table *t = table_new(cols, 3);
	_cleanup_free_ char *out = NULL;
	size_t n;
	FILE *f;
	char buf[32];

	CHECK(t != NULL);
	CHECK(table_add(t, (const char *[]){"python", "12", "ok"}) == 0);
	CHECK(table_add(t, (const char *[]){"b\xc3\xa9", "3", ""}) == 0);
	CHECK(table_add(t, (const char *[]){"evil\x1b[2J", NULL, "x\ny"}) == 0);
	f = open_memstream(&out, &n);
	table_print(t, f);
	fclose(f);
	CHECK(strcmp(out, "NAME       N  NOTE\n"
			  "python    12  ok\n"
			  "b\xc3\xa9         3\n"
			  "evil?[2J   -  x?y\n") == 0,
	      "columns as wide as their widest cell, numbers right-aligned, no trailing blanks, "
	      "control characters as '?', UTF-8 counted in characters, NULL as '-'");
	CHECK(table_new(cols, 0) == NULL && table_new(cols, TABLE_COLUMNS_MAX + 1) == NULL,
	      "a table needs 1 to TABLE_COLUMNS_MAX columns");

	CHECK(strcmp(size_of(0), "0.0 MB") == 0, "0 bytes");
	CHECK(strcmp(size_of(5000), "<0.1 MB") == 0, "a few bytes");
	CHECK(strcmp(size_of(300 << 10), "0.3 MB") == 0, "300 KiB");
	CHECK(strcmp(size_of(12LL << 20 | 512 << 10), "12.5 MB") == 0, "12.5 MiB");
	CHECK(strcmp(size_of(100LL << 20), "100 MB") == 0, "no decimal from 100 MiB on");
	CHECK(strcmp(size_of(2LL << 30), "2048 MB") == 0, "2 GiB");
	CHECK(strcmp(size_of(-1), "-") == 0, "a negative size");
	table_format_mb(NULL, buf, sizeof(buf));
	CHECK(strcmp(buf, "-") == 0, "no size (null or missing)");
}

static void test_listings(void)
{
	_cleanup_free_ char *rootfs = printed(
	    rootfs_print,
	    "{\"rootfs\": ["
	    "{\"language\": \"python\", \"size\": 123456789, \"image\": \"python.erofs\", \"built_at\": "
	    "\"2024-05-01T10:00:00Z\", \"source\": \"debian\", \"state\": \"ready\", \"task\": {\"kind\": "
	    "\"upload\", \"state\": \"running\", \"step\": \"40%\"}},"
	    "{\"language\": \"node\", \"size\": null, \"image\": \"node.erofs\", \"built_at\": null, "
	    "\"source\": \"node:20\", \"state\": \"building\", \"task\": {\"kind\": "
	    "\"from-image\", \"state\": \"running\"}},"
	    "{\"language\": \"ruby\", \"size\": 1048576, \"image\": \"ruby.erofs\", \"source\": \"debian\", "
	    "\"state\": \"ready\", \"task\": {\"kind\": \"download\", \"state\": \"failed\", \"error\": "
	    "\"x\"}}"
	    "]}",
	    false);
	_cleanup_free_ char *rootfs_remote =
	    printed(rootfs_print,
		    "{\"rootfs\": [{\"language\": \"python\", \"image\": "
		    "\"python.erofs\", \"size\": 1073741824, \"languages\": "
		    "[\"python\"], \"uploaded_at\": \"2024-05-02T00:00:00Z\"}], "
		    "\"remote\": true, \"bucket\": \"b1\"}",
		    true);
	_cleanup_free_ char *snapshots = printed(
	    snapshot_print,
	    "{\"snapshots\": ["
	    "{\"language\": \"python\", \"mem_mb\": 512, \"vcpus\": 1, \"vmstate_size\": 300000, "
	    "\"mem_size\": "
	    "536870912, \"resident_size\": 80000000, \"status\": \"ready\", \"source\": \"built\"},"
	    "{\"language\": \"bash\", \"mem_mb\": 256, \"vcpus\": 2, \"vmstate_size\": 0, \"mem_size\": "
	    "268435456, \"status\": \"stale\", \"reason\": \"kernel changed\", \"source\": \"downloaded\"},"
	    "{\"language\": \"c\", \"mem_mb\": 256, \"vcpus\": 1, \"status\": \"failed\", \"task\": "
	    "{\"kind\": "
	    "\"create\", \"state\": \"failed\", \"error\": \"guest did not answer\"}}"
	    "]}",
	    false);
	_cleanup_free_ char *snapshots_remote =
	    printed(snapshot_print,
		    "{\"snapshots\": [{\"language\": \"python\", \"mem_mb\": "
		    "512, \"vcpus\": 1, \"keys\": {}, \"uploaded_at\": "
		    "\"2024-05-02\"}], \"remote\": true, \"bucket\": \"b\"}",
		    true);
	_cleanup_free_ char *empty = printed(snapshot_print, "{\"snapshots\": []}", false);

	CHECK(
	    strcmp(rootfs,
		   "LANGUAGE  IMAGE           SIZE  STATE                    SOURCE   BUILT\n"
		   "python    python.erofs  118 MB  ready (upload)           debian   2024-05-01T10:00:00Z\n"
		   "node      node.erofs         -  building                 node:20  -\n"
		   "ruby      ruby.erofs    1.0 MB  ready (download failed)  debian   -\n") == 0,
	    "rootfs list: the table");
	CHECK(strcmp(rootfs_remote, "bucket: b1\n"
				    "LANGUAGE  IMAGE            SIZE  UPLOADED\n"
				    "python    python.erofs  1024 MB  2024-05-02T00:00:00Z\n") == 0,
	      "rootfs list --remote: the bucket, then the table");
	CHECK(strcmp(snapshots, "LANGUAGE     MEM  VCPUS  STATE      SIZE  REASON\n"
				"python    512 MB      1  ready   76.6 MB\n"
				"bash      256 MB      2  stale    256 MB  kernel changed\n"
				"c         256 MB      1  failed        -  guest did not answer\n") == 0,
	      "snapshot list: the table, SIZE = device state + resident memory, a failed task's error as "
	      "REASON");
	CHECK(strcmp(snapshots_remote, "bucket: b\n"
				       "LANGUAGE     MEM  VCPUS  UPLOADED\n"
				       "python    512 MB      1  2024-05-02\n") == 0,
	      "snapshot list --remote");
	CHECK(strcmp(empty, "LANGUAGE  MEM  VCPUS  STATE  SIZE  REASON\n") == 0,
	      "an empty listing is its header");
}

static enum task_state judge(const char *task, const char *started_at)
{
	json_auto_t *j = task ? json_loads(task, 0, NULL) : NULL;

	return task_judge(j, started_at);
}

static void test_tasks(void)
{
	json_auto_t *listing = json_loads("{\"rootfs\": [{\"language\": \"python\", \"task\": {\"state\": "
					  "\"running\"}}, {\"language\": \"bash\"}, {\"language\": \"c\", "
					  "\"task\": \"nonsense\"}]}",
					  0, NULL);
	char cell[64];

	CHECK(judge("{\"state\": \"running\"}", NULL) == TASK_RUNNING, "running");
	CHECK(judge("{\"state\": \"done\"}", NULL) == TASK_DONE, "done");
	CHECK(judge("{\"state\": \"failed\", \"error\": \"x\"}", NULL) == TASK_FAILED, "failed");
	CHECK(judge(NULL, NULL) == TASK_GONE, "no task");
	CHECK(judge("{\"state\": \"paused\"}", NULL) == TASK_INVALID, "an unknown state");
	CHECK(judge("{\"step\": \"x\"}", NULL) == TASK_INVALID, "no state");
	CHECK(judge("[1]", NULL) == TASK_INVALID, "not an object");
	CHECK(judge("{\"state\": \"running\", \"started_at\": \"T1\"}", "T1") == TASK_RUNNING,
	      "the same task (same started_at)");
	CHECK(judge("{\"state\": \"done\", \"started_at\": \"T2\"}", "T1") == TASK_REPLACED,
	      "another task (another started_at): ours ended unseen");
	CHECK(judge("{\"state\": \"done\"}", "T1") == TASK_DONE,
	      "a task without started_at is taken as ours");

	CHECK(task_find(listing, "rootfs", "python") != NULL, "task_find(): the entry's task");
	CHECK(task_find(listing, "rootfs", "bash") == NULL, "task_find(): an entry without a task");
	CHECK(task_find(listing, "rootfs", "c") == NULL, "task_find(): a task that is no object");
	CHECK(task_find(listing, "rootfs", "go") == NULL, "task_find(): no such entry");
	CHECK(task_find(listing, "snapshots", "python") == NULL, "task_find(): another collection's key");

	{
		json_auto_t *up = json_loads("{\"kind\": \"upload\", \"state\": \"running\"}", 0, NULL);
		json_auto_t *build = json_loads("{\"kind\": \"build\", \"state\": \"failed\"}", 0, NULL);
		json_auto_t *done = json_loads("{\"kind\": \"download\", \"state\": \"done\"}", 0, NULL);

		collection_state_cell("ready", up, cell, sizeof(cell));
		CHECK(strcmp(cell, "ready (upload)") == 0, "a running transfer shows");
		collection_state_cell("failed", build, cell, sizeof(cell));
		CHECK(strcmp(cell, "failed") == 0, "a build's end is the state itself");
		collection_state_cell("ready", done, cell, sizeof(cell));
		CHECK(strcmp(cell, "ready") == 0, "a finished transfer does not show");
		collection_state_cell(NULL, NULL, cell, sizeof(cell));
		CHECK(strcmp(cell, "-") == 0, "no state");
	}
}

int main(void)
{
	test_token();
	test_http();
	test_table();
	test_listings();
	test_tasks();
	return check_done();
}
