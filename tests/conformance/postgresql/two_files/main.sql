\set QUIET on
\ir greet.sql
\pset tuples_only on
\pset format unaligned
SELECT greeting();
