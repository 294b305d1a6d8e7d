program broken
    implicit none
    integer :: n
    n = 'not a number'
    print *, n
end program broken
