use strict;
use warnings;

my @scores = ();
my $total = 0;
$total += $_ for @scores;
print $total / @scores, "\n";
