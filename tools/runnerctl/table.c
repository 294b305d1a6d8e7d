/* table.c: see table.h. Widths count UTF-8 characters, not bytes, so a
 * name with accents does not shift its column. */
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct table {
	const struct table_column *cols; /* borrowed */
	size_t n_cols, n_rows, cap_rows;
	char **cells; /* owned: n_rows * n_cols cells, each owned */
};

struct table *table_new(const struct table_column *cols, size_t n_cols)
{
	struct table *t;

	if (n_cols == 0 || n_cols > TABLE_COLUMNS_MAX)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cols = cols;
	t->n_cols = n_cols;
	return t;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* A copy of s with control characters as '?'. */
static char *cell_dup(const char *s)
{
	char *c = strdup(s ? s : "-");

	for (char *p = c; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

int table_add(struct table *t, const char *const *cells)
{
	char **row;

	if (t->n_rows == t->cap_rows) {
		size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
		char **nc = reallocarray(t->cells, cap * t->n_cols, sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		t->cells = nc;
		t->cap_rows = cap;
	}
	row = t->cells + t->n_rows * t->n_cols;
	for (size_t i = 0; i < t->n_cols; i++) {
		row[i] = cell_dup(cells[i]);
		if (!row[i]) {
			while (i > 0)
				free(row[--i]);
			return -ENOMEM;
		}
	}
	t->n_rows++;
	return 0;
}

/* Characters of UTF-8 text s: the bytes that do not continue a sequence. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Blanks are written only before a cell that follows them, so a line
 * never ends in blanks, even when its last cells are empty. */
static void print_row(const struct table *t, const char *const *cells, const size_t *widths, FILE *out)
{
	size_t blanks = 0;

	for (size_t i = 0; i < t->n_cols; i++) {
		size_t pad = widths[i] - text_width(cells[i]);

		blanks += i > 0 ? 2 : 0;
		blanks += t->cols[i].right ? pad : 0;
		if (*cells[i]) {
			fprintf(out, "%*s%s", (int)blanks, "", cells[i]);
			blanks = 0;
		}
		blanks += t->cols[i].right ? 0 : pad;
	}
	fputc('\n', out);
}

void table_print(const struct table *t, FILE *out)
{
	size_t widths[TABLE_COLUMNS_MAX];
	const char *titles[TABLE_COLUMNS_MAX];

	for (size_t i = 0; i < t->n_cols; i++) {
		titles[i] = t->cols[i].title;
		widths[i] = text_width(titles[i]);
		for (size_t r = 0; r < t->n_rows; r++) {
			size_t w = text_width(t->cells[r * t->n_cols + i]);
			if (w > widths[i])
				widths[i] = w;
		}
	}
	print_row(t, titles, widths, out);
	for (size_t r = 0; r < t->n_rows; r++)
		print_row(t, (const char *const *)t->cells + r * t->n_cols, widths, out);
}

void table_format_mb(json_t *bytes, char *buf, size_t n)
{
	double mb;

	if (!json_is_integer(bytes) || json_integer_value(bytes) < 0) {
		snprintf(buf, n, "-");
		return;
	}
	mb = (double)json_integer_value(bytes) / (1024.0 * 1024.0);
	if (mb > 0 && mb < 0.05)
		snprintf(buf, n, "<0.1 MB");
	else
		snprintf(buf, n, mb < 99.95 ? "%.1f MB" : "%.0f MB", mb);
}
