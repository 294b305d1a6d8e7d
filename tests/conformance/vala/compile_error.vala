void main () {
    int n = "not a number";
    print ("%d\n", n);
}
