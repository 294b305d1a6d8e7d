section .text
global _start
_start:
    mov rax, 60         ; exit(3)
    mov rdi, 3
    syscall
