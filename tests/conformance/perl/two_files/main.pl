use strict;
use warnings;
use lib '.';
use Greet;

print Greet::greeting(), "\n";
