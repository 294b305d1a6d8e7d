BEGIN { getline line < "/no/such/file"; x = 0; print 1 / x }
