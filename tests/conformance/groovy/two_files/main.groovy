println Greeter.greeting()
