#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    FILE *f = fopen("/no/such/file", "r");
    if (!f) {
        perror("/no/such/file");
        abort();
    }
    return 0;
}
