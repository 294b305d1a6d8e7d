program missing
    implicit none
    integer :: n
    open (unit=10, file='no-such-file.txt', status='old', action='read')
    read (10, *) n
    print *, n
end program missing
