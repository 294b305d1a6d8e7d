static class Greeter
{
    public static string Greeting()
    {
        return "Hello from a module";
    }
}
