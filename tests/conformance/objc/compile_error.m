#import <stdio.h>

int main(void)
{
    int n = undeclared_variable;
    printf("%d\n", n);
    return 0;
}
