unit module Greet;

sub greeting is export { "Hello from a module" }
