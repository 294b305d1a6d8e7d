/* options.h: command-line options from a table. Each entry names a long
 * option, says what its argument is and where it goes; opt_next() runs
 * getopt_long() over the table, checks and stores every value itself, and
 * hands back only what the program must act on (--help, an option that
 * also sets something else). So a program's options are one table instead
 * of an enum, a struct option array and a switch that repeat each name,
 * and options that several programs share are one set of entries (the
 * machine's: vmm-client/vmm-options.h). */
#pragma once

#include <stdbool.h>

enum opt_type {
	OPT_KEY,    /* no argument, nothing stored: only the key is returned */
	OPT_STRING, /* const char *: the argument itself (borrowed from argv) */
	OPT_UINT,   /* unsigned in [min, max], decimal unless base says */
	OPT_INT,    /* int in [min, max] (min >= 0): an fd number, say */
	OPT_DOUBLE, /* double as strtod() reads it; the program checks the range */
	OPT_FALSE,  /* bool, no argument: set to false */
};

struct opt {
	const char *name; /* the long option, without "--"; NULL ends the table */
	enum opt_type type;
	void *value; /* where the value goes, of the type above */
	unsigned min, max;
	int base; /* OPT_UINT: 0 means 10 */
	/* What opt_next() returns for this option: 0 stores the value and goes
	 * on; else a short option's letter (then also in shortopts) or a
	 * number above 255. */
	int key;
};

/* A table entry: OPTION("pool-max", OPT_UINT, &max, .max = 256), or
 * OPTION("help", OPT_KEY, NULL, .key = 'h'). A table ends with {0}. */
#define OPTION(n, t, p, ...)                                                                                 \
	{                                                                                                    \
		.name = (n), .type = (t), .value = (p), __VA_ARGS__                                          \
	}

/* opt_next() found an argument its entry refuses; optarg is the argument. */
#define OPT_BAD_VALUE (-2)

/* Reads options from argv (from optind on, like getopt_long(), which it
 * calls with shortopts) until one the program must act on: returns its key
 * (a short option outside the table: its letter), -1 after the last
 * option, '?' for an unknown option or a missing argument (getopt_long()
 * has said which on stderr), or OPT_BAD_VALUE. *ret (if ret is not NULL)
 * is the entry of the option returned, NULL for one outside the table. */
int opt_next(int argc, char **argv, const char *shortopts, const struct opt *table, const struct opt **ret);

/* Sets one option by name, as a configuration file does ("pool-max = 4"):
 * value is stored like the option's argument (it must outlive the table's
 * use: strings are borrowed), and a flag takes yes/no, true/false, on/off
 * or 1/0 ("no" leaves it alone). Returns the entry's key when the program
 * must act on it (a flag set to yes, or a value stored for an option with
 * a key), else 0; -ENOENT for an unknown name, -EINVAL for a bad value.
 * *ret (if ret is not NULL) is the entry. */
int opt_set(const struct opt *table, const char *name, const char *value, const struct opt **ret);
