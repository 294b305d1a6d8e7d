#import <stdio.h>

int main(void)
{
    FILE *f = fopen("no-such-file.txt", "r");
    if (!f) {
        perror("no-such-file.txt");
        return 1;
    }
    fclose(f);
    return 0;
}
