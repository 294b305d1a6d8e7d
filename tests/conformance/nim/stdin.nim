stdout.write(stdin.readAll())
