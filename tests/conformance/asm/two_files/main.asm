extern greet

section .text
global _start
_start:
    call greet
    mov rax, 60
    xor rdi, rdi
    syscall
