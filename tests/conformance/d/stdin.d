import std.stdio;

void main()
{
    foreach (chunk; stdin.byChunk(4096))
        stdout.rawWrite(chunk);
}
