#import <objc/Object.h>

@interface Greeter : Object
+ (const char *)greeting;
@end
