greet();
