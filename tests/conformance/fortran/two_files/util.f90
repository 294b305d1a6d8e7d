module util
    implicit none
contains
    subroutine greet()
        write (*, '(a)') 'Hello from a module'
    end subroutine greet
end module util
