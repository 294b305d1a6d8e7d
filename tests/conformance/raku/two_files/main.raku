use lib '.';
use Greet;

say greeting();
