package Greet;
use strict;
use warnings;

sub greeting { return "Hello from a module"; }

1;
