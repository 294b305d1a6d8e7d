import std.stdio;
import util;

void main()
{
    writeln(greeting());
}
