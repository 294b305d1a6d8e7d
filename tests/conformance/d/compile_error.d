import std.stdio;

void main()
{
    int n = "not a number";
    writeln(n);
}
