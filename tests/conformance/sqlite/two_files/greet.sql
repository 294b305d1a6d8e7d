CREATE TABLE greetings(greeting TEXT);
INSERT INTO greetings VALUES ('Hello from a module');
