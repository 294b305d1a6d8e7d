source greet.sql
SELECT greeting() AS greeting;
