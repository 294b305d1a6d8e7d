CREATE FUNCTION greeting() RETURNS text LANGUAGE sql AS $$ SELECT 'Hello from a module' $$;
