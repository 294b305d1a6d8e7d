#include "greet.hpp"

std::string greeting()
{
    return "Hello from a module";
}
