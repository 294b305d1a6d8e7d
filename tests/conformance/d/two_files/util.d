module util;

string greeting()
{
    return "Hello from a module";
}
