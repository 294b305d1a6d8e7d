: greet ( -- ) ." Hello from a module" cr ;
