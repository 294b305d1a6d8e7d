namespace Util {
    public string greeting () {
        return "Hello from a module";
    }
}
