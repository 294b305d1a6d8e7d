s = fread(stdin, Inf, "*char")';
printf("%s", s);
