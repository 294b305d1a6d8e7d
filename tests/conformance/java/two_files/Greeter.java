public class Greeter {
    public static String greeting() {
        return "Hello from a module";
    }
}
