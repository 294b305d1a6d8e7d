CREATE FUNCTION greeting() RETURNS TEXT RETURN 'Hello from a module';
