import std.conv;
import std.stdio;

void main()
{
    writeln(to!int("not a number"));
}
