#import "Greeter.h"

@implementation Greeter
+ (const char *)greeting
{
    return "Hello from a module";
}
@end
