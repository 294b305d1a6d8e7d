my %config = name => "demo", port => "eighty";
say %config<port>.Int + 1;
