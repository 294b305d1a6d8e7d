program main
    use util
    implicit none
    call greet()
end program main
