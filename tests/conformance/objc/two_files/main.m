#import <stdio.h>
#import "Greeter.h"

int main(void)
{
    printf("%s\n", [Greeter greeting]);
    return 0;
}
