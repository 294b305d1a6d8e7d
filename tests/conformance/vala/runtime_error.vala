int main () {
    string text;
    try {
        FileUtils.get_contents ("no-such-file.txt", out text);
    } catch (FileError e) {
        stderr.printf ("cannot read the file: %s\n", e.message);
        return 1;
    }
    print ("%s", text);
    return 0;
}
