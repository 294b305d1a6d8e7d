exports.greeting = () => 'Hello from a module';
