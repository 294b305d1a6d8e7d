CREATE TABLE t (x integer);
INSERT INTO t VALUES (1);
SELECT * FROM no_such_table;
