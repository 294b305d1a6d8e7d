/* table.h: the human listings' text tables: a header row, then one row per
 * entry, each column as wide as its widest cell, two spaces between
 * columns, no trailing blanks. Cells come from runnerd's answers, so what
 * could move a terminal's cursor (control characters) is shown as '?'. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cleanup.h"

#define TABLE_COLUMNS_MAX 8

struct table_column {
	const char *title; /* borrowed */
	bool right;	   /* right-aligned (numbers) */
};

struct table;

/* A table of n_cols (at most TABLE_COLUMNS_MAX) columns; cols is borrowed
 * and must outlive it. NULL when out of memory. */
struct table *table_new(const struct table_column *cols, size_t n_cols);
void table_free(struct table *t);
DEFINE_CLEANUP(struct table *, table_free)

/* Appends a row of the table's n_cols cells (copied; NULL prints as "-").
 * -ENOMEM. */
int table_add(struct table *t, const char *const *cells);

void table_print(const struct table *t, FILE *out);

/* bytes (a JSON integer) in MiB for a SIZE column: "0.3 MB", "12.5 MB",
 * "2048 MB" (one decimal below 100 MiB), "<0.1 MB" for a few bytes, "0.0
 * MB" for none; "-" if it is not a non-negative integer. */
void table_format_mb(json_t *bytes, char *buf, size_t n);
