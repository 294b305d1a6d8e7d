void main () {
    print ("%s\n", Util.greeting ());
}
