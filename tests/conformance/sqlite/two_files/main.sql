.read greet.sql
SELECT greeting FROM greetings;
